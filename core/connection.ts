/**
 * The sans-IO connection engine: one pure state machine per AMI session.
 * Bytes and time go in, bytes to write, settled actions, state changes and
 * events come out. No socket, clock, timer or randomness inside.
 *
 * @module
 */

import {
  AbortedError,
  ActionError,
  ActionTimeoutError,
  type AmiError,
  AuthError,
  ConnectError,
  ConnectionLostError,
  LocalProtocolError,
  MessageTooLargeError,
  RemoteProtocolError,
} from "./errors.ts";
import type { AmiMessage } from "./message.ts";
import { AmiParser, type Banner, type OversizedMessage, type ParsedItem } from "./parser.ts";
import { type Action, actionText, actionTextWithId, fieldEntries } from "./serializer.ts";
import { md5Hex } from "./md5.ts";
import { isAsyncOriginate, maskHasCallEvents } from "./originate.ts";
import { OutputQueue } from "./_output_queue.ts";
import { Deadlines, type HeapEntry } from "./_deadlines.ts";
import { BoundedQueue } from "./_event_queue.ts";
import { PendingTable } from "./_pending_table.ts";
import { Timer, TimerTable } from "./_timers.ts";
import { isConnectionTransition } from "./connection_states.ts";
import type {
  ActionHandle,
  ActionResult,
  CloseReason,
  CompletionStrategy,
  ConnectionNotice,
  ConnectionOptions,
  ConnectionState,
  ConnectionStats,
  DropPolicy,
  SendOptions,
} from "./connection_types.ts";

/** The documented defaults of {@link ConnectionOptions}. */
export const CONNECTION_DEFAULTS: Readonly<{
  loginTimeoutMs: number;
  actionTimeoutMs: number;
  originateTimeoutMs: number;
  maxInFlight: number;
  maxListItems: number;
  maxWriteBufferBytes: number;
  eventQueueCapacity: number;
  dropPolicy: DropPolicy;
  dropSummaryIntervalMs: number;
  keepaliveIdleMs: number;
  keepaliveTimeoutMs: number;
  closeTimeoutMs: number;
}> = {
  loginTimeoutMs: 10_000,
  actionTimeoutMs: 30_000,
  originateTimeoutMs: 120_000,
  maxInFlight: 1_024,
  maxListItems: 100_000,
  maxWriteBufferBytes: 1024 * 1024,
  eventQueueCapacity: 10_000,
  dropPolicy: "dropOldest",
  dropSummaryIntervalMs: 5_000,
  keepaliveIdleMs: 20_000,
  keepaliveTimeoutMs: 10_000,
  closeTimeoutMs: 5_000,
};

// Completion kinds (numbers: compared on the hot path).
const K_AUTO = 0;
const K_RESPONSE = 1;
const K_EVENT_LIST = 2;
const K_COMMAND = 3;
const K_ORIGINATE = 4;
const K_LOGOFF = 5;

const STRATEGY_KIND: Readonly<Record<CompletionStrategy, number>> = {
  auto: K_AUTO,
  response: K_RESPONSE,
  eventList: K_EVENT_LIST,
  command: K_COMMAND,
  originate: K_ORIGINATE,
  logoff: K_LOGOFF,
};

const encoder = new TextEncoder();
const EMPTY: readonly AmiMessage[] = [];

/** One pending application action. */
class Pending implements HeapEntry {
  deadline: number;
  heapIndex = -1;
  readonly id: string;
  /** The counter at the end of {@link Pending.id}: the key of the pending map. */
  readonly counter: number;
  readonly action: string;
  kind: number;
  readonly timeoutMs: number;
  /** Write-buffer offset at which this action's bytes end. */
  readonly endOffset: number;
  /** Write-buffer offset, in characters of the text, at which this action's text ends. */
  readonly endChar: number;
  /** The length of this action's text, in characters. */
  readonly chars: number;
  /** Collecting an event list (after `EventList: start`). */
  listing = false;
  response: AmiMessage | undefined = undefined;
  items: AmiMessage[] | undefined = undefined;
  /** An OriginateResponse that arrived before the queued response. */
  early: AmiMessage | undefined = undefined;
  /** The caller's `tag`, echoed on the settled notice. */
  readonly tag: unknown;
  /** For an `Events` action: its EventMask, applied when the server accepts it. */
  eventMask: string | undefined = undefined;

  constructor(
    id: string,
    counter: number,
    action: string,
    kind: number,
    timeoutMs: number,
    deadline: number,
    endOffset: number,
    endChar: number,
    chars: number,
    tag: unknown,
  ) {
    this.id = id;
    this.counter = counter;
    this.tag = tag;
    this.action = action;
    this.kind = kind;
    this.timeoutMs = timeoutMs;
    this.deadline = deadline;
    this.endOffset = endOffset;
    this.endChar = endChar;
    this.chars = chars;
  }
}

/** `a` equals the lower-case ASCII word `lower` in any case (no allocation: it runs per message). */
function eqi(a: string | undefined, lower: string): boolean {
  if (typeof a !== "string" || a.length !== lower.length) return false;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c !== lower.charCodeAt(i) && (c < 65 || c > 90 || c + 32 !== lower.charCodeAt(i))) {
      return false;
    }
  }
  return true;
}

function checkIdPart(name: string, value: string): void {
  if (typeof value !== "string" || value.length === 0 || /[.\r\n\0:]/.test(value)) {
    throw new LocalProtocolError(
      `ids.${name} must be a non-empty string without ".", ":", CR, LF or NUL`,
    );
  }
}

/** The output lines of a Command answer: `Output:` headers, else a legacy body. */
function commandOutput(msg: AmiMessage): string[] {
  const out = msg.getAll("Output");
  return out.length > 0 || msg.body.length === 0 ? out : msg.body.slice();
}

/**
 * One AMI session as a pure state machine (sans-IO, in the manner of
 * quinn-proto and h11).
 *
 * Inputs: {@link AmiConnection.receive} (bytes read), {@link AmiConnection.receiveEof},
 * {@link AmiConnection.handleTimeout} (the single timer fired), and the commands
 * {@link AmiConnection.send}, {@link AmiConnection.abort} and
 * {@link AmiConnection.close}. `now` is monotonic milliseconds and never goes
 * backwards. The states and their transitions are `CONNECTION_TRANSITIONS`.
 *
 * Drain order after every input (and after construction):
 * 1. {@link AmiConnection.pollTransmit} until `undefined`, writing each chunk;
 * 2. {@link AmiConnection.poll} until `undefined` (settled actions, state
 *    changes, drop summaries: never dropped);
 * 3. {@link AmiConnection.pollEvent} until `undefined` (the bounded event queue);
 * 4. {@link AmiConnection.pollTimeout} to re-arm the one timer of the connection.
 *
 * Errors: `receive`, `receiveEof` and `handleTimeout` never throw; bad input
 * from the peer closes the connection with reason `protocol` and the
 * {@link RemoteProtocolError} in the `closed` state notice. `send` throws
 * {@link LocalProtocolError} for misuse, and then nothing was queued.
 *
 * A message over a parser bound (`maxLineBytes`, `maxMessageBytes`,
 * `maxHeaders`) is skipped to its end without being buffered, and is its
 * owner's problem, not the session's:
 * - with the ActionID of a pending action, as its answer, an item or the
 *   Complete event of its event list, or its OriginateResponse: that action
 *   alone fails with {@link MessageTooLargeError} (its outcome is unknown);
 * - an event (or a message of no known type) otherwise: dropped and counted
 *   like a queue drop (`eventsDropped`, the coalesced drop summary);
 * - a response with no ActionID or another's: an orphan, as at any size;
 * - the login answer: the session closes (reason `protocol`);
 * - a message whose `ActionID:` line is itself too long to read: the session
 *   closes (reason `protocol`, a {@link MessageTooLargeError} without
 *   `action`), because its owner cannot be known and guessing one could
 *   settle the wrong action; closing fails every pending action honestly
 *   (`ConnectionLostError`) instead.
 * The banner line over `maxLineBytes` still closes the session: before it
 * the stream is not known to be AMI.
 *
 * On close every pending action settles exactly once with a
 * {@link ConnectionLostError} (`written` says whether its bytes had left through
 * `pollTransmit`), then a final drop summary if drops are unreported, then the
 * `closed` state notice. Nothing is ever resent.
 *
 * @example
 * const conn = new AmiConnection({ username: "admin", secret: "s", ids }, now);
 * conn.receive(bytes, now);
 * for (let b; (b = conn.pollTransmit()) !== undefined;) socket.write(b);
 * for (let n; (n = conn.poll()) !== undefined;) handle(n);
 * for (let e; (e = conn.pollEvent()) !== undefined;) dispatch(e);
 * timer.arm(conn.pollTimeout());
 */
export class AmiConnection {
  readonly #username: string;
  readonly #secret: string;
  readonly #md5: boolean;
  readonly #eventsMask: string | undefined;
  /** Whether call-class events (OriginateResponse) reach this session. */
  #callEvents: boolean;
  readonly #actionTimeoutMs: number;
  readonly #originateTimeoutMs: number;
  readonly #maxInFlight: number;
  readonly #maxListItems: number;
  readonly #maxWrite: number;
  readonly #summaryInterval: number;
  readonly #idleMs: number;
  readonly #pingTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #loginTimeoutMs: number;
  readonly #idPrefix: string;
  /** Whether {@link AmiConnection.#idPrefix} is all ASCII (then so are our ActionIDs). */
  readonly #asciiIds: boolean;
  #counter = 0;

  readonly #parser: AmiParser;
  readonly #onItem: (item: ParsedItem) => void;
  #now: number;
  #state: ConnectionState = "awaitingBanner";
  #banner: Banner | undefined;

  // Pending application actions by the counter of their ActionID (a number
  // key: no string to hash or flatten per action), and their deadlines.
  readonly #pending = new PendingTable<Pending>();
  readonly #heap = new Deadlines<Pending>();

  // Internal actions: login/challenge, keepalive Ping, graceful Logoff.
  #authId: string | undefined;
  #authIsChallenge = false;
  #pingId: string | undefined;
  #pingSentAt = 0;
  #logoffId: string | undefined;
  #closeReason: CloseReason = "local";
  #lastRx: number;
  /** The engine's own deadlines, one per {@link Timer} kind. */
  readonly #timers = new TimerTable();

  // Write buffer: action texts, encoded together when polled. Offsets count
  // from the session's start (bytes and characters of text); an aborted
  // action's text cut from the buffer keeps its place in them (see #unqueue).
  #out = "";
  #outBytes = 0;
  #queuedTotal = 0;
  #sentTotal = 0;
  #queuedChars = 0;
  #sentChars = 0;
  /** Texts cut from `#out` since the last transmit: (start, length) pairs in characters. */
  #cuts: number[] = [];

  // Outputs.
  readonly #notices = new OutputQueue<ConnectionNotice>();
  readonly #events: BoundedQueue<AmiMessage>;
  #dropsSince = 0;
  #lastSummaryAt = -Infinity;

  // Counters.
  #bytesIn = 0;
  #bytesOut = 0;
  #messagesIn = 0;
  #messagesOut = 0;
  #eventsDelivered = 0;
  #eventsDropped = 0;
  #actionsSent = 0;
  #actionsCompleted = 0;
  #actionsFailed = 0;
  #actionsTimedOut = 0;
  #actionsAborted = 0;
  #orphans = 0;
  #rtt: number | undefined;

  /**
   * Starts a session in state `awaitingBanner`; the login deadline runs from `now`.
   *
   * @param options credentials, bounds and ActionID material
   * @param now the current monotonic time, ms
   * @throws {LocalProtocolError} for invalid ActionID parts or credentials
   *   that cannot be written (the message never contains the secret)
   */
  constructor(options: ConnectionOptions, now: number) {
    const d = CONNECTION_DEFAULTS;
    this.#username = options.username;
    this.#secret = options.secret;
    this.#md5 = options.auth === "md5";
    const ev = options.events;
    this.#eventsMask = ev === undefined
      ? undefined
      : ev === true
      ? "on"
      : ev === false
      ? "off"
      : ev;
    this.#callEvents = maskHasCallEvents(this.#eventsMask);
    this.#loginTimeoutMs = options.loginTimeoutMs ?? d.loginTimeoutMs;
    this.#actionTimeoutMs = options.actionTimeoutMs ?? d.actionTimeoutMs;
    this.#originateTimeoutMs = options.originateTimeoutMs ?? d.originateTimeoutMs;
    this.#maxInFlight = options.maxInFlight ?? d.maxInFlight;
    this.#maxListItems = options.maxListItems ?? d.maxListItems;
    this.#maxWrite = options.maxWriteBufferBytes ?? d.maxWriteBufferBytes;
    this.#summaryInterval = options.dropSummaryIntervalMs ?? d.dropSummaryIntervalMs;
    this.#idleMs = options.keepaliveIdleMs ?? d.keepaliveIdleMs;
    this.#pingTimeoutMs = options.keepaliveTimeoutMs ?? d.keepaliveTimeoutMs;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? d.closeTimeoutMs;
    this.#events = new BoundedQueue(
      options.eventQueueCapacity ?? d.eventQueueCapacity,
      options.dropPolicy ?? d.dropPolicy,
    );

    const ids = options.ids;
    checkIdPart("instance", ids.instance);
    checkIdPart("node", ids.node);
    if (!Number.isSafeInteger(ids.session) || ids.session < 0) {
      throw new LocalProtocolError("ids.session must be a non-negative integer");
    }
    this.#idPrefix = `${ids.instance}.${ids.node}.${ids.session}.`;
    this.#asciiIds = isAscii(this.#idPrefix);
    // Validate the credentials now (a bad one must not surface inside receive).
    actionText({
      name: "Login",
      fields: [["Username", this.#username], ["Secret", this.#secret], [
        "Events",
        this.#eventsMask ?? "on",
      ]],
    });

    this.#parser = new AmiParser({
      ...options.parser,
      expectBanner: true,
      onOversized: (m) => this.#onOversized(m),
    });
    this.#onItem = (item) => this.#route(item);
    this.#now = now;
    this.#lastRx = now;
    this.#timers.set(Timer.login, now + this.#loginTimeoutMs);
  }

  /** The current state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The server's banner, once received. */
  get banner(): Banner | undefined {
    return this.#banner;
  }

  // ---------------------------------------------------------------- inputs

  /**
   * Feeds bytes read from the socket. Never throws: a protocol error from the
   * peer closes the connection (reason `protocol`, error in the state notice).
   * Ignored once closed.
   *
   * @param bytes the chunk read (not retained)
   * @param now the current time, ms
   */
  receive(bytes: Uint8Array, now: number): void {
    if (this.#state === "closed") return;
    this.#now = now;
    this.#bytesIn += bytes.length;
    if (bytes.length > 0) {
      this.#lastRx = now;
      if (this.#timers.get(Timer.idle) !== undefined) {
        this.#timers.set(Timer.idle, now + this.#idleMs);
      }
    }
    try {
      this.#parser.push(bytes, this.#onItem);
    } catch (err) {
      if ((this.#state as ConnectionState) !== "closed") {
        const error = err instanceof RemoteProtocolError
          ? err
          : new RemoteProtocolError("the input could not be processed", { cause: err });
        this.#closeNow("protocol", error);
      }
      return;
    }
    this.#maybeSummary();
  }

  /**
   * The peer closed its side (EOF). The connection closes: `loggedOff` after
   * a Goodbye, the requested reason during a graceful close, else
   * `remoteClosed`.
   *
   * @param now the current time, ms
   */
  receiveEof(now: number): void {
    if (this.#state === "closed") return;
    this.#now = now;
    if (this.#state === "closing") {
      this.#closeNow(this.#closeReason);
    } else if (this.#state === "ready") {
      this.#closeNow("remoteClosed");
    } else {
      this.#closeNow(
        "remoteClosed",
        new ConnectError("closed", `the server closed the connection during ${this.#state}`),
      );
    }
  }

  /**
   * The timer armed from {@link AmiConnection.pollTimeout} fired (calling it
   * early or late is harmless): expires actions, the login, keepalive and
   * close deadlines, sends a keepalive Ping, emits a due drop summary.
   *
   * @param now the current time, ms
   */
  handleTimeout(now: number): void {
    if (this.#state === "closed") return;
    this.#now = now;
    const timers = this.#timers;
    // The kinds that close the connection first, in their order of precedence.
    if (timers.expired(Timer.login, now)) {
      this.#closeNow(
        "loginTimedOut",
        new ConnectError(
          "timedOut",
          `no ${
            this.#state === "awaitingBanner" ? "banner" : "login answer"
          } within ${this.#loginTimeoutMs} ms`,
        ),
      );
      return;
    }
    if (timers.expired(Timer.close, now)) {
      this.#closeNow(this.#closeReason);
      return;
    }
    if (timers.expired(Timer.keepaliveAnswer, now)) {
      this.#closeNow("timedOut");
      return;
    }
    // Then the actions' deadlines, then the idle keepalive and the drop summary.
    const heap = this.#heap;
    for (let p = heap.peek(); p !== undefined && p.deadline <= now; p = heap.peek()) {
      this.#actionsTimedOut++;
      this.#settle(p, {
        ok: false,
        error: new ActionTimeoutError(p.action, p.timeoutMs, p.endOffset <= this.#sentTotal),
      });
    }
    if (timers.expired(Timer.idle, now)) this.#sendPing(now);
    if (timers.expired(Timer.dropSummary, now)) this.#emitSummary();
  }

  // -------------------------------------------------------------- commands

  /**
   * Queues an action; the engine assigns its ActionID. It settles exactly
   * once, later, as a `settled` notice from {@link AmiConnection.poll}.
   *
   * Strategy `auto`: `Command` collects output lines, `Originate` with a
   * true `Async` waits for its OriginateResponse, `Logoff` waits for
   * Goodbye, anything else completes on its response, or on the
   * `...Complete` event when the response says `EventList: start`.
   *
   * @param action the action (no `actionId`)
   * @param options deadline, strategy, and a `tag` echoed on the settled notice
   * @param now the current time, ms
   * @returns the handle with the assigned ActionID
   * @throws {LocalProtocolError} when not `ready`, `maxInFlight` actions are
   *   pending, the write buffer would pass its cap, the action carries an
   *   ActionID or is Login/Challenge, `timeoutMs` is not positive, or the
   *   action is invalid (CR/LF, bad key…);
   *   nothing is queued then
   */
  send(action: Action, options: SendOptions | undefined, now: number): ActionHandle {
    if (this.#state !== "ready") {
      throw new LocalProtocolError(`cannot send ${action.name}: the connection is ${this.#state}`);
    }
    if (action.actionId !== undefined) {
      throw new LocalProtocolError("the engine assigns ActionIDs; do not set actionId");
    }
    const name = action.name;
    if (eqi(name, "login") || eqi(name, "challenge")) {
      throw new LocalProtocolError(`${action.name} is sent by the engine itself`);
    }
    if (this.#pending.size >= this.#maxInFlight) {
      throw new LocalProtocolError(
        `maxInFlight (${this.#maxInFlight}) actions are pending; wait for one to settle`,
      );
    }
    const strategy = options?.strategy;
    let kind = strategy === undefined ? K_AUTO : STRATEGY_KIND[strategy];
    if (kind === undefined) {
      throw new LocalProtocolError(`unknown completion strategy ${String(strategy)}`);
    }
    const custom = options?.timeoutMs;
    if (custom !== undefined && !(typeof custom === "number" && custom > 0)) {
      throw new LocalProtocolError(`timeoutMs must be a positive number (Infinity: no deadline)`);
    }
    const counter = this.#counter + 1;
    const id = this.#idPrefix + counter;
    const text = actionTextWithId(action, id);
    // The text is ASCII literals, the name, the ActionID and the fields: with
    // no fields and an ASCII name and ID, its UTF-8 size is its length.
    const size = action.fields === undefined && this.#asciiIds && isAscii(name)
      ? text.length
      : utf8Length(text);
    if (this.#outBytes + size > this.#maxWrite) {
      throw new LocalProtocolError(
        `the write buffer would exceed maxWriteBufferBytes (${this.#maxWrite}); drain pollTransmit`,
      );
    }
    this.#counter++;
    this.#now = now;
    if (kind === K_AUTO) {
      if (eqi(name, "command")) kind = K_COMMAND;
      else if (eqi(name, "logoff")) kind = K_LOGOFF;
      else if (isAsyncOriginate(name, action.fields)) kind = K_ORIGINATE;
    }
    if (kind === K_ORIGINATE && !this.#callEvents) {
      throw new LocalProtocolError(
        `${name} (async) completes on its OriginateResponse, a call event, but this session ` +
          `receives no call events (Events: off, or a mask without call): log in with events ` +
          `that include call, or send Events with EventMask: call first`,
      );
    }
    const timeoutMs = options?.timeoutMs ??
      (kind === K_ORIGINATE ? this.#originateTimeoutMs : this.#actionTimeoutMs);
    this.#enqueue(text, size);
    const p = new Pending(
      id,
      counter,
      name,
      kind,
      timeoutMs,
      now + timeoutMs,
      this.#queuedTotal,
      this.#queuedChars,
      text.length,
      options?.tag,
    );
    if (eqi(name, "events")) p.eventMask = eventMaskOf(action);
    this.#pending.add(p);
    if (Number.isFinite(p.deadline)) this.#heap.push(p);
    this.#actionsSent++;
    return { actionId: id };
  }

  /**
   * Gives up on a pending application action: it settles now, as a `settled`
   * notice from {@link AmiConnection.poll} failing with {@link AbortedError}
   * (`written` says whether its bytes had left through `pollTransmit`).
   * Written, it stops holding a `maxInFlight` slot and a later answer is an
   * orphan (as after a timeout); not written yet, its bytes leave the write
   * buffer and are never sent. The engine's own Login, Ping and Logoff
   * cannot be aborted.
   *
   * @param actionId the ActionID that `send` returned
   * @param now the current time, ms
   * @param cause why (e.g. the `AbortSignal`'s reason), passed on as the error's `cause`
   * @returns true when the action was pending (it settles now), false otherwise
   *   (unknown, already settled, internal, or the connection is closed)
   */
  abort(actionId: string, now: number, cause?: unknown): boolean {
    if (this.#state === "closed") return false;
    const p = this.#pending.get(this.#counterOf(actionId));
    if (p === undefined || p.id !== actionId) return false;
    this.#now = now;
    const written = p.endOffset <= this.#sentTotal;
    if (!written) this.#unqueue(p);
    this.#actionsFailed++;
    this.#actionsAborted++;
    this.#settle(p, { ok: false, error: new AbortedError(p.action, written, { cause }) });
    return true;
  }

  /**
   * Closes the session. Graceful (only from `ready`): sends Logoff, moves to
   * `closing`, and closes on Goodbye, EOF or after `closeTimeoutMs`; pending
   * actions may still complete meanwhile. Otherwise at once: unsent bytes are
   * discarded, every pending action fails with {@link ConnectionLostError}.
   * Idempotent.
   *
   * @param now the current time, ms
   * @param options `graceful`, the `reason` to report (default `local`), an `error` behind it
   */
  close(
    now: number,
    options?: { graceful?: boolean; reason?: CloseReason; error?: Error },
  ): void {
    if (this.#state === "closed") return;
    this.#now = now;
    const reason = options?.reason ?? "local";
    if (options?.graceful && this.#state === "ready") {
      this.#closeReason = reason;
      this.#logoffId = this.#sendInternal("Logoff", undefined);
      this.#timers.set(Timer.close, now + this.#closeTimeoutMs);
      this.#setState("closing");
      return;
    }
    if (options?.graceful && this.#state === "closing") return;
    this.#closeNow(reason, options?.error);
  }

  // --------------------------------------------------------------- outputs

  /**
   * Bytes to write now, coalesced; `undefined` when there are none or the
   * connection is closed. An action counts as written once its bytes were
   * returned here.
   *
   * @returns the bytes, or `undefined`
   */
  pollTransmit(): Uint8Array | undefined {
    if (this.#outBytes === 0 || this.#state === "closed") return undefined;
    const bytes = encoder.encode(this.#out);
    this.#out = "";
    this.#outBytes = 0;
    // Everything queued is now written, or was cut out by an abort.
    this.#sentTotal = this.#queuedTotal;
    this.#sentChars = this.#queuedChars;
    if (this.#cuts.length > 0) this.#cuts = [];
    this.#bytesOut += bytes.length;
    return bytes;
  }

  /**
   * The next notice: a settled action, a state change or a drop summary.
   * Never dropped.
   *
   * @returns the notice, or `undefined`
   */
  poll(): ConnectionNotice | undefined {
    return this.#notices.poll();
  }

  /**
   * The next AMI event from the bounded queue (including events received
   * before login completed and messages of unknown type).
   *
   * @returns the event, or `undefined`
   */
  pollEvent(): AmiMessage | undefined {
    const e = this.#events.shift();
    if (e !== undefined) this.#eventsDelivered++;
    return e;
  }

  /**
   * The earliest real deadline (absolute ms): an action, the login, the
   * keepalive, a graceful close or a due drop summary. Arm one timer for it
   * and call {@link AmiConnection.handleTimeout} when it fires.
   *
   * @returns the deadline, or `undefined` when there is none
   */
  pollTimeout(): number | undefined {
    if (this.#state === "closed") return undefined;
    const t = this.#timers.next();
    const a = this.#heap.peek();
    return a === undefined || (t !== undefined && t <= a.deadline) ? t : a.deadline;
  }

  /**
   * The counters, as a plain snapshot.
   *
   * @returns a new object
   */
  stats(): ConnectionStats {
    return {
      state: this.#state,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      messagesIn: this.#messagesIn,
      messagesOut: this.#messagesOut,
      eventsDelivered: this.#eventsDelivered,
      eventsDropped: this.#eventsDropped,
      eventQueueDepth: this.#events.size,
      actionsSent: this.#actionsSent,
      actionsCompleted: this.#actionsCompleted,
      actionsFailed: this.#actionsFailed,
      actionsTimedOut: this.#actionsTimedOut,
      actionsAborted: this.#actionsAborted,
      actionsPending: this.#pending.size,
      orphans: this.#orphans,
      writeBufferBytes: this.#outBytes,
      keepaliveRttMs: this.#rtt,
    };
  }

  // ------------------------------------------------------------- internals

  #route(item: ParsedItem): void {
    if (this.#state === "closed") return;
    if (item.type === "banner") {
      this.#onBanner(item as Banner);
      return;
    }
    const msg = item as AmiMessage;
    this.#messagesIn++;
    if (msg.type === "event") this.#onEvent(msg);
    else if (msg.type === "response") this.#onResponse(msg);
    else this.#enqueueEvent(msg);
  }

  #onBanner(banner: Banner): void {
    this.#banner = banner;
    this.#setState("authenticating");
    if (this.#md5) {
      this.#authIsChallenge = true;
      this.#authId = this.#sendInternal("Challenge", [["AuthType", "MD5"]]);
    } else {
      const fields: [string, string][] = [["Username", this.#username], [
        "Secret",
        this.#secret,
      ]];
      if (this.#eventsMask !== undefined) fields.push(["Events", this.#eventsMask]);
      this.#authId = this.#sendInternal("Login", fields);
    }
  }

  #onAuthResponse(msg: AmiMessage): void {
    if (!eqi(msg.name, "success")) {
      this.#closeNow(
        "authFailed",
        new AuthError(
          `${this.#authIsChallenge ? "MD5 challenge" : "login"} refused: ${
            msg.get("Message") ?? msg.name
          }`,
        ),
      );
      return;
    }
    if (this.#authIsChallenge) {
      const challenge = msg.get("Challenge");
      if (challenge === undefined) {
        this.#closeNow(
          "authFailed",
          new AuthError("the Challenge response carries no Challenge header"),
        );
        return;
      }
      this.#authIsChallenge = false;
      const fields: [string, string][] = [
        ["AuthType", "MD5"],
        ["Username", this.#username],
        ["Key", md5Hex(challenge + this.#secret)],
      ];
      if (this.#eventsMask !== undefined) fields.push(["Events", this.#eventsMask]);
      this.#authId = this.#sendInternal("Login", fields);
      return;
    }
    this.#authId = undefined;
    this.#timers.set(Timer.login, undefined);
    this.#lastRx = this.#now;
    this.#setState("ready");
  }

  #onResponse(msg: AmiMessage): void {
    const id = msg.actionId;
    if (id === undefined) {
      this.#orphans++;
      return;
    }
    const p = this.#pending.get(this.#counterOf(id));
    if (p === undefined) {
      if (id === this.#authId) this.#onAuthResponse(msg);
      else if (id === this.#pingId) this.#pingAnswered();
      else if (id === this.#logoffId) {
        this.#logoffId = undefined;
        if (eqi(msg.name, "goodbye")) this.#closeNow("loggedOff");
      } else this.#orphans++;
      return;
    }
    const error = eqi(msg.name, "error");
    switch (p.kind) {
      case K_COMMAND:
        if (error) this.#fail(p, msg, msg.get("Message") ?? "Error");
        else this.#ok(p, { kind: "command", response: msg, output: commandOutput(msg) });
        return;
      case K_ORIGINATE:
        if (error) this.#fail(p, msg, msg.get("Message") ?? "Error");
        else if (p.response === undefined) {
          p.response = msg;
          if (p.early !== undefined) this.#originateOutcome(p, p.early);
        }
        return;
      case K_LOGOFF:
        if (error) this.#fail(p, msg, msg.get("Message") ?? "Error");
        else {
          this.#ok(p, { kind: "logoff", response: msg });
          if (eqi(msg.name, "goodbye") && this.#state === "ready") {
            // The server closes next; fail nothing yet, wait for EOF.
            this.#closeReason = "loggedOff";
            this.#timers.set(Timer.close, this.#now + this.#closeTimeoutMs);
            this.#setState("closing");
          }
        }
        return;
      default:
        // auto, response, eventList
        if (p.listing) {
          this.#orphans++;
          return;
        }
        if (error) this.#fail(p, msg, msg.get("Message") ?? "Error");
        else if (eqi(msg.get("EventList"), "start")) {
          p.listing = true;
          p.response = msg;
          p.items = [];
        } else {
          if (p.eventMask !== undefined) {
            // Asterisk answers `Events: On` or `Events: Off` (an unreadable mask is off).
            this.#callEvents = !eqi(msg.get("Events"), "off") && maskHasCallEvents(p.eventMask);
          }
          this.#ok(p, { kind: "response", response: msg });
        }
    }
  }

  #onEvent(msg: AmiMessage): void {
    const id = msg.actionId;
    if (id !== undefined) {
      const p = this.#pending.get(this.#counterOf(id));
      if (p !== undefined) {
        if (p.listing) {
          const name = msg.name;
          if (name.endsWith("Complete") || eqi(msg.get("EventList"), "complete")) {
            this.#ok(p, {
              kind: "eventList",
              response: p.response as AmiMessage,
              events: p.items ?? EMPTY,
              complete: msg,
              eventsBefore: this.#eventsDelivered + this.#events.size,
            });
          } else if ((p.items as AmiMessage[]).length >= this.#maxListItems) {
            this.#actionsFailed++;
            this.#settle(p, {
              ok: false,
              error: new RemoteProtocolError(
                `${p.action}: the event list exceeds maxListItems (${this.#maxListItems})`,
                { limit: this.#maxListItems },
              ),
            });
          } else (p.items as AmiMessage[]).push(msg);
          return;
        }
        if (p.kind === K_ORIGINATE && eqi(msg.name, "originateresponse")) {
          if (p.response === undefined) {
            if (eqi(msg.get("Response"), "success")) p.early = msg;
            else this.#originateOutcome(p, msg);
          } else this.#originateOutcome(p, msg);
          return;
        }
      } else if (id !== this.#pingId && id !== this.#authId && id !== this.#logoffId) {
        // Another client's (or an earlier session's) ActionID: a real PBX
        // event, delivered as one, never as a result; counted.
        this.#orphans++;
      }
    }
    this.#enqueueEvent(msg);
  }

  #pingAnswered(): void {
    this.#rtt = this.#now - this.#pingSentAt;
    this.#pingId = undefined;
    this.#timers.set(Timer.keepaliveAnswer, undefined);
    this.#armIdle();
  }

  #originateOutcome(p: Pending, event: AmiMessage): void {
    if (eqi(event.get("Response"), "success") && p.response !== undefined) {
      this.#ok(p, { kind: "originate", response: p.response, event });
    } else {
      const reason = event.get("Reason");
      this.#fail(
        p,
        event,
        `OriginateResponse ${event.get("Response") ?? "Failure"}${
          reason === undefined ? "" : ` (Reason: ${reason})`
        }`,
      );
    }
  }

  #ok(p: Pending, result: ActionResult): void {
    this.#actionsCompleted++;
    this.#settle(p, { ok: true, result });
  }

  #fail(p: Pending, msg: AmiMessage, serverMessage: string): void {
    this.#actionsFailed++;
    this.#settle(p, { ok: false, error: new ActionError(p.action, serverMessage, msg) });
  }

  /**
   * The counter of one of this session's ActionIDs (`<prefix><counter>`, the
   * counter in canonical decimal), or -1 for any other string.
   */
  #counterOf(id: string): number {
    const prefix = this.#idPrefix;
    const from = prefix.length;
    const n = id.length;
    // At most 15 digits (a safe integer) and no leading zero: one string per counter.
    if (n <= from || n - from > 15 || !id.startsWith(prefix)) return -1;
    if (id.charCodeAt(from) === 48 && n - from > 1) return -1;
    let counter = 0;
    for (let i = from; i < n; i++) {
      const digit = id.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) return -1;
      counter = counter * 10 + digit;
    }
    return counter;
  }

  #settle(
    p: Pending,
    outcome: { ok: true; result: ActionResult } | { ok: false; error: AmiError },
  ): void {
    this.#pending.delete(p.counter);
    this.#heap.remove(p);
    this.#notices.push({
      type: "settled",
      actionId: p.id,
      action: p.action,
      tag: p.tag,
      outcome,
    });
  }

  #enqueueEvent(msg: AmiMessage): void {
    if (this.#events.push(msg)) this.#dropped();
  }

  /** Counts a dropped event and schedules the coalesced summary (invariant 8). */
  #dropped(): void {
    this.#eventsDropped++;
    this.#dropsSince++;
    if (this.#timers.get(Timer.dropSummary) === undefined) {
      this.#timers.set(
        Timer.dropSummary,
        Math.max(this.#now, this.#lastSummaryAt + this.#summaryInterval),
      );
    }
  }

  /**
   * A message over a parser bound, skipped unread (the cases are in the
   * class doc): fail its owner alone, drop it, or close when its owner
   * cannot be known.
   */
  #onOversized(m: OversizedMessage): void {
    if (this.#state === "closed") return;
    this.#messagesIn++;
    const bound = m.bound === "maxLineBytes"
      ? `a line of ${m.actual} bytes passed maxLineBytes (${m.limit} bytes)`
      : m.bound === "maxHeaders"
      ? `${m.actual} lines passed maxHeaders (${m.limit} lines)`
      : `it passed maxMessageBytes (${m.limit} bytes)`;
    const tooLarge = (message: string, action?: string): MessageTooLargeError =>
      new MessageTooLargeError(message, {
        bound: m.bound,
        limit: m.limit,
        actual: m.actual,
        size: m.bytes,
        action,
      });
    if (m.actionIdUnreadable) {
      this.#closeNow(
        "protocol",
        tooLarge(
          `a message of ${m.bytes} bytes (${bound}) has an ActionID line too long to read; ` +
            `the session closes because the message's owner cannot be known`,
        ),
      );
      return;
    }
    const response = m.kind === "response";
    const id = m.actionId;
    if (id !== undefined) {
      const p = this.#pending.get(this.#counterOf(id));
      if (p !== undefined) {
        if (response || p.listing || (p.kind === K_ORIGINATE && eqi(m.name, "originateresponse"))) {
          const what = response ? "its answer" : `its ${m.name} event`;
          this.#actionsFailed++;
          this.#settle(p, {
            ok: false,
            error: tooLarge(
              `${p.action}: ${what} is too large (${m.bytes} bytes: ${bound}); it was skipped ` +
                `unread, so the outcome is unknown (other actions are unaffected)`,
              p.action,
            ),
          });
          return;
        }
      } else if (id === this.#authId) {
        if (response) {
          this.#closeNow(
            "protocol",
            tooLarge(`the login answer is too large (${m.bytes} bytes: ${bound})`),
          );
          return;
        }
      } else if (id === this.#pingId) {
        // The keepalive's answer came: the peer is alive, whatever its size.
        if (response) this.#pingAnswered();
      } else if (id !== this.#logoffId) this.#orphans++;
    } else if (response) this.#orphans++;
    if (!response) this.#dropped();
  }

  #maybeSummary(): void {
    if (this.#timers.expired(Timer.dropSummary, this.#now)) this.#emitSummary();
  }

  #emitSummary(): void {
    this.#notices.push({
      type: "drops",
      dropped: this.#dropsSince,
      totalDropped: this.#eventsDropped,
      depth: this.#events.size,
    });
    this.#dropsSince = 0;
    this.#lastSummaryAt = this.#now;
    this.#timers.set(Timer.dropSummary, undefined);
  }

  /**
   * Arms the idle keepalive (`keepaliveIdleMs` after the last byte read) while
   * `ready` with keepalive on and no Ping out, else stops it. Call after any
   * of those changes; `receive` moves an armed one itself.
   */
  #armIdle(): void {
    this.#timers.set(
      Timer.idle,
      this.#state !== "ready" || this.#idleMs <= 0 || this.#pingId !== undefined
        ? undefined
        : this.#lastRx + this.#idleMs,
    );
  }

  #sendPing(now: number): void {
    this.#pingId = this.#sendInternal("Ping", undefined);
    this.#pingSentAt = now;
    this.#timers.set(Timer.keepaliveAnswer, now + this.#pingTimeoutMs);
    this.#armIdle();
  }

  /** Queues an engine-made action (not subject to the write cap); returns its ActionID. */
  #sendInternal(name: string, fields: [string, string][] | undefined): string {
    const id = this.#idPrefix + ++this.#counter;
    const text = actionText({ name, actionId: id, fields });
    this.#enqueue(text, utf8Length(text));
    return id;
  }

  /** Queues an action's text, `size` bytes once encoded. */
  #enqueue(text: string, size: number): void {
    this.#out += text;
    this.#outBytes += size;
    this.#queuedTotal += size;
    this.#queuedChars += text.length;
    this.#messagesOut++;
  }

  /**
   * Cuts an unwritten action's text out of the write buffer. The offsets of
   * the actions queued after it stay as they are: the next transmit counts
   * the cut bytes as gone with the rest, so `written` stays right for all.
   */
  #unqueue(p: Pending): void {
    const start = p.endChar - p.chars;
    // Its place in `#out`: after what was sent, less what was cut before it.
    let at = start - this.#sentChars;
    const cuts = this.#cuts;
    for (let i = 0; i < cuts.length; i += 2) if (cuts[i] < start) at -= cuts[i + 1];
    const out = this.#out;
    const text = out.slice(at, at + p.chars);
    if (!text.startsWith("Action: ") || !text.endsWith("\r\n\r\n")) {
      throw new Error(`amikit internal error: ${p.id} is not where the write buffer has it`);
    }
    this.#out = out.slice(0, at) + out.slice(at + p.chars);
    this.#outBytes -= utf8Length(text);
    cuts.push(start, p.chars);
  }

  /** Moves to `state` (never `closed`: see {@link AmiConnection.#closeNow}) and reports it. */
  #setState(state: Exclude<ConnectionState, "closed">): void {
    this.#transition(state);
    this.#armIdle();
    this.#notices.push({ type: "state", state });
  }

  /**
   * Changes the state after checking the move against
   * `CONNECTION_TRANSITIONS` (connection_states.ts).
   *
   * @throws {Error} an internal error for a move the table does not list (a bug)
   */
  #transition(state: ConnectionState): void {
    if (!isConnectionTransition(this.#state, state)) {
      throw new Error(`amikit internal error: no transition from ${this.#state} to ${state}`);
    }
    this.#state = state;
  }

  #closeNow(reason: CloseReason, error?: Error): void {
    if (this.#state === "closed") return;
    this.#transition("closed");
    // Unsent bytes never reach a later session (invariant 5).
    this.#out = "";
    this.#outBytes = 0;
    const sent = this.#sentTotal;
    for (const p of this.#pending.values()) {
      this.#actionsFailed++;
      this.#notices.push({
        type: "settled",
        actionId: p.id,
        action: p.action,
        tag: p.tag,
        outcome: {
          ok: false,
          error: new ConnectionLostError(p.action, p.endOffset <= sent, reason, { cause: error }),
        },
      });
    }
    this.#pending.clear();
    this.#heap.drain();
    this.#authId = this.#pingId = this.#logoffId = undefined;
    if (this.#dropsSince > 0) this.#emitSummary();
    this.#timers.clear();
    this.#notices.push(
      error === undefined
        ? { type: "state", state: "closed", reason }
        : { type: "state", state: "closed", reason, error },
    );
  }
}

/** Whether every character of `text` is ASCII (below U+0080). */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) return false;
  }
  return true;
}

/** The UTF-8 size of `text`, as `TextEncoder` encodes it (a lone surrogate as U+FFFD). */
function utf8Length(text: string): number {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    if (text.charCodeAt(i) >= 0x80) return encoder.encode(text).length;
  }
  return n;
}

/** The EventMask of an `Events` action ("" when it has none). */
function eventMaskOf(action: Action): string {
  for (const [k, v] of fieldEntries(action.fields)) {
    if (eqi(k, "eventmask")) return v;
  }
  return "";
}
