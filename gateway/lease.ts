/**
 * The lease of one node in one gateway: a pure state machine, in the manner
 * of the client's supervisor, that decides when to create, renew and release
 * the node's key in the JetStream key-value lease bucket, when the gateway may
 * hold the node's AMI session, and when it must stop at once. It holds no
 * timer, clock or I/O: the gateway feeds it inputs with `now` (monotonic ms)
 * and carries out its outputs (the KV calls, starting and stopping the session).
 *
 * ## What the KV gives (NATS JetStream KV)
 *
 * The bucket has a bucket-wide TTL (`max_age` = `ttlMs`): an entry disappears
 * `ttlMs` after its last write on the server, lazily (it may linger up to an
 * expiry lag longer, never shorter). `create` succeeds only when the key has
 * no live value; `update(revision)` and `delete(previousSeq)` are
 * compare-and-set on the key's revision. Any call may fail or time out with
 * its effect applied or not.
 *
 * ## Validity (the fencing rule)
 *
 * A successful create or update proves that the server wrote the lease no
 * earlier than the moment the request was sent, so the lease is valid until
 * `sentAt + ttlMs - safetyMs`. The machine records `sentAt` when it emits the
 * request (the driver sends it right after, so the real send is never
 * earlier) and results carry the request's id, so it knows which `sentAt`
 * applies. No other gateway can create the key before the entry expires, and
 * none can update or delete it without its revision, so two valid leases on
 * one node never overlap. {@link LeaseMachine.mayAct} is `true` only while the
 * lease is known valid: it turns `false` at the deadline even if no input
 * came (a process paused past it checks `mayAct(now)` on waking, before it
 * writes an action or publishes an event). When validity runs out before a
 * renewal succeeded, the next input emits `stopSession` (self-fencing).
 *
 * `safetyMs` covers the rate difference between this process's monotonic
 * clock and the server's (NTP-disciplined clocks differ by well under 0.1%,
 * so `ttlMs / 1000` already covers it) and the gap between a `mayAct` check
 * and the write it guards. The gateway keeps that gap inside one synchronous
 * turn (check, then write, no `await` between), so only a stall inside that
 * turn longer than `safetyMs` is not covered; no lease without a fencing check
 * at the resource (Asterisk has none) can cover that. The acquisition revision
 * is the fencing token: KV revisions are the bucket stream's sequence
 * numbers, so every later tenure of any gateway has a larger one.
 *
 * ## Rules
 *
 * - A create or update whose outcome is unknown (error, timeout) never
 *   starts a session: the machine treats it as failed and retries later; if
 *   it did succeed, the entry conflicts with every create (this gateway's too)
 *   until it expires, then someone acquires the node.
 * - `updateConflict` means the lease is no longer this gateway's: the session
 *   stops at once. (A renewal that timed out but was applied makes the next
 *   renewal conflict too: safe, at the cost of one failover.)
 * - Self-fenced (validity ran out), the machine tries to take the lease back
 *   with an update on the revision it knows: that succeeds only when nobody
 *   wrote the key since, so an outage or pause that ends before the entry
 *   expires on the server costs no failover. Otherwise it backs off and
 *   creates.
 * - `unwant()` while holding: `stopSession` first, then `delete` (compare-and-
 *   set), so another gateway takes over at once instead of after the TTL.
 * - At most one request is in flight; a result for any other request id is
 *   stale and ignored (counted in {@link LeaseSnapshot.stale}).
 *
 * ## Failover bound (what the gateway documents)
 *
 * When the holder dies, its last renewal lands on the server at most one
 * request leg after the death, and its entry disappears `ttlMs` plus the
 * server's expiry lag after that. A gateway that wants the node retries its
 * create every `retryEveryMs`, so one of its creates lands within
 * `retryEveryMs` plus a round trip of the removal, and the reply comes one
 * leg later. So the lease moves within
 * `ttlMs + expiryLag + retryEveryMs + 2 × roundTrip` of the death, and the
 * node's session is back after the AMI login:
 * `failover ≤ ttlMs + expiryLag + retryEveryMs + 2 × roundTrip + loginTime`.
 * `gateway/spread.ts` adds at most its grace period while the live-gateway
 * count is stale. The model test (tests/gateway_lease_model.test.ts) asserts
 * this bound after the last fault, computed from its configuration. Note for
 * the driver: on nats-server 2.9 an expiry by `max_age` makes no watch event,
 * so a gateway learns that a node is free from a `get` that finds nothing or
 * a create that succeeds, not from a watcher.
 *
 * Drain order after every input: {@link LeaseMachine.poll} until `undefined`
 * (outputs in the order they were decided: `stopSession` always before the
 * `delete` or `update` that follows it), then {@link LeaseMachine.pollTimeout}
 * to arm the one timer, whose firing is {@link LeaseMachine.tick}.
 *
 * @module
 */

import { OutputQueue } from "../core/_output_queue.ts";
import { LocalProtocolError } from "../core/errors.ts";

/**
 * The machine's phases. `free`: not wanted, nothing in flight; `backoff`:
 * wanted, waiting to retry; `acquiring`: a create (or, self-fenced, an update
 * on the known revision) in flight, no session; `held`: lease valid, session
 * started, renewal due later; `renewing`: lease valid, session started, an
 * update in flight; `releasing`: not wanted (or wanted again after a delete),
 * cleaning up: a delete in flight, or a create or update whose success must be
 * undone by one.
 */
export type LeasePhase = "free" | "backoff" | "acquiring" | "held" | "renewing" | "releasing";

/** Every allowed phase change; the machine asserts it, the model test checks it. */
export const LEASE_TRANSITIONS: Readonly<Record<LeasePhase, readonly LeasePhase[]>> = Object
  .freeze({
    free: ["acquiring"],
    backoff: ["acquiring", "free"],
    acquiring: ["held", "backoff", "releasing"],
    held: ["renewing", "acquiring", "releasing"],
    renewing: ["held", "acquiring", "backoff", "releasing"],
    releasing: ["free", "acquiring"],
  });

/** Why a session stops. */
export type StopReason =
  /** Validity ran out before a renewal succeeded (NATS unreachable, process paused). */
  | "expired"
  /** A renewal found another revision: someone else holds the lease. */
  | "conflict"
  /** The gateway no longer wants the node (`unwant`). */
  | "released";

/** What the driver must do, in the order given (see the module doc). */
export type LeaseOutput =
  /** `create` the node's key; report the outcome with this id. */
  | { readonly kind: "create"; readonly id: number }
  /** `update` the node's key on this revision; report the outcome with this id. */
  | { readonly kind: "update"; readonly id: number; readonly revision: number }
  /** `delete` the node's key with `previousSeq: revision`; report with `deleteDone(id)`. */
  | { readonly kind: "delete"; readonly id: number; readonly revision: number }
  /** The lease is held: open the node's session; `revision` is the fencing token. */
  | { readonly kind: "startSession"; readonly revision: number }
  /** The lease is lost or released: close the session now. */
  | { readonly kind: "stopSession"; readonly reason: StopReason };

/** Timing of a {@link LeaseMachine}, all in ms. */
export interface LeaseConfig {
  /** The bucket's TTL (`max_age`). */
  readonly ttlMs: number;
  /** Renew this long after the last successful write was sent. Default `ttlMs / 3`. */
  readonly renewEveryMs?: number;
  /** Wait between failed acquisitions, and before retrying a failed renewal. */
  readonly retryEveryMs: number;
  /** Validity ends this long before the TTL (clock rate, scheduling). Default `max(ttlMs / 10, 100)`. */
  readonly safetyMs?: number;
}

/** Observers of a {@link LeaseMachine}. */
export interface LeaseHooks {
  /**
   * Called on every phase change, synchronously (for logs, metrics and the
   * model test); it must not call back into the machine.
   */
  readonly onPhase?: (from: LeasePhase, to: LeasePhase) => void;
}

/** A {@link LeaseConfig} with its defaults filled in. */
export interface ResolvedLeaseConfig {
  /** The bucket's TTL. */
  readonly ttlMs: number;
  /** Renewal interval. */
  readonly renewEveryMs: number;
  /** Retry interval. */
  readonly retryEveryMs: number;
  /** Safety margin. */
  readonly safetyMs: number;
}

/** The fixed part of the default `safetyMs`, ms. */
export const MIN_DEFAULT_SAFETY_MS = 100;

/**
 * Checks a {@link LeaseConfig} and fills in its defaults.
 *
 * @param config the timing
 * @returns the timing with every field set
 * @throws {LocalProtocolError} when a value is not a finite positive number, or
 *   the renewal would come after validity ends
 */
export function resolveLeaseConfig(config: LeaseConfig): ResolvedLeaseConfig {
  const ttlMs = positive("ttlMs", config.ttlMs);
  const retryEveryMs = positive("retryEveryMs", config.retryEveryMs);
  const safetyMs = config.safetyMs === undefined
    ? Math.max(ttlMs / 10, MIN_DEFAULT_SAFETY_MS)
    : nonNegative("safetyMs", config.safetyMs);
  if (safetyMs >= ttlMs) {
    throw new LocalProtocolError(
      `lease: safetyMs (${safetyMs}) must be less than ttlMs (${ttlMs})`,
    );
  }
  const renewEveryMs = config.renewEveryMs === undefined
    ? ttlMs / 3
    : positive("renewEveryMs", config.renewEveryMs);
  if (renewEveryMs >= ttlMs - safetyMs) {
    throw new LocalProtocolError(
      `lease: renewEveryMs (${renewEveryMs}) must be less than ttlMs - safetyMs (${
        ttlMs - safetyMs
      }), or the lease runs out before it is renewed`,
    );
  }
  return { ttlMs, renewEveryMs, retryEveryMs, safetyMs };
}

function positive(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new LocalProtocolError(`lease: ${name} must be a finite number > 0, got ${String(v)}`);
  }
  return v;
}

function nonNegative(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new LocalProtocolError(`lease: ${name} must be a finite number >= 0, got ${String(v)}`);
  }
  return v;
}

/** The request in flight. */
export interface PendingRequest {
  /** Which call. */
  readonly kind: "create" | "update" | "delete";
  /** Its id. */
  readonly id: number;
  /** When it was emitted (monotonic ms). */
  readonly sentAt: number;
  /** The revision it names (update, delete). */
  readonly revision?: number;
}

/** A plain snapshot of the machine, for stats and the model test. */
export interface LeaseSnapshot {
  /** The phase. */
  readonly phase: LeasePhase;
  /** Whether the gateway wants the node. */
  readonly wanted: boolean;
  /** The acquisition revision of the current tenure (the fencing token), if held. */
  readonly token: number | undefined;
  /** The last revision this machine knows it wrote. */
  readonly revision: number | undefined;
  /** End of validity while held (`-Infinity` otherwise). */
  readonly validUntil: number;
  /** The request in flight. */
  readonly pending: PendingRequest | undefined;
  /** Results ignored as stale (not the request in flight). */
  readonly stale: number;
  /** Sessions started. */
  readonly sessions: number;
  /** Requests emitted. */
  readonly requests: number;
}

/** The machine's timers, in the order they are handled when due at once. */
type TimerKind = "expiry" | "giveUp" | "renew" | "retry";
const TIMER_ORDER: readonly TimerKind[] = ["expiry", "giveUp", "renew", "retry"];

/** Which timers each phase may have armed (the others are cleared on entry). */
const PHASE_TIMERS: Readonly<Record<LeasePhase, readonly TimerKind[]>> = {
  free: [],
  backoff: ["retry"],
  acquiring: ["giveUp"],
  held: ["expiry", "renew"],
  renewing: ["expiry"],
  releasing: ["giveUp"],
};

/** The lease machine of one node (see the module doc). */
export class LeaseMachine {
  readonly #cfg: ResolvedLeaseConfig;
  readonly #onPhase: LeaseHooks["onPhase"];
  readonly #out = new OutputQueue<LeaseOutput>();
  readonly #timers: Record<TimerKind, number | undefined> = {
    expiry: undefined,
    giveUp: undefined,
    renew: undefined,
    retry: undefined,
  };
  #phase: LeasePhase = "free";
  #wanted = false;
  #now = -Infinity;
  #nextId = 1;
  #pending: PendingRequest | undefined;
  #revision: number | undefined;
  #token: number | undefined;
  #validUntil = -Infinity;
  #stale = 0;
  #sessions = 0;

  /**
   * Creates the machine of one node, `free` (nothing wanted yet).
   *
   * @param config the timing (checked by {@link resolveLeaseConfig})
   * @param hooks observers
   * @throws {LocalProtocolError} on a bad config
   */
  constructor(config: LeaseConfig, hooks: LeaseHooks = {}) {
    this.#cfg = resolveLeaseConfig(config);
    this.#onPhase = hooks.onPhase;
  }

  /** The timing, with defaults. */
  get config(): ResolvedLeaseConfig {
    return this.#cfg;
  }

  /** The phase. */
  get phase(): LeasePhase {
    return this.#phase;
  }

  /** A plain snapshot. */
  snapshot(): LeaseSnapshot {
    return {
      phase: this.#phase,
      wanted: this.#wanted,
      token: this.#holding() ? this.#token : undefined,
      revision: this.#revision,
      validUntil: this.#holding() ? this.#validUntil : -Infinity,
      pending: this.#pending,
      stale: this.#stale,
      sessions: this.#sessions,
      requests: this.#nextId - 1,
    };
  }

  /**
   * The fencing check, on the hot path: `true` only while the lease is known
   * valid. Call it right before each write it guards, in the same turn.
   *
   * @param now monotonic ms
   * @returns whether the gateway may act for the node now
   */
  mayAct(now: number): boolean {
    return this.#holding() && now < this.#validUntil;
  }

  // ---------------------------------------------------------------- inputs

  /**
   * The gateway wants to hold the node: acquire it (and keep it).
   *
   * @param now monotonic ms
   */
  want(now: number): void {
    this.#begin(now);
    this.#wanted = true;
    if (this.#phase === "free") {
      this.#acquire(now);
    } else if (this.#phase === "releasing" && this.#pending?.kind !== "delete") {
      // A create or update still in flight: its success is now welcome.
      this.#to("acquiring");
      this.#timers.giveUp = this.#endOf(this.#pending!);
    }
    this.#advance(now);
  }

  /**
   * The gateway no longer wants the node: stop the session (if any) and
   * release the lease so another gateway takes over at once.
   *
   * @param now monotonic ms
   */
  unwant(now: number): void {
    this.#begin(now);
    this.#wanted = false;
    switch (this.#phase) {
      case "backoff":
        this.#to("free");
        break;
      case "acquiring":
        this.#to("releasing");
        this.#timers.giveUp = this.#endOf(this.#pending!);
        break;
      case "held":
        this.#stop("released");
        this.#to("releasing");
        this.#send("delete", now, this.#revision);
        break;
      case "renewing":
        this.#stop("released");
        this.#to("releasing");
        this.#timers.giveUp = this.#endOf(this.#pending!);
        break;
      default:
        break;
    }
    this.#advance(now);
  }

  /**
   * The create with this id succeeded.
   *
   * @param id the request's id
   * @param revision the entry's new revision
   * @param now monotonic ms
   */
  createOk(id: number, revision: number, now: number): void {
    this.#begin(now);
    const p = this.#match("create", id);
    if (p !== undefined) this.#succeeded(p, revision, now);
    this.#advance(now);
  }

  /**
   * The create with this id failed: the key has a live value (nats.js: a
   * `JetStreamApiError` with code 10071 `StreamWrongLastSequence`, or 10164;
   * any other failure is {@link LeaseMachine.createError}).
   *
   * @param id the request's id
   * @param now monotonic ms
   */
  createConflict(id: number, now: number): void {
    this.#createFailed(id, now);
  }

  /**
   * The create with this id failed or timed out (it may have been applied).
   *
   * @param id the request's id
   * @param now monotonic ms
   */
  createError(id: number, now: number): void {
    this.#createFailed(id, now);
  }

  /**
   * The update with this id succeeded.
   *
   * @param id the request's id
   * @param revision the entry's new revision
   * @param now monotonic ms
   */
  updateOk(id: number, revision: number, now: number): void {
    this.#begin(now);
    const p = this.#match("update", id);
    if (p !== undefined) this.#succeeded(p, revision, now);
    this.#advance(now);
  }

  /**
   * The update with this id failed: the key's revision is another (someone
   * else holds the lease, or it expired). nats.js: a `JetStreamApiError` with
   * code 10071 or 10164; any other failure is {@link LeaseMachine.updateError}.
   *
   * @param id the request's id
   * @param now monotonic ms
   */
  updateConflict(id: number, now: number): void {
    this.#begin(now);
    const p = this.#match("update", id);
    if (p !== undefined) {
      this.#pending = undefined;
      if (this.#phase === "renewing") {
        this.#stop("conflict");
        this.#backoff(now);
      } else if (this.#phase === "acquiring") {
        this.#backoff(now);
      } else {
        this.#released(now);
      }
    }
    this.#advance(now);
  }

  /**
   * The update with this id failed or timed out (it may have been applied).
   *
   * @param id the request's id
   * @param now monotonic ms
   */
  updateError(id: number, now: number): void {
    this.#begin(now);
    const p = this.#match("update", id);
    if (p !== undefined) {
      this.#pending = undefined;
      if (this.#phase === "renewing") {
        // Still valid: try again later (validity's own deadline still stands).
        this.#to("held");
        this.#timers.renew = now + this.#cfg.retryEveryMs;
      } else if (this.#phase === "acquiring") {
        this.#backoff(now);
      } else {
        // Releasing: if the update was not applied, the known revision still deletes it.
        this.#send("delete", now, this.#revision);
      }
    }
    this.#advance(now);
  }

  /**
   * The delete with this id is over, whatever its outcome (a failed delete
   * leaves an entry that expires on its own).
   *
   * @param id the request's id
   * @param now monotonic ms
   */
  deleteDone(id: number, now: number): void {
    this.#begin(now);
    const p = this.#match("delete", id);
    if (p !== undefined) {
      this.#pending = undefined;
      this.#released(now);
    }
    this.#advance(now);
  }

  /**
   * Time passed (the timer armed from {@link LeaseMachine.pollTimeout} fired;
   * early or late is harmless): renewals, retries, give-ups and the end of
   * validity that are due happen now.
   *
   * @param now monotonic ms
   */
  tick(now: number): void {
    this.#begin(now);
  }

  // --------------------------------------------------------------- outputs

  /**
   * The next output, in the order decided.
   *
   * @returns the output, or `undefined`
   */
  poll(): LeaseOutput | undefined {
    return this.#out.poll();
  }

  /**
   * The earliest deadline (renewal, end of validity, retry, give-up), absolute ms.
   *
   * @returns the deadline, or `undefined` when there is none
   */
  pollTimeout(): number | undefined {
    let min: number | undefined;
    for (const k of TIMER_ORDER) {
      const t = this.#timers[k];
      if (t !== undefined && (min === undefined || t < min)) min = t;
    }
    return min;
  }

  // ------------------------------------------------------------- internals

  #holding(): boolean {
    return this.#phase === "held" || this.#phase === "renewing";
  }

  /** Every input starts here: `now` checked, then whatever fell due before it (validity first). */
  #begin(now: number): void {
    if (!(now >= this.#now)) {
      throw new LocalProtocolError(
        `lease: now (${now}) went backwards (last ${this.#now}); pass a monotonic clock`,
      );
    }
    this.#now = now;
    this.#advance(now);
  }

  /** Handles every due timer, validity first. */
  #advance(now: number): void {
    for (let guard = 0;; guard++) {
      if (guard > 32) throw new Error("lease: timers do not settle (a bug in amikit)");
      const due = TIMER_ORDER.find((k) => this.#timers[k] !== undefined && this.#timers[k]! <= now);
      if (due === undefined) return;
      this.#timers[due] = undefined;
      this.#fire(due, now);
    }
  }

  #fire(kind: TimerKind, now: number): void {
    switch (kind) {
      case "expiry":
        // Self-fence; then take the lease back if nobody wrote it since.
        this.#stop("expired");
        if (this.#phase === "held") {
          this.#to("acquiring");
          this.#send("update", now, this.#revision);
        } else {
          this.#to("acquiring");
          this.#timers.giveUp = this.#endOf(this.#pending!);
        }
        return;
      case "giveUp":
        // The request's result could no longer prove anything.
        this.#pending = undefined;
        if (this.#phase === "acquiring") this.#backoff(now);
        else this.#released(now);
        return;
      case "renew":
        this.#to("renewing");
        this.#send("update", now, this.#revision);
        return;
      case "retry":
        this.#acquire(now);
        return;
    }
  }

  #createFailed(id: number, now: number): void {
    this.#begin(now);
    const p = this.#match("create", id);
    if (p !== undefined) {
      this.#pending = undefined;
      if (this.#phase === "acquiring") this.#backoff(now);
      else this.#released(now);
    }
    this.#advance(now);
  }

  /** A create or update succeeded: hold, renew, or undo it when releasing. */
  #succeeded(p: PendingRequest, revision: number, now: number): void {
    this.#pending = undefined;
    this.#revision = revision;
    if (this.#phase === "releasing") {
      this.#send("delete", now, revision);
      return;
    }
    // Not past the give-up deadline (handled first), so still valid now.
    const validUntil = this.#endOf(p);
    if (this.#phase === "acquiring") {
      this.#token = revision;
      this.#sessions++;
      this.#to("held");
      this.#emit({ kind: "startSession", revision });
    } else {
      this.#to("held");
    }
    this.#validUntil = validUntil;
    this.#timers.expiry = validUntil;
    this.#timers.renew = p.sentAt + this.#cfg.renewEveryMs;
  }

  /** A release is over: free, or acquire again when wanted meanwhile. */
  #released(now: number): void {
    if (this.#wanted) this.#acquire(now);
    else this.#to("free");
  }

  #acquire(now: number): void {
    this.#to("acquiring");
    this.#send("create", now, undefined);
  }

  #backoff(now: number): void {
    this.#to("backoff");
    this.#timers.retry = now + this.#cfg.retryEveryMs;
  }

  #stop(reason: StopReason): void {
    this.#validUntil = -Infinity;
    this.#emit({ kind: "stopSession", reason });
  }

  /** The request's give-up deadline: when a success could no longer prove validity. */
  #endOf(p: PendingRequest): number {
    return p.kind === "delete"
      ? p.sentAt + this.#cfg.ttlMs
      : p.sentAt + this.#cfg.ttlMs - this.#cfg.safetyMs;
  }

  #send(kind: PendingRequest["kind"], now: number, revision: number | undefined): void {
    const id = this.#nextId++;
    const p: PendingRequest = revision === undefined
      ? { kind, id, sentAt: now }
      : { kind, id, sentAt: now, revision };
    this.#pending = p;
    if (this.#phase === "acquiring" || this.#phase === "releasing") {
      this.#timers.giveUp = this.#endOf(p);
    }
    if (kind === "create") this.#emit({ kind, id });
    else this.#emit({ kind, id, revision: revision! });
  }

  #match(kind: PendingRequest["kind"], id: number): PendingRequest | undefined {
    const p = this.#pending;
    if (p === undefined || p.kind !== kind || p.id !== id) {
      this.#stale++;
      return undefined;
    }
    return p;
  }

  #to(phase: LeasePhase): void {
    if (phase === this.#phase) return;
    if (!LEASE_TRANSITIONS[this.#phase].includes(phase)) {
      throw new Error(`lease: no transition ${this.#phase} -> ${phase} (a bug in amikit)`);
    }
    const from = this.#phase;
    this.#phase = phase;
    const keep = PHASE_TIMERS[phase];
    for (const k of TIMER_ORDER) if (!keep.includes(k)) this.#timers[k] = undefined;
    this.#onPhase?.(from, phase);
  }

  #emit(o: LeaseOutput): void {
    this.#out.push(o);
  }
}
