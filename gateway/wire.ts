/**
 * What crosses NATS between a gateway and its remote clients, as JSON: AMI
 * messages as ordered `[name, value]` pairs (order, case and repeated keys
 * kept), action requests, their results, and typed errors rebuilt on the
 * other side with the same class, `code` and `written`.
 *
 * Secrets never cross: a header named `Secret` or `Key` has its value
 * replaced by {@link REDACTED} in everything the gateway sends, and so has
 * every occurrence of a secret the gateway knows (the nodes' AMI secrets),
 * under any name.
 *
 * @module
 */

import {
  AbortedError,
  ActionError,
  ActionTimeoutError,
  AmiError,
  AuthError,
  ConnectError,
  type ConnectFailure,
  ConnectionLostError,
  type ConnectionLostReason,
  GatewayError,
  type GatewayFailure,
  LocalProtocolError,
  MessageTooLargeError,
  NotReadyError,
  type ParserBound,
  PermissionError,
  RemoteProtocolError,
} from "../core/errors.ts";
import { AmiMessage, type Header } from "../core/message.ts";
import type { ActionResult, CompletionStrategy } from "../core/connection_types.ts";
import { fieldEntries, SECRET_KEYS } from "../core/serializer.ts";
import type { ActionFields } from "../core/serializer.ts";

/**
 * An open NATS connection: what `connect()` of `@nats-io/transport-node` (or
 * any nats.js v3 transport) returns. Named loosely here so that the
 * documented API does not depend on the NATS packages' types.
 */
export interface NatsConnectionLike {
  /** Flushes pending writes to the server. */
  flush(): Promise<void>;
  /** Closes the connection. */
  close(): Promise<void>;
}

/** What a redacted value is replaced with. */
export const REDACTED = "[REDACTED]";

/** A message on the wire: its headers in order. */
export type WireMessage = Array<[string, string]>;

/** An action request, the payload of `<prefix>.<node>.action.<Action>`. */
export interface WireRequest {
  /** The request's id (unique per remote client); aborts name it. */
  readonly id: string;
  /** The fields, in order (arrays expanded). */
  readonly fields: Array<[string, string]>;
  /** The deadline, ms; absent for the gateway's default. */
  readonly timeoutMs?: number;
  /** How the action completes. */
  readonly strategy?: CompletionStrategy;
  /** Wait for the node's connection up to the deadline. */
  readonly waitForConnection?: boolean;
}

/** An abort, the payload of `<prefix>.<node>.abort.<Action>`. */
export interface WireAbort {
  /** The id of the request to abort. */
  readonly id: string;
}

/** A result on the wire. */
export type WireResult =
  | { kind: "response"; response: WireMessage }
  | {
    kind: "eventList";
    response: WireMessage;
    events: WireMessage[];
    complete: WireMessage;
    eventsBefore: number;
  }
  | { kind: "command"; response: WireMessage; output: string[] }
  | { kind: "originate"; response: WireMessage; event: WireMessage }
  | { kind: "logoff"; response: WireMessage };

/** An error on the wire: the class's name, its code and message, and its fields. */
export interface WireError {
  /** The error class's name (`ActionError`, `PermissionError`…). */
  readonly name: string;
  /** Its stable code. */
  readonly code: string;
  /** Its message. */
  readonly message: string;
  /** The class's own fields (action, written, reason, response…). */
  readonly fields: Record<string, unknown>;
}

/** A reply to an action request. */
export type WireReply = { ok: true; result: WireResult } | { ok: false; error: WireError };

/** A node's state, the payload of `<prefix>.<node>.state`. */
export interface WireState {
  /** The client state (`connecting`, `ready`, `reconnecting`, `closed`…), or `unheld`. */
  readonly state: string;
  /** The reason of the last change, if any. */
  readonly reason?: string;
  /** The gateway holding the node. */
  readonly gateway: string;
  /** The lease revision the gateway holds it under (its fencing token). */
  readonly lease: number;
  /** Wall-clock time of the message, ms since the epoch. */
  readonly at: number;
}

/** A gap in a node's events, the payload of `<prefix>.<node>.event._gap`. */
export interface WireGap {
  /**
   * `publish`: events read from the PBX but dropped from the full publish
   * queue (their sequence numbers are missing: `fromSeq`..`toSeq`);
   * `session`: events the AMI session itself dropped before they were
   * numbered (after `fromSeq`; `toSeq` equals it).
   */
  readonly reason: "publish" | "session";
  /** How many events were not published. */
  readonly dropped: number;
  /** The first sequence number not published (see the message id). */
  readonly fromSeq: number;
  /** The last sequence number not published. */
  readonly toSeq: number;
  /** The lease revision they belong to. */
  readonly lease: number;
  /** The gateway. */
  readonly gateway: string;
}

/**
 * A message's headers for the wire, secrets redacted.
 *
 * @param message the message
 * @returns its `[name, value]` pairs
 */
export function encodeMessage(message: AmiMessage): WireMessage {
  const out: WireMessage = [];
  for (const [k, v] of message.headers) {
    // Only `Key` and `Secret` (3 and 6 letters) are secret names: no lower-cased copy of the others.
    const secret = (k.length === 3 || k.length === 6) && SECRET_KEYS.has(k.toLowerCase());
    out.push([k, secret ? REDACTED : v]);
  }
  return out;
}

/**
 * Rebuilds a message.
 *
 * @param wire the pairs
 * @returns the message
 * @throws {RemoteProtocolError} when the pairs are malformed
 */
export function decodeMessage(wire: unknown): AmiMessage {
  if (!Array.isArray(wire)) throw bad("a message must be an array of [name, value] pairs");
  const headers: Header[] = [];
  for (const pair of wire) {
    if (
      !Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" ||
      typeof pair[1] !== "string"
    ) throw bad("a message header must be a [name, value] pair of strings");
    headers.push([pair[0], pair[1]]);
  }
  return new AmiMessage(headers);
}

/**
 * Builds a request.
 *
 * @param id the request id
 * @param fields the action's fields
 * @param options deadline, strategy, waiting for a connection
 * @returns the request
 */
export function encodeRequest(
  id: string,
  fields: ActionFields | undefined,
  options: { timeoutMs?: number; strategy?: CompletionStrategy; waitForConnection?: boolean },
): WireRequest {
  const req: {
    id: string;
    fields: Array<[string, string]>;
    timeoutMs?: number;
    strategy?: CompletionStrategy;
    waitForConnection?: boolean;
  } = { id, fields: fieldEntries(fields) };
  if (options.timeoutMs !== undefined && Number.isFinite(options.timeoutMs)) {
    req.timeoutMs = options.timeoutMs;
  }
  if (options.strategy !== undefined) req.strategy = options.strategy;
  if (options.waitForConnection) req.waitForConnection = true;
  return req;
}

const STRATEGIES: ReadonlySet<string> = new Set([
  "auto",
  "response",
  "eventList",
  "command",
  "originate",
  "logoff",
]);

/**
 * Reads and checks a request.
 *
 * @param raw the parsed JSON
 * @returns the request
 * @throws {LocalProtocolError} naming what is wrong
 */
export function decodeRequest(raw: unknown): WireRequest {
  if (typeof raw !== "object" || raw === null) throw badRequest("not an object");
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== "string" || r.id.length === 0 || r.id.length > 200) {
    throw badRequest("id must be a string of 1 to 200 characters");
  }
  if (!Array.isArray(r.fields)) throw badRequest("fields must be an array of [name, value] pairs");
  const fields: Array<[string, string]> = [];
  for (const pair of r.fields) {
    if (
      !Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" ||
      typeof pair[1] !== "string"
    ) throw badRequest("each field must be a [name, value] pair of strings");
    const lname = pair[0].toLowerCase();
    if (lname === "action" || lname === "actionid") {
      throw badRequest(`field ${pair[0]} is set by the gateway`);
    }
    fields.push([pair[0], pair[1]]);
  }
  if (
    r.timeoutMs !== undefined &&
    (typeof r.timeoutMs !== "number" || !(r.timeoutMs > 0) || !Number.isFinite(r.timeoutMs))
  ) throw badRequest("timeoutMs must be a positive number");
  if (r.strategy !== undefined && (typeof r.strategy !== "string" || !STRATEGIES.has(r.strategy))) {
    throw badRequest(`strategy must be one of ${[...STRATEGIES].join(", ")}`);
  }
  return {
    id: r.id,
    fields,
    timeoutMs: r.timeoutMs as number | undefined,
    strategy: r.strategy as CompletionStrategy | undefined,
    waitForConnection: r.waitForConnection === true,
  };
}

/**
 * A result for the wire.
 *
 * @param result the action's result
 * @returns its wire form
 */
export function encodeResult(result: ActionResult): WireResult {
  switch (result.kind) {
    case "response":
      return { kind: "response", response: encodeMessage(result.response) };
    case "eventList":
      return {
        kind: "eventList",
        response: encodeMessage(result.response),
        events: result.events.map(encodeMessage),
        complete: encodeMessage(result.complete),
        eventsBefore: result.eventsBefore,
      };
    case "command":
      return {
        kind: "command",
        response: encodeMessage(result.response),
        output: [...result.output],
      };
    case "originate":
      return {
        kind: "originate",
        response: encodeMessage(result.response),
        event: encodeMessage(result.event),
      };
    case "logoff":
      return { kind: "logoff", response: encodeMessage(result.response) };
  }
}

/**
 * Rebuilds a result.
 *
 * @param wire the wire form
 * @returns the result
 * @throws {RemoteProtocolError} when it is malformed
 */
export function decodeResult(wire: unknown): ActionResult {
  const w = wire as Record<string, unknown> | null;
  if (typeof w !== "object" || w === null) throw bad("a result must be an object");
  const response = decodeMessage(w.response);
  switch (w.kind) {
    case "response":
      return { kind: "response", response };
    case "eventList":
      if (!Array.isArray(w.events)) throw bad("an event list needs events");
      return {
        kind: "eventList",
        response,
        events: w.events.map(decodeMessage),
        complete: decodeMessage(w.complete),
        eventsBefore: typeof w.eventsBefore === "number" ? w.eventsBefore : 0,
      };
    case "command":
      if (!Array.isArray(w.output) || w.output.some((l) => typeof l !== "string")) {
        throw bad("command output must be lines");
      }
      return { kind: "command", response, output: w.output as string[] };
    case "originate":
      return { kind: "originate", response, event: decodeMessage(w.event) };
    case "logoff":
      return { kind: "logoff", response };
    default:
      throw bad(`unknown result kind ${JSON.stringify(w.kind)}`);
  }
}

/**
 * An error for the wire: its class, code, message and own fields (messages
 * encoded, secrets redacted). Errors that are not amikit's become a
 * `GatewayError` text.
 *
 * @param error what was thrown
 * @returns its wire form
 */
export function encodeError(error: unknown): WireError {
  if (!(error instanceof AmiError)) {
    return {
      name: "Error",
      code: "ERR_GATEWAY",
      message: error instanceof Error ? error.message : String(error),
      fields: {},
    };
  }
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(error)) {
    if (k === "code" || k === "name" || k === "message" || k === "cause" || k === "stack") continue;
    if (v instanceof AmiMessage) fields[k] = { message: encodeMessage(v) };
    else if (v === undefined || typeof v === "function") continue;
    else fields[k] = v;
  }
  return { name: error.name, code: error.code, message: error.message, fields };
}

/**
 * Rebuilds a typed error: the same class, code and fields as on the gateway.
 *
 * @param wire the wire form
 * @param node the node (for errors the gateway could not type)
 * @param action the action (likewise)
 * @returns the error
 */
export function decodeError(wire: unknown, node: string, action: string): AmiError {
  const w = wire as Partial<WireError> | null;
  if (typeof w !== "object" || w === null || typeof w.name !== "string") {
    return new GatewayError("badRequest", node, action, true, "malformed error from the gateway");
  }
  const f = (w.fields ?? {}) as Record<string, unknown>;
  const str = (k: string, d = "") => typeof f[k] === "string" ? f[k] as string : d;
  const bool = (k: string) => f[k] === true;
  const msg = (k: string) => {
    const m = f[k] as { message?: unknown } | undefined;
    return m && Array.isArray(m.message) ? decodeMessage(m.message) : undefined;
  };
  const message = typeof w.message === "string" ? w.message : "";
  switch (w.name) {
    case "ActionError":
      return new ActionError(str("action", action), str("serverMessage"), msg("response"));
    case "ActionTimeoutError":
      return new ActionTimeoutError(
        str("action", action),
        typeof f.timeoutMs === "number" ? f.timeoutMs : 0,
        bool("written"),
      );
    case "ConnectionLostError":
      return new ConnectionLostError(
        str("action", action),
        bool("written"),
        str("reason", "closed") as ConnectionLostReason,
      );
    case "AbortedError":
      return new AbortedError(str("action", action), bool("written"));
    case "PermissionError":
      return new PermissionError(
        str("node", node),
        str("action", action),
        str("identity"),
        str("why", message),
      );
    case "GatewayError":
      return new GatewayError(
        str("reason", "badRequest") as GatewayFailure,
        str("node", node),
        str("action", action),
        bool("written"),
        str("detail", message),
      );
    case "MessageTooLargeError":
      return new MessageTooLargeError(message, {
        bound: str("bound", "maxMessageBytes") as ParserBound,
        limit: typeof f.limit === "number" ? f.limit : 0,
        actual: typeof f.actual === "number" ? f.actual : 0,
        size: typeof f.size === "number" ? f.size : 0,
        action: str("action", action),
      });
    case "RemoteProtocolError":
      return new RemoteProtocolError(message);
    case "LocalProtocolError":
      return new LocalProtocolError(message);
    case "ConnectError":
      return new ConnectError(str("reason", "other") as ConnectFailure, message);
    case "AuthError":
      return new AuthError(message);
    case "NotReadyError":
      return new NotReadyError(
        Array.isArray(f.nodes) ? f.nodes as string[] : [node],
        typeof f.timeoutMs === "number" ? f.timeoutMs : 0,
      );
    default:
      // An error the gateway could not type: its outcome is unknown.
      return new GatewayError("badRequest", node, action, true, message || String(w.name));
  }
}

function bad(why: string): RemoteProtocolError {
  return new RemoteProtocolError(`gateway sent a malformed reply: ${why}`);
}

function badRequest(why: string): LocalProtocolError {
  return new LocalProtocolError(`malformed action request: ${why}`);
}

const ENCODER = new TextEncoder();

/**
 * JSON text to bytes, with every occurrence of a known secret replaced by
 * {@link REDACTED} (whatever header or field it hides in).
 *
 * @param value what to send
 * @param secrets the secrets this process knows (the nodes' AMI secrets)
 * @returns the payload
 */
export function toBytes(value: unknown, secrets: readonly string[] = []): Uint8Array {
  let text = JSON.stringify(value);
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    const json = JSON.stringify(secret).slice(1, -1);
    if (text.includes(json)) text = text.split(json).join(REDACTED);
  }
  return ENCODER.encode(text);
}

/**
 * Bytes to JSON.
 *
 * @param bytes the payload
 * @returns the parsed value
 * @throws {SyntaxError} when it is not JSON
 */
export function fromBytes(bytes: Uint8Array): unknown {
  return JSON.parse(new TextDecoder().decode(bytes));
}
