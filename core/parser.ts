/**
 * The incremental AMI parser: feed byte chunks of any size, get the banner
 * and then whole messages. Bounded: a line, a message and a header count
 * each have a cap, and crossing one is a {@link RemoteProtocolError}.
 *
 * @module
 */

import { RemoteProtocolError } from "./errors.ts";
import type { ParserBound } from "./errors.ts";
import { AmiMessage, splitText } from "./message.ts";
import type { Header, MessageTextOptions } from "./message.ts";
import { registerParserWork } from "./_parser_work.ts";

/** The first line a server sends, e.g. `Asterisk Call Manager/13.0.0`. */
export interface Banner {
  /** Discriminant. */
  readonly type: "banner";
  /** The whole line, without its line ending. */
  readonly line: string;
  /** The AMI protocol version after the `/` (`"13.0.0"`). */
  readonly protocolVersion: string;
}

/** What the parser yields: the banner once (if expected), then messages. */
export type ParsedItem = Banner | AmiMessage;

/** Bounds and mode of a parser. */
export interface ParserOptions {
  /** Whether the stream starts with a banner line (a client's view). Default `true`. */
  expectBanner?: boolean;
  /** Longest line in bytes, line ending excluded. Default 1 MiB. */
  maxLineBytes?: number;
  /** Largest message in bytes, line endings included. Default 8 MiB. */
  maxMessageBytes?: number;
  /** Most lines in one message. Default 100,000. */
  maxHeaders?: number;
}

/** The documented default bounds. Large enough for `Command` output of a busy server. */
export const DEFAULT_PARSER_LIMITS: Readonly<Required<Omit<ParserOptions, "expectBanner">>> = {
  maxLineBytes: 1024 * 1024,
  maxMessageBytes: 8 * 1024 * 1024,
  maxHeaders: 100_000,
};

const LF = 10;
const CR = 13;
const COLON = 58;
const END_COMMAND = "--END COMMAND--";
const ACTION_ID = "actionid";
// "Response: Follows" in lower case, to recognise legacy Command output.
const FOLLOWS = "response: follows";

// The buffer starts at MIN_CAPACITY bytes; above RETAIN_CAPACITY it shrinks
// back once empty or mostly empty (a big message has gone).
const MIN_CAPACITY = 4096;
const RETAIN_CAPACITY = 1024 * 1024;

const decoder = new TextDecoder();
// What the parser tells a message about its text (shared: no object per message).
const WITH_ACTION_ID: MessageTextOptions = Object.freeze({ hasActionId: true });
const NO_ACTION_ID: MessageTextOptions = Object.freeze({ hasActionId: false });

/**
 * An incremental parser. Call {@link AmiParser.push} with each chunk read;
 * it calls back once per banner or message completed by that chunk.
 *
 * A line without a colon inside a message is kept in
 * {@link AmiMessage.body} (never dropped, never an error). A NUL byte is kept
 * as it is in the decoded value. Bytes are decoded as UTF-8 only once a whole
 * message is in, so characters split across chunks are never mangled.
 *
 * @example
 * const parser = new AmiParser();
 * parser.push(bytes, (item) => console.log(item.type));
 */
export class AmiParser {
  readonly #maxLine: number;
  readonly #maxMessage: number;
  readonly #maxHeaders: number;
  #buf: Uint8Array = new Uint8Array(0);
  #words: Uint32Array = new Uint32Array(0); // #buf seen four bytes at a time
  #start = 0; // first byte not yet consumed (start of the current message or line)
  #end = 0; // end of valid data
  #lineStart = 0; // start of the line being scanned
  #scanFrom = 0; // where to look for its LF: [#lineStart, #scanFrom) holds none
  #lines = 0; // non-empty lines in the current message
  #bannerPending: boolean;
  #follows = false; // inside a legacy "Response: Follows" body
  #followsDone = false; // saw --END COMMAND--; the next empty line ends the message
  #hasActionId = false; // a line of the current message has the key ActionID
  #error: RemoteProtocolError | undefined;
  #copied = 0; // cost meter (see _parser_work.ts): bytes copied
  #scanned = 0; // and bytes searched for LF

  static {
    registerParserWork((p) => ({
      copied: (p as AmiParser).#copied,
      scanned: (p as AmiParser).#scanned,
      capacity: (p as AmiParser).#buf.length,
    }));
  }

  /**
   * Creates a parser.
   *
   * @param options bounds and whether to expect a banner
   */
  constructor(options: ParserOptions = {}) {
    this.#maxLine = options.maxLineBytes ?? DEFAULT_PARSER_LIMITS.maxLineBytes;
    this.#maxMessage = options.maxMessageBytes ?? DEFAULT_PARSER_LIMITS.maxMessageBytes;
    this.#maxHeaders = options.maxHeaders ?? DEFAULT_PARSER_LIMITS.maxHeaders;
    this.#bannerPending = options.expectBanner ?? true;
  }

  /** Bytes held for a message not yet complete (never more than a bound plus one chunk). */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Whether a partial message (or banner) is waiting for more bytes. */
  get hasPartial(): boolean {
    return this.#end > this.#start;
  }

  /**
   * Feed a chunk. Each banner or message it completes is passed to `onItem`
   * in order before `push` returns; items completed before an error are
   * delivered before the error is thrown.
   *
   * @param chunk bytes as read from the socket (not retained)
   * @param onItem called once per item
   * @throws {RemoteProtocolError} when a bound is crossed or the banner is
   *   not AMI's; the parser then stays failed and every later call throws it
   */
  push(chunk: Uint8Array, onItem: (item: ParsedItem) => void): void {
    if (this.#error) throw this.#error;
    this.#append(chunk);
    try {
      this.#scan(onItem);
    } catch (err) {
      if (err instanceof RemoteProtocolError) {
        this.#fail(err);
      }
      throw err;
    }
  }

  #fail(err: RemoteProtocolError): void {
    this.#error = err;
    this.#hasActionId = false;
    this.#buf = new Uint8Array(0);
    this.#words = new Uint32Array(0);
    this.#start = this.#end = 0;
    this.#lineStart = this.#scanFrom = 0;
  }

  /**
   * Copies a chunk in. The buffer doubles when it must grow, and moves its
   * pending bytes to the front only when no more of them are moved than
   * were consumed since the last move: every byte is copied a bounded
   * number of times, whatever the chunking.
   */
  #append(chunk: Uint8Array): void {
    const len = chunk.length;
    if (len === 0) return;
    let buf = this.#buf;
    if (this.#start === this.#end) {
      // Nothing pending: restart at the front, in a small buffer again
      // if a big message had grown this one.
      this.#start = this.#end = 0;
      this.#lineStart = this.#scanFrom = 0;
      if (buf.length > RETAIN_CAPACITY) {
        this.#buf = buf = new Uint8Array(0);
        this.#words = new Uint32Array(0);
      }
    }
    if (this.#end + len > buf.length) {
      const start = this.#start;
      const pending = this.#end - start;
      const need = pending + len;
      const cap = buf.length;
      let size = cap;
      if (need > cap || pending > start) {
        // Grow: double, but not past the message bound plus this chunk
        // (the bound caps what is pending); never shrink here.
        size = Math.max(need, cap, Math.min(cap * 2, this.#maxMessage + len), MIN_CAPACITY);
      } else if (cap > RETAIN_CAPACITY && need * 4 <= cap) {
        // A big message has gone: let its buffer go too.
        size = Math.max(need * 2, MIN_CAPACITY);
      }
      if (size === cap) {
        buf.copyWithin(0, start, this.#end);
      } else {
        const grown = new Uint8Array(size);
        grown.set(buf.subarray(start, this.#end));
        this.#buf = buf = grown;
        this.#words = new Uint32Array(grown.buffer, 0, size >>> 2);
      }
      this.#copied += pending;
      this.#lineStart -= start;
      this.#scanFrom -= start;
      this.#end = pending;
      this.#start = 0;
    }
    buf.set(chunk, this.#end);
    this.#end += len;
    this.#copied += len;
  }

  #scan(onItem: (item: ParsedItem) => void): void {
    const buf = this.#buf;
    const words = this.#words;
    const end = this.#end;
    let lineStart = this.#lineStart;
    // The unfinished line was searched up to #scanFrom by earlier pushes.
    let from = this.#scanFrom;
    this.#scanned += end - from;
    while (from < end) {
      const lf = findLf(buf, words, from, end);
      if (lf === end) {
        this.#lineStart = lineStart;
        this.#scanFrom = end;
        this.#checkPartial(end - lineStart, end - this.#start, true);
        return;
      }
      const contentEnd = lf > lineStart && buf[lf - 1] === CR ? lf - 1 : lf;
      const lineLen = contentEnd - lineStart;
      if (lineLen > this.#maxLine) this.#bound("maxLineBytes", this.#maxLine, lineLen, false);
      const next = lf + 1;

      if (this.#bannerPending) {
        this.#bannerPending = false;
        this.#start = next;
        onItem(parseBanner(decoder.decode(buf.subarray(lineStart, contentEnd))));
        lineStart = from = next;
        continue;
      }

      if (lineLen === 0 && !(this.#follows && !this.#followsDone)) {
        if (this.#lines === 0) {
          // Extra blank line between messages: skip it.
          this.#start = next;
        } else {
          const msgStart = this.#start;
          const follows = this.#follows;
          const hasActionId = this.#hasActionId;
          this.#start = next;
          this.#lines = 0;
          this.#follows = this.#followsDone = this.#hasActionId = false;
          const text = decoder.decode(buf.subarray(msgStart, lineStart));
          onItem(
            follows
              ? buildFollows(text)
              : new AmiMessage(text, hasActionId ? WITH_ACTION_ID : NO_ACTION_ID),
          );
        }
        lineStart = from = next;
        continue;
      }

      if (this.#lines === 0) {
        this.#start = lineStart;
        if (lineLen === FOLLOWS.length && asciiLowerEquals(buf, lineStart, FOLLOWS)) {
          this.#follows = true;
        }
      } else if (
        this.#follows && !this.#followsDone && endsWithEndCommand(buf, lineStart, contentEnd)
      ) {
        this.#followsDone = true;
      }
      if (lineLen > 8 && buf[lineStart + 8] === COLON && isActionIdKey(buf, lineStart)) {
        this.#hasActionId = true;
      }
      this.#lines++;
      if (this.#lines > this.#maxHeaders) {
        this.#bound("maxHeaders", this.#maxHeaders, this.#lines, false);
      }
      const msgBytes = next - this.#start;
      if (msgBytes > this.#maxMessage) {
        this.#bound("maxMessageBytes", this.#maxMessage, msgBytes, false);
      }
      lineStart = from = next;
    }
    this.#lineStart = this.#scanFrom = lineStart;
  }

  /** Checks the bounds against a line and message that are not complete yet. */
  #checkPartial(lineLen: number, msgBytes: number, partial: boolean): void {
    // A trailing CR may belong to the line ending, so allow one byte for it.
    if (lineLen - 1 > this.#maxLine) {
      this.#bound("maxLineBytes", this.#maxLine, lineLen - 1, partial);
    }
    if (msgBytes > this.#maxMessage) {
      this.#bound("maxMessageBytes", this.#maxMessage, msgBytes, partial);
    }
  }

  #bound(bound: ParserBound, limit: number, actual: number, partial: boolean): never {
    const excess = actual - limit;
    const what = bound === "maxLineBytes"
      ? "line"
      : bound === "maxMessageBytes"
      ? "message"
      : "header count";
    const unit = bound === "maxHeaders" ? "lines" : "bytes";
    throw new RemoteProtocolError(
      `${what} exceeds ${bound} (${limit} ${unit}) by ${
        partial ? "at least " : ""
      }${excess} ${unit}`,
      { bound, limit, excess },
    );
  }
}

/**
 * The index of the first LF in `buf[from, end)`, or `end`. Reads four bytes
 * at a time (a word holds an LF when `word ^ 0x0a0a0a0a` has a zero byte):
 * lines are short and many, and this beats both a byte loop and a call to
 * `indexOf` per line.
 */
function findLf(buf: Uint8Array, words: Uint32Array, from: number, end: number): number {
  let i = from;
  for (; (i & 3) !== 0; i++) {
    if (i === end) return end;
    if (buf[i] === LF) return i;
  }
  const wordEnd = end >>> 2;
  let w = i >>> 2;
  while (w < wordEnd) {
    const x = words[w] ^ 0x0a0a0a0a;
    if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break;
    w++;
  }
  for (i = w << 2; i < end; i++) if (buf[i] === LF) return i;
  return end;
}

function asciiLowerEquals(buf: Uint8Array, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = buf[at + i];
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Whether the 8 bytes at `at` spell `actionid` in any case (the caller checked the colon after them). */
function isActionIdKey(buf: Uint8Array, at: number): boolean {
  for (let i = 0; i < 8; i++) {
    // For a letter, OR 0x20 gives its lower case; no other byte maps onto a letter.
    if ((buf[at + i] | 0x20) !== ACTION_ID.charCodeAt(i)) return false;
  }
  return true;
}

function endsWithEndCommand(buf: Uint8Array, start: number, end: number): boolean {
  const n = END_COMMAND.length;
  if (end - start < n) return false;
  for (let i = 0; i < n; i++) {
    if (buf[end - n + i] !== END_COMMAND.charCodeAt(i)) return false;
  }
  return true;
}

/** `Name/version`: a product name, a slash, a version with no spaces (`Asterisk Call Manager/13.0.0`). */
const BANNER = /^[A-Za-z][\w .-]*\/(\d[\w.-]*)$/;

function parseBanner(line: string): Banner {
  const m = BANNER.exec(line);
  if (!m) {
    throw new RemoteProtocolError(
      `expected an AMI banner such as "Asterisk Call Manager/13.0.0", got ${
        JSON.stringify(line.slice(0, 80))
      }`,
    );
  }
  return { type: "banner", line, protocolVersion: m[1] };
}

/** A legacy `Response: Follows`: headers, then the raw body up to `--END COMMAND--`. */
function buildFollows(text: string): AmiMessage {
  const headers: Header[] = [];
  const body: string[] = [];
  let inBody = false;
  let done = false;
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (let line of lines) {
    if (line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1);
    if (!done && !inBody && headers.length > 0 && !isFollowsHeader(line)) inBody = true;
    if (inBody) {
      if (line.endsWith(END_COMMAND)) {
        const rest = line.slice(0, line.length - END_COMMAND.length);
        if (rest.length > 0) body.push(rest);
        inBody = false;
        done = true;
      } else body.push(line);
      continue;
    }
    const split = splitText(line);
    headers.push(...split.headers);
    body.push(...split.body);
  }
  return new AmiMessage(headers, body);
}

/** In a legacy Follows response, the header lines that come before the raw body. */
function isFollowsHeader(line: string): boolean {
  const colon = line.indexOf(":");
  if (colon < 0) return false;
  const key = line.slice(0, colon).toLowerCase();
  return key === "actionid" || key === "privilege" || key === "message";
}
