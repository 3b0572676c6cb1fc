/**
 * AMI messages: an ordered list of `[name, value]` headers with
 * case-insensitive lookup, classified by their first header.
 *
 * @module
 */

/** One header line: `[name, value]`, exactly as received (value not trimmed). */
export type Header = readonly [name: string, value: string];

/**
 * What a message is, from its first header: `Event:` first is an event (even
 * OriginateResponse, which also carries `Response:`), `Response:` first a
 * response, `Action:` first an action (what a client sends), anything else
 * `unknown`.
 */
export type MessageType = "event" | "response" | "action" | "unknown";

/** What the reader of a message's text already knows about it (the parser tells). */
export interface MessageTextOptions {
  /**
   * Whether a line's key is `ActionID` (in any case). `false` lets
   * {@link AmiMessage.actionId} answer without searching the text, which
   * matters for the events of a busy server (they rarely carry one).
   */
  readonly hasActionId?: boolean;
}

/**
 * One AMI message (a block of header lines ended by an empty line).
 *
 * The parser hands over a message's text and the headers are split from it
 * on first use: {@link AmiMessage.get} of one header on an unsplit message
 * only searches the text, so an application that reads a few headers of
 * every event never pays for the others.
 */
export class AmiMessage {
  /** The kind of message, from its first header. */
  readonly type: MessageType;
  #headers: readonly Header[] | undefined;
  #body: readonly string[] | undefined;
  /** The raw text (lines ended by CRLF or LF) while the headers are not split yet. */
  #text: string | undefined;
  /** Known from the parser: no line's key is `ActionID`. */
  readonly #noActionId: boolean = false;

  /**
   * Creates a message from its headers, or from its raw text (header lines
   * ended by CRLF or LF, without the final empty line), split on first use.
   *
   * @param headers the headers in order, or the message's text
   * @param body non-header lines (see {@link AmiMessage.body}); with text,
   *   found in it, and this argument may instead say what the reader of the
   *   text already knows ({@link MessageTextOptions})
   */
  constructor(
    headers: readonly Header[] | string,
    body: readonly string[] | MessageTextOptions = [],
  ) {
    if (typeof headers === "string") {
      const text = headers;
      this.#noActionId = (body as MessageTextOptions).hasActionId === false;
      const colon = text.indexOf(":");
      const nl = text.indexOf("\n");
      if (colon > 0 && (nl < 0 || colon < nl)) {
        this.#text = text;
        this.type = classifyKey(text, colon);
        return;
      }
      // The first line is not a header: split now (rare, and it decides the type).
      const split = splitText(text);
      this.#headers = split.headers;
      this.#body = split.body;
      this.type = classify(split.headers[0]?.[0]);
      return;
    }
    this.#headers = headers;
    this.#body = Array.isArray(body) ? body : EMPTY;
    this.type = classify(headers[0]?.[0]);
  }

  /** The headers in the order received; repeated names are kept. */
  get headers(): readonly Header[] {
    return this.#headers ?? this.#split();
  }

  /**
   * Lines that are not headers: the body of a legacy `Response: Follows`
   * (without `--END COMMAND--`), and any line without a colon found inside a
   * message, kept verbatim in order rather than dropped.
   */
  get body(): readonly string[] {
    if (this.#body === undefined) this.#split();
    return this.#body as readonly string[];
  }

  /** The first header's value: the event name, response status or action name. */
  get name(): string {
    const text = this.#text;
    if (text === undefined) return this.#headers?.[0]?.[1] ?? "";
    return valueAt(text, text.indexOf(":"));
  }

  /**
   * The message's text as the parser handed it over (header lines ended by
   * CRLF or LF), while its headers are not split; `undefined` once they are,
   * or for a message made from headers. For readers that scan a message's
   * lines once without splitting them (the live model).
   */
  get rawText(): string | undefined {
    return this.#text;
  }

  /** The `ActionID` header, if present. */
  get actionId(): string | undefined {
    return this.#noActionId ? undefined : this.get("ActionID");
  }

  /**
   * The first value of a header, matched case-insensitively.
   *
   * @param name the header name
   * @returns the value, or `undefined` when absent
   * @example msg.get("channel")
   */
  get(name: string): string | undefined {
    const text = this.#text;
    if (text !== undefined) return findInText(text, name);
    const h = this.#headers as readonly Header[];
    const n = name.length;
    // Exact-case match first: it is what servers send and it is cheap.
    for (let i = 0; i < h.length; i++) {
      if (h[i][0] === name) return h[i][1];
    }
    const lower = name.toLowerCase();
    for (let i = 0; i < h.length; i++) {
      const key = h[i][0];
      if (key.length === n && key.toLowerCase() === lower) return h[i][1];
    }
    return undefined;
  }

  /**
   * Every value of a header in order (for repeated keys such as `Output`,
   * `Variable`, `ChanVariable`).
   *
   * @param name the header name, case-insensitive
   * @returns the values; empty when absent
   */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    const out: string[] = [];
    for (const [key, value] of this.headers) {
      if (key.length === name.length && key.toLowerCase() === lower) out.push(value);
    }
    return out;
  }

  /**
   * Whether a header is present.
   *
   * @param name the header name, case-insensitive
   * @returns `true` when at least one header has that name
   */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /**
   * The headers as a plain object; a repeated name becomes an array. For
   * logging and JSON output, not for the hot path.
   *
   * @returns an object keyed by header name as received
   */
  toObject(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [key, value] of this.headers) {
      const prev = out[key];
      if (prev === undefined) out[key] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else out[key] = [prev, value];
    }
    return out;
  }

  #split(): readonly Header[] {
    const { headers, body } = splitText(this.#text as string);
    this.#headers = headers;
    this.#body = body;
    this.#text = undefined;
    return headers;
  }
}

const CR = 13;
const LF = 10;
const COLON = 58;
const EMPTY: readonly string[] = [];

/**
 * Splits a message's text into headers and non-header lines: a line's key is
 * what comes before its first colon, and one space after the colon is
 * dropped; a line without a colon goes to the body.
 *
 * @param text header lines ended by CRLF or LF
 * @returns the headers and the other non-empty lines, in order
 */
export function splitText(text: string): { headers: Header[]; body: readonly string[] } {
  const headers: Header[] = [];
  let body: string[] | undefined;
  let pos = 0;
  let colon = -1; // the next ':' at or after pos, found once and reused (keeps this linear)
  const len = text.length;
  while (pos < len) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = len;
    const lineEnd = nl > pos && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    const start = pos;
    pos = nl + 1;
    if (colon < start) colon = text.indexOf(":", start);
    if (colon < 0 || colon >= lineEnd) {
      if (lineEnd > start) (body ??= []).push(text.slice(start, lineEnd));
      if (colon < 0) colon = len;
      continue;
    }
    const valueStart = text.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1;
    headers.push([
      text.slice(start, colon),
      valueStart >= lineEnd ? "" : text.slice(valueStart, lineEnd),
    ]);
  }
  return { headers, body: body ?? EMPTY };
}

/** The value of the header line whose colon is at `colon`. */
function valueAt(text: string, colon: number): string {
  let end = text.indexOf("\n", colon);
  if (end < 0) end = text.length;
  if (end > colon && text.charCodeAt(end - 1) === CR) end--;
  const start = text.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1;
  return start >= end ? "" : text.slice(start, end);
}

/** The first value of header `name` (case-insensitive) in unsplit text. */
function findInText(text: string, name: string): string | undefined {
  const n = name.length;
  if (n === 0 || name.includes(":")) return undefined;
  // Fast path: the exact spelling at a line start.
  const exact = text.startsWith(name) && text.charCodeAt(n) === COLON
    ? 0
    : lineStartIndexOf(text, name);
  if (exact >= 0) return valueAt(text, exact + n);
  // Case-insensitive: compare the key of each line that has the right length.
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    if (text.charCodeAt(pos + n) === COLON && keyEqualsAt(text, pos, name)) {
      // The key must hold no earlier colon (it never does: `lower` has none).
      return valueAt(text, pos + n);
    }
    const nl = text.indexOf("\n", pos);
    if (nl < 0) break;
    pos = nl + 1;
  }
  return undefined;
}

/** Where `name:` starts a line (not the first), or -1. Allocates nothing (it runs per lookup). */
function lineStartIndexOf(text: string, name: string): number {
  const n = name.length;
  for (let at = text.indexOf(name, 1); at > 0; at = text.indexOf(name, at + 1)) {
    if (text.charCodeAt(at - 1) === LF && text.charCodeAt(at + n) === COLON) return at;
  }
  return -1;
}

/**
 * Whether `text` at `at` spells `name` in any case, as `toLowerCase` compares
 * them: ASCII letters are folded without allocating; a non-ASCII character
 * falls back to `toLowerCase`.
 */
function keyEqualsAt(text: string, at: number, name: string): boolean {
  const n = name.length;
  for (let i = 0; i < n; i++) {
    const a = text.charCodeAt(at + i);
    const b = name.charCodeAt(i);
    if (a === b) continue;
    if (a >= 128 || b >= 128) {
      return text.slice(at, at + n).toLowerCase() === name.toLowerCase();
    }
    // Equal once folded only if they differ in bit 0x20 and are letters.
    const fa = a | 0x20;
    if (fa !== (b | 0x20) || fa < 97 || fa > 122) return false;
  }
  return true;
}

function classifyKey(text: string, colon: number): MessageType {
  switch (colon) {
    case 5:
      return startsWithLower(text, "event") ? "event" : "unknown";
    case 6:
      return startsWithLower(text, "action") ? "action" : "unknown";
    case 8:
      return startsWithLower(text, "response") ? "response" : "unknown";
    default:
      return "unknown";
  }
}

/** Whether `text` starts with `lower` (ASCII letters only), in any case. */
function startsWithLower(text: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    // For a letter, OR 0x20 gives its lower case; no other character maps onto a letter.
    if ((text.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function classify(first: string | undefined): MessageType {
  if (first === undefined) return "unknown";
  switch (first.toLowerCase()) {
    case "event":
      return "event";
    case "response":
      return "response";
    case "action":
      return "action";
    default:
      return "unknown";
  }
}
