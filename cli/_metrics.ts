/**
 * Turns client snapshots into monotonic per-node metrics. The engine's
 * counters belong to one session and start again at 0 after a reconnect;
 * this tracker carries the last values seen across such resets (a counter
 * that went down), so exported counters never go backwards.
 *
 * @module
 */

import type { ClientStats } from "../client/mod.ts";
import type { ConnectionStats } from "../core/connection_types.ts";
import type { NodeMetrics } from "../core/prometheus.ts";

/** The client's states, written as the state gauge's series. */
export const CLIENT_STATES: readonly string[] = [
  "connecting",
  "ready",
  "reconnecting",
  "closing",
  "closed",
];

const COUNTERS = [
  "bytesIn",
  "bytesOut",
  "messagesIn",
  "messagesOut",
  "eventsDelivered",
  "eventsDropped",
  "actionsSent",
  "actionsCompleted",
  "actionsFailed",
  "actionsTimedOut",
  "orphans",
] as const satisfies readonly (keyof ConnectionStats)[];

type Counter = typeof COUNTERS[number];
type Counts = Record<Counter, number>;

function zero(): Counts {
  const c = {} as Counts;
  for (const k of COUNTERS) c[k] = 0;
  return c;
}

/** Carries session counters across reconnects, per node. */
export class MetricsTracker {
  readonly #base = new Map<string, Counts>();
  readonly #last = new Map<string, Counts>();

  /**
   * One node's metrics from its client snapshot.
   *
   * @param stats the client's `stats()`
   * @returns counters (monotonic), gauges, state
   */
  sample(stats: ClientStats): NodeMetrics {
    const base = this.#base.get(stats.node) ?? zero();
    const last = this.#last.get(stats.node) ?? zero();
    const now = zero();
    const s = stats.session;
    for (const k of COUNTERS) {
      now[k] = s?.[k] ?? 0;
      if (now[k] < last[k]) base[k] += last[k];
    }
    this.#base.set(stats.node, base);
    this.#last.set(stats.node, now);
    const total = (k: Counter): number => base[k] + now[k];
    return {
      state: stats.state,
      reconnects: Math.max(0, stats.sessions - 1),
      bytesIn: total("bytesIn"),
      bytesOut: total("bytesOut"),
      messagesIn: total("messagesIn"),
      messagesOut: total("messagesOut"),
      eventsDelivered: total("eventsDelivered"),
      eventsDropped: total("eventsDropped") + stats.streamDrops,
      eventQueueDepth: s?.eventQueueDepth ?? 0,
      actionsSent: total("actionsSent"),
      actionsCompleted: total("actionsCompleted"),
      actionsFailed: total("actionsFailed"),
      actionsTimedOut: total("actionsTimedOut"),
      actionsPending: (s?.actionsPending ?? 0) + stats.waitingActions,
      orphans: total("orphans"),
      writeBufferBytes: s?.writeBufferBytes ?? 0,
      keepaliveRttMs: s?.keepaliveRttMs,
    };
  }
}
