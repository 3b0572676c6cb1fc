/**
 * The reconnect gate of a cluster: caps connection attempts globally and per
 * node within a sliding interval (and how many run at once), and serves the
 * waiting nodes in order of their turn, so that hundreds of dead nodes can
 * neither starve the live ones nor monopolise the process. Pure and
 * clock-injected, in the sans-IO manner: `poll` takes `now`; `pollTimeout`
 * says when to poll again.
 *
 * A node asks once its own backoff has run out, and says how many attempts
 * in a row it has failed. Its turn is that count plus its waiting time
 * counted in `agingMs` units (`failures + requestedAt / agingMs`); the
 * earliest turn is served first, equal turns in request order. So a node
 * that was up a moment ago (one failure) goes before nodes that have failed
 * for long, even when hundreds of those wait, while a node that has waited
 * `agingMs` longer than another counts one failure less: every waiting node
 * is served at last (a node with k failures is passed only by requests made
 * within (k - 1) x agingMs after its own). First attempts (0 failures) are
 * served in request order, so N nodes starting together take
 * N / maxPerInterval intervals whatever the policy.
 *
 * @module
 */

/** The caps of a {@link ReconnectGate}. */
export interface ReconnectGateOptions {
  /** The sliding window the caps count in, ms. Default 1,000. */
  readonly intervalMs?: number;
  /** Attempts granted per window, all nodes together. Default 20. */
  readonly maxPerInterval?: number;
  /** Attempts granted per window to one node. Default 1. */
  readonly maxPerNodePerInterval?: number;
  /** Attempts in progress at once (granted, not yet released). Default 32. */
  readonly maxConcurrent?: number;
  /** Waiting this long counts as one failure less in the order, ms. Default 60,000. */
  readonly agingMs?: number;
}

/** A snapshot of the gate. */
export interface ReconnectGateStats {
  /** Nodes waiting for a grant. */
  readonly waiting: number;
  /** Granted attempts not yet released. */
  readonly inProgress: number;
  /** Grants within the current window. */
  readonly grantedInWindow: number;
  /** Grants in total. */
  readonly granted: number;
}

interface Slot {
  readonly name: string;
  waiting: boolean;
  /** The turn of the waiting request, then its arrival order. */
  turn: number;
  seq: number;
  inProgress: boolean;
  /** Times of this node's grants within the window, oldest first. */
  grants: number[];
}

/** Caps and orders reconnect attempts across the nodes of a cluster. */
export class ReconnectGate {
  readonly #interval: number;
  readonly #maxGlobal: number;
  readonly #maxNode: number;
  readonly #maxConcurrent: number;
  readonly #slots: Slot[] = [];
  readonly #byName = new Map<string, Slot>();
  /** Times of every grant within the window, oldest first (from #head). */
  #window: number[] = [];
  #head = 0;
  #seq = 0;
  readonly #aging: number;
  #waiting = 0;
  #inProgress = 0;
  #granted = 0;

  /** Creates a gate with its caps. */
  constructor(options: ReconnectGateOptions = {}) {
    this.#interval = options.intervalMs ?? 1_000;
    this.#maxGlobal = Math.max(1, options.maxPerInterval ?? 20);
    this.#maxNode = Math.max(1, options.maxPerNodePerInterval ?? 1);
    this.#maxConcurrent = Math.max(1, options.maxConcurrent ?? 32);
    this.#aging = Math.max(1, options.agingMs ?? 60_000);
  }

  /**
   * A node wants to make an attempt (its own backoff has run out). A repeated
   * request keeps the first one's turn.
   *
   * @param node the node's name
   * @param failures its consecutive failed attempts (0 for a first attempt)
   * @param now monotonic ms
   */
  request(node: string, failures: number, now: number): void {
    let slot = this.#byName.get(node);
    if (slot === undefined) {
      slot = { name: node, waiting: false, turn: 0, seq: 0, inProgress: false, grants: [] };
      this.#byName.set(node, slot);
      this.#slots.push(slot);
    }
    if (!slot.waiting) {
      slot.waiting = true;
      slot.turn = Math.max(0, failures) + now / this.#aging;
      slot.seq = this.#seq++;
      this.#waiting++;
    }
  }

  /** A node no longer wants an attempt (closed, or connected otherwise). @param node its name */
  cancel(node: string): void {
    const slot = this.#byName.get(node);
    if (slot?.waiting) {
      slot.waiting = false;
      this.#waiting--;
    }
  }

  /** A granted attempt finished, whatever its outcome. @param node its name */
  release(node: string): void {
    const slot = this.#byName.get(node);
    if (slot?.inProgress) {
      slot.inProgress = false;
      this.#inProgress--;
    }
  }

  /** Forgets a node (removed from the cluster). @param node its name */
  remove(node: string): void {
    this.cancel(node);
    this.release(node);
    const slot = this.#byName.get(node);
    if (slot === undefined) return;
    this.#byName.delete(node);
    this.#slots.splice(this.#slots.indexOf(slot), 1);
  }

  /**
   * Grants as many waiting nodes as the caps allow, earliest turn first.
   *
   * @param now monotonic ms
   * @returns the nodes that may make their attempt now, in grant order
   */
  poll(now: number): string[] {
    this.#prune(now);
    const out: string[] = [];
    while (
      this.#waiting > 0 && this.#budget() > 0 && this.#inProgress < this.#maxConcurrent
    ) {
      let best: Slot | undefined;
      for (const slot of this.#slots) {
        if (!slot.waiting || slot.inProgress) continue;
        if (
          best !== undefined &&
          (slot.turn > best.turn || (slot.turn === best.turn && slot.seq > best.seq))
        ) continue;
        pruneTimes(slot.grants, now - this.#interval);
        if (slot.grants.length >= this.#maxNode) continue;
        best = slot;
      }
      if (best === undefined) break;
      best.waiting = false;
      this.#waiting--;
      best.inProgress = true;
      this.#inProgress++;
      best.grants.push(now);
      this.#window.push(now);
      this.#granted++;
      out.push(best.name);
    }
    return out;
  }

  /**
   * When a waiting node could next be granted, if no input comes first.
   *
   * @param now monotonic ms
   * @returns an absolute time in ms, or `undefined` when nothing waits or
   *   only a `release` can unblock the gate
   */
  pollTimeout(now: number): number | undefined {
    if (this.#waiting === 0 || this.#inProgress >= this.#maxConcurrent) return undefined;
    this.#prune(now);
    const globalAt = this.#budget() > 0 ? now : this.#window[this.#head] + this.#interval;
    let best: number | undefined;
    for (const slot of this.#slots) {
      if (!slot.waiting || slot.inProgress) continue;
      pruneTimes(slot.grants, now - this.#interval);
      const nodeAt = slot.grants.length < this.#maxNode
        ? now
        : slot.grants[slot.grants.length - this.#maxNode] + this.#interval;
      const at = Math.max(globalAt, nodeAt);
      if (best === undefined || at < best) best = at;
    }
    return best;
  }

  /** The gate's counters, as a plain snapshot. */
  stats(): ReconnectGateStats {
    return {
      waiting: this.#waiting,
      inProgress: this.#inProgress,
      grantedInWindow: this.#window.length - this.#head,
      granted: this.#granted,
    };
  }

  #budget(): number {
    return this.#maxGlobal - (this.#window.length - this.#head);
  }

  #prune(now: number): void {
    const w = this.#window;
    const cutoff = now - this.#interval;
    while (this.#head < w.length && w[this.#head] <= cutoff) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > w.length) {
      this.#window = w.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** Drops the times at or before the cutoff (the array is sorted). */
function pruneTimes(times: number[], cutoff: number): void {
  let k = 0;
  while (k < times.length && times[k] <= cutoff) k++;
  if (k > 0) times.splice(0, k);
}
