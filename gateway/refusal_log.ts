/**
 * Coalesced logging of refused requests: the gateway logs a refusal at once
 * the first time an identity is refused, and after that at most one summary
 * per interval per identity (how many were refused since the last one), so a
 * misconfigured or hostile client cannot flood the log. Pure: time is passed
 * in, nothing is logged here; the caller logs what {@link RefusalLog.refuse}
 * and {@link RefusalLog.poll} return.
 *
 * Memory is bounded: at most `maxIdentities` identities are tracked; an
 * identity idle for an interval is forgotten; refusals of identities beyond
 * the cap are counted together under {@link OVERFLOW_IDENTITY}.
 *
 * @module
 */

/** The identity under which refusals beyond the tracking cap are summarised. */
export const OVERFLOW_IDENTITY = "(other identities)";

/** Options of {@link RefusalLog}. */
export interface RefusalLogOptions {
  /** The least time between two summaries of one identity, in ms. Default 60,000. */
  readonly intervalMs?: number;
  /** How many identities are tracked at once. Default 1,000. */
  readonly maxIdentities?: number;
}

/** One refusal, as the gateway saw it. */
export interface Refusal {
  /** Who asked. */
  readonly identity: string;
  /** The node. */
  readonly node: string;
  /** The action's name. */
  readonly action: string;
}

/** What to log: refusals of one identity since its previous summary. */
export interface RefusalSummary {
  /** The identity, or {@link OVERFLOW_IDENTITY}. */
  readonly identity: string;
  /** Refusals since the previous summary of this identity, this one included. */
  readonly refused: number;
  /** The latest of them: node and action. */
  readonly last: { readonly node: string; readonly action: string };
  /** Whether this sums up identities beyond the tracking cap. */
  readonly overflow: boolean;
}

interface Entry {
  pending: number;
  lastLogAt: number;
  last: { node: string; action: string };
}

/** Counts refusals per identity and says when to log them. */
export class RefusalLog {
  readonly #intervalMs: number;
  readonly #max: number;
  /** Tracked identities, in the order of their last summary (oldest first). */
  readonly #entries = new Map<string, Entry>();
  readonly #overflow: Entry = { pending: 0, lastLogAt: -Infinity, last: { node: "", action: "" } };
  #total = 0;
  #overflowed = 0;

  /**
   * Creates an empty log.
   *
   * @param options the interval and the tracking cap
   * @throws {RangeError} on an interval or cap that is not a positive integer
   */
  constructor(options: RefusalLogOptions = {}) {
    const { intervalMs = 60_000, maxIdentities = 1_000 } = options;
    if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) {
      throw new RangeError(`RefusalLog: intervalMs must be a positive integer, got ${intervalMs}`);
    }
    if (!Number.isSafeInteger(maxIdentities) || maxIdentities <= 0) {
      throw new RangeError(
        `RefusalLog: maxIdentities must be a positive integer, got ${maxIdentities}`,
      );
    }
    this.#intervalMs = intervalMs;
    this.#max = maxIdentities;
  }

  /** Refusals counted since creation. */
  get total(): number {
    return this.#total;
  }

  /** Refusals of identities beyond the tracking cap, since creation. */
  get overflowed(): number {
    return this.#overflowed;
  }

  /** Identities tracked now (at most `maxIdentities`). */
  get tracked(): number {
    return this.#entries.size;
  }

  /**
   * Counts one refusal.
   *
   * @param refusal who was refused, for which node and action
   * @param now monotonic milliseconds
   * @returns a summary to log now, or `undefined` when this identity was
   *   logged less than an interval ago (the refusal is counted for its next one)
   */
  refuse(refusal: Refusal, now: number): RefusalSummary | undefined {
    this.#total++;
    const last = { node: refusal.node, action: refusal.action };
    let entry = this.#entries.get(refusal.identity);
    if (entry === undefined) {
      if (this.#entries.size >= this.#max) this.#evictOne(now);
      if (this.#entries.size >= this.#max) {
        this.#overflowed++;
        return this.#count(OVERFLOW_IDENTITY, this.#overflow, last, now, true);
      }
      entry = { pending: 0, lastLogAt: -Infinity, last };
      this.#entries.set(refusal.identity, entry);
    }
    return this.#count(refusal.identity, entry, last, now, false);
  }

  /**
   * The summaries that are due: identities with refusals not yet logged whose
   * last summary is an interval old. Forgets identities idle for an interval.
   *
   * @param now monotonic milliseconds
   * @returns the summaries to log now, oldest first
   */
  poll(now: number): RefusalSummary[] {
    const out: RefusalSummary[] = [];
    for (const [identity, entry] of [...this.#entries]) {
      if (now - entry.lastLogAt < this.#intervalMs) break; // the rest are younger
      this.#entries.delete(identity);
      if (entry.pending > 0) {
        out.push(this.#summary(identity, entry, now, false));
        this.#entries.set(identity, entry);
      }
    }
    if (this.#overflow.pending > 0 && now - this.#overflow.lastLogAt >= this.#intervalMs) {
      out.push(this.#summary(OVERFLOW_IDENTITY, this.#overflow, now, true));
    }
    return out;
  }

  /**
   * When {@link poll} has something to return next.
   *
   * @returns monotonic milliseconds, or `undefined` when no refusal awaits a summary
   */
  nextDeadline(): number | undefined {
    let next = this.#overflow.pending > 0 ? this.#overflow.lastLogAt + this.#intervalMs : Infinity;
    for (const entry of this.#entries.values()) {
      if (entry.pending > 0) {
        next = Math.min(next, entry.lastLogAt + this.#intervalMs);
        break; // entries are in the order of their last summary
      }
    }
    return next === Infinity ? undefined : next;
  }

  #count(
    identity: string,
    entry: Entry,
    last: { node: string; action: string },
    now: number,
    overflow: boolean,
  ): RefusalSummary | undefined {
    entry.pending++;
    entry.last = last;
    if (now - entry.lastLogAt < this.#intervalMs) return undefined;
    if (!overflow) {
      this.#entries.delete(identity);
      this.#entries.set(identity, entry);
    }
    return this.#summary(identity, entry, now, overflow);
  }

  #summary(identity: string, entry: Entry, now: number, overflow: boolean): RefusalSummary {
    const summary = { identity, refused: entry.pending, last: entry.last, overflow };
    entry.pending = 0;
    entry.lastLogAt = now;
    return summary;
  }

  /** Forgets the identity logged longest ago if it is idle and an interval old. */
  #evictOne(now: number): void {
    for (const [identity, entry] of this.#entries) {
      if (entry.pending === 0 && now - entry.lastLogAt >= this.#intervalMs) {
        this.#entries.delete(identity);
      }
      return;
    }
  }
}
