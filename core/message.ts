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

/** One AMI message (a block of header lines ended by an empty line). */
export class AmiMessage {
  /** The kind of message, from its first header. */
  readonly type: MessageType;
  /** The headers in the order received; repeated names are kept. */
  readonly headers: readonly Header[];
  /**
   * Lines that are not headers: the body of a legacy `Response: Follows`
   * (without `--END COMMAND--`), and any line without a colon found inside a
   * message, kept verbatim in order rather than dropped.
   */
  readonly body: readonly string[];

  /**
   * Creates a message.
   *
   * @param headers the headers, in order
   * @param body non-header lines (see {@link AmiMessage.body})
   */
  constructor(headers: readonly Header[], body: readonly string[] = []) {
    this.headers = headers;
    this.body = body;
    this.type = classify(headers[0]?.[0]);
  }

  /** The first header's value: the event name, response status or action name. */
  get name(): string {
    return this.headers[0]?.[1] ?? "";
  }

  /** The `ActionID` header, if present. */
  get actionId(): string | undefined {
    return this.get("ActionID");
  }

  /**
   * The first value of a header, matched case-insensitively.
   *
   * @param name the header name
   * @returns the value, or `undefined` when absent
   * @example msg.get("channel")
   */
  get(name: string): string | undefined {
    const h = this.headers;
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
