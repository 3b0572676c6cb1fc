/**
 * The types of the sans-IO connection engine ({@link AmiConnection} in
 * `connection.ts`): its options, states, results, notices and counters.
 *
 * @module
 */

import type { AmiError } from "./errors.ts";
import type { AmiMessage } from "./message.ts";
import type { ParserOptions } from "./parser.ts";

/** Where a connection is in its life. */
export type ConnectionState =
  | "awaitingBanner"
  | "authenticating"
  | "ready"
  | "closing"
  | "closed";

/**
 * Why a connection closed.
 * - `local`: the application closed it (`close()`).
 * - `loggedOff`: a Logoff was answered `Goodbye` (graceful close).
 * - `remoteClosed`: the server closed the connection (EOF) unasked.
 * - `authFailed`: the server refused the login (back off, do not hammer).
 * - `loginTimedOut`: no banner or login answer before the login deadline.
 * - `timedOut`: keepalive `Ping` unanswered in time (dead peer).
 * - `protocol`: the peer broke the protocol (see the error), or sent a
 *   message over a parser bound whose owner could not be known (a
 *   `MessageTooLargeError`; other oversized messages fail only their action).
 * - `transportError`: the socket failed (the driver reports it).
 */
export type CloseReason =
  | "local"
  | "loggedOff"
  | "remoteClosed"
  | "authFailed"
  | "loginTimedOut"
  | "timedOut"
  | "protocol"
  | "transportError";

/** What an event queue does when it is full. */
export type DropPolicy = "dropOldest" | "dropNewest";

/** Options of one connection (one session with one server). */
export interface ConnectionOptions {
  /** The manager.conf user. */
  readonly username: string;
  /** Its secret; never logged, never in an error message. */
  readonly secret: string;
  /** `plain` sends `Secret`; `md5` uses `Challenge` and sends `Key`. Default `plain`. */
  readonly auth?: "plain" | "md5";
  /**
   * The event mask sent with Login (`Events:` header): `true` = `on`,
   * `false` = `off`, or a class list such as `"call,user"`. Default: not
   * sent (the server's default for the user).
   */
  readonly events?: boolean | string;
  /** Deadline from the start for banner + login, ms. Default 10,000. */
  readonly loginTimeoutMs?: number;
  /** Default deadline of an action, ms. Default 30,000. */
  readonly actionTimeoutMs?: number;
  /** Default deadline of an async Originate (until its OriginateResponse), ms. Default 120,000. */
  readonly originateTimeoutMs?: number;
  /** Most actions pending at once; beyond is a LocalProtocolError. Default 1,024. */
  readonly maxInFlight?: number;
  /** Most events collected for one event-list action. Default 100,000. */
  readonly maxListItems?: number;
  /** Cap on bytes queued for the socket and not yet pulled. Default 1 MiB. */
  readonly maxWriteBufferBytes?: number;
  /** Cap on the event queue. Default 10,000 events. */
  readonly eventQueueCapacity?: number;
  /** What a full event queue drops. Default `dropOldest`. */
  readonly dropPolicy?: DropPolicy;
  /** Shortest time between two drop summaries, ms. Default 5,000. */
  readonly dropSummaryIntervalMs?: number;
  /** Idle time before a keepalive Ping, ms; 0 turns keepalive off. Default 20,000. */
  readonly keepaliveIdleMs?: number;
  /** How long the keepalive Ping may take before the peer is declared dead, ms. Default 10,000. */
  readonly keepaliveTimeoutMs?: number;
  /** How long a graceful close waits for `Goodbye` or EOF before closing anyway, ms. Default 5,000. */
  readonly closeTimeoutMs?: number;
  /** Parser bounds. */
  readonly parser?: ParserOptions;
  /**
   * ActionID material. ActionIDs are `<instance>.<node>.<session>.<counter>`:
   * `instance` comes from injected randomness once per process, `node`
   * names the server, `session` grows with every new connection.
   */
  readonly ids: ActionIdParts;
}

/** The parts that make ActionIDs unique across processes, nodes and sessions. */
export interface ActionIdParts {
  /** Random per process (injected), e.g. 8 base-36 characters. No `.`. */
  readonly instance: string;
  /** The node's name or index. No `.`, CR, LF. */
  readonly node: string;
  /** The session epoch: a new connection to the same node gets a larger one. */
  readonly session: number;
}

/** How an action completes. `auto` picks from the action and the answer. */
export type CompletionStrategy =
  | "auto"
  | "response"
  | "eventList"
  | "command"
  | "originate"
  | "logoff";

/** Per-action options for `send`. */
export interface SendOptions {
  /** Deadline for this action, ms (overrides the defaults). */
  readonly timeoutMs?: number;
  /** How the action completes. Default `auto`. */
  readonly strategy?: CompletionStrategy;
  /**
   * Anything of the caller's, handed back untouched on the `settled` notice
   * (a driver puts its waiter here and needs no map of its own).
   */
  readonly tag?: unknown;
}

/** What a completed action gives back; discriminated on `kind`. */
export type ActionResult =
  | ResponseResult
  | EventListResult
  | CommandResult
  | OriginateResult
  | LogoffResult;

/** A plain `Response: Success`. */
export interface ResponseResult {
  /** Discriminant. */
  readonly kind: "response";
  /** The response. */
  readonly response: AmiMessage;
}

/** An event list: the response, the items carrying the ActionID, the Complete event. */
export interface EventListResult {
  /** Discriminant. */
  readonly kind: "eventList";
  /** The `EventList: start` response. */
  readonly response: AmiMessage;
  /** The events between start and Complete, in order. */
  readonly events: readonly AmiMessage[];
  /** The `...Complete` event. */
  readonly complete: AmiMessage;
  /**
   * Where the list sits in this session's event stream: how many of the
   * session's events were delivered ({@link AmiConnection.pollEvent}) or
   * queued for delivery when the Complete event was read. A reducer that
   * counts the events it applied can merge the list at exactly that point,
   * whatever events the same read carried after it. Events a full queue
   * dropped are not counted (under `dropOldest`, one dropped after the list
   * completed was counted: the position is then late by that many).
   */
  readonly eventsBefore: number;
}

/** `Command` output as text lines (from `Output:` headers or a legacy Follows body). */
export interface CommandResult {
  /** Discriminant. */
  readonly kind: "command";
  /** The response. */
  readonly response: AmiMessage;
  /** The output lines. */
  readonly output: readonly string[];
}

/** An async Originate completed by its `OriginateResponse: Success` event. */
export interface OriginateResult {
  /** Discriminant. */
  readonly kind: "originate";
  /** The "successfully queued" response. */
  readonly response: AmiMessage;
  /** The OriginateResponse event (Response: Success). */
  readonly event: AmiMessage;
}

/** Logoff answered `Goodbye`. */
export interface LogoffResult {
  /** Discriminant. */
  readonly kind: "logoff";
  /** The Goodbye response. */
  readonly response: AmiMessage;
}

/** What `send` returns: the handle that later settles. */
export interface ActionHandle {
  /** The ActionID assigned. */
  readonly actionId: string;
}

/** Low-volume outputs that are never dropped; pulled with `poll()`. */
export type ConnectionNotice =
  | SettledNotice
  | StateNotice
  | DropSummaryNotice;

/** An action settled: exactly once per `send`. */
export interface SettledNotice {
  /** Discriminant. */
  readonly type: "settled";
  /** The action's ActionID (as returned by `send`). */
  readonly actionId: string;
  /** The action's name. */
  readonly action: string;
  /** The `tag` given to `send`, if any. */
  readonly tag: unknown;
  /** Success with the result, or failure with a typed error. */
  readonly outcome:
    | { readonly ok: true; readonly result: ActionResult }
    | { readonly ok: false; readonly error: AmiError };
}

/** The connection changed state. */
export interface StateNotice {
  /** Discriminant. */
  readonly type: "state";
  /** The new state. */
  readonly state: ConnectionState;
  /** Set when the state is `closed`. */
  readonly reason?: CloseReason;
  /** The error behind a `protocol`, `authFailed` or `transportError` close. */
  readonly error?: Error;
}

/** A coalesced report of dropped events: at most one per interval. */
export interface DropSummaryNotice {
  /** Discriminant. */
  readonly type: "drops";
  /** Events dropped since the last summary. */
  readonly dropped: number;
  /** Events dropped in total on this connection. */
  readonly totalDropped: number;
  /** Queue depth when the summary was made. */
  readonly depth: number;
}

/** Counters, readable at any time as a plain snapshot. */
export interface ConnectionStats {
  /** The current state. */
  readonly state: ConnectionState;
  /** Bytes received. */
  readonly bytesIn: number;
  /** Bytes handed out by `pollTransmit`. */
  readonly bytesOut: number;
  /** Messages parsed. */
  readonly messagesIn: number;
  /** Actions serialized (including login and keepalive). */
  readonly messagesOut: number;
  /** Events handed out by `pollEvent`. */
  readonly eventsDelivered: number;
  /** Events dropped: by the queue policy, or skipped over a parser bound with no action to fail. */
  readonly eventsDropped: number;
  /** Current event queue depth. */
  readonly eventQueueDepth: number;
  /** Application actions accepted by `send`. */
  readonly actionsSent: number;
  /** Actions that settled with success. */
  readonly actionsCompleted: number;
  /** Actions that settled with an error other than a timeout (aborted ones included). */
  readonly actionsFailed: number;
  /** Actions that timed out. */
  readonly actionsTimedOut: number;
  /** Of {@link ConnectionStats.actionsFailed}, the actions given up by `abort()`. */
  readonly actionsAborted: number;
  /** Actions pending now. */
  readonly actionsPending: number;
  /** Responses or events whose ActionID is not a pending one of this session. */
  readonly orphans: number;
  /** Bytes waiting in the write buffer. */
  readonly writeBufferBytes: number;
  /** Round-trip time of the last keepalive Ping, ms, if any. */
  readonly keepaliveRttMs: number | undefined;
}
