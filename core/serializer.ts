/**
 * The serializer: actions (what a client sends) and messages (what a server
 * sends) to bytes. Actions are validated first, so a bad key or value is a
 * {@link LocalProtocolError} and nothing is written (no header injection).
 *
 * @module
 */

import { LocalProtocolError } from "./errors.ts";
import type { Header } from "./message.ts";

/** A field value: a string, number or boolean; an array repeats the key once per value. */
export type FieldValue = string | number | boolean | readonly (string | number | boolean)[];

/**
 * An action's fields (everything but `Action` and `ActionID`): an object
 * (an array value repeats the key, as several `Variable` lines) or a list of
 * `[key, value]` pairs. `undefined` values are skipped.
 */
export type ActionFields =
  | Readonly<Record<string, FieldValue | undefined>>
  | readonly (readonly [string, string | number | boolean])[];

/** An action to send. */
export interface Action {
  /** The action name, e.g. `"Originate"`. */
  readonly name: string;
  /** The ActionID; the engine assigns one when sending. */
  readonly actionId?: string;
  /** The other fields. */
  readonly fields?: ActionFields;
}

/**
 * Asterisk reads at most 1024 bytes per line, terminator included, and needs
 * one byte spare: 1023 bytes with CRLF is the longest line it accepts.
 */
export const MAX_ACTION_LINE_BYTES = 1023;

/** Keys whose values are secrets: never echoed in errors, logs or dumps. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(["secret", "key"]);

const encoder = new TextEncoder();

/**
 * Encodes an action, `Action` first, then `ActionID`, then the fields in
 * order, ended by an empty line.
 *
 * @param action the action
 * @returns the bytes to write
 * @throws {LocalProtocolError} for an empty action name or one with CR, LF,
 *   NUL, `:` or surrounding white space; CR, LF or NUL in a key or value, an
 *   empty key, `:` or surrounding white space in a key, `Action`/`ActionID` among
 *   the fields, or a line over {@link MAX_ACTION_LINE_BYTES}. The message
 *   names the key, never the value.
 * @example
 * serializeAction({ name: "Ping", actionId: "1" });
 */
export function serializeAction(action: Action): Uint8Array {
  return encoder.encode(actionText(action));
}

/**
 * The text form of {@link serializeAction} (same validation).
 *
 * @param action the action
 * @returns the text with CRLF line endings
 */
export function actionText(action: Action): string {
  return actionTextWithId(action, action.actionId);
}

/**
 * The text form of an action sent with the ActionID `actionId` instead of
 * its own (same validation as {@link actionText}): the engine's per-action
 * path, which then needs no action object of its own.
 *
 * @param action the action (its `actionId` is not used)
 * @param actionId the ActionID to write, if any
 * @returns the text with CRLF line endings
 * @throws {LocalProtocolError} as {@link actionText}
 */
export function actionTextWithId(action: Action, actionId: string | undefined): string {
  const name = action.name;
  if (typeof name !== "string" || !ACTION_NAME.test(name)) badActionName(name);
  checkLineLength("Action", name);
  // Built as few concatenations as possible: this runs once per action.
  let out = "Action: " + name;
  if (actionId !== undefined) {
    checkValue("ActionID", actionId);
    checkLineLength("ActionID", actionId);
    out += "\r\nActionID: " + actionId;
  }
  if (action.fields === undefined) return out + "\r\n\r\n";
  for (const [key, value] of fieldEntries(action.fields)) {
    checkKey(key);
    const lower = key.toLowerCase();
    if (lower === "action" || lower === "actionid") {
      throw new LocalProtocolError(
        `field "${key}" is set by the action itself; use the action name or actionId`,
      );
    }
    checkValue(key, value);
    checkLineLength(key, value);
    out += "\r\n" + key + ": " + value;
  }
  return out + "\r\n\r\n";
}

/**
 * The fields of an action as `[key, value]` pairs, arrays expanded, numbers
 * and booleans as text, `undefined` skipped.
 *
 * @param fields the fields, if any
 * @returns the pairs in order
 */
export function fieldEntries(fields: ActionFields | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (fields === undefined) return out;
  if (Array.isArray(fields)) {
    for (const [k, v] of fields as readonly (readonly [string, string | number | boolean])[]) {
      out.push([k, String(v)]);
    }
    return out;
  }
  for (const [k, v] of Object.entries(fields as Record<string, FieldValue | undefined>)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) { for (const item of v) out.push([k, String(item)]); }
    else out.push([k, String(v)]);
  }
  return out;
}

/**
 * Encodes a message as a server sends it (the simulator's side): each header
 * as `Key: value`, CRLF line endings, an empty line at the end. No 1024-byte
 * limit applies to what servers send.
 *
 * @param headers the headers in order
 * @returns the text
 * @throws {LocalProtocolError} for CR, LF or NUL in a key or value
 */
export function messageText(headers: readonly Header[]): string {
  let out = "";
  for (const [key, value] of headers) {
    if (hasControl(key) || hasControl(value)) {
      throw new LocalProtocolError(`header "${safeKey(key)}" contains CR, LF or NUL`);
    }
    out += key + ": " + value + "\r\n";
  }
  return out + "\r\n";
}

/** Refuses a `key: value` line longer than Asterisk reads (CRLF included). */
function checkLineLength(key: string, value: string): void {
  const chars = key.length + value.length + 4; // ": " and CRLF
  // Byte length only matters near the limit; count UTF-8 only when it might.
  if (chars * 3 > MAX_ACTION_LINE_BYTES) {
    const bytes = encoder.encode(key).length + encoder.encode(value).length + 4;
    if (bytes > MAX_ACTION_LINE_BYTES) {
      throw new LocalProtocolError(
        `field "${key}" makes a ${bytes}-byte line; Asterisk accepts at most ${MAX_ACTION_LINE_BYTES} bytes per line including CRLF`,
      );
    }
  }
}

function checkKey(key: string): void {
  if (key.length === 0) throw new LocalProtocolError("a field has an empty key");
  if (hasControl(key)) {
    throw new LocalProtocolError(`field key "${safeKey(key)}" contains CR, LF or NUL`);
  }
  if (key.includes(":")) throw new LocalProtocolError(`field key "${key}" contains ":"`);
  if (key.trim() !== key) {
    throw new LocalProtocolError(`field key "${key}" has leading or trailing white space`);
  }
}

function checkValue(key: string, value: string): void {
  if (typeof value !== "string") {
    throw new LocalProtocolError(`field "${safeKey(key)}" must be a string`);
  }
  if (hasControl(value)) {
    throw new LocalProtocolError(`value of field "${safeKey(key)}" contains CR, LF or NUL`);
  }
}

const CONTROL = /[\r\n\0]/;

/**
 * A valid action name, in one test on the per-action path: not empty, no
 * CR, LF, NUL or `:`, no white space at either end.
 */
const ACTION_NAME = /^(?:[^\s:\0]|[^\s:\0][^\r\n\0:]*[^\s:\0])$/;

/** Throws the error that says why `name` is not a valid action name (off the hot path). */
function badActionName(name: unknown): never {
  if (typeof name !== "string") throw new LocalProtocolError("the action name must be a string");
  if (name.length === 0) throw new LocalProtocolError("the action name is empty");
  const shown = safeKey(name);
  if (hasControl(name)) {
    throw new LocalProtocolError(`the action name "${shown}" contains CR, LF or NUL`);
  }
  if (name.includes(":")) throw new LocalProtocolError(`the action name "${shown}" contains ":"`);
  throw new LocalProtocolError(
    `the action name "${shown}" has leading or trailing white space`,
  );
}

/** Whether `s` holds CR, LF or NUL (one regex test: about twice as fast as a char loop on Node). */
function hasControl(s: string): boolean {
  return CONTROL.test(s);
}

/** A key made printable for an error message (control characters escaped). */
function safeKey(key: string): string {
  return JSON.stringify(key).slice(1, -1);
}
