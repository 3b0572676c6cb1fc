/**
 * Renders metrics snapshots (per node and in total) as the Prometheus text
 * exposition format (version 0.0.4). Pure: no I/O, no clock; the caller
 * serves the text (the `amikit` command does so with `node:http`).
 *
 * Hand-written rather than `prom-client` or the OpenTelemetry API: the
 * format is a few lines of text, the core must stay runtime-neutral, and
 * both libraries bring what this core must not have. `prom-client` is
 * Node-only (`process`, `perf_hooks`, a global registry) and pulls its
 * values on its own; OpenTelemetry needs an SDK, a meter provider and a
 * Prometheus exporter that opens its own HTTP server. Here the counters
 * already exist as plain snapshots (`ConnectionStats`, the client's and the
 * cluster's `stats()`), so rendering is a pure function of them, tested
 * against the format rules. An application that already runs OpenTelemetry
 * can read the same snapshots from an observable callback.
 *
 * Per-node series carry a `node` label; totals are separate `amikit_all_*`
 * families without it, so `sum(amikit_x)` and `amikit_all_x` agree and
 * neither double counts.
 *
 * @module
 */

import type { ConnectionStats } from "./connection_types.ts";

/** The value kinds this renderer writes. */
export type MetricType = "counter" | "gauge";

/** One sample: labels and a value. */
export interface MetricSample {
  /** Label names to values; names must match `[a-zA-Z_][a-zA-Z0-9_]*`. */
  readonly labels?: Readonly<Record<string, string>>;
  /** The value; `NaN` and infinities are written as `NaN`, `+Inf`, `-Inf`. */
  readonly value: number;
}

/** A metric family: one name, one HELP, one TYPE, its samples. */
export interface MetricFamily {
  /** The metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters should end in `_total`. */
  readonly name: string;
  /** One line of help text. */
  readonly help: string;
  /** Counter (only goes up) or gauge. */
  readonly type: MetricType;
  /** The samples; a family with none is written with HELP and TYPE only. */
  readonly samples: readonly MetricSample[];
}

/**
 * The counters of one node: the fields of {@link ConnectionStats} (summed
 * over the node's sessions for the counters) plus the client's
 * `reconnects`; `state` is any state name (the engine's or the client's,
 * such as `reconnecting`), and an unknown keepalive round trip is omitted.
 * `actionsAborted` is left out: aborted actions count in `actionsFailed`.
 */
export type NodeMetrics =
  & Omit<ConnectionStats, "state" | "keepaliveRttMs" | "actionsAborted">
  & {
    /** The connection state, e.g. `ready`. */
    readonly state: string;
    /** Reconnections since the client started (0 when not tracked). */
    readonly reconnects?: number;
    /** Last keepalive round trip, ms; omitted from the output when unknown. */
    readonly keepaliveRttMs?: number | undefined;
  };

/** The engine counters a client sums over its sessions (a client's `stats().totals`). */
export type NodeTotals = Readonly<
  Pick<
    ConnectionStats,
    | "bytesIn"
    | "bytesOut"
    | "messagesIn"
    | "messagesOut"
    | "eventsDelivered"
    | "eventsDropped"
    | "actionsSent"
    | "actionsCompleted"
    | "actionsFailed"
    | "actionsTimedOut"
    | "orphans"
  >
>;

/**
 * A client's `stats()` as far as metrics need it (what a cluster's
 * `stats().nodes` lists): its node name, counters summed over every session
 * so far, gauges of the current session.
 */
export interface NodeStats {
  /** The node's name: the `node` label. */
  readonly node: string;
  /** The client state, e.g. `ready` or `reconnecting`. */
  readonly state: string;
  /** Reconnections since the client started. */
  readonly reconnects?: number;
  /** Counters summed over every session. */
  readonly totals: NodeTotals;
  /** Events dropped by iterator buffers (added to the dropped events). */
  readonly streamDrops?: number;
  /** Actions waiting for a connection (added to the pending actions). */
  readonly waitingActions?: number;
  /** The current session's gauges, if connected. */
  readonly session?:
    | Readonly<
      Pick<ConnectionStats, "eventQueueDepth" | "actionsPending" | "writeBufferBytes"> & {
        readonly keepaliveRttMs?: number | undefined;
      }
    >
    | undefined;
}

/**
 * One node's metrics from its client snapshot: counters from the totals
 * over every session (so they never go backwards across a reconnect),
 * gauges from the current session (0 when disconnected).
 *
 * @param stats a client's `stats()`
 * @returns counters, gauges, state
 */
export function nodeMetricsOf(stats: NodeStats): NodeMetrics {
  const t = stats.totals;
  const s = stats.session;
  return {
    state: stats.state,
    reconnects: stats.reconnects ?? 0,
    bytesIn: t.bytesIn,
    bytesOut: t.bytesOut,
    messagesIn: t.messagesIn,
    messagesOut: t.messagesOut,
    eventsDelivered: t.eventsDelivered,
    eventsDropped: t.eventsDropped + (stats.streamDrops ?? 0),
    eventQueueDepth: s?.eventQueueDepth ?? 0,
    actionsSent: t.actionsSent,
    actionsCompleted: t.actionsCompleted,
    actionsFailed: t.actionsFailed,
    actionsTimedOut: t.actionsTimedOut,
    actionsPending: (s?.actionsPending ?? 0) + (stats.waitingActions ?? 0),
    orphans: t.orphans,
    writeBufferBytes: s?.writeBufferBytes ?? 0,
    keepaliveRttMs: s?.keepaliveRttMs,
  };
}

/** Everything {@link renderMetrics} writes: nodes and process-wide counters. */
export interface MetricsSnapshot {
  /**
   * Per-node counters: by node name, or a list of client snapshots each
   * naming its node (a cluster's `stats().nodes`).
   */
  readonly nodes: Readonly<Record<string, NodeMetrics>> | readonly NodeStats[];
  /** Log records dropped by a full log buffer (process-wide). */
  readonly logRecordsDropped?: number;
  /** Output lines (e.g. the command's JSON events) dropped by a slow consumer. */
  readonly outputLinesDropped?: number;
}

/** Options of {@link renderMetrics}. */
export interface RenderMetricsOptions {
  /** The prefix of every metric name. Default `amikit`. */
  readonly prefix?: string;
  /**
   * The state names written for each node's state gauge (one series per
   * state, 1 for the current one). The current state is always added.
   * Default: the engine's states.
   */
  readonly states?: readonly string[];
}

/** The content type of the text this module renders. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The engine's states, written as a stable set of series. */
const DEFAULT_STATES = ["awaitingBanner", "authenticating", "ready", "closing", "closed"];

/**
 * Escapes a label value: backslash, double quote and line feed.
 *
 * @param value the raw value
 * @returns the value as it goes between the quotes
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * Escapes HELP text: backslash and line feed.
 *
 * @param text the raw text
 * @returns the text as it goes after `# HELP name `
 */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/**
 * Formats a sample value as Prometheus expects (`+Inf`, `-Inf`, `NaN`).
 *
 * @param value the number
 * @returns its text
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/**
 * Writes metric families as Prometheus text: for each family `# HELP`, then
 * `# TYPE`, then its samples, ended by a line feed.
 *
 * @param families the families, each name at most once
 * @returns the exposition text
 * @throws {TypeError} for an invalid metric or label name, or a repeated family name
 * @example formatPrometheus([{ name: "up", help: "Up.", type: "gauge", samples: [{ value: 1 }] }])
 */
export function formatPrometheus(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  let out = "";
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) {
      throw new TypeError(`invalid metric name: ${JSON.stringify(family.name)}`);
    }
    if (seen.has(family.name)) throw new TypeError(`metric family repeated: ${family.name}`);
    seen.add(family.name);
    out += `# HELP ${family.name} ${escapeHelp(family.help)}\n`;
    out += `# TYPE ${family.name} ${family.type}\n`;
    for (const sample of family.samples) {
      out += family.name + formatLabels(sample.labels) + " " + formatValue(sample.value) + "\n";
    }
  }
  return out;
}

function formatLabels(labels: Readonly<Record<string, string>> | undefined): string {
  if (labels === undefined) return "";
  const parts: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new TypeError(`invalid label name: ${JSON.stringify(name)}`);
    }
    parts.push(`${name}="${escapeLabelValue(value)}"`);
  }
  return parts.length === 0 ? "" : "{" + parts.join(",") + "}";
}

type NumericKey = Exclude<keyof NodeMetrics, "state" | "keepaliveRttMs">;

/** The per-node numbers: field, metric suffix, type, help. */
const NODE_FIELDS: readonly (readonly [NumericKey, string, MetricType, string])[] = [
  ["reconnects", "reconnects_total", "counter", "Reconnections after a lost connection."],
  ["bytesIn", "bytes_received_total", "counter", "Bytes received from the server."],
  ["bytesOut", "bytes_sent_total", "counter", "Bytes written to the server."],
  ["messagesIn", "messages_received_total", "counter", "AMI messages received."],
  [
    "messagesOut",
    "messages_sent_total",
    "counter",
    "AMI actions sent (login and keepalive included).",
  ],
  ["eventsDelivered", "events_delivered_total", "counter", "Events delivered to the application."],
  ["eventsDropped", "events_dropped_total", "counter", "Events dropped by a full event queue."],
  ["eventQueueDepth", "event_queue_depth", "gauge", "Events waiting in the event queue."],
  ["actionsSent", "actions_sent_total", "counter", "Actions sent by the application."],
  ["actionsCompleted", "actions_completed_total", "counter", "Actions completed with success."],
  ["actionsFailed", "actions_failed_total", "counter", "Actions failed (rejected, lost, aborted)."],
  ["actionsTimedOut", "actions_timed_out_total", "counter", "Actions that timed out."],
  ["actionsPending", "actions_pending", "gauge", "Actions waiting for their completion."],
  ["orphans", "orphan_responses_total", "counter", "Messages with an ActionID not pending."],
  ["writeBufferBytes", "write_buffer_bytes", "gauge", "Bytes waiting to be written."],
];

/**
 * Builds the metric families of a snapshot: per node (label `node`), the
 * totals over all nodes (`<prefix>_all_*`), and process-wide counters.
 *
 * @param snapshot the counters
 * @param options prefix and state names
 * @returns the families, in a stable order
 */
export function metricFamilies(
  snapshot: MetricsSnapshot,
  options: RenderMetricsOptions = {},
): MetricFamily[] {
  const prefix = options.prefix ?? "amikit";
  const given = snapshot.nodes;
  const nodes: (readonly [string, NodeMetrics])[] = isNodeStatsList(given)
    ? given.map((s) => [s.node, nodeMetricsOf(s)] as const)
    : Object.keys(given).map((name) => [name, given[name]] as const);
  const families: MetricFamily[] = [];

  // Connection state: one series per known state, 1 for the current one.
  const states = [...(options.states ?? DEFAULT_STATES)];
  for (const [, m] of nodes) if (!states.includes(m.state)) states.push(m.state);
  families.push({
    name: `${prefix}_connection_state`,
    help: "Connection state of each node: 1 for the current state, 0 for the others.",
    type: "gauge",
    samples: nodes.flatMap(([node, m]) =>
      states.map((state) => ({ labels: { node, state }, value: m.state === state ? 1 : 0 }))
    ),
  });
  families.push({
    name: `${prefix}_keepalive_rtt_seconds`,
    help: "Round-trip time of the last keepalive Ping, seconds.",
    type: "gauge",
    samples: nodes.flatMap(([node, m]) =>
      m.keepaliveRttMs === undefined ? [] : [{ labels: { node }, value: m.keepaliveRttMs / 1000 }]
    ),
  });
  for (const [field, suffix, type, help] of NODE_FIELDS) {
    families.push({
      name: `${prefix}_${suffix}`,
      help,
      type,
      samples: nodes.map(([node, m]) => ({ labels: { node }, value: m[field] ?? 0 })),
    });
  }

  // Totals over all nodes.
  const byState = new Map<string, number>(states.map((s) => [s, 0]));
  for (const [, m] of nodes) byState.set(m.state, (byState.get(m.state) ?? 0) + 1);
  families.push({
    name: `${prefix}_all_nodes`,
    help: "Number of nodes in each connection state.",
    type: "gauge",
    samples: [...byState].map(([state, value]) => ({ labels: { state }, value })),
  });
  for (const [field, suffix, type, help] of NODE_FIELDS) {
    let sum = 0;
    for (const [, m] of nodes) sum += m[field] ?? 0;
    families.push({
      name: `${prefix}_all_${suffix}`,
      help: `${help.slice(0, -1)}, all nodes.`,
      type,
      samples: [{ value: sum }],
    });
  }

  families.push({
    name: `${prefix}_log_records_dropped_total`,
    help: "Log records dropped by a full log buffer.",
    type: "counter",
    samples: [{ value: snapshot.logRecordsDropped ?? 0 }],
  });
  families.push({
    name: `${prefix}_output_lines_dropped_total`,
    help: "Output lines dropped because the consumer was slow.",
    type: "counter",
    samples: [{ value: snapshot.outputLinesDropped ?? 0 }],
  });
  return families;
}

function isNodeStatsList(
  nodes: MetricsSnapshot["nodes"],
): nodes is readonly NodeStats[] {
  return Array.isArray(nodes);
}

/**
 * Renders a snapshot as Prometheus text (see {@link metricFamilies}).
 *
 * @param snapshot the counters, per node and process-wide
 * @param options prefix and state names
 * @returns the exposition text, served with {@link PROMETHEUS_CONTENT_TYPE}
 * @example renderMetrics(cluster.stats())
 */
export function renderMetrics(snapshot: MetricsSnapshot, options?: RenderMetricsOptions): string {
  return formatPrometheus(metricFamilies(snapshot, options));
}
