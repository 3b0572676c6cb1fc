/**
 * The incremental AMI parser: feed byte chunks of any size, get the banner
 * and then whole messages. Bounded: a line, a message and a header count
 * each have a cap. Crossing one is a {@link RemoteProtocolError}, or, with
 * {@link ParserOptions.onOversized}, the message is skipped to its end
 * without being buffered and reported, and parsing goes on after it.
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
  /**
   * Called for each message that crosses a bound, once its end has been
   * read. Set, the parser skips such a message to its terminating blank
   * line without buffering it (it keeps the first bytes of each line only,
   * to read the first line and the ActionID), reports it here, in stream
   * order with the items, and goes on parsing. Not set (the default),
   * crossing a bound throws and the parser stays failed. The banner line is
   * never skipped: before it the stream is not known to be AMI.
   */
  onOversized?: (message: OversizedMessage) => void;
}

/**
 * A message skipped unread because it crossed a bound (see
 * {@link ParserOptions.onOversized}). What is known of it comes from the
 * first bytes of its lines: its kind and name from the first line, its
 * ActionID from the first `ActionID:` line (wherever it is, as for a
 * message parsed whole; in a legacy `Response: Follows`, only before the
 * raw body).
 */
export interface OversizedMessage {
  /**
   * A bound the message crossed: `maxLineBytes` if any line is over it, else
   * `maxHeaders` if it has too many lines, else `maxMessageBytes` (decided on
   * the whole message, so the same whatever the chunking).
   */
  readonly bound: ParserBound;
  /** Its configured limit (bytes, or lines for `maxHeaders`). */
  readonly limit: number;
  /** What the bound measures, for the whole message: its longest line's bytes, its line count or its bytes. */
  readonly actual: number;
  /** The whole message, in bytes, line endings included (the blank line that ends it excluded). */
  readonly bytes: number;
  /** From the first line's key: `Response`, `Event`, or anything else. */
  readonly kind: "response" | "event" | "other";
  /** The first line's value: the response status or the event name (cut to {@link OVERSIZED_LINE_HEAD} bytes). */
  readonly name: string;
  /** The message's ActionID, when it has one that could be read. */
  readonly actionId: string | undefined;
  /**
   * The message has an `ActionID:` line too long to read (over
   * {@link OVERSIZED_LINE_HEAD} bytes or `maxLineBytes`): its owner cannot be known.
   */
  readonly actionIdUnreadable: boolean;
}

/**
 * How many bytes of each line of a skipped message are kept (or
 * `maxLineBytes`, if smaller): Asterisk reads lines of at most 1,024 bytes,
 * so an ActionID it echoes fits.
 */
export const OVERSIZED_LINE_HEAD = 1024;

/** The documented default bounds. Large enough for `Command` output of a busy server. */
export const DEFAULT_PARSER_LIMITS: Readonly<
  Required<Omit<ParserOptions, "expectBanner" | "onOversized">>
> = {
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
const TAIL = 16; // bytes kept of the end of each skipped line: "--END COMMAND--" plus a CR
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
  readonly #onOversized: ((message: OversizedMessage) => void) | undefined;
  #skip: Skip | undefined; // skipping an oversized message (see #skipTo)
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
    this.#onOversized = options.onOversized;
  }

  /** Bytes held for a message not yet complete (never more than a bound plus one chunk). */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Whether a partial message (or banner) is waiting for more bytes, or one is being skipped. */
  get hasPartial(): boolean {
    return this.#end > this.#start || this.#skip !== undefined;
  }

  /**
   * Feed a chunk. Each banner or message it completes is passed to `onItem`
   * in order before `push` returns; items completed before an error are
   * delivered before the error is thrown.
   *
   * @param chunk bytes as read from the socket (not retained)
   * @param onItem called once per item
   * @throws {RemoteProtocolError} when a bound is crossed (without
   *   `onOversized`, or by the banner) or the banner is not AMI's; the
   *   parser then stays failed and every later call throws it
   */
  push(chunk: Uint8Array, onItem: (item: ParsedItem) => void): void {
    if (this.#error) throw this.#error;
    try {
      if (this.#skip !== undefined) {
        const at = this.#skipTo(chunk);
        if (at < 0) return;
        chunk = chunk.subarray(at);
      }
      for (;;) {
        this.#append(chunk);
        const rest = this.#scan(onItem);
        if (rest === undefined) return;
        // A message crossed a bound: skip it from its start, then go on.
        const at = this.#skipTo(rest);
        if (at < 0) return;
        chunk = rest.subarray(at);
      }
    } catch (err) {
      if (err instanceof RemoteProtocolError) {
        this.#fail(err);
      }
      throw err;
    }
  }

  #fail(err: RemoteProtocolError): void {
    this.#error = err;
    this.#skip = undefined;
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

  /**
   * Parses the buffer. Returns the bytes of a message that crossed a bound
   * (from its first line to the end of the buffer, now emptied) when
   * oversized messages are skipped, else `undefined`.
   */
  #scan(onItem: (item: ParsedItem) => void): Uint8Array | undefined {
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
        return this.#checkPartial(end - lineStart, end - this.#start);
      }
      const contentEnd = lf > lineStart && buf[lf - 1] === CR ? lf - 1 : lf;
      const lineLen = contentEnd - lineStart;
      if (lineLen > this.#maxLine) {
        if (this.#lines === 0) this.#start = lineStart;
        return this.#over("maxLineBytes", this.#maxLine, lineLen, false);
      }
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
        return this.#over("maxHeaders", this.#maxHeaders, this.#lines, false);
      }
      const msgBytes = next - this.#start;
      if (msgBytes > this.#maxMessage) {
        return this.#over("maxMessageBytes", this.#maxMessage, msgBytes, false);
      }
      lineStart = from = next;
    }
    this.#lineStart = this.#scanFrom = lineStart;
    return undefined;
  }

  /** Checks the bounds against a line and message that are not complete yet. */
  #checkPartial(lineLen: number, msgBytes: number): Uint8Array | undefined {
    // A trailing CR may belong to the line ending, so allow one byte for it.
    if (lineLen - 1 > this.#maxLine) {
      if (this.#lines === 0) this.#start = this.#lineStart;
      return this.#over("maxLineBytes", this.#maxLine, lineLen - 1, true);
    }
    if (msgBytes > this.#maxMessage) {
      return this.#over("maxMessageBytes", this.#maxMessage, msgBytes, true);
    }
    return undefined;
  }

  /**
   * A bound was crossed: throws, or (with `onOversized`, past the banner)
   * starts skipping the message. Its bytes so far leave the buffer, which
   * starts again empty, and are returned to be skipped from the start.
   */
  #over(bound: ParserBound, limit: number, actual: number, partial: boolean): Uint8Array {
    if (this.#onOversized === undefined || this.#bannerPending) {
      this.#bound(bound, limit, actual, partial);
    }
    const rest = this.#buf.subarray(this.#start, this.#end);
    this.#buf = new Uint8Array(0);
    this.#words = new Uint32Array(0);
    this.#start = this.#end = 0;
    this.#lineStart = this.#scanFrom = 0;
    this.#lines = 0;
    this.#follows = this.#followsDone = this.#hasActionId = false;
    this.#skip = new Skip(
      this.#maxLine,
      this.#maxHeaders,
      Math.min(OVERSIZED_LINE_HEAD, this.#maxLine),
    );
    return rest;
  }

  /**
   * Skips the message being skipped through `chunk`, one line at a time,
   * keeping only the head and tail of each line. Returns where the bytes
   * after its terminating blank line start (once reported), or -1 when the
   * chunk ends before that.
   */
  #skipTo(chunk: Uint8Array): number {
    const skip = this.#skip as Skip;
    const n = chunk.length;
    let from = 0;
    while (from < n) {
      const lf = chunk.indexOf(LF, from);
      const segEnd = lf < 0 ? n : lf;
      skip.add(chunk, from, segEnd);
      this.#scanned += segEnd - from;
      if (lf < 0) return -1;
      from = lf + 1;
      if (skip.endLine()) {
        this.#skip = undefined;
        (this.#onOversized as (message: OversizedMessage) => void)(skip.report(this.#maxMessage));
        return from;
      }
    }
    return -1;
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
 * What the parser knows of a message it is skipping: each line is seen in
 * segments, of which it keeps the first `cap` bytes and the last 16 (to
 * tell an empty line, read the first line and an ActionID, and find a
 * legacy body's `--END COMMAND--`). The message ends where a message parsed
 * whole would: at an empty line, except inside a `Response: Follows` body.
 */
class Skip {
  readonly #maxLine: number;
  readonly #maxHeaders: number;
  readonly #cap: number;
  readonly #head: Uint8Array;
  readonly #tail = new Uint8Array(TAIL);
  #lineLen = 0; // bytes of the current line so far, LF excluded
  #longest = 0; // the longest line, line ending excluded
  #bytes = 0; // bytes of the message's complete lines
  #lines = 0;
  #kind: OversizedMessage["kind"] = "other";
  #name = "";
  #actionId: string | undefined;
  #actionIdUnreadable = false;
  #follows = false;
  #followsDone = false;
  #inBody = false; // past a Follows message's header lines

  constructor(maxLine: number, maxHeaders: number, cap: number) {
    this.#maxLine = maxLine;
    this.#maxHeaders = maxHeaders;
    this.#cap = cap;
    this.#head = new Uint8Array(cap);
  }

  /** Adds `chunk[from, end)` (no LF in it) to the current line. */
  add(chunk: Uint8Array, from: number, end: number): void {
    const len = end - from;
    if (len === 0) return;
    const room = this.#cap - this.#lineLen;
    if (room > 0) this.#head.set(chunk.subarray(from, from + Math.min(room, len)), this.#lineLen);
    const tail = this.#tail;
    if (len >= TAIL) tail.set(chunk.subarray(end - TAIL, end));
    else {
      tail.copyWithin(0, len);
      tail.set(chunk.subarray(from, end), TAIL - len);
    }
    this.#lineLen += len;
  }

  /** The current line ended (its LF was read); returns whether it ended the message. */
  endLine(): boolean {
    const raw = this.#lineLen;
    this.#lineLen = 0;
    const content = raw > 0 && this.#tail[TAIL - 1] === CR ? raw - 1 : raw;
    if (content > this.#longest) this.#longest = content;
    if (content === 0) {
      if (this.#lines === 0) return false; // a blank line before the message
      if (!this.#follows || this.#followsDone) return true;
    } else this.#line(content, content < raw);
    this.#lines++;
    this.#bytes += raw + 1;
    return false;
  }

  #line(content: number, cr: boolean): void {
    const head = this.#head;
    const seen = Math.min(content, this.#cap); // bytes of the content in `head`
    let colon = -1;
    for (let i = 0; i < seen; i++) {
      if (head[i] === COLON) {
        colon = i;
        break;
      }
    }
    if (this.#lines === 0) {
      if (colon === 8 && asciiLowerEquals(head, 0, "response")) this.#kind = "response";
      else if (colon === 5 && asciiLowerEquals(head, 0, "event")) this.#kind = "event";
      if (colon >= 0) {
        const at = head[colon + 1] === 32 ? colon + 2 : colon + 1;
        this.#name = at < seen ? decoder.decode(head.subarray(at, seen)) : "";
      }
      this.#follows = content === FOLLOWS.length && asciiLowerEquals(head, 0, FOLLOWS);
      return;
    }
    if (this.#follows && !this.#followsDone) {
      if (this.#inBody) {
        if (content >= END_COMMAND.length && this.#endsWithEndCommand(cr)) {
          this.#followsDone = true;
        }
        return;
      }
      // As buildFollows reads it: the header lines, then the raw body.
      if (
        !(colon === 8 && isActionIdKey(head, 0)) &&
        !(colon === 9 && asciiLowerEquals(head, 0, "privilege")) &&
        !(colon === 7 && asciiLowerEquals(head, 0, "message"))
      ) {
        this.#inBody = true;
        if (content >= END_COMMAND.length && this.#endsWithEndCommand(cr)) {
          this.#followsDone = true;
        }
        return;
      }
    }
    if (
      this.#actionId === undefined && !this.#actionIdUnreadable && seen >= 9 && head[8] === COLON &&
      isActionIdKey(head, 0)
    ) {
      if (content > this.#cap) this.#actionIdUnreadable = true;
      else {
        const at = content > 9 && head[9] === 32 ? 10 : 9;
        this.#actionId = decoder.decode(head.subarray(at, content));
      }
    }
  }

  /** Whether the line (of 15 bytes or more, CR excluded) ends with `--END COMMAND--`. */
  #endsWithEndCommand(cr: boolean): boolean {
    // The tail holds the line's last 16 bytes: the content's last 15 are
    // at 0..14 when a CR follows, else at 1..15.
    const at = cr ? 0 : 1;
    return endsWithEndCommand(this.#tail, at, at + END_COMMAND.length);
  }

  /**
   * The report, once the message is over. Which bound it names is decided
   * on the whole message (line, then line count, then size), so that it
   * does not depend on how the bytes were chunked.
   */
  report(maxMessage: number): OversizedMessage {
    const [bound, limit, actual]: [ParserBound, number, number] = this.#longest > this.#maxLine
      ? ["maxLineBytes", this.#maxLine, this.#longest]
      : this.#lines > this.#maxHeaders
      ? ["maxHeaders", this.#maxHeaders, this.#lines]
      : ["maxMessageBytes", maxMessage, this.#bytes];
    return {
      bound,
      limit,
      actual,
      bytes: this.#bytes,
      kind: this.#kind,
      name: this.#name,
      actionId: this.#actionId,
      actionIdUnreadable: this.#actionIdUnreadable,
    };
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
