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
  type ConnectionLostReason,
  LocalProtocolError,
} from "../core/errors.ts";
import type { AmiMessage } from "../core/message.ts";
import type {
  AmiActionFieldsFor,
  AmiActionName,
  AmiActionResultFor,
  AmiEvent,
  AmiEventName,
} from "../core/ami.ts";
import { type Action, type ActionFields, fieldEntries } from "../core/serializer.ts";
import { isAsyncOriginate } from "../core/originate.ts";
import {
  type EventFilterRule,
  filterRule,
  filtersPass,
  maskHasClass,
  ORIGINATE_RESPONSE_FILTER,
} from "./_filters.ts";
import type { TlsOptions, TransportConnector } from "./transport.ts";
import type { BackoffOptions } from "./backoff.ts";
import { type Clock, REAL_CLOCK } from "./clock.ts";
import {
  type ClientState,
  type StateChange,
  Supervisor,
  type SupervisorOutput,
  type WaitingEntry,
} from "./supervisor.ts";
import { DeadlineTimer } from "./_timer.ts";
import {
  Dispatcher,
  type EventFilter,
  type EventHandler,
  type EventStream,
  type EventStreamOptions,
  openStream,
  StreamSet,
} from "./_events.ts";
import { Session, type SessionHooks } from "./_session.ts";

export type { ClientState, StateChange };

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
  /** The time source (default real time); tests pass a manual clock. */
  readonly clock?: Clock;
}

/** Per-action options. */
export interface ActionOptions {
  /**
   * Deadline, ms (`Infinity`: none). Default the engine's (`actionTimeoutMs`,
   * `originateTimeoutMs`).
   */
  readonly timeoutMs?: number;
  /** @deprecated Use `timeoutMs` (the same; `timeoutMs` wins when both are set). */
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

/** Per-action options of a documented action (see {@link Client.action}). */
export type TypedActionOptions = Omit<ActionOptions, "strategy">;

/**
 * The arguments after a documented action's name: its fields (required when
 * it has required fields), then options.
 */
export type TypedActionArgs<N extends AmiActionName> = Record<never, never> extends
  AmiActionFieldsFor<N> ? [fields?: AmiActionFieldsFor<N>, options?: TypedActionOptions]
  : [fields: AmiActionFieldsFor<N>, options?: TypedActionOptions];

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
  /** Event and state listeners attached now (a leak shows here). */
  readonly listeners: number;
  /** Events dropped by iterator buffers. */
  readonly streamDrops: number;
  /** Actions waiting for a connection. */
  readonly waitingActions: number;
  /** Actions failed at once because the client was disconnected. */
  readonly rejectedDisconnected: number;
  /**
   * Actions the caller aborted, sent or waiting for a connection (a later
   * answer to a sent one counts in `orphans`).
   */
  readonly abandoned: number;
  /** Wake-ups of the client's one timer (an idle client with keepalive off has none). */
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
    | "actionsAborted"
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
  "actionsAborted",
  "orphans",
];

function addTotals(into: Record<TotalKey, number>, from: ConnectionStats | undefined): void {
  if (from === undefined) return;
  for (const k of TOTAL_KEYS) into[k] += from[k];
}

/** The wiring of the next client constructed by {@link nodeClient}. */
let nextWiring: ClientWiring | undefined;
/** Reaches a client's private background start (set by the class). */
let startInBackground: (client: Client) => void;

/**
 * Makes a cluster node: a client wired to the cluster's gate and merged
 * event stream, and a function that starts it in the background (retrying
 * until its first session). Internal to the client layer.
 *
 * @param options the node's options
 * @param wiring the transport, the gate's permit and the event sink
 * @returns the client and its start
 */
export function nodeClient(
  options: ClientOptions,
  wiring: ClientWiring,
): { client: Client; start(): void } {
  nextWiring = wiring;
  let client: Client;
  try {
    client = new Client(options, wiring.connector);
  } finally {
    nextWiring = undefined;
  }
  return { client, start: () => startInBackground(client) };
}

/** Lets a cluster gate connection attempts (see `Cluster`). */
export interface ConnectPermit {
  /** The node wants to attempt (`failures` in a row so far); `grant` is called when it may. */
  request(node: string, failures: number, grant: () => void): void;
  /** The node no longer wants to (closed before the grant). */
  cancel(node: string): void;
  /** The granted attempt is over. */
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

/** An action waiting for a connection (held by the supervisor until flushed or failed). */
class WaitingAction implements WaitingEntry {
  heapIndex = -1;
  cleanup: (() => void) | undefined = undefined;
  constructor(
    readonly action: Action,
    readonly options: ActionOptions,
    readonly timeoutMs: number,
    public deadline: number,
    readonly resolve: (result: ActionResult) => void,
    readonly reject: (error: unknown) => void,
  ) {}
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

/** A connect in progress: its attempt and how to abort it. */
interface PendingConnect {
  readonly attempt: number;
  readonly controller: AbortController;
}

/**
 * A client connected to one Asterisk server. Create it with `connect`.
 *
 * It is a thin driver over a pure {@link Supervisor} (when to connect,
 * retry, give up; actions waiting for a connection) and one {@link Session}
 * at a time (the engine over a socket), with one timer for the earliest
 * deadline of both.
 *
 * Listeners are called synchronously as events are read; an async listener
 * is not awaited (its work is the application's to bound): for a bounded,
 * back-pressured path, read {@link Client.events} instead.
 */
export class Client implements AsyncDisposable {
  /** The node's name. */
  readonly node: string;
  readonly #options: ClientOptions;
  readonly #wiring: ClientWiring;
  readonly #clock: Clock;
  readonly #sup: Supervisor<WaitingAction>;
  readonly #timer: DeadlineTimer;
  readonly #dispatcher: Dispatcher;
  readonly #streams = new StreamSet<AmiMessage>();
  readonly #stateListeners = new Set<(change: StateChange) => void>();
  readonly #dropListeners = new Set<(notice: DropSummaryNotice) => void>();
  #session: Session | undefined;
  #sessionAttempt = 0;
  #connecting: PendingConnect | undefined;
  #driving = false;
  #started: { resolve(): void; reject(error: Error): void } | undefined;
  #closed: { promise: Promise<void>; resolve(): void } | undefined;
  #filters: Action[] = [];
  /** The remembered Filters as rules, to tell what they let through. */
  #filterRules: EventFilterRule[] = [];
  #ownFilter = false;
  #eventMask: Action | undefined;
  // Counters.
  /** Counters of the sessions that ended. */
  readonly #pastTotals: Record<TotalKey, number> = Object.fromEntries(
    TOTAL_KEYS.map((k) => [k, 0]),
  ) as Record<TotalKey, number>;
  #eventsDispatched = 0;
  #listenerErrors = 0;
  #rejectedDisconnected = 0;
  #abortedWaiting = 0;
  #lastErrorLog = -Infinity;
  #suppressedErrors = 0;
  readonly #onEvent = (event: AmiMessage): void => {
    this.#eventsDispatched++;
    this.#dispatcher.dispatch(event, this.node);
    this.#wiring.sink?.(event, this.node);
  };
  readonly #arm = (): void => {
    const a = this.#session?.pollTimeout();
    const b = this.#sup.pollTimeout();
    this.#timer.arm(a === undefined ? b : b === undefined || a < b ? a : b);
  };

  static {
    startInBackground = (client) => client.#startInBackground();
  }

  /**
   * Prefer `connect` (logs in before returning); this constructor does not
   * connect: call {@link Client.start}.
   *
   * @param options server, credentials, engine and reconnect options
   * @param connector the transport (a runtime adapter, or your own)
   */
  constructor(options: ClientOptions, connector: TransportConnector) {
    const wiring = nextWiring ?? { connector };
    this.#options = options;
    this.#wiring = wiring;
    this.node = options.node ?? "ami";
    this.#clock = options.clock ?? REAL_CLOCK;
    this.#dispatcher = new Dispatcher((error) => this.#listenerError(error));
    this.#sup = new Supervisor({
      reconnect: options.reconnect !== false,
      backoff: options.reconnect === false ? undefined : options.reconnect,
      connectTimeoutMs: options.connectTimeoutMs,
      gated: wiring.permit !== undefined,
      maxWaiting: options.maxWaitingActions,
    });
    this.#timer = new DeadlineTimer(this.#clock, () => this.#onTimer());
  }

  /** The time source the client runs on (`ClientOptions.clock`, or real time). */
  get clock(): Clock {
    return this.#clock;
  }

  /** The client's state. */
  get state(): ClientState {
    return this.#sup.state;
  }

  /**
   * Connects and logs in once (no retry before the first session; later
   * losses reconnect as configured).
   *
   * @throws {ConnectError} refused, timed out, TLS, closed or protocol
   * @throws {AuthError} the server refused the credentials
   */
  start(): Promise<void> {
    if (this.#sup.phase !== "idle") {
      return Promise.reject(new LocalProtocolError(`start(): the client is ${this.state} already`));
    }
    const started = new Promise<void>((resolve, reject) => {
      this.#started = { resolve, reject };
    });
    this.#sup.start(this.#clock.now(), { once: true });
    this.#drive();
    return started;
  }

  /** Connects in the background and keeps retrying with backoff (cluster nodes). */
  #startInBackground(): void {
    this.#sup.start(this.#clock.now());
    this.#drive();
  }

  /**
   * Sends a documented action, its fields and result typed from Asterisk's
   * docs: required fields are required, any other field is allowed too.
   *
   * @param name the action, e.g. `"Originate"` (completed from the docs)
   * @param args its fields (an array value repeats the key), then options
   * @returns the result, discriminated on `kind`
   * @throws {ActionError} the server answered `Response: Error` (or a failed Originate)
   * @throws {ActionTimeoutError} no complete answer before the deadline
   * @throws {ConnectionLostError} disconnected (`written` says whether it left the process)
   * @throws {LocalProtocolError} invalid action, too many in flight, write buffer full
   * @throws {AbortedError} the signal aborted
   * @example
   * const res = await client.action("Ping");
   * if (res.kind === "response") console.log(res.response.get("Ping"));
   */
  action<N extends AmiActionName>(
    name: N,
    ...args: TypedActionArgs<N>
  ): Promise<AmiActionResultFor<N>>;
  /**
   * Sends an action Asterisk's docs do not list (a module's, a newer
   * version's): untyped fields, any result.
   *
   * @param name the action
   * @param fields its fields
   * @param options deadline, abort signal, strategy, waiting for a connection
   * @returns the result, discriminated on `kind`
   */
  action<N extends string>(
    name: [N] extends [AmiActionName] ? never : N,
    fields?: ActionFields,
    options?: ActionOptions,
  ): Promise<ActionResult>;
  /**
   * Sends any action with an explicit completion `strategy` (the result is
   * then what the strategy gives).
   *
   * @param name the action
   * @param fields its fields
   * @param options with `strategy`
   * @returns the result, discriminated on `kind`
   */
  action(
    name: string,
    fields: ActionFields | undefined,
    options: ActionOptions & { readonly strategy: CompletionStrategy },
  ): Promise<ActionResult>;
  action(
    name: string,
    fields?: ActionFields,
    options: ActionOptions = NO_OPTIONS,
  ): Promise<ActionResult> {
    const action: Action = { name, fields };
    if (this.#filterRules.length > 0 && isAsyncOriginate(name, fields)) {
      const hidden = this.#originateHidden(name);
      if (hidden !== undefined) return Promise.reject(hidden);
    }
    const session = this.#session;
    const state = this.#sup.state;
    let promise: Promise<ActionResult>;
    if (state === "ready" && session !== undefined) {
      promise = session.send(action, {
        timeoutMs: options.timeoutMs ?? options.timeout,
        strategy: options.strategy,
        signal: options.signal,
      });
    } else if (options.waitForConnection && (state === "connecting" || state === "reconnecting")) {
      promise = this.#wait(action, options);
    } else {
      this.#rejectedDisconnected++;
      return Promise.reject(new ConnectionLostError(name, false, notConnected(state)));
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
   * Adds a listener for one documented event, typed: `event.name` narrowed,
   * its header names checked and completed. A handler that throws or
   * rejects is reported and counted, and never stops the others or the
   * connection. Handlers run synchronously as events are read; a returned
   * promise is not awaited.
   *
   * @param filter the event's name, as Asterisk sends it
   * @param handler called with each such event and the node's name
   * @returns a function that removes the listener
   * @example
   * const off = client.on("Hangup", (e) => console.log(e.get("Channel"), e.get("Cause-txt")));
   */
  on<N extends AmiEventName>(
    filter: N,
    handler: (event: AmiEvent<N>, node: string) => unknown,
  ): () => void;
  /**
   * Adds a listener for an undocumented event name, `"*"` (every event), or
   * a predicate.
   *
   * @param filter an event name, `"*"`, or a predicate
   * @param handler called with each matching event and the node's name
   * @returns a function that removes the listener
   */
  on<F extends string>(
    filter: (F extends AmiEventName ? never : F) | ((event: AmiMessage) => boolean),
    handler: EventHandler,
  ): () => void;
  on(filter: EventFilter, handler: EventHandler): () => void {
    return this.#dispatcher.on(filter, handler);
  }

  /**
   * An async iterator over events with its own bounded buffer: when the
   * consumer is slow, events are dropped by the policy, counted in
   * `dropped` and in the stats, and logged as one summary per interval (the
   * socket is still read at full speed). Ends when the client closes;
   * `break` unsubscribes.
   *
   * @param options filter, capacity, drop policy
   * @returns the stream
   */
  events<N extends AmiEventName>(
    options: EventStreamOptions & { readonly filter: N },
  ): EventStream<AmiEvent<N>>;
  /**
   * An async iterator over every event, or those a name or predicate selects.
   *
   * @param options filter, capacity, drop policy
   * @returns the stream
   */
  events(options?: EventStreamOptions): EventStream<AmiMessage>;
  events(options: EventStreamOptions = {}): EventStream<AmiMessage> {
    return openStream(this.#dispatcher, this.#streams, options, {
      closed: this.#sup.state === "closed",
      clock: this.#clock,
      label: this.node,
      map: (e) => e,
    });
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

  /**
   * Observes the session's coalesced drop summaries (events its bounded queue
   * dropped; at most one per `dropSummaryIntervalMs`). For bindings that must
   * see every event, such as the live model, which resyncs on it.
   *
   * @param listener called with each summary (isolated like every listener)
   * @returns a function that removes the listener
   */
  onDrops(listener: (notice: DropSummaryNotice) => void): () => void {
    this.#dropListeners.add(listener);
    return () => this.#dropListeners.delete(listener);
  }

  /** The client's counters, as a plain snapshot. */
  stats(): ClientStats {
    const session = this.#session?.stats();
    const totals = { ...this.#pastTotals };
    addTotals(totals, session);
    const sup = this.#sup.snapshot();
    return {
      node: this.node,
      state: sup.state,
      attempts: sup.attempts,
      sessions: sup.sessions,
      reconnects: Math.max(0, sup.sessions - 1),
      totals,
      eventsDispatched: this.#eventsDispatched,
      listenerErrors: this.#listenerErrors,
      listeners: this.#dispatcher.size + this.#stateListeners.size + this.#dropListeners.size,
      streamDrops: this.#streams.dropped,
      waitingActions: sup.waiting,
      rejectedDisconnected: this.#rejectedDisconnected,
      abandoned: this.#abortedWaiting + totals.actionsAborted,
      timerWakeups: this.#timer.wakeups,
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
   * decides. Resolves once no socket and no timer is left. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closed === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => resolve = r);
      this.#closed = { promise, resolve };
      if (this.#sup.state === "closed") resolve();
    }
    this.#sup.close(this.#clock.now());
    this.#drive();
    return this.#closed.promise;
  }

  /** Closes at once: unsent bytes are discarded, pending actions fail. Idempotent. */
  destroy(): void {
    this.#sup.destroy(this.#clock.now());
    this.#drive();
  }

  /** `await using client = await connect(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ------------------------------------------------------------ internals

  /** Drains the supervisor's outputs in order, then re-arms the one timer. Re-entrant. */
  #drive(): void {
    if (this.#driving) return;
    this.#driving = true;
    try {
      for (let o = this.#sup.poll(); o !== undefined; o = this.#sup.poll()) this.#apply(o);
    } finally {
      this.#driving = false;
    }
    this.#arm();
  }

  #apply(o: SupervisorOutput<WaitingAction>): void {
    switch (o.type) {
      case "connect":
        this.#open(o.attempt);
        return;
      case "closeSession":
        this.#closeSession(o.attempt, o.graceful);
        return;
      case "replay":
        this.#replay(o.attempt);
        return;
      case "requestPermit":
        this.#wiring.permit?.request(this.node, o.failures, () => {
          this.#sup.permitGranted(this.#clock.now());
          this.#drive();
        });
        return;
      case "cancelPermit":
        this.#wiring.permit?.cancel(this.node);
        return;
      case "releasePermit":
        this.#wiring.permit?.release(this.node);
        return;
      case "state":
        this.#stateChanged(o.change);
        return;
      case "flush":
        this.#flushWaiting(o.actions);
        return;
      case "failWaiting":
        for (const w of o.actions) {
          w.cleanup?.();
          w.reject(
            o.why === "timeout"
              ? new ActionTimeoutError(w.action.name, w.timeoutMs, false)
              : new ConnectionLostError(w.action.name, false, "closed", { cause: o.error }),
          );
        }
        return;
    }
  }

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

  /** Opens the session of one attempt; every outcome goes back to the supervisor. */
  #open(attempt: number): void {
    const o = this.#options;
    const controller = new AbortController();
    this.#connecting = { attempt, controller };
    const now = (): number => this.#clock.now();
    const hooks: SessionHooks = {
      connected: (session) => {
        if (this.#connecting?.attempt !== attempt) return false;
        this.#connecting = undefined;
        this.#session = session;
        this.#sessionAttempt = attempt;
        this.#sup.connected(attempt, now());
        this.#drive();
        return true;
      },
      event: this.#onEvent,
      ready: () => {
        this.#sup.loggedIn(attempt, now());
        this.#drive();
      },
      closed: (notice: StateNotice) => {
        const inLogin = this.#sup.attempt === attempt && this.#sup.phase === "login";
        if (this.#sessionAttempt === attempt) this.#detach();
        this.#sup.ended(attempt, now(), {
          reason: notice.reason ?? "remoteClosed",
          error: inLogin ? loginFailure(notice) : notice.error,
        });
        this.#drive();
      },
      drops: (notice: DropSummaryNotice) => this.#drops(notice),
      deadline: this.#arm,
    };
    Session.open(this.#wiring.connector, {
      host: o.host,
      port: o.port ?? 5038,
      tls: o.tls === true ? {} : o.tls === false ? undefined : o.tls,
      engine: this.#engineOptions(),
      hooks,
      clock: this.#clock,
      signal: controller.signal,
    }).catch((error) => this.#failConnect(attempt, error));
  }

  #failConnect(attempt: number, error: unknown): void {
    if (this.#connecting?.attempt === attempt) this.#connecting = undefined;
    this.#sup.ended(attempt, this.#clock.now(), {
      reason: "connectFailed",
      error: error instanceof Error ? error : new ConnectError("other", String(error)),
    });
    this.#drive();
  }

  #closeSession(attempt: number, graceful: boolean): void {
    if (this.#connecting?.attempt === attempt) {
      this.#connecting.controller.abort(new DOMException("connect abandoned", "AbortError"));
      this.#connecting = undefined;
      return;
    }
    const s = this.#session;
    if (s !== undefined && this.#sessionAttempt === attempt) {
      s.close({ graceful: graceful && s.state === "ready" });
    }
  }

  /** Re-applies the event mask and every Filter the user set, after a (re-)login. */
  #replay(attempt: number): void {
    const session = this.#session;
    const replays = this.#eventMask === undefined
      ? [...this.#filters]
      : [this.#eventMask, ...this.#filters];
    if (session === undefined || replays.length === 0) {
      this.#sup.replayed(attempt, this.#clock.now());
      return;
    }
    Promise.allSettled(replays.map((a) => session.send(a))).then((results) => {
      for (const r of results) {
        if (r.status === "rejected" && this.#sup.attempt === attempt) {
          logger.warn("{node}: re-applying a Filter or event mask failed: {error}", {
            node: this.node,
            error: r.reason,
          });
        }
      }
      this.#sup.replayed(attempt, this.#clock.now());
      this.#drive();
    });
  }

  #remember(lname: string, action: Action): void {
    if (lname === "events") {
      this.#eventMask = action;
      return;
    }
    const key = JSON.stringify(action.fields ?? null);
    if (this.#filters.some((f) => JSON.stringify(f.fields ?? null) === key)) return;
    this.#filters.push(action);
    const rule = filterRule(action.fields);
    if (rule === undefined) return;
    this.#filterRules.push(rule);
    // A whitelist that would hide OriginateResponse: the client adds its own
    // whitelist for it (sent now, replayed after each login), so that async
    // Originates still complete. A blacklist that hides it is not undone:
    // async Originates are refused at once instead (see #originateHidden).
    if (this.#ownFilter || filtersPass(this.#filterRules, "OriginateResponse", "call")) return;
    const own = filterRule(ORIGINATE_RESPONSE_FILTER) as EventFilterRule;
    if (!filtersPass([...this.#filterRules, own], "OriginateResponse", "call")) return;
    this.#ownFilter = true;
    const ownAction: Action = { name: "Filter", fields: ORIGINATE_RESPONSE_FILTER };
    this.#filters.push(ownAction);
    this.#filterRules.push(own);
    this.#session?.send(ownAction).catch((error: unknown) => {
      logger.warn("{node}: adding the OriginateResponse filter failed: {error}", {
        node: this.node,
        error,
      });
    });
  }

  /** The error for an async Originate whose OriginateResponse the Filters would hide, if they do. */
  #originateHidden(name: string): LocalProtocolError | undefined {
    if (filtersPass(this.#filterRules, "OriginateResponse", "call")) return undefined;
    return new LocalProtocolError(
      `${name} (async) completes on its OriginateResponse, but a Filter of this session ` +
        `(a blacklist, "!...") hides OriginateResponse events, so it could only time out: ` +
        `remove that filter, or add a narrower one`,
    );
  }

  /**
   * Whether the session's event mask (Login's `events`, or the last
   * `Events` action) and its remembered `Filter`s let an event of this name
   * and class through, as Asterisk decides it (a filter on other headers is
   * tested against a text with just `Event` and `Privilege`). Bindings that
   * depend on events (the live model) check it and refuse to run blind.
   *
   * @param name the event's name (`Newchannel`)
   * @param cls its class (`call`, `dialplan`, `agent`, `system`, ...)
   * @returns whether such events can arrive (the user's read permission aside)
   */
  receives(name: string, cls: string): boolean {
    let mask: string | boolean | undefined = this.#options.events;
    if (this.#eventMask !== undefined) {
      mask = "";
      for (const [k, v] of fieldEntries(this.#eventMask.fields)) {
        if (k.toLowerCase() === "eventmask") mask = v;
      }
    }
    return maskHasClass(mask, cls) && filtersPass(this.#filterRules, name, cls);
  }

  #wait(action: Action, options: ActionOptions): Promise<ActionResult> {
    const signal = options.signal;
    if (signal?.aborted) {
      return Promise.reject(new AbortedError(action.name, false, { cause: signal.reason }));
    }
    const timeoutMs = options.timeoutMs ?? options.timeout ?? this.#options.actionTimeoutMs ??
      30_000;
    if (!(typeof timeoutMs === "number" && timeoutMs > 0)) {
      return Promise.reject(
        new LocalProtocolError("timeoutMs must be a positive number (Infinity: no deadline)"),
      );
    }
    let entry!: WaitingAction;
    const promise = new Promise<ActionResult>((resolve, reject) => {
      entry = new WaitingAction(
        action,
        options,
        timeoutMs,
        this.#clock.now() + timeoutMs,
        resolve,
        reject,
      );
    });
    const verdict = this.#sup.wait(entry);
    if (verdict === "full") {
      const max = this.#options.maxWaitingActions ?? 1_000;
      return Promise.reject(
        new LocalProtocolError(`maxWaitingActions (${max}) actions already wait for a connection`),
      );
    }
    if (signal !== undefined) {
      const onAbort = (): void => {
        if (!this.#sup.cancelWait(entry)) return;
        this.#abortedWaiting++;
        entry.reject(new AbortedError(action.name, false, { cause: signal.reason }));
        this.#arm();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      entry.cleanup = () => signal.removeEventListener("abort", onAbort);
    }
    this.#arm();
    return promise;
  }

  #flushWaiting(list: readonly WaitingAction[]): void {
    const session = this.#session;
    const t = this.#clock.now();
    for (const w of list) {
      w.cleanup?.();
      const remaining = w.deadline - t;
      if (remaining <= 0) {
        w.reject(new ActionTimeoutError(w.action.name, w.timeoutMs, false));
      } else if (session === undefined) {
        w.reject(new ConnectionLostError(w.action.name, false, notConnected(this.#sup.state)));
      } else {
        session.send(w.action, {
          timeoutMs: remaining === Infinity ? Infinity : Math.ceil(remaining),
          strategy: w.options.strategy,
          signal: w.options.signal,
        }).then(w.resolve, w.reject);
      }
    }
  }

  #onTimer(): void {
    const now = this.#clock.now();
    const s = this.#session;
    if (s !== undefined) {
      const at = s.pollTimeout();
      if (at !== undefined && at <= now) s.handleTimeout(now);
    }
    this.#sup.handleTimeout(now);
    this.#drive();
  }

  /** Forgets the current session, keeping its counters in the totals. */
  #detach(): void {
    const session = this.#session;
    if (session === undefined) return;
    this.#session = undefined;
    addTotals(this.#pastTotals, session.stats());
  }

  #stateChanged(change: StateChange): void {
    const { state } = change;
    if (state === "ready") logger.info("{node}: ready", { node: this.node });
    else if (state === "reconnecting" && change.previous === "ready") {
      logger.warn("{node}: connection lost ({reason})", { node: this.node, reason: change.reason });
    }
    if (state === "ready") {
      this.#started?.resolve();
      this.#started = undefined;
    } else if (state === "closed") {
      this.#started?.reject(
        change.error ?? new ConnectError("other", "the client was closed before it connected"),
      );
      this.#started = undefined;
      this.#streams.closeAll();
      this.#closed?.resolve();
    }
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
    for (const l of [...this.#dropListeners]) {
      try {
        l(notice);
      } catch (error) {
        this.#listenerError(error);
      }
    }
  }

  /** Counts every listener failure; logs at most one record per second (coalesced). */
  #listenerError(error: unknown): void {
    this.#listenerErrors++;
    const t = this.#clock.now();
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

/** The reason an action finds no session in this state (`ready` has one, unless it just closed). */
function notConnected(state: ClientState): ConnectionLostReason {
  return state === "ready" ? "closed" : state;
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
  const client = new Client(options, connector);
  await client.start();
  return client;
}
