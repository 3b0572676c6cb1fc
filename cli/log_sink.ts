/**
 * The command's LogTape sink: redacts every record, formats it as one line
 * and hands it to a bounded non-blocking stderr writer. A call to the sink
 * returns at once; when stderr is slow the buffer fills and records are
 * dropped, counted ({@link StderrSink.stats}) and reported by one summary
 * line per interval, never one line per drop.
 *
 * The library never configures sinks; {@link configureLogging} is what the
 * command calls.
 *
 * @module
 */

import {
  configure,
  getJsonLinesFormatter,
  getTextFormatter,
  type LogLevel,
  type LogRecord,
  type Sink,
} from "@logtape/logtape";
import { BoundedWriter, type ChunkWriter, DropReporter, stdioWriter } from "./_writer.ts";
import { Redactor } from "./redact.ts";

/** Options of {@link createStderrSink}. */
export interface StderrSinkOptions {
  /** Most characters buffered; beyond, records are dropped. Default 256 KiB. */
  readonly maxBufferedChars?: number;
  /** `text` (one readable line) or `json` (JSON Lines). Default `text`. */
  readonly format?: "text" | "json";
  /** The redactor (shares the command's registered secrets). Default: a new one. */
  readonly redactor?: Redactor;
  /** Where lines go. Default: the process's stderr, asynchronously. */
  readonly write?: ChunkWriter;
  /** Shortest time between two drop summaries, ms. Default 5,000. */
  readonly dropReportIntervalMs?: number;
}

/** Counters of the sink. */
export interface LogSinkStats {
  /** Records accepted. */
  readonly records: number;
  /** Records dropped because stderr was slow. */
  readonly dropped: number;
  /** Characters waiting to be written. */
  readonly bufferedChars: number;
}

/** A LogTape sink with counters, a bounded flush and disposal. */
export interface StderrSink extends Sink, AsyncDisposable {
  /** The counters. */
  stats(): LogSinkStats;
  /**
   * Reports pending drops and waits for the buffer to drain, at most `timeoutMs`.
   *
   * @param timeoutMs the longest wait
   * @returns `true` when everything was written
   */
  flush(timeoutMs: number): Promise<boolean>;
}

/**
 * Creates the non-blocking, redacting stderr sink.
 *
 * @param options bound, format, redactor, writer
 * @returns the sink
 * @example
 * const sink = createStderrSink({ redactor });
 * await configure({ sinks: { stderr: sink }, loggers: [{ category: "amikit", sinks: ["stderr"] }] });
 */
export function createStderrSink(options: StderrSinkOptions = {}): StderrSink {
  const redactor = options.redactor ?? new Redactor();
  const format = options.format === "json"
    ? getJsonLinesFormatter()
    : getTextFormatter({ timestamp: "rfc3339", value: "bare" });
  const writer = new BoundedWriter(options.write ?? stdioWriter("stderr"), {
    maxBufferedChars: options.maxBufferedChars ?? 256 * 1024,
  });
  let records = 0;
  const reporter = new DropReporter((sinceLast, total) => {
    const record: LogRecord = {
      category: ["amikit", "cli", "log"],
      level: "warning",
      message: [
        "Log records dropped (stderr slow): ",
        sinceLast,
        " since the last report, ",
        total,
        " in total",
      ],
      rawMessage:
        "Log records dropped (stderr slow): {sinceLast} since the last report, {total} in total",
      timestamp: Date.now(),
      properties: { sinceLast, total },
    };
    // One small line per interval may go over the bound: the report must get out.
    writer.offer(format(record), true);
  }, { intervalMs: options.dropReportIntervalMs });

  const sink = ((record: LogRecord): void => {
    let line: string;
    try {
      line = format(redactor.record(record));
    } catch {
      line = `${
        new Date(record.timestamp).toISOString()
      } [ERR] log record could not be formatted\n`;
    }
    if (writer.offer(line)) records++;
    else reporter.note();
  }) as StderrSink;
  sink.stats = () => ({
    records,
    dropped: reporter.total,
    bufferedChars: writer.stats().bufferedChars,
  });
  sink.flush = (timeoutMs) => {
    reporter.flush();
    return writer.flush(timeoutMs);
  };
  sink[Symbol.asyncDispose] = async () => {
    await sink.flush(1000);
  };
  return sink;
}

/** Options of {@link configureLogging}. */
export interface ConfigureLoggingOptions extends StderrSinkOptions {
  /** Lowest level written. Default `info`. */
  readonly level?: LogLevel;
}

/**
 * Configures LogTape for the command: every `amikit` category to the
 * non-blocking stderr sink at the given level, LogTape's own meta logger at
 * warnings only.
 *
 * @param options level and sink options
 * @returns the sink (for its counters and flush)
 */
export async function configureLogging(options: ConfigureLoggingOptions = {}): Promise<StderrSink> {
  const sink = createStderrSink(options);
  await configure({
    reset: true,
    sinks: { stderr: sink },
    loggers: [
      { category: ["amikit"], sinks: ["stderr"], lowestLevel: options.level ?? "info" },
      { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
    ],
  });
  return sink;
}
