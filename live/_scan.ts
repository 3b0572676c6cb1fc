/**
 * One pass over an event's lines that finds every channel snapshot in it
 * (plain and under each prefix) without splitting the message: on a message
 * parsed from text it reads the raw text, records where each value lies and
 * allocates nothing until a value is taken. The stores compare values in
 * place with what they hold and copy only what changed.
 *
 * It reads what `readChannel` (`_snapshot.ts`) reads under each prefix (the
 * same names in any case, the first value of a field, every `ChanVariable`),
 * for the prefixes whose Uniqueid is present, in the order of those lines:
 * `tests/live_model.test.ts` checks that a model fed text and one fed split
 * headers make the same changes.
 *
 * @module
 */

import type { AmiMessage } from "../core/message.ts";
import { CHANNEL_PREFIXES, FIELD_NAMES } from "./_snapshot.ts";

/** Slot of `Uniqueid` in a group. */
export const S_UNIQUEID = 0;
/** Slot of `ChannelState`. */
export const S_STATE = 1;
/** Slot of `Channel`. */
export const S_CHANNEL = 2;
/** Slot of `ChannelStateDesc`. */
export const S_STATE_DESC = 3;
/** Slot of `Linkedid`. */
export const S_LINKEDID = 4;
/** Slot of `CallerIDNum`. */
export const S_CID_NUM = 5;
/** Slot of `CallerIDName`. */
export const S_CID_NAME = 6;
/** Slot of `ConnectedLineNum`. */
export const S_CL_NUM = 7;
/** Slot of `ConnectedLineName`. */
export const S_CL_NAME = 8;
/** Slot of `AccountCode`. */
export const S_ACCOUNT = 9;
/** Slot of `Context`. */
export const S_CONTEXT = 10;
/** Slot of `Exten`. */
export const S_EXTEN = 11;
/** Slot of `Priority`. */
export const S_PRIORITY = 12;
const S_VAR = 13;
const FIELDS = FIELD_NAMES.length;
const GROUPS = CHANNEL_PREFIXES.length;

/**
 * Other headers the model reads, without a prefix: they make one more group,
 * {@link EXTRA}, read as `get()` reads them (the first value of the exact
 * spelling, else the first in any case).
 */
const EXTRA_NAMES = [
  "BridgeUniqueid",
  "BridgeType",
  "BridgeTechnology",
  "BridgeName",
  "BridgeCreator",
  "Application",
  "AppData",
  "Variable",
  "Value",
] as const;
/** The group of the other headers ({@link EXTRA_NAMES}). */
export const EXTRA = GROUPS;
/** `BridgeUniqueid` in {@link EXTRA}. */
export const X_BRIDGE_ID = 0;
/** `BridgeType` in {@link EXTRA}. */
export const X_BRIDGE_TYPE = 1;
/** `BridgeTechnology` in {@link EXTRA}. */
export const X_BRIDGE_TECH = 2;
/** `BridgeName` in {@link EXTRA}. */
export const X_BRIDGE_NAME = 3;
/** `BridgeCreator` in {@link EXTRA}. */
export const X_BRIDGE_CREATOR = 4;
/** `Application` in {@link EXTRA}. */
export const X_APPLICATION = 5;
/** `AppData` in {@link EXTRA}. */
export const X_APPDATA = 6;
/** `Variable` in {@link EXTRA}. */
export const X_VARIABLE = 7;
/** `Value` in {@link EXTRA}. */
export const X_VALUE = 8;
/** `Uniqueid` as `get()` reads it (the exact spelling first), in {@link EXTRA}. */
export const X_UNIQUEID = 9;
const SLOTS = FIELDS * (GROUPS + 1);

const CR = 13;
const SPACE = 32;

/**
 * The snapshots of one message: for each prefix group (`""` is group 0, then
 * `Dest`, `LocalOne`, ... in {@link CHANNEL_PREFIXES} order) where each field's
 * first value lies. Reused from event to event (one per model).
 */
export class SnapshotScan {
  /** The string each slot's value lies in (the raw text, or a header value). */
  readonly #src: string[] = new Array(SLOTS).fill("");
  /** Where each slot's value starts and ends, valid when its stamp is this scan's. */
  readonly #start = new Int32Array(SLOTS);
  readonly #end = new Int32Array(SLOTS);
  readonly #stamp = new Int32Array(SLOTS);
  /** Whether an EXTRA slot's key was spelt exactly. */
  readonly #exact = new Uint8Array(SLOTS);
  /** The groups that have a Uniqueid, in the order of those lines. */
  readonly #order = new Int8Array(GROUPS);
  #groups = 0;
  #varSrc: string[] = [];
  #varStart: number[] = [];
  #varEnd: number[] = [];
  #varGroup: number[] = [];
  #vars = 0;
  /** How many messages were scanned (the tests count them); each scan's stamp. */
  scans = 0;

  /** Scans a message (its raw text if it has one, else its headers). */
  read(m: AmiMessage): void {
    if (++this.scans === 0x7fffffff) {
      this.scans = 1;
      this.#stamp.fill(0);
    }
    this.#groups = 0;
    this.#vars = 0;
    const text = m.rawText;
    if (text === undefined) {
      const headers = m.headers;
      for (let i = 0; i < headers.length; i++) {
        const [k, v] = headers[i];
        const slot = k.length < MIN_KEY ? -1 : lookup(k, 0, k.length, keyHash(k, 0, k.length));
        if (slot >= 0) this.#found(slot, v, 0, v.length, k, 0);
      }
      return;
    }
    // The lines as splitText reads them: the key is what comes before the
    // line's first colon (a line without one is skipped), one space after it
    // is dropped, a CR before LF too.
    const len = text.length;
    let pos = 0;
    let colon = -1; // the next ':' at or after pos, found once and reused
    while (pos < len) {
      let nl = text.indexOf("\n", pos);
      if (nl < 0) nl = len;
      const start = pos;
      pos = nl + 1;
      if (colon < start) {
        colon = text.indexOf(":", start);
        if (colon < 0) return;
      }
      if (colon >= nl || colon - start < MIN_KEY) continue;
      const slot = lookup(text, start, colon, keyHash(text, start, colon));
      if (slot < 0) continue;
      const lineEnd = nl > start && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
      let vs = text.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1;
      if (vs > lineEnd) vs = lineEnd;
      this.#found(slot, text, vs, lineEnd, text, start);
    }
  }

  #found(
    slot: number,
    src: string,
    start: number,
    end: number,
    keySrc: string,
    keyAt: number,
  ): void {
    const field = slot % FIELDS;
    const group = (slot - field) / FIELDS;
    if (group === EXTRA) {
      this.#extra(slot, src, start, end, sameAt(keySrc, keyAt, KEYS[slot]));
      return;
    }
    if (slot === S_UNIQUEID) {
      // The plain Uniqueid is also read as get() reads it (see X_UNIQUEID).
      const x = EXTRA * FIELDS + X_UNIQUEID;
      this.#extra(x, src, start, end, sameAt(keySrc, keyAt, "Uniqueid"));
    }
    if (field === S_VAR) {
      const i = this.#vars++;
      this.#varSrc[i] = src;
      this.#varStart[i] = start;
      this.#varEnd[i] = end;
      this.#varGroup[i] = group;
      return;
    }
    if (this.#stamp[slot] === this.scans) return; // the first value counts
    this.#stamp[slot] = this.scans;
    this.#src[slot] = src;
    this.#start[slot] = start;
    this.#end[slot] = end;
    if (field === S_UNIQUEID) this.#order[this.#groups++] = group;
  }

  /** Keeps a value as `get()` finds it: the first of the exact spelling, else the first in any case. */
  #extra(slot: number, src: string, start: number, end: number, exact: boolean): void {
    if (this.#stamp[slot] === this.scans && (this.#exact[slot] === 1 || !exact)) return;
    this.#stamp[slot] = this.scans;
    this.#exact[slot] = exact ? 1 : 0;
    this.#src[slot] = src;
    this.#start[slot] = start;
    this.#end[slot] = end;
  }

  /** How many groups carry a Uniqueid. */
  get groups(): number {
    return this.#groups;
  }

  /** The `i`th group with a Uniqueid, in header order. */
  group(i: number): number {
    return this.#order[i];
  }

  /** Whether a field is present in a group. */
  has(group: number, field: number): boolean {
    return this.#stamp[group * FIELDS + field] === this.scans;
  }

  /** A field's value (a slice of the message), or `undefined`. */
  value(group: number, field: number): string | undefined {
    const slot = group * FIELDS + field;
    if (this.#stamp[slot] !== this.scans) return undefined;
    return this.#src[slot].slice(this.#start[slot], this.#end[slot]);
  }

  /** Whether a present field's value is `v` (compared in place). */
  equals(group: number, field: number, v: string): boolean {
    const slot = group * FIELDS + field;
    const s = this.#start[slot];
    return this.#stamp[slot] === this.scans && this.#end[slot] - s === v.length &&
      sameAt(this.#src[slot], s, v);
  }

  /** A field as `Number(value) || 0` does (0 when absent), without a slice for plain digits. */
  number(group: number, field: number): number {
    const slot = group * FIELDS + field;
    if (this.#stamp[slot] !== this.scans) return 0;
    const s = this.#start[slot];
    const e = this.#end[slot];
    const src = this.#src[slot];
    if (e > s && e - s <= 9) {
      let n = 0;
      let i = s;
      for (; i < e; i++) {
        const d = src.charCodeAt(i) - 48;
        if (d < 0 || d > 9) break;
        n = n * 10 + d;
      }
      if (i === e) return n;
    }
    return Number(src.slice(s, e)) || 0;
  }

  /** Appends a group's `ChanVariable: k=v` pairs to `out`, in order. */
  variables(group: number, out: [string, string][]): void {
    for (let i = 0; i < this.#vars; i++) {
      if (this.#varGroup[i] !== group) continue;
      const src = this.#varSrc[i];
      const s = this.#varStart[i];
      const e = this.#varEnd[i];
      const eq = src.indexOf("=", s);
      if (eq > s && eq < e) out.push([src.slice(s, eq), src.slice(eq + 1, e)]);
    }
  }
}

/**
 * The hash of the key `s[at..end)` (at least {@link MIN_KEY} long): its length
 * and its first and last four characters, folded to lower case as
 * `toLowerCase` folds them into ASCII (the Kelvin sign is a `k`), so that keys
 * equal in any case hash alike; a lookup then compares the whole key.
 */
function keyHash(s: string, at: number, end: number): number {
  let h = end - at;
  h = (Math.imul(h, 31) + fold(s.charCodeAt(at))) | 0;
  h = (Math.imul(h, 31) + fold(s.charCodeAt(end - 1))) | 0;
  h = (Math.imul(h, 31) + fold(s.charCodeAt(end - 2))) | 0;
  h = (Math.imul(h, 31) + fold(s.charCodeAt(end - 3))) | 0;
  return (Math.imul(h, 31) + fold(s.charCodeAt(end - 4))) | 0;
}

function fold(c: number): number {
  return c === 0x212a ? 0x6b : c | 0x20;
}

/** Every snapshot key by slot (prefix and field): as Asterisk spells it, and in lower case. */
const KEYS: string[] = [];
const KEYS_LOWER: string[] = [];
for (let g = 0; g < GROUPS; g++) {
  for (let f = 0; f < FIELDS; f++) {
    // Joined from characters: a flat string (a concatenation is slow to read by index).
    const key = [...(CHANNEL_PREFIXES[g] + FIELD_NAMES[f])].join("");
    KEYS[g * FIELDS + f] = key;
    KEYS_LOWER[g * FIELDS + f] = key.toLowerCase();
  }
}
EXTRA_NAMES.forEach((n, e) => {
  KEYS[EXTRA * FIELDS + e] = n;
  KEYS_LOWER[EXTRA * FIELDS + e] = n.toLowerCase();
});
/** An open-addressed table of the keys' hashes: `slot + 1` at `hash & MASK` (or the next free). */
const TABLE_SIZE = 1024;
/** The shortest key the table holds. */
const MIN_KEY = 5;
const MASK = TABLE_SIZE - 1;
const TABLE_SLOT = new Int32Array(TABLE_SIZE);
const TABLE_HASH = new Int32Array(TABLE_SIZE);
KEYS_LOWER.forEach((k, slot) => {
  if (k === undefined) return;
  const h = keyHash(k, 0, k.length);
  let i = h & MASK;
  while (TABLE_SLOT[i] !== 0) i = (i + 1) & MASK;
  TABLE_SLOT[i] = slot + 1;
  TABLE_HASH[i] = h;
});

/**
 * The slot of the key `s[at..end)` whose {@link keyHash} is `h`:
 * `group * FIELDS + field` when it spells (in any case) a snapshot field, plain
 * or under a known prefix, or a header of {@link EXTRA}; else -1.
 */
function lookup(s: string, at: number, end: number, h: number): number {
  for (let i = h & MASK; TABLE_SLOT[i] !== 0; i = (i + 1) & MASK) {
    if (TABLE_HASH[i] !== h) continue;
    const slot = TABLE_SLOT[i] - 1;
    const key = KEYS_LOWER[slot];
    if (key.length === end - at && foldEquals(s, at, key)) return slot;
  }
  return -1;
}

/**
 * Whether `s` at `at` spells `lower` (lower-case ASCII letters) in any case:
 * as `toLowerCase` compares them, also for a non-ASCII character.
 */
function foldEquals(s: string, at: number, lower: string): boolean {
  const n = lower.length;
  for (let i = 0; i < n; i++) {
    const a = s.charCodeAt(at + i);
    const b = lower.charCodeAt(i);
    if (a === b) continue;
    if (a >= 128) return s.slice(at, at + n).toLowerCase() === lower;
    if ((a | 0x20) !== b) return false;
  }
  return true;
}

/** Whether `s` at `at` holds `v` (the caller checked the length). */
function sameAt(s: string, at: number, v: string): boolean {
  for (let i = 0; i < v.length; i++) if (s.charCodeAt(at + i) !== v.charCodeAt(i)) return false;
  return true;
}
