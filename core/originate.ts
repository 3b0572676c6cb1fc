/**
 * What makes an Originate asynchronous, shared by the engine (which then
 * waits for its OriginateResponse) and by callers that must make sure the
 * session receives call events.
 *
 * @module
 */

import { type ActionFields, fieldEntries } from "./serializer.ts";

/** The spellings of a true value that Asterisk accepts (`ast_true`). */
const TRUE_WORDS: ReadonlySet<string> = new Set(["true", "yes", "1", "y", "t", "on"]);
/** The spellings of a false value that Asterisk accepts (`ast_false`). */
const FALSE_WORDS: ReadonlySet<string> = new Set(["false", "no", "0", "n", "f", "off"]);

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
  // Length first: this runs for every action, and lower-casing allocates.
  if (name.length !== 9 || name.toLowerCase() !== "originate") return false;
  for (const [key, value] of fieldEntries(fields)) {
    if (key.toLowerCase() === "async") return TRUE_WORDS.has(value.trim().toLowerCase());
  }
  return false;
}

/**
 * Whether an event mask (Login's `Events:` or the `EventMask:` of an
 * `Events` action) lets call-class events through, as Asterisk reads it:
 * a true word or `all` means every class, a false word none, otherwise a
 * comma-separated class list (a numeric legacy mask counts as yes).
 *
 * @param mask the mask text, or `undefined` for the user's default (yes)
 * @returns whether OriginateResponse events can arrive
 */
export function maskHasCallEvents(mask: string | undefined): boolean {
  if (mask === undefined) return true;
  const m = mask.trim().toLowerCase();
  if (FALSE_WORDS.has(m)) return false;
  if (TRUE_WORDS.has(m) || /^\d+$/.test(m)) return true;
  return m.split(",").some((c) => {
    const cls = c.trim();
    return cls === "call" || cls === "all";
  });
}
