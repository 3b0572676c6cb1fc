/**
 * A bounded, non-blocking text writer for stdout and stderr, shared by the
 * log sink and the JSON event output, and a coalescing drop reporter.
 *
 * `offer()` never writes: it appends to a bounded buffer and returns at
 * once; the buffer is written after the current task, one write at a time,
 * by an asynchronous write (`process.stdout.write` with its callback, or
 * `Deno.stdout.write`, since Deno's `node:process` streams write
 * synchronously and block on a full pipe). When the reader is slow, the
 * buffer fills and further text is dropped and counted, so the data path
 * never waits for the terminal or the pipe.
 *
 * @module
 */

/** Writes one chunk; resolves when the runtime has taken it. */
export type ChunkWriter = (chunk: string) => Promise<void>;

interface DenoWriter {
  write(p: Uint8Array): Promise<number>;
}
interface DenoLike {
  stdout: DenoWriter;
  stderr: DenoWriter;
  unrefTimer(id: number): void;
}

const deno = (globalThis as { Deno?: DenoLike }).Deno;

/**
 * An asynchronous writer to the process's stdout or stderr.
 *
 * @param stream which stream
 * @returns the writer
 */
export function stdioWriter(stream: "stdout" | "stderr"): ChunkWriter {
  if (deno !== undefined) {
    const target = deno[stream];
    const encoder = new TextEncoder();
    return async (chunk) => {
      let bytes = encoder.encode(chunk);
      while (bytes.length > 0) {
        const n = await target.write(bytes);
        bytes = bytes.subarray(n);
      }
    };
  }
  const target = stream === "stdout" ? process.stdout : process.stderr;
  // Without a listener an EPIPE would be thrown at the process; the write's
  // callback reports the error to the writer instead.
  if (target.listenerCount("error") === 0) target.on("error", () => {});
  return (chunk) =>
    new Promise<void>((resolve, reject) => {
      target.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
}

/**
 * Lets a timer not keep the process alive, on every runtime.
 *
 * @param timer what `setTimeout` or `setInterval` returned
 */
export function unrefTimer(timer: unknown): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer) {
    (timer as { unref(): void }).unref();
  } else if (typeof timer === "number" && deno !== undefined) {
    deno.unrefTimer(timer);
  }
}

/** Options of a {@link BoundedWriter}. */
export interface BoundedWriterOptions {
  /** Most characters buffered and not yet written; beyond, text is dropped. Default 1 MiB. */
  readonly maxBufferedChars?: number;
  /** Most characters handed to one write. Default 64 KiB. */
  readonly maxChunkChars?: number;
  /** Called once when a write fails (e.g. EPIPE); everything after is dropped. */
  readonly onError?: (error: unknown) => void;
}

/** Counters of a {@link BoundedWriter}. */
export interface BoundedWriterStats {
  /** Texts accepted into the buffer. */
  readonly accepted: number;
  /** Texts dropped because the buffer was full or the stream failed. */
  readonly dropped: number;
  /** Characters written so far. */
  readonly writtenChars: number;
  /** Characters waiting in the buffer (including a write in flight). */
  readonly bufferedChars: number;
  /** Whether the stream failed (then everything is dropped). */
  readonly failed: boolean;
}

/** A bounded buffer in front of an asynchronous writer; see the module doc. */
export class BoundedWriter {
  readonly #write: ChunkWriter;
  readonly #max: number;
  readonly #maxChunk: number;
  readonly #onError?: (error: unknown) => void;
  #queue: string[] = [];
  #queuedChars = 0;
  #inFlightChars = 0;
  #writing = false;
  #scheduled = false;
  #failed = false;
  #accepted = 0;
  #dropped = 0;
  #writtenChars = 0;
  #idleWaiters: (() => void)[] = [];

  /**
   * @param write the asynchronous writer (e.g. {@link stdioWriter})
   * @param options bounds and error callback
   */
  constructor(write: ChunkWriter, options: BoundedWriterOptions = {}) {
    this.#write = write;
    this.#max = options.maxBufferedChars ?? 1 << 20;
    this.#maxChunk = options.maxChunkChars ?? 1 << 16;
    this.#onError = options.onError;
  }

  /**
   * Appends text if it fits; never waits and never writes synchronously.
   *
   * @param text the text (usually one line with its `\n`)
   * @param force accept even over the bound (for one small summary line)
   * @returns `true` when accepted, `false` when dropped (and counted)
   */
  offer(text: string, force = false): boolean {
    if (
      this.#failed ||
      (!force && this.#queuedChars + this.#inFlightChars + text.length > this.#max)
    ) {
      this.#dropped++;
      return false;
    }
    this.#accepted++;
    this.#queue.push(text);
    this.#queuedChars += text.length;
    if (!this.#writing && !this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#pump());
    }
    return true;
  }

  /** The counters. */
  stats(): BoundedWriterStats {
    return {
      accepted: this.#accepted,
      dropped: this.#dropped,
      writtenChars: this.#writtenChars,
      bufferedChars: this.#queuedChars + this.#inFlightChars,
      failed: this.#failed,
    };
  }

  /**
   * Waits until everything buffered is written, at most `timeoutMs`.
   *
   * @param timeoutMs the longest wait
   * @returns `true` when drained, `false` on timeout or failure
   */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.#failed) return Promise.resolve(false);
    if (!this.#writing && !this.#scheduled && this.#queue.length === 0) {
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(!this.#failed);
      });
    });
  }

  async #pump(): Promise<void> {
    this.#scheduled = false;
    if (this.#writing) return;
    this.#writing = true;
    while (this.#queue.length > 0 && !this.#failed) {
      let chunk = "";
      let n = 0;
      while (
        n < this.#queue.length &&
        (n === 0 || chunk.length + this.#queue[n].length <= this.#maxChunk)
      ) {
        chunk += this.#queue[n++];
      }
      this.#queue.splice(0, n);
      this.#queuedChars -= chunk.length;
      this.#inFlightChars = chunk.length;
      try {
        await this.#write(chunk);
        this.#writtenChars += chunk.length;
      } catch (error) {
        this.#failed = true;
        this.#dropped += this.#queue.length;
        this.#queue = [];
        this.#queuedChars = 0;
        this.#onError?.(error);
      }
      this.#inFlightChars = 0;
    }
    this.#writing = false;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** Options of a {@link DropReporter}. */
export interface DropReporterOptions {
  /** Shortest time between two reports, ms. Default 5,000. */
  readonly intervalMs?: number;
}

/**
 * Coalesces drops into at most one report per interval: the first drop arms
 * one timer; when it fires, the report carries the drops since the last
 * report and the total. No timer runs while nothing is dropped.
 */
export class DropReporter {
  readonly #report: (sinceLast: number, total: number) => void;
  readonly #interval: number;
  #pending = 0;
  #total = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param report called with the drops since the last report and the total
   * @param options the interval
   */
  constructor(
    report: (sinceLast: number, total: number) => void,
    options: DropReporterOptions = {},
  ) {
    this.#report = report;
    this.#interval = options.intervalMs ?? 5000;
  }

  /**
   * Counts drops; arms the report timer if it is not armed.
   *
   * @param count how many were dropped
   */
  note(count = 1): void {
    this.#pending += count;
    this.#total += count;
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#fire(), this.#interval);
      unrefTimer(this.#timer);
    }
  }

  /** Drops counted in total. */
  get total(): number {
    return this.#total;
  }

  /** Reports what is pending now (at exit) and stops the timer. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending > 0) {
      const n = this.#pending;
      this.#pending = 0;
      this.#report(n, this.#total);
    }
  }

  #fire(): void {
    this.#timer = undefined;
    const n = this.#pending;
    this.#pending = 0;
    if (n > 0) this.#report(n, this.#total);
  }
}
