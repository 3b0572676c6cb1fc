/**
 * The reconnect supervisor of one node: a pure state machine, in the manner
 * of the core engine, that decides when to connect, when to give up, when to
 * retry and what happens to actions waiting for a connection. It holds no
 * timer, clock, socket or randomness (jitter is injected): a driver (the
 * {@link Client}) feeds it inputs with `now` and carries out its outputs.
 *
 * Inputs: {@link Supervisor.start}, the attempt's progress
 * ({@link Supervisor.connected}, {@link Supervisor.loggedIn},
 * {@link Supervisor.replayed}, {@link Supervisor.ended}),
 * {@link Supervisor.permitGranted}, {@link Supervisor.handleTimeout}, and the
 * user's {@link Supervisor.wait}, {@link Supervisor.cancelWait},
 * {@link Supervisor.close}, {@link Supervisor.destroy}. Every attempt has a
 * number; an input about an attempt that is not the current one is ignored,
 * so a late close of an old session can never start a second retry loop.
 *
 * Drain order after every input: {@link Supervisor.poll} until `undefined`
 * (outputs in the order they were decided), then
 * {@link Supervisor.pollTimeout} to arm the one timer.
 *
 * At most one attempt (and so one session) and at most one scheduled retry
 * exist at any moment, by construction: both live in {@link Phase}, and the
 * retry and connect deadlines are single entries of one deadline structure
 * that also holds the waiting actions.
 *
 * @module
 */

import { Deadlines, type HeapEntry } from "../core/_deadlines.ts";
import { OutputQueue } from "../core/_output_queue.ts";
import type { CloseReason } from "../core/connection_types.ts";
import { ConnectError } from "../core/errors.ts";
import { Backoff, type BackoffOptions, type FailureKind } from "./backoff.ts";

/** Where the client is in its life (the public view of a {@link Phase}). */
export type ClientState = "connecting" | "ready" | "reconnecting" | "closing" | "closed";

/** A change of {@link ClientState}, with the reason. */
export interface StateChange {
  /** The new state. */
  readonly state: ClientState;
  /** The state before. */
  readonly previous: ClientState;
  /** Why the session ended (engine close reason), or `connectFailed` for a failed attempt. */
  readonly reason?: CloseReason | "connectFailed";
  /** The error behind it, if any. */
  readonly error?: Error;
  /** For `connecting`/`reconnecting` after a failure: consecutive failures so far. */
  readonly attempt?: number;
  /** For `connecting`/`reconnecting` after a failure: the wait before the next attempt, ms. */
  readonly delayMs?: number;
}

/**
 * The supervisor's phases. `idle` before start; `backoff` waits for the retry
 * deadline; `permit` waits for the cluster's gate; `connecting` (TCP/TLS,
 * with its own deadline), `login` (the engine's login deadline), `replay`
 * (the remembered Events/Filter actions) and `ready` have one attempt;
 * `closing` is a graceful Logoff; `closed` is final.
 */
export type Phase =
  | "idle"
  | "backoff"
  | "permit"
  | "connecting"
  | "login"
  | "replay"
  | "ready"
  | "closing"
  | "closed";

/** Every allowed phase change; the supervisor asserts it, the model test checks it. */
export const PHASE_TRANSITIONS: Readonly<Record<Phase, readonly Phase[]>> = Object.freeze({
  idle: ["permit", "connecting", "closed"],
  backoff: ["permit", "connecting", "closed"],
  permit: ["connecting", "closed"],
  connecting: ["login", "backoff", "closed"],
  login: ["replay", "backoff", "closed"],
  replay: ["ready", "backoff", "closed"],
  ready: ["backoff", "closing", "closed"],
  closing: ["closed"],
  closed: [],
});

/** The phases in which an attempt (and perhaps its session) exists. */
const WITH_ATTEMPT: ReadonlySet<Phase> = new Set([
  "connecting",
  "login",
  "replay",
  "ready",
  "closing",
]);

/** An action waiting for a connection, as the supervisor holds it (the driver makes it). */
export interface WaitingEntry extends HeapEntry {
  /** Absolute deadline (`Infinity`: none). */
  deadline: number;
}

/** What the driver must do, in the order given (see the module doc). */
export type SupervisorOutput<W extends WaitingEntry> =
  /** Open a session for this attempt (TCP/TLS, then the engine logs in). */
  | { readonly type: "connect"; readonly attempt: number }
  /** Ask the cluster's gate for a permit; `failures` in a row so far orders the queue. */
  | { readonly type: "requestPermit"; readonly failures: number }
  /** Withdraw the request (closed before the grant). */
  | { readonly type: "cancelPermit" }
  /** The granted attempt is over, whatever its outcome. */
  | { readonly type: "releasePermit" }
  /** Close this attempt's session (or abort its connect): with Logoff when graceful. */
  | { readonly type: "closeSession"; readonly attempt: number; readonly graceful: boolean }
  /** Re-apply the remembered Events/Filter actions, then call `replayed`. */
  | { readonly type: "replay"; readonly attempt: number }
  /** The public state changed. */
  | { readonly type: "state"; readonly change: StateChange }
  /** Send these waiting actions on the session now (it is ready). */
  | { readonly type: "flush"; readonly actions: readonly W[] }
  /** Fail these waiting actions: their deadline passed, or the client closed. */
  | {
    readonly type: "failWaiting";
    readonly actions: readonly W[];
    readonly why: "timeout" | "closed";
    readonly error?: Error;
  };

/** Options of a {@link Supervisor}. */
export interface SupervisorOptions {
  /** Reconnect after a lost session (default `true`). */
  readonly reconnect?: boolean;
  /** Backoff timing and jitter. */
  readonly backoff?: BackoffOptions;
  /** Deadline for TCP (+ TLS) to connect, ms. Default 10,000. */
  readonly connectTimeoutMs?: number;
  /** Every attempt needs a permit from a gate (cluster nodes). Default `false`. */
  readonly gated?: boolean;
  /** Most actions waiting for a connection. Default 1,000. */
  readonly maxWaiting?: number;
}

/** A plain snapshot of the supervisor, for stats and the model test. */
export interface SupervisorSnapshot {
  /** The phase. */
  readonly phase: Phase;
  /** The public state. */
  readonly state: ClientState;
  /** The current attempt's number, if one exists. */
  readonly attempt: number | undefined;
  /** When the retry is due, if one is scheduled. */
  readonly retryAt: number | undefined;
  /** Whether a gate permit is held. */
  readonly holdsPermit: boolean;
  /** Attempts started. */
  readonly attempts: number;
  /** Sessions that became ready. */
  readonly sessions: number;
  /** Actions waiting for a connection. */
  readonly waiting: number;
  /** Consecutive failures counted by the backoff. */
  readonly failures: number;
}

/** A timer entry of the supervisor's own (retry, connect deadline). */
class Deadline implements HeapEntry {
  deadline = Infinity;
  heapIndex = -1;
}

/** How an attempt or session ended, as the driver reports it. */
export interface EndedInput {
  /** The engine's close reason, or `connectFailed` when the transport never came up. */
  readonly reason: CloseReason | "connectFailed";
  /** The error behind it. */
  readonly error?: Error;
}

/** The supervisor (see the module doc). */
export class Supervisor<W extends WaitingEntry> {
  readonly #reconnect: boolean;
  readonly #connectTimeoutMs: number;
  readonly #gated: boolean;
  readonly #maxWaiting: number;
  readonly #backoff: Backoff;
  /** Retry, connect deadline and waiting actions: one structure, one earliest deadline. */
  readonly #deadlines = new Deadlines<HeapEntry>();
  readonly #retry = new Deadline();
  readonly #connect = new Deadline();
  readonly #waiting = new Set<W>();
  readonly #out = new OutputQueue<SupervisorOutput<W>>();
  #phase: Phase = "idle";
  #state: ClientState = "connecting";
  #once = false;
  #attempt = 0;
  #sessions = 0;
  #holdsPermit = false;

  /** @param options reconnect, backoff, deadlines, gate, waiting cap */
  constructor(options: SupervisorOptions = {}) {
    this.#reconnect = options.reconnect ?? true;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#gated = options.gated ?? false;
    this.#maxWaiting = options.maxWaiting ?? 1_000;
    this.#backoff = new Backoff(options.backoff);
  }

  /** The phase. */
  get phase(): Phase {
    return this.#phase;
  }

  /** The public state. */
  get state(): ClientState {
    return this.#state;
  }

  /** The current attempt's number, if one exists. */
  get attempt(): number | undefined {
    return WITH_ATTEMPT.has(this.#phase) ? this.#attempt : undefined;
  }

  /** A plain snapshot. */
  snapshot(): SupervisorSnapshot {
    return {
      phase: this.#phase,
      state: this.#state,
      attempt: this.attempt,
      retryAt: this.#retry.heapIndex >= 0 ? this.#retry.deadline : undefined,
      holdsPermit: this.#holdsPermit,
      attempts: this.#attempt,
      sessions: this.#sessions,
      waiting: this.#waiting.size,
      failures: this.#backoff.attempt,
    };
  }

  // ---------------------------------------------------------------- inputs

  /**
   * Starts connecting. With `once`, the first attempt's failure closes for
   * good (the caller gets the error); otherwise failures are retried with
   * backoff until a session is up. Ignored unless `idle`.
   *
   * @param now monotonic ms
   * @param options `once`: one attempt before the first session
   */
  start(now: number, options: { once?: boolean } = {}): void {
    if (this.#phase !== "idle") return;
    this.#once = options.once ?? false;
    this.#due(now);
  }

  /**
   * The attempt's transport is connected: the login begins (its deadline is
   * the engine's, from now).
   *
   * @param attempt the attempt's number
   * @param now monotonic ms
   */
  connected(attempt: number, _now: number): void {
    if (!this.#current(attempt, "connecting")) return;
    this.#deadlines.remove(this.#connect);
    this.#to("login");
  }

  /**
   * The attempt's session logged in: the remembered actions are replayed next.
   *
   * @param attempt the attempt's number
   * @param now monotonic ms
   */
  loggedIn(attempt: number, _now: number): void {
    if (!this.#current(attempt, "login")) return;
    this.#to("replay");
    this.#emit({ type: "replay", attempt });
  }

  /**
   * The replay finished: the session is ready, waiting actions are flushed.
   *
   * @param attempt the attempt's number
   * @param now monotonic ms
   */
  replayed(attempt: number, now: number): void {
    if (!this.#current(attempt, "replay")) return;
    this.#sessions++;
    this.#backoff.up(now);
    this.#releasePermit();
    this.#to("ready");
    this.#setState("ready", {});
    if (this.#waiting.size > 0) {
      const actions = this.#takeWaiting();
      this.#emit({ type: "flush", actions });
    }
  }

  /**
   * The attempt ended: its connect failed, or its session closed (before or
   * after it was ready). Ignored for any attempt but the current one.
   *
   * @param attempt the attempt's number
   * @param now monotonic ms
   * @param ended why
   */
  ended(attempt: number, now: number, ended: EndedInput): void {
    if (this.#attempt !== attempt || !WITH_ATTEMPT.has(this.#phase)) return;
    const phase = this.#phase;
    this.#deadlines.remove(this.#connect);
    this.#releasePermit();
    if (phase === "closing") {
      this.#close({ reason: "local" });
    } else if (phase === "ready") {
      this.#lost(now, ended);
    } else {
      this.#failed(now, ended, phase === "replay" ? "lost" : failureKind(ended));
    }
  }

  /**
   * The cluster's gate granted the permit asked for. A grant that comes
   * when none is wanted (closed meanwhile) is released at once.
   *
   * @param now monotonic ms
   */
  permitGranted(now: number): void {
    if (this.#phase !== "permit") {
      this.#emit({ type: "releasePermit" });
      return;
    }
    this.#holdsPermit = true;
    this.#startAttempt(now);
  }

  /**
   * The timer armed from {@link Supervisor.pollTimeout} fired (early or late
   * is harmless): a due retry starts, a connect past its deadline fails,
   * waiting actions past theirs fail.
   *
   * @param now monotonic ms
   */
  handleTimeout(now: number): void {
    let expired: W[] | undefined;
    for (let e = this.#deadlines.peek(); e !== undefined && e.deadline <= now;) {
      this.#deadlines.remove(e);
      if (e === this.#retry) {
        this.#due(now);
      } else if (e === this.#connect) {
        const attempt = this.#attempt;
        this.#emit({ type: "closeSession", attempt, graceful: false });
        this.ended(attempt, now, {
          reason: "connectFailed",
          error: new ConnectError(
            "timedOut",
            `no connection within connectTimeoutMs (${this.#connectTimeoutMs} ms)`,
          ),
        });
      } else {
        const w = e as W;
        this.#waiting.delete(w);
        (expired ??= []).push(w);
      }
      e = this.#deadlines.peek();
    }
    if (expired !== undefined) {
      this.#emit({ type: "failWaiting", actions: expired, why: "timeout" });
    }
  }

  /**
   * Holds an action until the session is ready (then `flush`) or its
   * deadline passes (then `failWaiting`).
   *
   * @param entry the driver's entry, with its absolute deadline
   * @returns `accepted`, or why not: `full` (maxWaiting) or `notConnecting`
   *   (ready, closing or closed: the driver decides instead)
   */
  wait(entry: W): "accepted" | "full" | "notConnecting" {
    const p = this.#phase;
    if (p === "ready" || p === "closing" || p === "closed") return "notConnecting";
    if (this.#waiting.size >= this.#maxWaiting) return "full";
    this.#waiting.add(entry);
    if (entry.deadline !== Infinity) this.#deadlines.push(entry);
    return "accepted";
  }

  /**
   * Stops holding an action (its caller aborted).
   *
   * @param entry the entry given to {@link Supervisor.wait}
   * @returns whether it was waiting
   */
  cancelWait(entry: W): boolean {
    if (!this.#waiting.delete(entry)) return false;
    this.#deadlines.remove(entry);
    return true;
  }

  /**
   * Closes: gracefully when a session is ready (Logoff, then `closed` when it
   * ends), at once otherwise. Idempotent.
   *
   * @param now monotonic ms
   */
  close(_now: number): void {
    if (this.#phase === "ready") {
      this.#to("closing");
      this.#setState("closing", {});
      this.#emit({ type: "closeSession", attempt: this.#attempt, graceful: true });
    } else if (this.#phase !== "closing") {
      this.#close({ reason: "local" });
    }
  }

  /**
   * Closes at once: the session (if any) is dropped, unsent bytes discarded.
   * Idempotent.
   *
   * @param now monotonic ms
   */
  destroy(_now: number): void {
    this.#close({ reason: "local" });
  }

  // --------------------------------------------------------------- outputs

  /**
   * The next output, in the order decided.
   *
   * @returns the output, or `undefined`
   */
  poll(): SupervisorOutput<W> | undefined {
    return this.#out.poll();
  }

  /**
   * The earliest deadline (retry, connect, waiting action), absolute ms.
   *
   * @returns the deadline, or `undefined` when there is none
   */
  pollTimeout(): number | undefined {
    return this.#deadlines.peek()?.deadline;
  }

  // ------------------------------------------------------------- internals

  #current(attempt: number, phase: Phase): boolean {
    return this.#attempt === attempt && this.#phase === phase;
  }

  /**
   * The wait is over: ask the gate, or connect. The gate serves fewer
   * failures first: a node that was up a moment ago goes before long-failing ones.
   */
  #due(now: number): void {
    if (this.#gated) {
      this.#to("permit");
      this.#emit({ type: "requestPermit", failures: this.#backoff.attempt });
    } else {
      this.#startAttempt(now);
    }
  }

  #startAttempt(now: number): void {
    this.#attempt++;
    this.#to("connecting");
    this.#connect.deadline = now + this.#connectTimeoutMs;
    this.#deadlines.push(this.#connect);
    this.#emit({ type: "connect", attempt: this.#attempt });
  }

  /** An attempt failed before its session was ready. */
  #failed(now: number, ended: EndedInput, kind: FailureKind): void {
    if (this.#once && this.#sessions === 0) {
      this.#close({ reason: "connectFailed", error: ended.error });
      return;
    }
    this.#scheduleRetry(now, kind, { reason: "connectFailed", error: ended.error });
  }

  /** A ready session ended. */
  #lost(now: number, ended: EndedInput): void {
    const reason = ended.reason;
    if (!this.#reconnect || reason === "loggedOff") {
      this.#close({ reason, error: ended.error });
      return;
    }
    this.#scheduleRetry(now, "lost", { reason, error: ended.error });
  }

  #scheduleRetry(now: number, kind: FailureKind, change: Partial<StateChange>): void {
    const delay = this.#backoff.failure(kind, now);
    this.#to("backoff");
    this.#retry.deadline = now + delay;
    this.#deadlines.push(this.#retry);
    this.#setState(this.#sessions === 0 ? "connecting" : "reconnecting", {
      ...change,
      attempt: this.#backoff.attempt,
      delayMs: delay,
    });
  }

  /** Ends everything: session, permit, retry, waiting actions. */
  #close(change: Partial<StateChange>): void {
    const phase = this.#phase;
    if (phase === "closed") return;
    if (WITH_ATTEMPT.has(phase)) {
      // The driver closes at once; the session's own close report is then stale.
      this.#emit({ type: "closeSession", attempt: this.#attempt, graceful: false });
    }
    if (phase === "permit") this.#emit({ type: "cancelPermit" });
    this.#releasePermit();
    this.#deadlines.remove(this.#retry);
    this.#deadlines.remove(this.#connect);
    this.#to("closed");
    this.#setState("closed", change);
    if (this.#waiting.size > 0) {
      const actions = this.#takeWaiting();
      this.#emit({ type: "failWaiting", actions, why: "closed", error: change.error });
    }
  }

  #releasePermit(): void {
    if (!this.#holdsPermit) return;
    this.#holdsPermit = false;
    this.#emit({ type: "releasePermit" });
  }

  #takeWaiting(): W[] {
    const list = [...this.#waiting];
    this.#waiting.clear();
    for (const w of list) this.#deadlines.remove(w);
    return list;
  }

  #to(phase: Phase): void {
    if (!PHASE_TRANSITIONS[this.#phase].includes(phase)) {
      throw new Error(`supervisor: no transition ${this.#phase} -> ${phase} (a bug in amikit)`);
    }
    this.#phase = phase;
  }

  #setState(state: ClientState, extra: Partial<StateChange>): void {
    const previous = this.#state;
    this.#state = state;
    this.#emit({ type: "state", change: { state, previous, ...extra } });
  }

  #emit(o: SupervisorOutput<W>): void {
    this.#out.push(o);
  }
}

/** The backoff's kind of failure for an attempt that never became ready. */
function failureKind(ended: EndedInput): FailureKind {
  return ended.reason === "authFailed" ? "authFailed" : "connectFailed";
}
