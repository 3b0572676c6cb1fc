/**
 * The lead book: which lead is dialled next, which waits for a retry, which
 * is done. Pure (times are passed in). A lead is handed out only when it is
 * `ready` and becomes `dialing` at once, so it is never dialled twice at a
 * time; an `unknown` outcome is final, so a call that may have happened is
 * never placed again by itself.
 *
 * @module
 */

import type { CampaignConfig, Outcome, RetryableOutcome } from "./campaign.ts";
import type { LeadHistory } from "./journal.ts";
import type { Lead } from "./leads.ts";

/** Where a lead stands. */
export type LeadStatus = "ready" | "dialing" | "waiting" | "done";

/** One lead's state in the book. */
export interface LeadState {
  /** The lead. */
  readonly lead: Lead;
  /** Where it stands. */
  status: LeadStatus;
  /** Attempts made so far. */
  attempts: number;
  /** When a `waiting` lead is ready again (clock ms). */
  retryAt: number;
  /** The last outcome, if any. */
  outcome: Outcome | undefined;
  /** Whether an answered attempt was abandoned. */
  abandoned: boolean;
  /** Time with an agent over every attempt, ms. */
  talkMs: number;
  /** The last hangup cause. */
  cause: number | undefined;
  /** The last outcome's detail (`restart` for calls left open by a process that died). */
  detail: string;
}

/** The retry policy a book applies. */
export type RetryPolicy = Pick<CampaignConfig, "maxAttempts" | "retryDelayMs">;

/** The leads of a campaign and their state. */
export class LeadBook {
  readonly #policy: RetryPolicy;
  readonly #states = new Map<string, LeadState>();
  /** Ids of `ready` leads, in dial order (a retry goes to the back). */
  #queue: string[] = [];
  #head = 0;
  /** Ids of `waiting` leads. */
  readonly #waiting = new Set<string>();

  /**
   * Makes a book; leads the journal knows resume where they were.
   *
   * @param leads the leads, in file order
   * @param policy attempts and retry delays
   * @param history what the journal says (see {@link resumeFrom})
   * @param now the clock's time
   * @param wallNow the wall clock's time (journal times are wall times)
   */
  constructor(
    leads: readonly Lead[],
    policy: RetryPolicy,
    history: ReadonlyMap<string, LeadHistory> = new Map(),
    now = 0,
    wallNow = 0,
  ) {
    this.#policy = policy;
    for (const lead of leads) {
      const s: LeadState = {
        lead,
        status: "ready",
        attempts: 0,
        retryAt: 0,
        outcome: undefined,
        abandoned: false,
        talkMs: 0,
        cause: undefined,
        detail: "",
      };
      this.#states.set(lead.id, s);
      const h = history.get(lead.id);
      if (h !== undefined) {
        s.attempts = h.attempts;
        for (const o of h.outcomes) {
          s.outcome = o.outcome;
          s.abandoned ||= o.abandoned;
          s.talkMs += o.talkMs;
          s.cause = o.cause;
          s.detail = o.detail;
        }
        if (h.open !== undefined) {
          s.outcome = "unknown";
          s.detail = "restart";
          s.status = "done";
          continue;
        }
        const last = h.outcomes.at(-1);
        if (last !== undefined) {
          const delay = this.#retryDelay(s, last.outcome);
          if (delay === undefined) s.status = "done";
          else {
            s.status = "waiting";
            s.retryAt = now + Math.max(0, last.wall + delay - wallNow);
            this.#waiting.add(lead.id);
            continue;
          }
        }
      }
      if (s.status === "ready") this.#queue.push(lead.id);
    }
  }

  /** The delay before the next attempt, or `undefined` when the lead is done. */
  #retryDelay(s: LeadState, outcome: Outcome): number | undefined {
    if (s.attempts >= this.#policy.maxAttempts) return undefined;
    if (outcome === "answered" || outcome === "unknown") return undefined;
    if (s.detail.startsWith("notSent")) return 0; // no call was made: try again at once
    return this.#policy.retryDelayMs[outcome as RetryableOutcome];
  }

  /** Every lead's state, in file order. */
  get states(): IterableIterator<LeadState> {
    return this.#states.values();
  }

  /**
   * One lead's state.
   *
   * @param id the lead's id
   * @returns its state, or `undefined`
   */
  get(id: string): LeadState | undefined {
    return this.#states.get(id);
  }

  /**
   * Makes `waiting` leads whose time came `ready`.
   *
   * @param now the clock's time
   */
  promote(now: number): void {
    for (const id of this.#waiting) {
      const s = this.#states.get(id)!;
      if (s.retryAt <= now) {
        s.status = "ready";
        this.#waiting.delete(id);
        this.#queue.push(id);
      }
    }
  }

  /** Whether a lead is ready now (call {@link LeadBook.promote} first). */
  get hasReady(): boolean {
    return this.#head < this.#queue.length;
  }

  /**
   * Hands out up to `n` ready leads, each now `dialing` with its attempt counted.
   *
   * @param n how many
   * @returns the leads' states
   */
  take(n: number): LeadState[] {
    const out: LeadState[] = [];
    while (out.length < n && this.#head < this.#queue.length) {
      const s = this.#states.get(this.#queue[this.#head++])!;
      if (s.status !== "ready") continue;
      s.status = "dialing";
      s.attempts++;
      out.push(s);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  /**
   * A `dialing` lead's call ended: done, or waiting for a retry.
   *
   * @param id the lead
   * @param result the outcome and what came with it
   * @param now the clock's time
   * @throws {Error} the lead is not `dialing` (a bug in the caller)
   */
  finish(
    id: string,
    result: {
      outcome: Outcome;
      abandoned: boolean;
      talkMs: number;
      cause: number | undefined;
      detail: string;
    },
    now: number,
  ): void {
    const s = this.#states.get(id);
    if (s === undefined || s.status !== "dialing") {
      throw new Error(`lead ${id} is not dialing (${s?.status ?? "unknown lead"})`);
    }
    s.outcome = result.outcome;
    s.abandoned ||= result.abandoned;
    s.talkMs += result.talkMs;
    s.cause = result.cause;
    s.detail = result.detail;
    const delay = this.#retryDelay(s, result.outcome);
    if (delay === undefined) s.status = "done";
    else {
      s.status = "waiting";
      s.retryAt = now + delay;
      this.#waiting.add(id);
    }
  }

  /**
   * Gives a `dialing` lead back unused (its attempt is not counted): its
   * Originate was never written.
   *
   * @param id the lead
   */
  giveBack(id: string): void {
    const s = this.#states.get(id);
    if (s === undefined || s.status !== "dialing") return;
    s.status = "ready";
    s.attempts--;
    this.#queue.push(id);
  }

  /** The earliest time a waiting lead is due, or `undefined`. */
  get nextRetryAt(): number | undefined {
    let t: number | undefined;
    for (const id of this.#waiting) {
      const at = this.#states.get(id)!.retryAt;
      if (t === undefined || at < t) t = at;
    }
    return t;
  }

  /** Counts by status. */
  counts(): Record<LeadStatus, number> {
    const c: Record<LeadStatus, number> = { ready: 0, dialing: 0, waiting: 0, done: 0 };
    for (const s of this.#states.values()) c[s.status]++;
    return c;
  }
}
