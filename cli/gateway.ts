/**
 * `amikit gateway`: runs a gateway (see `gateway/mod.ts`) until a signal,
 * with the nodes of the config file (or flags), a policy file, NATS
 * credentials and TLS passed through, and metrics on demand.
 * `--check-config` prints the nodes, subjects and effective policy and exits
 * without connecting anywhere.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { getLogger } from "@logtape/logtape";
import { renderMetrics } from "../core/prometheus.ts";
import {
  compilePolicy,
  DEFAULT_POLICY,
  describePolicy,
  type Gateway,
  type Policy,
  startGateway,
  Subjects,
} from "../gateway/mod.ts";
import {
  type GatewayCommand,
  parseHostPort,
  promptSecret,
  resolveNodes,
  serverOptions,
  stdinIsTerminal,
  UsageError,
} from "./_args.ts";
import { CLIENT_STATES } from "./_metrics.ts";
import { EXIT, exitAfterFlush, onTerminate } from "./_process.ts";
import { configureLogging } from "./log_sink.ts";
import { type MetricsServer, startMetricsServer } from "./metrics_server.ts";
import type { Redactor } from "./redact.ts";

const logger = getLogger(["amikit", "cli", "gateway"]);

/**
 * Reads and compiles the policy file (or the default).
 *
 * @param path the file, if any
 * @returns the policy
 * @throws {UsageError} for an unreadable file, bad JSON or a bad policy
 */
export function loadPolicy(path: string | undefined): Policy {
  if (path === undefined) return DEFAULT_POLICY;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(
      `cannot read the policy file ${path}: ${(error as Error).message}`,
      "gateway",
    );
  }
  try {
    return compilePolicy(raw);
  } catch (error) {
    throw new UsageError(`policy file ${path}: ${(error as Error).message}`, "gateway");
  }
}

/**
 * Runs `amikit gateway`.
 *
 * @param cmd the parsed command
 * @param redactor the process's redactor
 * @returns the exit code of `--check-config`; otherwise never returns
 */
export async function runGateway(cmd: GatewayCommand, redactor: Redactor): Promise<number> {
  const sink = await configureLogging({ level: cmd.logLevel, format: cmd.logFormat, redactor });
  const nodes = await resolveNodes(cmd, {
    redactor,
    warn: (m) => logger.warn(m),
    prompt: stdinIsTerminal() ? promptSecret : undefined,
  });
  const policy = loadPolicy(cmd.policy);
  const subjects = new Subjects(cmd.prefix);
  if (cmd.checkConfig) {
    const lines = [
      `nodes: ${nodes.map((n) => `${n.name} (${n.host}:${n.port})`).join(", ")}`,
      `events: ${subjects.events("<node>")} in stream ${subjects.stream} (gap notices on ${
        subjects.gap("<node>")
      })`,
      `actions: ${subjects.action("<node>", "<Action>")} (queue group ${subjects.queueGroup})`,
      `aborts: ${subjects.abort("<node>", "<Action>")}`,
      `state: ${subjects.state("<node>")}`,
      `leases: key-value bucket ${subjects.leaseBucket}`,
      "",
      describePolicy(policy),
    ];
    process.stdout.write(lines.join("\n") + "\n");
    return EXIT.ok;
  }

  const { connect } = await import("@nats-io/transport-node");
  const natsOptions: Record<string, unknown> = {
    servers: cmd.nats.split(",").map((s) => s.trim()).filter((s) => s !== ""),
    name: `amikit-gateway${cmd.id === undefined ? "" : `-${cmd.id}`}`,
    maxReconnectAttempts: -1,
  };
  const user = cmd.natsUser ?? process.env.NATS_USER;
  if (user !== undefined) {
    const pass = cmd.natsPasswordFile !== undefined
      ? readFileSync(cmd.natsPasswordFile, "utf8").trim()
      : process.env.NATS_PASSWORD;
    if (pass !== undefined) redactor.addSecret(pass);
    natsOptions.user = user;
    natsOptions.pass = pass;
  }
  if (cmd.natsCreds !== undefined) {
    const { credsAuthenticator } = await import("@nats-io/nats-core");
    natsOptions.authenticator = credsAuthenticator(readFileSync(cmd.natsCreds));
  }
  if (cmd.natsTlsCa !== undefined) natsOptions.tls = { caFile: cmd.natsTlsCa };
  const nc = await connect(natsOptions);
  const gateway: Gateway = await startGateway({
    nats: nc,
    nodes: Object.fromEntries(nodes.map((n) => [n.name, serverOptions(n)])),
    prefix: cmd.prefix,
    id: cmd.id,
    policy,
    lease: cmd.leaseTtlMs === undefined ? undefined : { ttlMs: cmd.leaseTtlMs },
  });
  logger.info("gateway {id}: {count} node(s), prefix {prefix}, NATS {nats}", {
    id: gateway.id,
    count: nodes.length,
    prefix: cmd.prefix,
    nats: cmd.nats,
  });

  let metrics: MetricsServer | undefined;
  let shuttingDown = false;
  const shutdown = async (code: number): Promise<never> => {
    if (shuttingDown) return new Promise<never>(() => {});
    shuttingDown = true;
    await gateway.close(2000).catch(() => {});
    await metrics?.close();
    await nc.drain().catch(() => {});
    return exitAfterFlush(code, sink);
  };
  onTerminate((signal) => {
    logger.info("{signal}: releasing leases", { signal });
    void shutdown(EXIT.ok);
  });

  if (cmd.metrics !== undefined) {
    const address = parseHostPort(cmd.metrics, "gateway");
    metrics = await startMetricsServer(address, {
      metrics: () => {
        const s = gateway.stats();
        const clients = s.held.map((h) => gateway.client(h.node)?.stats()).filter((x) =>
          x !== undefined
        );
        const base = renderMetrics({ nodes: clients, logRecordsDropped: sink.stats().dropped }, {
          states: CLIENT_STATES,
        });
        const lines = [
          "# HELP amikit_gateway_nodes_held Nodes this gateway holds the lease of.",
          "# TYPE amikit_gateway_nodes_held gauge",
          `amikit_gateway_nodes_held ${s.held.length}`,
          "# HELP amikit_gateway_refused_total Action requests refused by the policy.",
          "# TYPE amikit_gateway_refused_total counter",
          `amikit_gateway_refused_total ${s.refused}`,
          "# HELP amikit_gateway_events_published_total Events acknowledged by JetStream.",
          "# TYPE amikit_gateway_events_published_total counter",
          ...s.held.map((h) =>
            `amikit_gateway_events_published_total{node="${h.node}"} ${h.events.published}`
          ),
          "# HELP amikit_gateway_events_dropped_total Events dropped (NATS too slow or away).",
          "# TYPE amikit_gateway_events_dropped_total counter",
          ...s.held.map((h) =>
            `amikit_gateway_events_dropped_total{node="${h.node}"} ${h.events.dropped}`
          ),
        ];
        return base + lines.join("\n") + "\n";
      },
      health: () => {
        const s = gateway.stats();
        return {
          ok: nc.isClosed() === false,
          detail: Object.fromEntries(s.held.map((h) => [h.node, h.state])),
        };
      },
    });
    logger.info("metrics at http://{host}:{port}/metrics", {
      host: address.host,
      port: metrics.port,
    });
  }
  return new Promise<never>(() => {});
}
