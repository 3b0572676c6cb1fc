/**
 * What makes an Originate asynchronous, shared by the engine (which then
 * waits for its OriginateResponse) and by callers that must make sure the
 * session receives call events.
 *
 * @module
 */

import { type ActionFields, fieldEntries } from "./serializer.ts";

/** The spellings of a true `Async:` value that Asterisk accepts (`ast_true`). */
const TRUE_WORDS: ReadonlySet<string> = new Set(["true", "yes", "1", "y", "t", "on"]);

/**
 * Whether an action is an asynchronous Originate: it completes on its
 * `OriginateResponse` event (class `call`), not on its response, so the
 * session must receive call events or it waits until its deadline.
 *
 * @param name the action's name
 * @param fields its fields
 * @returns true for `Originate` with a true `Async` field
 * @example isAsyncOriginate("Originate", { Channel: "Local/100@lab", Async: true }) // true
 */
export function isAsyncOriginate(name: string, fields: ActionFields | undefined): boolean {
  if (name.toLowerCase() !== "originate") return false;
  for (const [key, value] of fieldEntries(fields)) {
    if (key.toLowerCase() === "async") return TRUE_WORDS.has(value.trim().toLowerCase());
  }
  return false;
}
