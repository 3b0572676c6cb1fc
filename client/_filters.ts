/**
 * What the session's event mask and `Filter`s let through, decided as
 * Asterisk decides it, so that the client can tell ahead of time when they
 * would hide an event it depends on (an async Originate's
 * `OriginateResponse`; the live model's channel events).
 *
 * Asterisk's rule (`manager.c`, `match_filter`): with no filter every event
 * passes; with include (whitelist) filters an event passes only if one of
 * them matches; then any exclude (`!`, blacklist) filter that matches drops
 * it. A legacy filter is a regular expression tested against the event's
 * whole text; `MatchCriteria: action(exclude),name(X)` filters (Asterisk 21)
 * are read for their action and event name.
 *
 * @module
 */

import { type ActionFields, fieldEntries } from "../core/serializer.ts";

/** One remembered filter. */
export interface EventFilterRule {
  /** Whitelist (`true`) or blacklist. */
  readonly include: boolean;
  /** Whether the filter matches an event (its name and whole text). */
  test(name: string, text: string): boolean;
}

/** The whitelist the client adds so that an async Originate's response gets through. */
export const ORIGINATE_RESPONSE_FILTER: ActionFields = {
  Operation: "Add",
  Filter: "Event: OriginateResponse",
};

/**
 * Reads a `Filter` action's fields into a rule.
 *
 * @param fields the action's fields
 * @returns the rule, or `undefined` for what is not an `Add` of a filter
 *   that compiles (Asterisk refuses those, and nothing is remembered)
 */
export function filterRule(fields: ActionFields | undefined): EventFilterRule | undefined {
  let operation = "";
  let filter: string | undefined;
  let criteria: string | undefined;
  for (const [k, v] of fieldEntries(fields)) {
    const key = k.toLowerCase();
    if (key === "operation") operation = v.trim().toLowerCase();
    else if (key === "filter") filter = v;
    else if (key === "matchcriteria") criteria = v;
  }
  if (operation !== "add") return undefined;
  let include = true;
  let name: string | undefined;
  let pattern = filter ?? "";
  if (criteria !== undefined) {
    for (const m of criteria.matchAll(/(\w+)\(([^)]*)\)/g)) {
      if (m[1].toLowerCase() === "action") include = m[2].toLowerCase() !== "exclude";
      if (m[1].toLowerCase() === "name") name = m[2].toLowerCase();
    }
  } else if (pattern.startsWith("!")) {
    include = false;
    pattern = pattern.slice(1);
  }
  let re: RegExp | undefined;
  try {
    re = pattern === "" ? undefined : new RegExp(pattern);
  } catch {
    return undefined;
  }
  return {
    include,
    test: (n, text) =>
      (name === undefined || n.toLowerCase() === name) && (re === undefined || re.test(text)),
  };
}

/**
 * Whether an event passes the filters, by Asterisk's rule.
 *
 * @param rules the session's filters, in the order added
 * @param name the event's name
 * @param cls its class (`call`, `dialplan`, ...), for the `Privilege` header of the probe text
 * @returns whether an event with just these headers would be sent
 */
export function filtersPass(rules: readonly EventFilterRule[], name: string, cls: string): boolean {
  if (rules.length === 0) return true;
  const text = `Event: ${name}\r\nPrivilege: ${cls},all\r\n`;
  let included = !rules.some((r) => r.include) ||
    rules.some((r) => r.include && r.test(name, text));
  if (!included) return false;
  for (const r of rules) if (!r.include && r.test(name, text)) included = false;
  return included;
}

/**
 * Whether an event mask (Login's `Events`, an `Events` action's `EventMask`)
 * lets a class through: a true word or `all` means every class, a false
 * word none, a numeric legacy mask yes, else a comma-separated class list.
 *
 * @param mask the mask, or `undefined` for the user's default (every class)
 * @param cls the class
 * @returns whether events of that class can arrive
 */
export function maskHasClass(mask: string | boolean | undefined, cls: string): boolean {
  if (mask === undefined || mask === true) return true;
  if (mask === false) return false;
  const m = mask.trim().toLowerCase();
  if (/^(false|no|0|n|f|off)$/.test(m)) return false;
  if (/^(true|yes|1|y|t|on)$/.test(m) || /^\d+$/.test(m)) return true;
  return m.split(",").some((c) => c.trim() === cls || c.trim() === "all");
}
