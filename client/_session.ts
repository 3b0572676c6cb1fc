/**
 * The runtime-neutral driver of one session: one {@link AmiConnection} over
 * one {@link Transport}, promises for actions. Its owner holds the one timer
 * (re-armed from `pollTimeout` whenever `hooks.deadline` says so). After every input it drains the engine in the documented order:
 * `pollTransmit` (while the transport takes bytes), `poll`, `pollEvent`,
 * then `pollTimeout`.
 *
 * @module
 */

import { AmiConnection } from "../core/connection.ts";
import type {
  ActionResult,
  CloseReason,
  CompletionStrategy,
  ConnectionOptions,
  ConnectionStats,
  DropSummaryNotice,
  SendOptions,
  StateNotice,
} from "../core/connection_types.ts";
import { AbortedError, type AmiError, ConnectError } from "../core/errors.ts";
import type { AmiMessage } from "../core/message.ts";
import type { Action } from "../core/serializer.ts";
import type { TlsOptions, Transport, TransportConnector, TransportHandlers } from "./transport.ts";
import type { Clock } from "./clock.ts";

/**
 * The most actions a burst holds back before writing them (see
 * `Session.#flushSoon`). Measured with 100 Pings in flight on Node against
 * a Ping responder: 32 gave 35-40% more actions/s than one write per burst
 * (about 515,000 against 370,000) at the same CPU per action, by letting
 * the server work while the client builds the rest.
 */
export const WRITE_BATCH = 32;

/** What a session reports to its owner. */
export interface SessionHooks {
  /**
   * The transport is up and the engine started (before any byte is fed);
   * return `false` to drop the session (the attempt is no longer wanted).
   */
  connected(session: Session): boolean;
  /** An event (or unknown message) arrived. */
  event(event: AmiMessage): void;
  /** The session logged in (state `ready`). */
  ready(): void;
  /** The session closed; called once. */
  closed(notice: StateNotice): void;
  /** A coalesced drop summary from the engine. */
  drops(notice: DropSummaryNotice): void;
  /** The engine's earliest deadline may have changed: re-arm from `pollTimeout`. */
  deadline(): void;
}

/** Per-action options of a session. */
export interface SessionSendOptions {
  /** Deadline, ms. */
  readonly timeoutMs?: number;
  /** Completion strategy. */
  readonly strategy?: CompletionStrategy;
  /** Aborts the wait (the action may still run on the server once written). */
  readonly signal?: AbortSignal;
}

/**
 * One caller waiting for an action's outcome. It is also the options the
 * action is sent with: its `tag` is itself, so the engine's settled notice
 * hands it back and the session needs no map of its own (one object per
 * action).
 */
class Waiter implements SendOptions {
  readonly timeoutMs: number | undefined;
  readonly strategy: CompletionStrategy | undefined;
  readonly action: string;
  resolve: (result: ActionResult) => void = noop;
  reject: (error: unknown) => void = noop;
  /** Settled, or given up on: a later settlement is ignored. */
  done = false;
  cleanup: (() => void) | undefined = undefined;

  constructor(action: string, options: SessionSendOptions) {
    this.timeoutMs = options.timeoutMs;
    this.strategy = options.strategy;
    this.action = action;
  }

  /** The engine's `tag`: this waiter. */
  get tag(): Waiter {
    return this;
  }
}

function noop(): void {}

/**
 * The resolvers of the promise made last: one shared executor fills them in
 * (no closure per action, and `Promise.withResolvers` is missing on Node 20).
 */
const captured = {
  resolve: undefined as unknown as (result: ActionResult) => void,
  reject: undefined as unknown as (error: unknown) => void,
};
function capture(
  resolve: (result: ActionResult) => void,
  reject: (error: unknown) => void,
): void {
  captured.resolve = resolve;
  captured.reject = reject;
}

/** Where and how to open one session. */
export interface SessionOpenOptions {
  /** Host. */
  readonly host: string;
  /** Port. */
  readonly port: number;
  /** TLS, if any. */
  readonly tls?: TlsOptions;
  /** The engine's options. */
  readonly engine: ConnectionOptions;
  /** The owner's callbacks. */
  readonly hooks: SessionHooks;
  /** The time source. */
  readonly clock: Clock;
  /** Aborts the connect (the owner's connect deadline, or a close). */
  readonly signal: AbortSignal;
}

/** One connected session (see the module doc). */
export class Session {
  readonly #engine: AmiConnection;
  readonly #hooks: SessionHooks;
  readonly #clock: Clock;
  #transport: Transport | undefined;
  #writable = true;
  #sendSeq = 0;
  #flushedSeq = 0;
  #pumping = false;
  #flushQueued = false;
  readonly #flush = (): void => {
    this.#flushQueued = false;
    this.#pump();
  };
  #dirty = false;
  #closed = false;

  private constructor(engine: AmiConnection, hooks: SessionHooks, clock: Clock) {
    this.#engine = engine;
    this.#hooks = hooks;
    this.#clock = clock;
  }

  /**
   * Connects the transport, then starts the engine (its login deadline runs
   * from the moment the transport is up); resolves with the session (login
   * then proceeds: watch `hooks.ready`/`closed`). Bytes or a close that the
   * transport reports before that are kept and fed first.
   *
   * @param connector the runtime adapter
   * @param options where, engine options, hooks, clock, abort signal
   * @returns the session
   * @throws {ConnectError} refused, timed out (aborted), TLS
   */
  static async open(connector: TransportConnector, options: SessionOpenOptions): Promise<Session> {
    // The session once it exists; before that, what the transport reported.
    const ref: { session?: Session } = {};
    const early: Uint8Array[] = [];
    let earlyClose: { error: Error | undefined } | undefined;
    const handlers: TransportHandlers = {
      data: (chunk) => ref.session === undefined ? early.push(chunk) : ref.session.#receive(chunk),
      drain: () => {
        if (ref.session === undefined) return;
        ref.session.#writable = true;
        ref.session.#pump();
      },
      closed: (error) =>
        ref.session === undefined ? (earlyClose = { error }) : ref.session.#transportClosed(error),
    };
    const transport = await connector({
      host: options.host,
      port: options.port,
      tls: options.tls,
      signal: options.signal,
    }, handlers);
    const clock = options.clock;
    let engine: AmiConnection;
    try {
      engine = new AmiConnection(options.engine, clock.now());
    } catch (error) {
      transport.destroy();
      throw error;
    }
    const s = new Session(engine, options.hooks, clock);
    s.#transport = transport;
    if (!options.hooks.connected(s)) {
      transport.destroy();
      throw new ConnectError("other", "the attempt was abandoned");
    }
    ref.session = s;
    for (const chunk of early) engine.receive(chunk, clock.now());
    if (earlyClose !== undefined) s.#transportClosed(earlyClose.error);
    else s.#pump();
    return s;
  }

  /** The engine's state. */
  get state(): AmiConnection["state"] {
    return this.#engine.state;
  }

  /** The engine's counters. */
  stats(): ConnectionStats {
    return this.#engine.stats();
  }

  /** The server's banner text, once received. */
  get banner(): string | undefined {
    return this.#engine.banner?.line;
  }

  /** The engine's earliest deadline (see `AmiConnection.pollTimeout`). */
  pollTimeout(): number | undefined {
    return this.#engine.pollTimeout();
  }

  /**
   * The owner's timer reached the engine's deadline.
   *
   * @param now the clock's time, ms
   */
  handleTimeout(now: number): void {
    this.#engine.handleTimeout(now);
    this.#pump();
  }

  /**
   * Sends an action; the promise settles with the engine's outcome.
   *
   * @param action name and fields
   * @param options deadline, strategy, abort signal
   * @returns the result
   */
  send(action: Action, options: SessionSendOptions = {}): Promise<ActionResult> {
    const signal = options.signal;
    if (signal?.aborted) {
      return Promise.reject(new AbortedError(action.name, false, { cause: signal.reason }));
    }
    const waiter = new Waiter(action.name, options);
    let actionId: string;
    try {
      actionId = this.#engine.send(action, waiter, this.#clock.now()).actionId;
    } catch (error) {
      return Promise.reject(error);
    }
    this.#sendSeq++;
    const promise = new Promise<ActionResult>(capture);
    waiter.resolve = captured.resolve;
    waiter.reject = captured.reject;
    if (signal !== undefined) this.#watchAbort(waiter, actionId, signal);
    this.#flushSoon();
    return promise;
  }

  /**
   * Aborts the action through the engine when `signal` aborts first: a
   * written action frees its in-flight slot at once (a late answer is then
   * an orphan), an unwritten one leaves the write buffer; the waiter
   * settles with the engine's {@link AbortedError}.
   */
  #watchAbort(waiter: Waiter, actionId: string, signal: AbortSignal): void {
    const onAbort = (): void => {
      if (waiter.done) return;
      if (this.#engine.abort(actionId, this.#clock.now(), signal.reason)) {
        this.#pump();
        return;
      }
      // Not pending in the engine (its session closed meanwhile): outcome unknown.
      waiter.done = true;
      waiter.reject(new AbortedError(waiter.action, true, { cause: signal.reason }));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    waiter.cleanup = () => signal.removeEventListener("abort", onAbort);
  }

  /**
   * Closes the session: gracefully (Logoff, wait for Goodbye) or at once
   * (unsent bytes discarded). Pending actions fail as the engine decides.
   *
   * @param options `graceful`, the reason and error to report
   */
  close(options: { graceful?: boolean; reason?: CloseReason; error?: Error } = {}): void {
    this.#engine.close(this.#clock.now(), options);
    this.#pump();
  }

  /**
   * Writes at the end of the current microtask run, so that the actions sent
   * in one burst (say, 100 promise callbacks after one read) leave in a few
   * writes instead of one write each: at most {@link WRITE_BATCH} actions
   * wait, so the server starts on the first ones while the rest are built.
   */
  #flushSoon(): void {
    if (this.#sendSeq - this.#flushedSeq >= WRITE_BATCH) {
      this.#transmit();
      return;
    }
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flush);
  }

  /** Hands the engine's pending bytes to the transport while it takes them. */
  #transmit(): void {
    const t = this.#transport;
    if (t === undefined) return;
    while (this.#writable) {
      const bytes = this.#engine.pollTransmit();
      if (bytes === undefined) return;
      this.#flushedSeq = this.#sendSeq;
      this.#writable = t.write(bytes);
    }
  }

  #receive(chunk: Uint8Array): void {
    this.#engine.receive(chunk, this.#clock.now());
    this.#pump();
  }

  #transportClosed(error: Error | undefined): void {
    this.#transport = undefined;
    const now = this.#clock.now();
    if (error === undefined) this.#engine.receiveEof(now);
    else this.#engine.close(now, { reason: "transportError", error });
    this.#pump();
  }

  /** Drains the engine in the documented order; re-entrant calls just mark it dirty. */
  #pump(): void {
    if (this.#pumping) {
      this.#dirty = true;
      return;
    }
    this.#pumping = true;
    const engine = this.#engine;
    try {
      do {
        this.#dirty = false;
        this.#transmit();
        for (let n = engine.poll(); n !== undefined; n = engine.poll()) {
          if (n.type === "settled") {
            const w = n.tag as Waiter;
            w.cleanup?.();
            if (w.done) continue; // given up on already (its session was gone)
            w.done = true;
            if (n.outcome.ok) w.resolve(n.outcome.result);
            else w.reject(n.outcome.error as AmiError);
          } else if (n.type === "state") {
            if (n.state === "ready") this.#hooks.ready();
            else if (n.state === "closed") this.#finish(n);
          } else this.#hooks.drops(n);
        }
        for (let e = engine.pollEvent(); e !== undefined; e = engine.pollEvent()) {
          this.#hooks.event(e);
        }
      } while (this.#dirty);
    } finally {
      this.#pumping = false;
    }
    this.#hooks.deadline();
  }

  #finish(notice: StateNotice): void {
    if (this.#closed) return;
    this.#closed = true;
    // Nothing written for this session may reach another: drop the socket now.
    const t = this.#transport;
    this.#transport = undefined;
    t?.destroy();
    this.#hooks.closed(notice);
  }
}
