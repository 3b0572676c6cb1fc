/**
 * What every store of the live model shares: the event position, the
 * pending changes (bounded), the health status and the counters.
 *
 * @module
 */

import type { LiveBridge, LiveChange, LiveQueue, LiveRemoveReason, LiveStatus } from "./types.ts";

/** Counters of what the model absorbed or refused. */
export interface LiveModelStats {
  /** Snapshots and list items for ended ids, absorbed by the tombstones. */
  readonly absorbed: number;
  /** Records refused by a cap. */
  readonly refused: number;
  /** Variables not kept (count or byte cap). */
  readonly droppedVariables: number;
  /** Changes dropped because nobody pulled them. */
  readonly droppedChanges: number;
}

/** The shared state of one model: position, changes, status, counters. */
export class ModelContext {
  readonly #maxPending: number;
  #changes: LiveChange[] = [];
  #head = 0;
  #overflow = 0;
  #status: LiveStatus = "ok";
  /** How many events were applied. */
  seq = 0;
  /** Whether a cap refused a record since the last channels list. */
  refusedSinceList = false;
  /** Snapshots absorbed by tombstones. */
  absorbed = 0;
  /** Records refused by a cap. */
  refused = 0;
  /** Variables not kept. */
  droppedVariables = 0;
  /** Changes dropped because nobody pulled them. */
  droppedChanges = 0;

  /** The node stamped on every record. */
  readonly node: string;

  /**
   * @param maxPending changes waiting to be pulled at most
   * @param node the node stamped on every record
   */
  constructor(maxPending: number, node: string) {
    this.#maxPending = maxPending;
    this.node = node;
  }

  /** `ok`, or `degraded` after a cap refused a record. */
  get status(): LiveStatus {
    return this.#status;
  }

  /** Counts a record a cap refused and turns the status `degraded`. */
  refuse(what: string, now: number): void {
    this.refused++;
    this.refusedSinceList = true;
    this.setStatus("degraded", what, now);
  }

  /** Sets the status, with a change when it differs. */
  setStatus(status: LiveStatus, detail: string, now: number): void {
    if (this.#status === status) return;
    this.#status = status;
    this.push({ type: "status", status, detail, at: now });
  }

  /** Queues a change (dropped and counted past the cap). */
  push(c: LiveChange): void {
    if (this.#changes.length - this.#head >= this.#maxPending) {
      this.droppedChanges++;
      this.#overflow++;
      return;
    }
    this.#changes.push(c);
  }

  /** Queues the removal of a bridge or queue record. */
  removed(kind: "bridge", record: LiveBridge, reason: LiveRemoveReason, now: number): void;
  /** Queues the removal of a queue record. */
  removed(kind: "queue", record: LiveQueue, reason: LiveRemoveReason, now: number): void;
  removed(
    kind: "bridge" | "queue",
    record: LiveBridge | LiveQueue,
    reason: LiveRemoveReason,
    now: number,
  ): void {
    this.push({ type: "removed", kind, record, previous: record, reason, at: now } as LiveChange);
  }

  /** The next change, then one `overflow` if some were dropped, then `undefined`. */
  poll(): LiveChange | undefined {
    if (this.#head < this.#changes.length) {
      const c = this.#changes[this.#head++];
      if (this.#head === this.#changes.length) {
        this.#changes = [];
        this.#head = 0;
      }
      return c;
    }
    if (this.#overflow > 0) {
      const dropped = this.#overflow;
      this.#overflow = 0;
      return { type: "overflow", dropped };
    }
    return undefined;
  }

  /** The counters, as a plain snapshot. */
  stats(): LiveModelStats {
    return {
      absorbed: this.absorbed,
      refused: this.refused,
      droppedVariables: this.droppedVariables,
      droppedChanges: this.droppedChanges,
    };
  }
}

/** Raises a record's last-touched position (never lowers it: a list merged late is older). */
export function bump(map: Map<string, number>, key: string, at: number): void {
  const old = map.get(key);
  if (old === undefined || old < at) map.set(key, at);
}

/** Whether two string records hold the same entries. */
export function sameRecord(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

/** The empty variables or params record, shared. */
export const EMPTY_VARS: Readonly<Record<string, string>> = Object.freeze({});
