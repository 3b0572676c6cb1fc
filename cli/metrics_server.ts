/**
 * Serves metrics over HTTP with `node:http` (which Deno, Bun and Node all
 * provide): `GET /metrics` returns the Prometheus text, `GET /healthz`
 * returns a JSON health summary (200 when healthy, 503 otherwise). The text
 * is rendered on each request from a callback; nothing runs between
 * requests.
 *
 * @module
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PROMETHEUS_CONTENT_TYPE } from "../core/prometheus.ts";

/** What `/healthz` answers. */
export interface Health {
  /** `true` gives 200, `false` 503. */
  readonly ok: boolean;
  /** Any JSON-able detail (e.g. each node's state). */
  readonly detail?: unknown;
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** Renders the Prometheus text (called per request). */
  readonly metrics: () => string;
  /** The health summary (called per request). Default: always ok. */
  readonly health?: () => Health;
}

/** A running metrics server. */
export interface MetricsServer extends AsyncDisposable {
  /** The address it listens on. */
  readonly host: string;
  /** The port it listens on (the real one when 0 was asked). */
  readonly port: number;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * Starts the metrics server.
 *
 * @param address where to listen
 * @param options the metrics and health callbacks
 * @returns the server once it listens
 * @throws when the address cannot be bound (e.g. `EADDRINUSE`)
 * @example
 * const server = await startMetricsServer({ host: "127.0.0.1", port: 9464 }, {
 *   metrics: () => renderMetrics({ nodes: { pbx1: client.stats() } }),
 * });
 */
export function startMetricsServer(
  address: { host: string; port: number },
  options: MetricsServerOptions,
): Promise<MetricsServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    try {
      if (path === "/metrics") {
        const body = options.metrics();
        res.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE });
        res.end(req.method === "HEAD" ? undefined : body);
      } else if (path === "/healthz" || path === "/health") {
        const health = options.health?.() ?? { ok: true };
        res.writeHead(health.ok ? 200 : 503, { "content-type": "application/json" });
        res.end(req.method === "HEAD" ? undefined : JSON.stringify(health) + "\n");
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("see /metrics and /healthz\n");
      }
    } catch {
      res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => {
      server.off("error", reject);
      const info = server.address() as AddressInfo;
      const close = () =>
        new Promise<void>((done) => {
          server.close(() => done());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
      resolve({
        host: info.address,
        port: info.port,
        close,
        [Symbol.asyncDispose]: close,
      });
    });
  });
}
