/**
 * The error tree. Every error amikit raises is an {@link AmiError} with a
 * stable `code`; `cause` is passed on where there is one. Who broke the
 * protocol decides the class: {@link LocalProtocolError} for misuse of the
 * API (raised before anything is written), {@link RemoteProtocolError} for
 * bad input from the peer (raised only by parsing).
 *
 * @module
 */

import type { CloseReason } from "./connection_types.ts";
import type { AmiMessage } from "./message.ts";

/** Stable machine-readable codes, one per error class. */
export type AmiErrorCode =
  | "ERR_LOCAL_PROTOCOL"
  | "ERR_REMOTE_PROTOCOL"
  | "ERR_ACTION"
  | "ERR_ACTION_TIMEOUT"
  | "ERR_CONNECTION_LOST"
  | "ERR_CONNECT"
  | "ERR_AUTH"
  | "ERR_ABORTED"
  | "ERR_NOT_READY"
  | "ERR_PERMISSION"
  | "ERR_GATEWAY";

/** The base of every amikit error. */
export class AmiError extends Error {
  /** A stable code to branch on (the message text may change). */
  readonly code: AmiErrorCode;

  /**
   * Creates the error.
   *
   * @param code the stable code
   * @param message a human-readable description; never contains a secret
   * @param options `cause`, the underlying error, if any
   */
  constructor(code: AmiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The caller misused the API (an invalid action, a full queue): nothing was written. */
export class LocalProtocolError extends AmiError {
  /**
   * Creates the error.
   *
   * @param message what was wrong, naming the offending key but never a secret value
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_LOCAL_PROTOCOL", message, options);
  }
}

/** Which bound of the parser a message crossed. */
export type ParserBound = "maxLineBytes" | "maxMessageBytes" | "maxHeaders";

/** The peer sent bytes that break the protocol or a configured bound. */
export class RemoteProtocolError extends AmiError {
  /** The bound that was crossed, when the error is about a bound. */
  readonly bound?: ParserBound;
  /** The bound's configured limit. */
  readonly limit?: number;
  /** By how much the input went over the limit (at least). */
  readonly excess?: number;

  /**
   * Creates the error.
   *
   * @param message what the peer did wrong
   */
  constructor(
    message: string,
    options?: { cause?: unknown; bound?: ParserBound; limit?: number; excess?: number },
  ) {
    super("ERR_REMOTE_PROTOCOL", message, options);
    this.bound = options?.bound;
    this.limit = options?.limit;
    this.excess = options?.excess;
  }
}

/** The server answered an action with `Response: Error` (or a failed outcome). */
export class ActionError extends AmiError {
  /** The action's name. */
  readonly action: string;
  /** The server's `Message:` (or `Reason:`) text, kept verbatim. */
  readonly serverMessage: string;
  /** The message that carried the failure (a Response, or an OriginateResponse event). */
  readonly response: AmiMessage | undefined;
  /**
   * For a failed async Originate: why the call did not connect, from the
   * OriginateResponse's `Reason` code (see {@link originateFailure}).
   */
  readonly originate: OriginateFailure | undefined;

  /**
   * Creates the error.
   *
   * @param action the action's name
   * @param serverMessage the server's text
   * @param response the failing message
   */
  constructor(action: string, serverMessage: string, response?: AmiMessage) {
    const originate = response?.name.toLowerCase() === "originateresponse"
      ? originateFailure(response.get("Reason"))
      : undefined;
    super(
      "ERR_ACTION",
      `${action} failed: ${serverMessage}${originate === undefined ? "" : `: ${originate.text}`}`,
    );
    this.action = action;
    this.serverMessage = serverMessage;
    this.response = response;
    this.originate = originate;
  }
}

/** Why an async Originate did not connect, by the kind of call outcome. */
export type OriginateFailureKind =
  | "failed"
  | "hungUp"
  | "noAnswer"
  | "busy"
  | "congestion"
  | "other";

/** A failed Originate's `Reason`, translated. */
export interface OriginateFailure {
  /** The kind of outcome: what a dialer records for the lead. */
  readonly kind: OriginateFailureKind;
  /** Asterisk's `Reason` code (the control frame that ended the call), if sent. */
  readonly code: number | undefined;
  /** A short English text for logs. */
  readonly text: string;
}

const ORIGINATE_REASONS: Readonly<Record<number, [OriginateFailureKind, string]>> = {
  0: ["failed", "failed (no such extension, or the channel could not be created)"],
  1: ["hungUp", "hung up before answer"],
  3: ["noAnswer", "no answer (rang until the timeout)"],
  5: ["busy", "busy"],
  8: ["congestion", "congestion (no route or circuits)"],
};

/**
 * Translates an OriginateResponse `Reason` code: 0 failed (no such
 * extension), 1 hung up, 3 no answer, 5 busy, 8 congestion (Asterisk's
 * control frame numbers); anything else is `other`.
 *
 * @param reason the `Reason` header's value, if any
 * @returns the translated outcome
 */
export function originateFailure(reason: string | undefined): OriginateFailure {
  const code = reason === undefined || !/^\d+$/.test(reason.trim()) ? undefined : Number(reason);
  const known = code === undefined ? undefined : ORIGINATE_REASONS[code];
  if (known !== undefined) return { kind: known[0], code, text: known[1] };
  return { kind: "other", code, text: code === undefined ? "no reason given" : `reason ${code}` };
}

/** An action got no complete answer before its deadline. */
export class ActionTimeoutError extends AmiError {
  /** The action's name. */
  readonly action: string;
  /** The deadline that ran out, in milliseconds. */
  readonly timeoutMs: number;
  /** Whether the action had been handed to the transport (its outcome is then unknown). */
  readonly written: boolean;

  /**
   * Creates the error.
   *
   * @param action the action's name
   * @param timeoutMs the deadline in milliseconds
   * @param written whether the bytes had been written
   */
  constructor(action: string, timeoutMs: number, written: boolean) {
    super("ERR_ACTION_TIMEOUT", `${action} timed out after ${timeoutMs} ms`);
    this.action = action;
    this.timeoutMs = timeoutMs;
    this.written = written;
  }
}

/**
 * Why an action lost its connection: the session's close reason, or the
 * client's state when there was no session to send it on.
 */
export type ConnectionLostReason =
  | CloseReason
  | "connecting"
  | "reconnecting"
  | "closing"
  | "closed";

/**
 * The connection ended while an action was pending. `written` says whether it
 * is safe to retry (`false`: never sent) or its outcome is unknown (`true`:
 * an Originate may have happened).
 */
export class ConnectionLostError extends AmiError {
  /** The action's name. */
  readonly action: string;
  /** `false`: the action never left this process; `true`: outcome unknown. */
  readonly written: boolean;
  /** Why the connection closed, or the client's state when there was none. */
  readonly reason: ConnectionLostReason;

  /**
   * Creates the error.
   *
   * @param action the action's name
   * @param written whether its bytes had been handed to the transport
   * @param reason the close reason
   */
  constructor(
    action: string,
    written: boolean,
    reason: ConnectionLostReason,
    options?: { cause?: unknown },
  ) {
    super(
      "ERR_CONNECTION_LOST",
      `${action}: connection lost (${reason}); ${
        written ? "outcome unknown, the action was written" : "never written, safe to retry"
      }`,
      options,
    );
    this.action = action;
    this.written = written;
    this.reason = reason;
  }
}

/** Why a connection attempt failed. */
export type ConnectFailure =
  | "refused"
  | "dns"
  | "timedOut"
  | "tls"
  | "closed"
  | "protocol"
  | "other";

/** Opening the connection failed before login (refused, timed out, TLS, bad banner). */
export class ConnectError extends AmiError {
  /** What went wrong. */
  readonly reason: ConnectFailure;

  /**
   * Creates the error.
   *
   * @param reason what went wrong
   * @param message details
   */
  constructor(reason: ConnectFailure, message: string, options?: { cause?: unknown }) {
    super("ERR_CONNECT", message, options);
    this.reason = reason;
  }
}

/** The server refused the credentials. */
export class AuthError extends AmiError {
  /**
   * Creates the error.
   *
   * @param message the server's text (never the secret)
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_AUTH", message, options);
  }
}

/** The caller aborted the action with an `AbortSignal`. */
export class AbortedError extends AmiError {
  /** The action's name. */
  readonly action: string;
  /** Whether the action had been written before it was aborted. */
  readonly written: boolean;

  /**
   * Creates the error.
   *
   * @param action the action's name
   * @param written whether it had been written
   */
  constructor(action: string, written: boolean, options?: { cause?: unknown }) {
    super("ERR_ABORTED", `${action} aborted${written ? " after it was written" : ""}`, options);
    this.action = action;
    this.written = written;
  }
}

/** Waiting for nodes to be ready (`cluster.ready({ timeoutMs })`) ran out of time. */
export class NotReadyError extends AmiError {
  /** The nodes that were not ready. */
  readonly nodes: readonly string[];
  /** How long was waited, ms. */
  readonly timeoutMs: number;

  /**
   * Creates the error.
   *
   * @param nodes the nodes not ready
   * @param timeoutMs how long was waited
   */
  constructor(nodes: readonly string[], timeoutMs: number) {
    super("ERR_NOT_READY", `not ready within ${timeoutMs} ms: ${nodes.join(", ")}`);
    this.nodes = nodes;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A message from the peer passed a parser bound (`maxLineBytes`,
 * `maxMessageBytes` or `maxHeaders`) and was skipped unread. Its `code`
 * stays `ERR_REMOTE_PROTOCOL` (it is a {@link RemoteProtocolError}); tell it
 * apart with `instanceof` or `reason === "tooLarge"`.
 *
 * With `action` set, it fails that action alone: its answer (or one of
 * its event-list items, or its OriginateResponse) was too large, so its
 * outcome is unknown; the session goes on. Without `action`, it is why a
 * session closed: the message's owner could not be known.
 */
export class MessageTooLargeError extends RemoteProtocolError {
  /** Always `"tooLarge"`. */
  readonly reason: "tooLarge" = "tooLarge";
  /** The action whose answer was too large, if the message could be attributed. */
  readonly action: string | undefined;
  /** The whole message's size in bytes (line endings included). */
  readonly size: number;
  /** What the bound measured: the longest line's bytes, the line count or the message's bytes. */
  readonly actual: number;

  /**
   * Creates the error.
   *
   * @param message what was too large, naming the bound, the limit, the size and the action
   * @param details the bound, its limit, what it measured, the message's size and the action
   */
  constructor(
    message: string,
    details: { bound: ParserBound; limit: number; actual: number; size: number; action?: string },
  ) {
    super(message, {
      bound: details.bound,
      limit: details.limit,
      excess: details.actual - details.limit,
    });
    this.action = details.action;
    this.size = details.size;
    this.actual = details.actual;
  }
}

/**
 * A gateway refused the action for the identity that sent it (its policy, or
 * the NATS server's permissions): nothing reached the PBX. Never names a secret.
 */
export class PermissionError extends AmiError {
  /** The node the action was for. */
  readonly node: string;
  /** The action's name. */
  readonly action: string;
  /** Who asked, as the gateway saw it (empty when the NATS server refused the publish). */
  readonly identity: string;
  /** The rule that refused it. */
  readonly why: string;
  /** Always `false`: a refused action is never written. */
  readonly written: false = false;

  /**
   * Creates the error.
   *
   * @param node the node the action was for
   * @param action the action's name
   * @param identity who asked
   * @param why the rule that refused it
   */
  constructor(node: string, action: string, identity: string, why: string) {
    super(
      "ERR_PERMISSION",
      `${action} on ${node} refused${identity === "" ? "" : ` for ${identity}`}: ${why}`,
    );
    this.node = node;
    this.action = action;
    this.identity = identity;
    this.why = why;
  }
}

/** Why a gateway could not carry a request. */
export type GatewayFailure =
  | "noGateway"
  | "unreachable"
  | "timedOut"
  | "tooLarge"
  | "badRequest"
  | "busy"
  | "leaseLost";

/**
 * The gateway between a remote client and a node could not carry the
 * request. `written` is honest: `false` means the action never reached the
 * PBX and is safe to retry; `true` means its outcome is unknown.
 */
export class GatewayError extends AmiError {
  /** What went wrong. */
  readonly reason: GatewayFailure;
  /** The node. */
  readonly node: string;
  /** The action's name. */
  readonly action: string;
  /** Whether the action may have been written to the PBX. */
  readonly written: boolean;
  /** The details, without the node and action. */
  readonly detail: string;

  /**
   * Creates the error.
   *
   * @param reason what went wrong
   * @param node the node
   * @param action the action's name
   * @param written whether it may have been written
   * @param message details
   */
  constructor(
    reason: GatewayFailure,
    node: string,
    action: string,
    written: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("ERR_GATEWAY", `${action} on ${node}: ${message}`, options);
    this.reason = reason;
    this.node = node;
    this.action = action;
    this.written = written;
    this.detail = message;
  }
}
