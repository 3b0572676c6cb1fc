/**
 * Process plumbing shared by the subcommands: signals, exit with a bounded
 * flush of the log sink, and the exit codes.
 *
 * @module
 */

import type { StderrSink } from "./log_sink.ts";

/** Exit codes: success, failure (action failed, login refused, cannot connect), usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Calls `handler` on the first SIGINT or SIGTERM; a second one exits at
 * once with code 1.
 *
 * @param handler what to do (e.g. log off, flush, exit 0)
 * @returns a function that removes the handlers
 */
export function onTerminate(handler: (signal: string) => void): () => void {
  let seen = false;
  const listener = (signal: string): void => {
    if (seen) process.exit(EXIT.failed);
    seen = true;
    handler(signal);
  };
  process.on("SIGINT", listener);
  process.on("SIGTERM", listener);
  return () => {
    process.off("SIGINT", listener);
    process.off("SIGTERM", listener);
  };
}

/**
 * Flushes the log sink (bounded) and exits.
 *
 * @param code the exit code
 * @param sink the log sink to flush, if configured
 * @param flushMs the longest wait for stderr
 */
export async function exitAfterFlush(
  code: number,
  sink: StderrSink | undefined,
  flushMs = 1_000,
): Promise<never> {
  if (sink !== undefined) await sink.flush(flushMs);
  process.exit(code);
}

/**
 * Writes a line to stderr (for messages outside logging: usage errors,
 * fatal errors), without waiting.
 *
 * @param line the text, without its line ending
 */
export function stderrLine(line: string): void {
  process.stderr.write(line + "\n");
}
