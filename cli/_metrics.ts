/**
 * Per-node metrics (the Prometheus families' input) from client snapshots.
 *
 * @module
 */

import type { ClientStats } from "../client/mod.ts";
import { type NodeMetrics, nodeMetricsOf } from "../core/prometheus.ts";

/** The client's states, written as the state gauge's series. */
export const CLIENT_STATES: readonly string[] = [
  "connecting",
  "ready",
  "reconnecting",
  "closing",
  "closed",
];

/**
 * One node's metrics from its client snapshot (see {@link nodeMetricsOf}).
 *
 * @param stats the client's `stats()`
 * @returns counters, gauges, state
 */
export function nodeMetrics(stats: ClientStats): NodeMetrics {
  return nodeMetricsOf(stats);
}
