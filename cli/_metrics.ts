/**
 * Per-node metrics (the Prometheus families' input) from client snapshots.
 *
 * @module
 */

import type { ClientStats } from "../client/mod.ts";
import type { NodeMetrics } from "../core/prometheus.ts";

/** The client's states, written as the state gauge's series. */
export const CLIENT_STATES: readonly string[] = [
  "connecting",
  "ready",
  "reconnecting",
  "closing",
  "closed",
];

/**
 * One node's metrics from its client snapshot: counters from the client's
 * totals over every session (so they never go backwards across a
 * reconnect), gauges from the current session.
 *
 * @param stats the client's `stats()`
 * @returns counters, gauges, state
 */
export function nodeMetrics(stats: ClientStats): NodeMetrics {
  const t = stats.totals;
  const s = stats.session;
  return {
    state: stats.state,
    reconnects: stats.reconnects,
    bytesIn: t.bytesIn,
    bytesOut: t.bytesOut,
    messagesIn: t.messagesIn,
    messagesOut: t.messagesOut,
    eventsDelivered: t.eventsDelivered,
    eventsDropped: t.eventsDropped + stats.streamDrops,
    eventQueueDepth: s?.eventQueueDepth ?? 0,
    actionsSent: t.actionsSent,
    actionsCompleted: t.actionsCompleted,
    actionsFailed: t.actionsFailed,
    actionsTimedOut: t.actionsTimedOut,
    actionsPending: (s?.actionsPending ?? 0) + stats.waitingActions,
    orphans: t.orphans,
    writeBufferBytes: s?.writeBufferBytes ?? 0,
    keepaliveRttMs: s?.keepaliveRttMs,
  };
}
