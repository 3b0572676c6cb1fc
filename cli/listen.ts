/**
 * `amikit listen`: connects to one or more nodes (a cluster, so reconnects
 * are capped and served fairly), writes each matching event as one JSON line
 * to stdout (bounded, non-blocking), serves metrics on demand, and logs off
 * on SIGINT/SIGTERM.
 *
 * Every node connects in the background and is retried with backoff,
 * however long it is unreachable; each change of state is one line on
 * stderr. Only a refused login before a node was ever ready exits 1 (the
 * credentials will not fix themselves); otherwise it runs until a signal.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { AuthError } from "../core/errors.ts";
import type { AmiMessage } from "../core/message.ts";
import { renderMetrics } from "../core/prometheus.ts";
import { type Cluster, createCluster } from "../mod.ts";
import { connectFailureLine } from "./_failure.ts";
import {
  type HeaderFilter,
  type ListenCommand,
  type NodeSpec,
  parseHostPort,
  promptSecret,
  resolveNodes,
  serverOptions,
  stdinIsTerminal,
} from "./_args.ts";
import { CLIENT_STATES } from "./_metrics.ts";
import { EXIT, exitAfterFlush, onTerminate } from "./_process.ts";
import { JsonOutput } from "./json_out.ts";
import { configureLogging } from "./log_sink.ts";
import { type MetricsServer, startMetricsServer } from "./metrics_server.ts";
import type { Redactor } from "./redact.ts";

const logger = getLogger(["amikit", "cli", "listen"]);

/**
 * Builds the event predicate of `--event` and `--header` filters.
 *
 * @param events event names (case-insensitive, `*` wildcard); empty keeps all
 * @param headers header filters, all of which must match
 * @returns the predicate
 */
export function eventPredicate(
  events: readonly string[],
  headers: readonly HeaderFilter[],
): (event: AmiMessage) => boolean {
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const e of events) {
    if (e.includes("*")) {
      const re = e.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
      patterns.push(new RegExp(`^${re}$`, "i"));
    } else exact.add(e.toLowerCase());
  }
  const byName = events.length === 0
    ? () => true
    : (name: string) => exact.has(name.toLowerCase()) || patterns.some((p) => p.test(name));
  return (event) => {
    if (!byName(event.name)) return false;
    for (const h of headers) {
      const values = event.getAll(h.key);
      const ok = typeof h.match === "string"
        ? values.includes(h.match)
        : values.some((v) => (h.match as RegExp).test(v));
      if (!ok) return false;
    }
    return true;
  };
}

/**
 * Runs `amikit listen` until a signal; never returns normally.
 *
 * @param cmd the parsed command
 * @param redactor the process's redactor
 * @returns never: the process exits
 */
export async function runListen(cmd: ListenCommand, redactor: Redactor): Promise<never> {
  const sink = await configureLogging({
    level: cmd.logLevel,
    format: cmd.logFormat,
    redactor,
  });
  const nodes: NodeSpec[] = await resolveNodes(cmd, {
    redactor,
    warn: (m) => logger.warn(m),
    prompt: stdinIsTerminal() ? promptSecret : undefined,
  });

  let shuttingDown = false;
  const out = new JsonOutput({
    redactor,
    headers: cmd.headersForm,
    onDrops: (since, total, buffered) =>
      logger.warn(
        "stdout slow: {since} event lines dropped since the last report ({total} in total; {buffered} characters buffered)",
        { since, total, buffered },
      ),
    onError: (error) => {
      // stdout closed (e.g. piped into `head -1`): the reader has what it
      // wanted, so log off and exit 0 without a word (unless debugging).
      logger.debug("stdout closed ({error}); logging off", { error: redactor.errorText(error) });
      void shutdown(EXIT.ok);
    },
  });

  const mask = cmd.eventMask;
  const cluster: Cluster = createCluster({
    nodes: Object.fromEntries(nodes.map((n) => [n.name, serverOptions(n)])),
    defaults: { events: mask === "on" ? true : mask === "off" ? false : mask },
  });
  const wanted = eventPredicate(cmd.events, cmd.headers);
  cluster.on(wanted, (event, node) => {
    out.event(node, event);
  });

  let metrics: MetricsServer | undefined;

  async function shutdown(code: number, how: { logoff?: boolean } = {}): Promise<never> {
    if (shuttingDown) return new Promise<never>(() => {});
    shuttingDown = true;
    if (how.logoff === false) cluster.destroy();
    const closing = cluster.close();
    const bounded = await Promise.race([
      closing.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 3_000)),
    ]);
    if (!bounded) {
      logger.warn("logoff did not complete in 3 s; closing at once");
      cluster.destroy();
    }
    await metrics?.close();
    await out.flush(2_000);
    const s = out.stats();
    const stopped = { lines: s.lines, dropped: s.dropped };
    const text = "stopped: {lines} event lines written, {dropped} dropped";
    if (out.closed) logger.debug(text, stopped);
    else logger.info(text, stopped);
    return exitAfterFlush(code, sink);
  }

  onTerminate((signal) => {
    logger.info("{signal}: logging off", { signal });
    void shutdown(EXIT.ok);
  });

  // Every node connects in the background and retries with backoff until a
  // signal; each change of state is one line on stderr. A refused login
  // before the node was ever ready exits 1: credentials do not fix themselves.
  const everReady = new Set<string>();
  const byName = new Map(nodes.map((n) => [n.name, n]));
  cluster.onStateChange((name, change) => {
    const n = byName.get(name);
    if (n === undefined || shuttingDown) return;
    const place = { where: `node ${name} (${n.host}:${n.port})`, username: n.username };
    if (change.state === "ready") {
      everReady.add(name);
      logger.info("node {name}: ready", { name });
    } else if (change.error instanceof AuthError && !everReady.has(name)) {
      logger.error("{line}", { line: connectFailureLine(change.error, place, redactor) });
      void shutdown(EXIT.failed, { logoff: false });
    } else if (change.state === "connecting" || change.state === "reconnecting") {
      const line = change.error !== undefined
        ? connectFailureLine(change.error, place, redactor)
        : change.previous === "ready"
        ? `node ${name}: connection lost (${change.reason ?? "closed"})`
        : undefined;
      if (line === undefined) return;
      const retry = change.delayMs === undefined
        ? "reconnecting"
        : `retrying in ${(change.delayMs / 1000).toFixed(1)} s (failure ${change.attempt ?? 1})`;
      logger.warn("{line}; {retry}", { line, retry });
    }
  });

  if (cmd.metrics !== undefined) {
    const address = parseHostPort(cmd.metrics, "listen");
    try {
      metrics = await startMetricsServer(address, {
        metrics: () =>
          renderMetrics({
            nodes: cluster.stats().nodes,
            logRecordsDropped: sink.stats().dropped,
            outputLinesDropped: out.stats().dropped,
          }, { states: CLIENT_STATES }),
        health: () => {
          const health = cluster.health();
          return {
            ok: health.every((h) => h.state === "ready"),
            detail: Object.fromEntries(health.map((h) => [h.node, h.state])),
          };
        },
      });
      logger.info("metrics at http://{host}:{port}/metrics", {
        host: address.host,
        port: metrics.port,
      });
    } catch (error) {
      logger.error("cannot serve metrics on {address}: {error}", {
        address: cmd.metrics,
        error: redactor.errorText(error),
      });
      return shutdown(EXIT.failed);
    }
  }
  logger.info("listening to {count} node(s): {names}", {
    count: nodes.length,
    names: nodes.map((n) => n.name).join(", "),
  });
  // Everything else happens in callbacks; the process stays alive on its sockets.
  return new Promise<never>(() => {});
}
