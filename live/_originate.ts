/**
 * Originate handles: an async Originate tagged with a `ChannelId`, followed
 * through the live model's channel changes until the call is over.
 *
 * @module
 */

import type { Clock } from "../client/clock.ts";
import {
  ActionError,
  ActionTimeoutError,
  ConnectionLostError,
  LocalProtocolError,
  type OriginateFailure,
} from "../core/errors.ts";
import type { LiveChannel, LiveChannelChange } from "./types.ts";

/** How an originated call ended (see {@link LiveOriginateEnd.outcome}). */
export type LiveOriginateOutcome =
  | "answered"
  | "busy"
  | "noAnswer"
  | "congestion"
  | "failed"
  | "unknown";

/** What {@link LiveOriginateHandle.ended} resolves with. */
export interface LiveOriginateEnd {
  /**
   * `answered` if a tagged channel reached Up (6) or the OriginateResponse
   * said Success; else `busy`, `noAnswer`, `congestion` or `failed` from the
   * OriginateResponse's Reason, refined by the hangup cause of the tagged
   * channels where the Reason is generic (0 or 1: cause 17 busy; 18, 19
   * noAnswer; 34, 38, 41, 42, 44, 47, 58 congestion); `failed` too when the
   * Originate was never written (see `error`) or the server refused it.
   * `unknown`: the handle's deadline passed or the live state closed first
   * (even if a channel was seen Up: `answeredAt` then says so), or the
   * Originate was written but its answer was lost (connection lost, the
   * action's deadline) and no tagged channel was seen Up.
   */
  readonly outcome: LiveOriginateOutcome;
  /**
   * The hangup cause of the tagged channels: the first one that is not 0 or
   * 16, else the first one; `undefined` if none was seen.
   */
  readonly cause: number | undefined;
  /** Asterisk's text for `cause` (`Cause-txt`). */
  readonly causeText: string | undefined;
  /** The call's `ChannelId` (the Uniqueid of its first channel). */
  readonly uniqueid: string;
  /** The client clock's time when a tagged channel reached Up (or the Success came). */
  readonly answeredAt: number | undefined;
  /** The client clock's time when the handle ended. */
  readonly endedAt: number;
  /** The failed Originate's Reason, translated, when the server answered with a failure. */
  readonly reason: OriginateFailure | undefined;
  /**
   * The Originate's error, if it failed: an {@link ActionError} from the
   * server, or a {@link ConnectionLostError} / {@link ActionTimeoutError}.
   * With `written: false` (outcome `failed`) nothing was sent: no call was
   * made, and retrying is safe.
   */
  readonly error: Error | undefined;
  /** Why the handle ended without a known outcome: `deadline`, `closed`, or `""`. */
  readonly detail: "deadline" | "closed" | "";
}

/** Options of {@link LiveState.originate}. */
export interface LiveOriginateOptions {
  /**
   * The handle's inactivity deadline, ms (client clock): when this long
   * passed since the handle's last activity (its start, the Originate
   * settling, any change to a tagged channel) and it has not ended, `ended`
   * resolves `unknown` (`detail: "deadline"`) and the handle is dropped,
   * even if tagged channels are still tracked. An answered call that sits
   * silent longer than this ends `unknown`: give long calls a longer
   * deadline. Default the action's deadline plus 30,000.
   */
  readonly timeoutMs?: number;
  /**
   * The Originate action's deadline, ms. Default the Originate's `Timeout`
   * field (else 30,000) plus 30,000.
   */
  readonly actionTimeoutMs?: number;
}

/** A call started by {@link LiveState.originate}. */
export interface LiveOriginateHandle {
  /** The `ChannelId` set on the Originate: the Uniqueid of the call's first channel. */
  readonly channelId: string;
  /** The Uniqueids of the tagged channels still tracked (a new array). */
  readonly channels: readonly string[];
  /** Whether `ended` has resolved. */
  readonly done: boolean;
  /**
   * Resolves with the first tagged channel that reached state Up (6), or
   * with `undefined` when the call ended without one. Never rejects.
   */
  readonly answered: Promise<LiveChannel | undefined>;
  /** Resolves once, when the call is over (see {@link LiveOriginateEnd}). Never rejects. */
  readonly ended: Promise<LiveOriginateEnd>;
}

/** Why {@link LiveState.originate} refused to start a call. */
export type OriginateRefusal =
  | "channelIdInUse"
  | "channelIdInvalid"
  | "notAsync"
  | "tooMany"
  | "closed";

/** {@link LiveState.originate} refused the call: nothing was sent. */
export class OriginateRefusedError extends LocalProtocolError {
  /** Why. */
  readonly reason: OriginateRefusal;

  /**
   * Creates the error.
   *
   * @param reason why
   * @param message the details
   */
  constructor(reason: OriginateRefusal, message: string) {
    super(`originate refused (${reason}): ${message}`);
    this.reason = reason;
  }
}

/** Asterisk's limit on a ChannelId (`AST_MAX_PUBLIC_UNIQUEID`). */
export const MAX_CHANNEL_ID = 149;

const CONGESTION_CAUSES: ReadonlySet<number> = new Set([34, 38, 41, 42, 44, 47, 58]);

/** The outcome a hangup cause tells, if it tells one. */
function causeOutcome(cause: number | undefined): LiveOriginateOutcome | undefined {
  if (cause === undefined) return undefined;
  if (cause === 17) return "busy";
  if (cause === 18 || cause === 19) return "noAnswer";
  if (CONGESTION_CAUSES.has(cause)) return "congestion";
  return undefined;
}

/** One handle's state. */
export class OriginateCall implements LiveOriginateHandle {
  readonly channelId: string;
  /** Extra ids (OtherChannelId) that tag a channel. */
  readonly ids: readonly string[];
  readonly answered: Promise<LiveChannel | undefined>;
  readonly ended: Promise<LiveOriginateEnd>;
  readonly #alive = new Set<string>();
  readonly #seen = new Set<string>();
  #resolveAnswered!: (c: LiveChannel | undefined) => void;
  #resolveEnded!: (e: LiveOriginateEnd) => void;
  #answeredAt: number | undefined;
  #cause: number | undefined;
  #causeText: string | undefined;
  #settled = false;
  #success = false;
  #error: Error | undefined;
  #done = false;
  /** When the handle last saw activity (client clock). */
  lastActivity: number;
  /** The deadline timer. */
  timer: unknown = undefined;

  constructor(channelId: string, ids: readonly string[], now: number) {
    this.channelId = channelId;
    this.ids = ids;
    this.lastActivity = now;
    this.answered = new Promise((r) => (this.#resolveAnswered = r));
    this.ended = new Promise((r) => (this.#resolveEnded = r));
  }

  get channels(): readonly string[] {
    return [...this.#alive];
  }
  get done(): boolean {
    return this.#done;
  }

  /** A change of a channel tagged to this call. */
  channel(change: LiveChannelChange): void {
    const uid = change.record.uniqueid;
    this.lastActivity = change.at;
    if (change.type === "removed") {
      this.#alive.delete(uid);
      const cause = change.cause;
      if (
        cause !== undefined && (this.#cause === undefined || (
          (this.#cause === 0 || this.#cause === 16) && cause !== 0 && cause !== 16
        ))
      ) {
        this.#cause = cause;
        this.#causeText = change.causeText;
      }
      return;
    }
    this.#alive.add(uid);
    this.#seen.add(uid);
    if (change.record.state === 6 && this.#answeredAt === undefined) {
      this.#answeredAt = change.at;
      this.#resolveAnswered(change.record);
    }
  }

  /** The Originate action settled. */
  settle(error: Error | undefined, now: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.lastActivity = now;
    this.#error = error;
    this.#success = error === undefined;
  }

  /**
   * Whether the call is over: the action settled and no tagged channel is
   * left (after a Success, at least one must have been seen first).
   */
  get over(): boolean {
    if (!this.#settled || this.#alive.size > 0) return false;
    return !this.#success || this.#seen.size > 0;
  }

  /** Resolves `ended` (once) with the outcome; `detail` forces `unknown`. */
  finish(now: number, detail: "deadline" | "closed" | ""): void {
    if (this.#done) return;
    this.#done = true;
    const error = this.#error;
    const reason = error instanceof ActionError ? error.originate : undefined;
    let outcome: LiveOriginateOutcome;
    let answeredAt = this.#answeredAt;
    if (detail !== "") outcome = "unknown";
    else if (answeredAt !== undefined) outcome = "answered";
    else if (this.#success) {
      outcome = "answered"; // Reason 4 without the Up seen (events filtered, or lost)
      answeredAt = this.lastActivity;
    } else if (error instanceof ActionError) {
      const kind = reason?.kind;
      if (kind === "busy" || kind === "noAnswer" || kind === "congestion") outcome = kind;
      else outcome = causeOutcome(this.#cause) ?? "failed";
    } else if (
      (error instanceof ConnectionLostError || error instanceof ActionTimeoutError) &&
      !error.written
    ) outcome = "failed";
    else outcome = "unknown";
    this.#resolveAnswered(undefined);
    this.#resolveEnded({
      outcome,
      cause: this.#cause,
      causeText: this.#causeText,
      uniqueid: this.channelId,
      answeredAt,
      endedAt: now,
      reason,
      error,
      detail,
    });
  }
}

/**
 * The open handles of one live state, found by ChannelId (a channel's
 * Uniqueid or Linkedid) and by the Uniqueids already tagged.
 */
export class OriginateRegistry {
  readonly #clock: Clock;
  readonly #byId = new Map<string, OriginateCall>();
  readonly #byUid = new Map<string, OriginateCall>();
  readonly #open = new Set<OriginateCall>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#open.size;
  }

  /** Whether `id` is the ChannelId (or OtherChannelId) of an open handle. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Adds a handle and arms its inactivity deadline. */
  add(call: OriginateCall, timeoutMs: number): void {
    this.#open.add(call);
    this.#byId.set(call.channelId, call);
    for (const id of call.ids) this.#byId.set(id, call);
    if (timeoutMs !== Infinity) this.#arm(call, timeoutMs, timeoutMs);
  }

  #arm(call: OriginateCall, ms: number, timeoutMs: number): void {
    call.timer = this.#clock.setTimer(Math.max(0, ms), () => {
      call.timer = undefined;
      if (call.done) return;
      const idle = this.#clock.now() - call.lastActivity;
      if (idle >= timeoutMs) this.end(call, "deadline");
      else this.#arm(call, timeoutMs - idle, timeoutMs);
    });
  }

  /** A channel change: feeds the handle it is tagged to, and ends it when over. */
  channel(change: LiveChannelChange): void {
    if (this.#open.size === 0) return;
    const r = change.record;
    let call = this.#byUid.get(r.uniqueid);
    if (call === undefined) {
      if (change.type === "removed") return;
      call = this.#byId.get(r.uniqueid) ?? this.#byId.get(r.linkedid);
      if (call === undefined) return;
      this.#byUid.set(r.uniqueid, call);
    }
    call.channel(change);
    if (change.type === "removed") this.#byUid.delete(r.uniqueid);
    if (call.over) this.end(call, "");
  }

  /** The Originate of `call` settled. */
  settle(call: OriginateCall, error: Error | undefined): void {
    if (call.done) return;
    call.settle(error, this.#clock.now());
    if (call.over) this.end(call, "");
  }

  /** Ends a handle and forgets it. */
  end(call: OriginateCall, detail: "deadline" | "closed" | ""): void {
    if (call.done) return;
    if (call.timer !== undefined) {
      this.#clock.clearTimer(call.timer);
      call.timer = undefined;
    }
    this.#open.delete(call);
    if (this.#byId.get(call.channelId) === call) this.#byId.delete(call.channelId);
    for (const id of call.ids) if (this.#byId.get(id) === call) this.#byId.delete(id);
    for (const uid of call.channels) if (this.#byUid.get(uid) === call) this.#byUid.delete(uid);
    call.finish(this.#clock.now(), detail);
  }

  /** Ends every open handle `unknown` (`closed`). */
  close(): void {
    for (const call of [...this.#open]) this.end(call, "closed");
  }
}
