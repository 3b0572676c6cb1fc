/**
 * The command's stdout: one JSON line per event (node, event name, headers
 * as `[name, value]` pairs so repeated keys and order survive), through a
 * bounded non-blocking writer. When stdout is slow, lines are dropped and
 * counted, never stalling the socket reads; drops are reported by one
 * summary per interval.
 *
 * @module
 */

import type { AmiMessage } from "../core/message.ts";
import { BoundedWriter, type ChunkWriter, DropReporter, stdioWriter } from "./_writer.ts";
import { isSecretName, REDACTED, type Redactor } from "./redact.ts";

/**
 * The JSON object written for one event.
 *
 * @example {"node":"pbx1","event":"Hangup","headers":[["Event","Hangup"],["Channel","Local/100@default-00000001;1"]]}
 */
export interface EventLine {
  /** The node the event came from. */
  readonly node: string;
  /** The event name (value of the `Event` header). */
  readonly event: string;
  /** Every header in order, repeated keys kept (or an object, with `--headers object`). */
  readonly headers: readonly (readonly [string, string])[] | HeadersObject;
}

/** How headers are written: ordered `[name, value]` pairs (default), or an object. */
export type HeadersForm = "pairs" | "object";

/** Headers as an object: one key per name, a repeated name's values as an array. */
export type HeadersObject = Record<string, string | string[]>;

/**
 * Headers in the chosen form. The object form keeps each name as first
 * spelled and puts a repeated name's values in an array, in order
 * (`{"Variable": ["a=1", "b=2"]}`), for `jq`; the pairs keep everything.
 *
 * @param headers the headers in order
 * @param form `pairs` or `object`
 * @returns the pairs as they are, or the object
 */
export function headersJson(
  headers: readonly (readonly [string, string])[],
  form: HeadersForm,
): readonly (readonly [string, string])[] | HeadersObject {
  if (form === "pairs") return headers;
  const out: HeadersObject = {};
  for (const [k, v] of headers) {
    const had = Object.hasOwn(out, k) ? out[k] : undefined;
    if (had === undefined) out[k] = v;
    else if (Array.isArray(had)) had.push(v);
    else out[k] = [had, v];
  }
  return out;
}

/**
 * Formats one event as a JSON line (without the trailing `\n`), with
 * `Secret`/`Key` headers and any registered secret redacted.
 *
 * @param node the node name
 * @param event the event
 * @param redactor the command's redactor, if any
 * @param form headers as pairs (default) or an object
 * @returns the JSON text
 */
export function eventJson(
  node: string,
  event: AmiMessage,
  redactor?: Redactor,
  form: HeadersForm = "pairs",
): string {
  let headers = event.headers;
  for (const [key] of headers) {
    if (isSecretName(key)) {
      headers = headers.map(([k, v]) => [k, isSecretName(k) ? REDACTED : v] as const);
      break;
    }
  }
  const line: EventLine = { node, event: event.name, headers: headersJson(headers, form) };
  const text = JSON.stringify(line);
  return redactor !== undefined && redactor.leaks(text)
    ? JSON.stringify(redactor.value(line))
    : text;
}

/** Options of {@link JsonOutput}. */
export interface JsonOutputOptions {
  /** Most characters buffered; beyond, lines are dropped. Default 4 MiB. */
  readonly maxBufferedChars?: number;
  /** Where lines go. Default: the process's stdout, asynchronously. */
  readonly write?: ChunkWriter;
  /** Redacts secrets from every line. */
  readonly redactor?: Redactor;
  /** Called at most once per interval with drops since the last call and in total. */
  readonly onDrops?: (sinceLast: number, total: number, bufferedChars: number) => void;
  /** Shortest time between two drop reports, ms. Default 5,000. */
  readonly dropReportIntervalMs?: number;
  /** Called once if stdout fails (e.g. closed by `head`). */
  readonly onError?: (error: unknown) => void;
  /** How event headers are written. Default `pairs`. */
  readonly headers?: HeadersForm;
}

/** Counters of the output. */
export interface JsonOutputStats {
  /** Lines accepted. */
  readonly lines: number;
  /** Lines dropped because stdout was slow or closed. */
  readonly dropped: number;
  /** Characters waiting to be written. */
  readonly bufferedChars: number;
}

/** JSON lines to stdout, bounded and non-blocking. */
export class JsonOutput {
  readonly #writer: BoundedWriter;
  readonly #reporter: DropReporter;
  readonly #redactor?: Redactor;
  readonly #form: HeadersForm;
  #lines = 0;

  /** @param options bound, writer, redactor, drop callback */
  constructor(options: JsonOutputOptions = {}) {
    this.#redactor = options.redactor;
    this.#form = options.headers ?? "pairs";
    this.#writer = new BoundedWriter(options.write ?? stdioWriter("stdout"), {
      maxBufferedChars: options.maxBufferedChars ?? 4 << 20,
      onError: options.onError,
    });
    const onDrops = options.onDrops;
    this.#reporter = new DropReporter(
      (since, total) => onDrops?.(since, total, this.#writer.stats().bufferedChars),
      { intervalMs: options.dropReportIntervalMs },
    );
  }

  /**
   * Writes one event line; returns at once.
   *
   * @param node the node name
   * @param event the event
   * @returns `false` when the line was dropped
   */
  event(node: string, event: AmiMessage): boolean {
    return this.#offer(eventJson(node, event, this.#redactor, this.#form));
  }

  /**
   * Writes any JSON value as one line (redacted); returns at once.
   *
   * @param value the value
   * @returns `false` when the line was dropped
   */
  value(value: unknown): boolean {
    const v = this.#redactor !== undefined ? this.#redactor.value(value) : value;
    return this.#offer(JSON.stringify(v));
  }

  /** The counters. */
  stats(): JsonOutputStats {
    return {
      lines: this.#lines,
      dropped: this.#reporter.total,
      bufferedChars: this.#writer.stats().bufferedChars,
    };
  }

  /**
   * Reports pending drops and waits for the buffer to drain, at most `timeoutMs`.
   *
   * @param timeoutMs the longest wait
   * @returns `true` when everything was written
   */
  flush(timeoutMs: number): Promise<boolean> {
    this.#reporter.flush();
    return this.#writer.flush(timeoutMs);
  }

  /** Whether stdout failed (e.g. closed by the reader): nothing more is written. */
  get closed(): boolean {
    return this.#writer.stats().failed;
  }

  #offer(text: string): boolean {
    if (this.#writer.offer(text + "\n")) {
      this.#lines++;
      return true;
    }
    // A closed stdout is not a slow one: nothing to report, the command stops.
    if (!this.closed) this.#reporter.note();
    return false;
  }
}
