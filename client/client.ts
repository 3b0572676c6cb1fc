/**
 * The AMI client: connects and logs in, sends actions as promises, delivers
 * events to listeners and async iterators, and reconnects with backoff.
 * Runtime-neutral: the socket comes from a {@link TransportConnector}.
 *
 * @module
 */

import { getLogger, type Logger } from "@logtape/logtape";
import type {
  ActionResult,
  CloseReason,
  CompletionStrategy,
  ConnectionOptions,
  ConnectionStats,
  DropSummaryNotice,
  StateNotice,
} from "../core/connection_types.ts";
import {
  AbortedError,
  ActionTimeoutError,
  AuthError,
  ConnectError,
  ConnectionLostError,
  LocalProtocolError,
} from "../core/errors.ts";
import type { AmiMessage } from "../core/message.ts";
import type { Action, ActionFields } from "../core/serializer.ts";
import type { TlsOptions, TransportConnector } from "../adapters/transport.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import {
  type BoundedStream,
  Dispatcher,
  type EventFilter,
  type EventHandler,
  type EventStream,
  type EventStreamOptions,
  openStream,
} from "./_events.ts";
import { now, Session } from "./_session.ts";

/** Where the client is in its life. */
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
  /** For `reconnecting`: consecutive failed attempts so far. */
  readonly attempt?: number;
  /** For `reconnecting`: the wait before the next attempt, ms. */
  readonly delayMs?: number;
}

/** Reconnect timing (see {@link BackoffOptions}). */
export type ReconnectOptions = BackoffOptions;

/** Options of {@link connectWith} (and `connect` in the package entry). */
export interface ClientOptions extends Omit<ConnectionOptions, "ids"> {
  /** Host name or address. */
  readonly host: string;
  /** TCP port. Default 5038. */
  readonly port?: number;
  /** `true` for TLS with the runtime's trust store, or TLS settings. Default plain TCP. */
  readonly tls?: boolean | TlsOptions;
  /** This server's name: tags events and goes into ActionIDs. Default `ami`. */
  readonly node?: string;
  /** Reconnect after a loss (default on, with the default timing), or `false`. */
  readonly reconnect?: false | ReconnectOptions;
  /** Deadline for TCP (+ TLS) to connect, ms. Default 10,000. */
  readonly connectTimeoutMs?: number;
  /** Most actions waiting for a connection (`waitForConnection`). Default 1,000. */
  readonly maxWaitingActions?: number;
  /** Per-process ActionID prefix; default random (injected in tests). */
  readonly instanceId?: string;
}

/** Per-action options. */
export interface ActionOptions {
  /** Deadline, ms. Default the engine's (`actionTimeoutMs`, `originateTimeoutMs`). */
  readonly timeout?: number;
  /** Stops waiting; rejects with {@link AbortedError}. */
  readonly signal?: AbortSignal;
  /** How the action completes. Default `auto`. */
  readonly strategy?: CompletionStrategy;
  /**
   * While disconnected: `false` (default) fails at once with a
   * {@link ConnectionLostError} (never written); `true` waits for the
   * connection up to the action's deadline (bounded by `maxWaitingActions`).
   */
  readonly waitForConnection?: boolean;
}

/** Counters of a client, as a plain snapshot. */
export interface ClientStats {
  /** The node's name. */
  readonly node: string;
  /** The client state. */
  readonly state: ClientState;
  /** Connection attempts (including the first). */
  readonly attempts: number;
  /** Sessions that logged in. */
  readonly sessions: number;
  /** Sessions that logged in again after a lost one (`sessions - 1`, at least 0). */
  readonly reconnects: number;
  /** Engine counters summed over every session so far, the current one included. */
  readonly totals: SessionTotals;
  /** Events handed to listeners and iterators. */
  readonly eventsDispatched: number;
  /** Listener exceptions and rejections (isolated). */
  readonly listenerErrors: number;
  /** Events dropped by iterator buffers. */
  readonly streamDrops: number;
  /** Actions waiting for a connection. */
  readonly waitingActions: number;
  /** Actions failed at once because the client was disconnected. */
  readonly rejectedDisconnected: number;
  /** Settlements of actions whose caller had aborted. */
  readonly abandoned: number;
  /** Timer wake-ups of the current session. */
  readonly timerWakeups: number;
  /** The current session's engine counters, if connected. */
  readonly session: ConnectionStats | undefined;
}

/** The engine counters that add up across sessions (see {@link ConnectionStats}). */
export type SessionTotals = Readonly<
  Pick<
    ConnectionStats,
    | "bytesIn"
    | "bytesOut"
    | "messagesIn"
    | "messagesOut"
    | "eventsDelivered"
    | "eventsDropped"
    | "actionsSent"
    | "actionsCompleted"
    | "actionsFailed"
    | "actionsTimedOut"
    | "orphans"
  >
>;

type TotalKey = keyof SessionTotals;

const TOTAL_KEYS: readonly TotalKey[] = [
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
];

function addTotals(into: Record<TotalKey, number>, from: ConnectionStats | undefined): void {
  if (from === undefined) return;
  for (const k of TOTAL_KEYS) into[k] += from[k];
}

/** Lets a cluster gate reconnect attempts (see `Cluster`). */
export interface ConnectPermit {
  /** Resolves when the node may attempt; rejects if the signal aborts. */
  acquire(node: string, signal: AbortSignal): Promise<void>;
  /** The attempt finished. */
  release(node: string): void;
}

/** How a client is wired: its transport, and for cluster nodes a permit and a sink. */
export interface ClientWiring {
  /** Opens sockets. */
  readonly connector: TransportConnector;
  /** Gates every attempt (clusters). */
  readonly permit?: ConnectPermit;
  /** Also receives every event (clusters' merged stream). */
  readonly sink?: EventHandler;
}

interface WaitingAction {
  readonly action: Action;
  readonly options: ActionOptions;
  readonly deadline: number;
  readonly timeoutMs: number;
  resolve(result: ActionResult): void;
  reject(error: unknown): void;
  cleanup?: () => void;
}

const logger: Logger = getLogger(["amikit", "client"]);
const NO_OPTIONS: ActionOptions = Object.freeze({});
let sessionCounter = 0;
let processInstance: string | undefined;

/** A random per-process ActionID prefix (8 base-36 characters). */
function instanceId(): string {
  if (processInstance === undefined) {
    const bytes = new Uint8Array(8);
    crypto.getRandomValues(bytes);
    processInstance = Array.from(bytes, (b) => (b % 36).toString(36)).join("");
  }
  return processInstance;
}

/** Makes a node name usable inside an ActionID. */
function idPart(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_-]/g, "_");
  return s.length === 0 ? "_" : s;
}

/** A client connected to one Asterisk server. Create it with `connect`. */
export class Client implements AsyncDisposable {
  /** The node's name. */
  readonly node: string;
  readonly #options: ClientOptions;
  readonly #wiring: ClientWiring;
  readonly #dispatcher: Dispatcher;
  readonly #backoff: Backoff | undefined;
  readonly #life = new AbortController();
  readonly #streams = new Set<BoundedStream<AmiMessage>>();
  readonly #stateListeners = new Set<(change: StateChange) => void>();
  readonly #waiting: WaitingAction[] = [];
  #waitTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #state: ClientState = "connecting";
  #session: Session | undefined;
  #sessionClosed: Promise<void> = Promise.resolve();
  #closePromise: Promise<void> | undefined;
  #filters: Action[] = [];
  #eventMask: Action | undefined;
  // Counters.
  #attempts = 0;
  #sessions = 0;
  /** Counters of the sessions that ended. */
  readonly #pastTotals: Record<TotalKey, number> = Object.fromEntries(
    TOTAL_KEYS.map((k) => [k, 0]),
  ) as Record<TotalKey, number>;
  #eventsDispatched = 0;
  #listenerErrors = 0;
  #rejectedDisconnected = 0;
  #abandoned = 0;
  #lastErrorLog = -Infinity;
  #suppressedErrors = 0;
  readonly #onEvent = (event: AmiMessage): void => {
    this.#eventsDispatched++;
    this.#dispatcher.dispatch(event, this.node);
    this.#wiring.sink?.(event, this.node);
  };

  /**
   * Prefer `connect` (logs in before returning); this constructor does not connect.
   *
   * @param options server, credentials, engine and reconnect options
   * @param wiring the transport connector (and cluster hooks)
   */
  constructor(options: ClientOptions, wiring: ClientWiring) {
    this.#options = options;
    this.#wiring = wiring;
    this.node = options.node ?? "ami";
    this.#dispatcher = new Dispatcher((error) => this.#listenerError(error));
    this.#backoff = options.reconnect === false ? undefined : new Backoff(options.reconnect);
  }

  /** The client's state. */
  get state(): ClientState {
    return this.#state;
  }

  /**
   * Connects and logs in once (no retry).
   *
   * @throws {ConnectError} refused, timed out, TLS, closed or protocol
   * @throws {AuthError} the server refused the credentials
   */
  async start(): Promise<void> {
    try {
      await this.#attempt();
    } catch (error) {
      this.#setState("closed", { reason: "connectFailed", error: error as Error });
      this.#shutdown(error as Error);
      throw error;
    }
  }

  /** Connects in the background and keeps retrying with backoff (cluster nodes). */
  startInBackground(): void {
    this.#retry(0);
  }

  /**
   * Sends an action and waits for its real completion.
   *
   * @param name the action, e.g. `"Originate"`
   * @param fields its fields (an array value repeats the key)
   * @param options deadline, abort signal, strategy, waiting for a connection
   * @returns the result, discriminated on `kind`
   * @throws {ActionError} the server answered `Response: Error` (or a failed Originate)
   * @throws {ActionTimeoutError} no complete answer before the deadline
   * @throws {ConnectionLostError} disconnected (`written` says whether it left the process)
   * @throws {LocalProtocolError} invalid action, too many in flight, write buffer full
   * @throws {AbortedError} the signal aborted
   * @example
   * const res = await client.action("Ping");
   */
  action(
    name: string,
    fields?: ActionFields,
    options: ActionOptions = NO_OPTIONS,
  ): Promise<ActionResult> {
    const action: Action = { name, fields };
    const session = this.#session;
    let promise: Promise<ActionResult>;
    if (this.#state === "ready" && session !== undefined) {
      promise = session.send(action, {
        timeoutMs: options.timeout,
        strategy: options.strategy,
        signal: options.signal,
      });
    } else if (
      options.waitForConnection &&
      (this.#state === "connecting" || this.#state === "reconnecting")
    ) {
      promise = this.#wait(action, options);
    } else {
      this.#rejectedDisconnected++;
      return Promise.reject(new ConnectionLostError(name, false, this.#state));
    }
    // Filter and Events are remembered for replay after a reconnect (both 6 letters:
    // the length test spares every other action a lower-cased copy of its name).
    const lname = name.length === 6 ? name.toLowerCase() : "";
    if (lname === "filter" || lname === "events") {
      return promise.then((result) => {
        this.#remember(lname, action);
        return result;
      });
    }
    return promise;
  }

  /**
   * Adds an event listener. A handler that throws or rejects is reported
   * and counted, and never stops the others or the connection.
   *
   * @param filter an event name (as Asterisk sends it), `"*"`, or a predicate
   * @param handler called with each matching event and the node's name
   * @returns a function that removes the listener
   * @example
   * const off = client.on("Hangup", (e) => console.log(e.get("Channel")));
   */
  on(filter: EventFilter, handler: EventHandler): () => void {
    return this.#dispatcher.on(filter, handler);
  }

  /**
   * An async iterator over events with its own bounded buffer: when the
   * consumer is slow, events are dropped by the policy and counted in
   * `dropped` (the socket is still read at full speed). Ends when the client
   * closes; `break` unsubscribes.
   *
   * @param options filter, capacity, drop policy
   * @returns the stream
   */
  events(options: EventStreamOptions = {}): EventStream<AmiMessage> {
    return openStream(this.#dispatcher, this.#streams, options, this.#state === "closed", (e) => e);
  }

  /**
   * Observes state changes.
   *
   * @param listener called with each change
   * @returns a function that removes the listener
   */
  onStateChange(listener: (change: StateChange) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** The client's counters, as a plain snapshot. */
  stats(): ClientStats {
    let streamDrops = 0;
    for (const s of this.#streams) streamDrops += s.dropped;
    const session = this.#session?.stats();
    const totals = { ...this.#pastTotals };
    addTotals(totals, session);
    return {
      node: this.node,
      state: this.#state,
      attempts: this.#attempts,
      sessions: this.#sessions,
      reconnects: Math.max(0, this.#sessions - 1),
      totals,
      eventsDispatched: this.#eventsDispatched,
      listenerErrors: this.#listenerErrors,
      streamDrops,
      waitingActions: this.#waiting.length,
      rejectedDisconnected: this.#rejectedDisconnected,
      abandoned: this.#abandoned + (this.#session?.abandoned ?? 0),
      timerWakeups: this.#session?.wakeups ?? 0,
      session,
    };
  }

  /** The server's banner line of the current session. */
  get banner(): string | undefined {
    return this.#session?.banner;
  }

  /**
   * Logs off gracefully (Logoff, wait for Goodbye) and stops reconnecting.
   * Pending actions may still complete; what remains fails as the engine
   * decides. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    this.#closePromise = (async () => {
      if (this.#state === "closed") return;
      this.#setState("closing");
      this.#stopTrying();
      const s = this.#session;
      if (s !== undefined) {
        s.close({ graceful: s.state === "ready" });
        await this.#sessionClosed;
      }
      this.#finishClose({ reason: "local" });
    })();
    return this.#closePromise;
  }

  /** Closes at once: unsent bytes are discarded, pending actions fail. Idempotent. */
  destroy(): void {
    if (this.#state === "closed") return;
    this.#stopTrying();
    this.#session?.close({ graceful: false });
    this.#finishClose({ reason: "local" });
  }

  /** `await using client = await connect(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ------------------------------------------------------------ internals

  #engineOptions(): ConnectionOptions {
    const o = this.#options;
    return {
      ...o,
      ids: {
        instance: o.instanceId ?? instanceId(),
        node: idPart(this.node),
        session: ++sessionCounter,
      },
    };
  }

  /** One connection attempt: resolves when logged in (and replayed), rejects with why not. */
  async #attempt(): Promise<void> {
    this.#attempts++;
    const o = this.#options;
    let loggedIn = false;
    let onReady!: () => void;
    let onFail!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    ready.catch(() => {});
    let markClosed!: () => void;
    this.#sessionClosed = new Promise<void>((resolve) => markClosed = resolve);
    let session: Session | undefined;
    const hooks = {
      event: this.#onEvent,
      ready: () => {
        loggedIn = true;
        onReady();
      },
      closed: (notice: StateNotice) => {
        markClosed();
        if (!loggedIn) onFail(loginFailure(notice));
        else if (session !== undefined) this.#lost(session, notice);
      },
      drops: (notice: DropSummaryNotice) => this.#drops(notice),
    };
    try {
      session = await Session.open(this.#wiring.connector, {
        host: o.host,
        port: o.port ?? 5038,
        tls: o.tls === true ? {} : o.tls === false ? undefined : o.tls,
        connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
        engine: this.#engineOptions(),
        hooks,
        signal: this.#life.signal,
      });
    } catch (error) {
      markClosed();
      throw error;
    }
    this.#session = session;
    try {
      await ready;
      if (this.#life.signal.aborted) throw new ConnectError("other", "the client was closed");
      await this.#replay(session);
      if (session.state !== "ready") {
        throw new ConnectError("closed", "the connection closed right after login");
      }
    } catch (error) {
      session.close();
      this.#detach(session);
      throw error;
    }
    this.#sessions++;
    this.#backoff?.up(now());
    this.#setState("ready");
    this.#flushWaiting(session);
  }

  /** Re-applies the event mask and every Filter the user set, after a re-login. */
  async #replay(session: Session): Promise<void> {
    const replays = this.#eventMask === undefined
      ? [...this.#filters]
      : [this.#eventMask, ...this.#filters];
    if (replays.length === 0) return;
    const results = await Promise.allSettled(replays.map((a) => session.send(a)));
    for (const r of results) {
      if (r.status === "rejected") {
        logger.warn("{node}: re-applying a Filter or event mask failed: {error}", {
          node: this.node,
          error: r.reason,
        });
      }
    }
  }

  #remember(lname: string, action: Action): void {
    if (lname === "events") {
      this.#eventMask = action;
      return;
    }
    const key = JSON.stringify(action.fields ?? null);
    if (!this.#filters.some((f) => JSON.stringify(f.fields ?? null) === key)) {
      this.#filters.push(action);
    }
  }

  /** A logged-in session ended. */
  #lost(session: Session, notice: StateNotice): void {
    this.#detach(session);
    if (this.#state === "closing" || this.#state === "closed") return;
    // No backoff, or the user's own Logoff: the end, no reconnect.
    if (this.#backoff === undefined || notice.reason === "loggedOff") {
      this.#finishClose({ reason: notice.reason, error: notice.error });
      return;
    }
    logger.warn("{node}: connection lost ({reason})", { node: this.node, reason: notice.reason });
    const kind = notice.reason === "authFailed" ? "authFailed" : "lost";
    this.#retry(this.#backoff.failure(kind, now()), notice.reason, notice.error);
  }

  /** Waits `delay`, takes a permit (clusters), attempts; on failure backs off and repeats. */
  #retry(delay: number, reason?: StateChange["reason"], error?: Error): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    this.#setState(this.#sessions === 0 ? "connecting" : "reconnecting", {
      reason,
      error,
      attempt: this.#backoff?.attempt ?? 0,
      delayMs: delay,
    });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#retryNow();
    }, delay);
  }

  async #retryNow(): Promise<void> {
    const permit = this.#wiring.permit;
    const signal = this.#life.signal;
    if (permit !== undefined) {
      try {
        await permit.acquire(this.node, signal);
      } catch {
        return; // closed while waiting
      }
    }
    try {
      await this.#attempt();
    } catch (error) {
      if (signal.aborted) return;
      const kind = error instanceof AuthError ? "authFailed" : "connectFailed";
      const backoff = this.#backoff ?? new Backoff();
      this.#retry(backoff.failure(kind, now()), "connectFailed", error as Error);
    } finally {
      permit?.release(this.node);
    }
  }

  #wait(action: Action, options: ActionOptions): Promise<ActionResult> {
    const max = this.#options.maxWaitingActions ?? 1_000;
    if (this.#waiting.length >= max) {
      return Promise.reject(
        new LocalProtocolError(`maxWaitingActions (${max}) actions already wait for a connection`),
      );
    }
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new AbortedError(action.name, false));
    const timeoutMs = options.timeout ?? this.#options.actionTimeoutMs ?? 30_000;
    return new Promise<ActionResult>((resolve, reject) => {
      const entry: WaitingAction = {
        action,
        options,
        deadline: now() + timeoutMs,
        timeoutMs,
        resolve,
        reject,
      };
      if (signal !== undefined) {
        const onAbort = (): void => {
          const i = this.#waiting.indexOf(entry);
          if (i < 0) return;
          this.#waiting.splice(i, 1);
          reject(new AbortedError(action.name, false, { cause: signal.reason }));
          this.#armWait();
        };
        signal.addEventListener("abort", onAbort, { once: true });
        entry.cleanup = () => signal.removeEventListener("abort", onAbort);
      }
      this.#waiting.push(entry);
      this.#armWait();
    });
  }

  /** One timer for the earliest deadline among the actions waiting for a connection. */
  #armWait(): void {
    if (this.#waitTimer !== undefined) clearTimeout(this.#waitTimer);
    this.#waitTimer = undefined;
    if (this.#waiting.length === 0) return;
    let next = Infinity;
    for (const w of this.#waiting) next = Math.min(next, w.deadline);
    this.#waitTimer = setTimeout(() => {
      this.#waitTimer = undefined;
      const t = now();
      for (let i = this.#waiting.length - 1; i >= 0; i--) {
        const w = this.#waiting[i];
        if (w.deadline <= t) {
          this.#waiting.splice(i, 1);
          w.cleanup?.();
          w.reject(new ActionTimeoutError(w.action.name, w.timeoutMs, false));
        }
      }
      this.#armWait();
    }, Math.max(0, Math.ceil(next - now())));
  }

  #flushWaiting(session: Session): void {
    const list = this.#waiting.splice(0);
    this.#armWait();
    const t = now();
    for (const w of list) {
      w.cleanup?.();
      const remaining = Math.ceil(w.deadline - t);
      if (remaining <= 0) {
        w.reject(new ActionTimeoutError(w.action.name, w.timeoutMs, false));
        continue;
      }
      session.send(w.action, {
        timeoutMs: remaining,
        strategy: w.options.strategy,
        signal: w.options.signal,
      }).then(w.resolve, w.reject);
    }
  }

  #stopTrying(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#life.abort();
  }

  #finishClose(change: { reason?: StateChange["reason"]; error?: Error }): void {
    if (this.#state === "closed") return;
    this.#stopTrying();
    this.#setState("closed", change);
    this.#shutdown(change.error);
  }

  /** Forgets the current session, keeping its counters in the totals. */
  #detach(session: Session): void {
    if (this.#session !== session) return;
    this.#session = undefined;
    addTotals(this.#pastTotals, session.stats());
    this.#abandoned += session.abandoned;
  }

  /** Fails the waiting actions and ends the streams. */
  #shutdown(error?: Error): void {
    if (this.#session !== undefined) this.#detach(this.#session);
    for (const w of this.#waiting.splice(0)) {
      w.cleanup?.();
      w.reject(new ConnectionLostError(w.action.name, false, "closed", { cause: error }));
    }
    this.#armWait();
    for (const s of [...this.#streams]) s.close();
  }

  #setState(state: ClientState, extra: Omit<StateChange, "state" | "previous"> = {}): void {
    const previous = this.#state;
    if (previous === state && state !== "reconnecting" && state !== "connecting") return;
    this.#state = state;
    const change: StateChange = { state, previous, ...extra };
    if (state === "ready") logger.info("{node}: ready", { node: this.node });
    for (const l of [...this.#stateListeners]) {
      try {
        l(change);
      } catch (error) {
        this.#listenerError(error);
      }
    }
  }

  #drops(notice: DropSummaryNotice): void {
    logger.warn("{node}: dropped {dropped} events ({total} in total; queue depth {depth})", {
      node: this.node,
      dropped: notice.dropped,
      total: notice.totalDropped,
      depth: notice.depth,
    });
  }

  /** Counts every listener failure; logs at most one record per second (coalesced). */
  #listenerError(error: unknown): void {
    this.#listenerErrors++;
    const t = now();
    if (t - this.#lastErrorLog < 1_000) {
      this.#suppressedErrors++;
      return;
    }
    const suppressed = this.#suppressedErrors;
    this.#suppressedErrors = 0;
    this.#lastErrorLog = t;
    logger.error(
      "{node}: an event listener failed: {error} ({suppressed} more failures since the last report)",
      { node: this.node, error, suppressed },
    );
  }
}

/** The typed error for a session that closed before it logged in. */
function loginFailure(notice: StateNotice): Error {
  const e = notice.error;
  if (e instanceof AuthError || e instanceof ConnectError) return e;
  switch (notice.reason) {
    case "authFailed":
      return new AuthError("login refused", { cause: e });
    case "loginTimedOut":
      return new ConnectError("timedOut", "no login answer in time", { cause: e });
    case "protocol":
      return new ConnectError("protocol", `protocol error during login: ${e?.message}`, {
        cause: e,
      });
    case "transportError":
      return new ConnectError("closed", `the connection failed during login: ${e?.message}`, {
        cause: e,
      });
    default:
      return new ConnectError("closed", `the connection closed during login (${notice.reason})`, {
        cause: e,
      });
  }
}

/**
 * Connects with the given transport and logs in.
 *
 * @param connector the runtime adapter (see `adapters/`)
 * @param options server, credentials, engine and reconnect options
 * @returns the logged-in client
 * @throws {ConnectError} refused, timed out, TLS, closed or protocol
 * @throws {AuthError} the server refused the credentials
 */
export async function connectWith(
  connector: TransportConnector,
  options: ClientOptions,
): Promise<Client> {
  const client = new Client(options, { connector });
  await client.start();
  return client;
}
