/**
 * Everything that touches the runtime: files (the journal with its fsync),
 * signals and the terminal. `node:` modules, which Deno, Bun and Node 20
 * all provide; the rest of the dialer never reaches past this file.
 *
 * @module
 */

import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { JournalSink } from "./journal.ts";

/**
 * Reads a whole text file.
 *
 * @param path the file
 * @returns its text
 */
export function readText(path: string): Promise<string> {
  return fs.promises.readFile(path, "utf8");
}

/**
 * Reads a text file that may not exist yet.
 *
 * @param path the file
 * @returns its text, or `""` when it does not exist
 */
export async function readTextIfAny(path: string): Promise<string> {
  try {
    return await fs.promises.readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return "";
    throw error;
  }
}

/**
 * Writes a whole text file.
 *
 * @param path the file
 * @param text its text
 */
export function writeText(path: string, text: string): Promise<void> {
  return fs.promises.writeFile(path, text, "utf8");
}

/**
 * Makes a new folder under the system's temporary folder.
 *
 * @param prefix the start of its name
 * @returns its path
 */
export function tempDir(prefix: string): Promise<string> {
  return fs.promises.mkdtemp(join(tmpdir(), prefix));
}

/** A journal file open for appending, and how to close it. */
export interface JournalFile extends JournalSink {
  /** Closes the file. */
  close(): Promise<void>;
}

function cb<T>(fn: (done: (err: Error | null, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v as T)));
}

/**
 * Opens (or creates) a journal for appending; each append is written, then
 * `fsync`ed before it resolves.
 *
 * @param path the file
 * @returns the sink
 */
export async function openJournalFile(path: string): Promise<JournalFile> {
  const fd = await cb<number>((done) => fs.open(path, "a", 0o644, done));
  let closed = false;
  return {
    async append(text: string): Promise<void> {
      if (closed) throw new Error("journal: closed");
      const bytes = new TextEncoder().encode(text);
      let off = 0;
      while (off < bytes.length) {
        off += await cb<number>((done) =>
          fs.write(fd, bytes, off, bytes.length - off, null, (err, n) => done(err, n))
        );
      }
      await cb<void>((done) => fs.fsync(fd, (err) => done(err)));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await cb<void>((done) => fs.close(fd, (err) => done(err)));
    },
  };
}

/**
 * Calls `fn` on SIGINT and SIGTERM (a second signal exits at once, code 130).
 *
 * @param fn the graceful stop
 * @returns a function that removes the handlers
 */
export function onStopSignals(fn: (signal: string) => void): () => void {
  let seen = false;
  const handler = (signal: string) => {
    if (seen) process.exit(130);
    seen = true;
    fn(signal);
  };
  const int = () => handler("SIGINT");
  const term = () => handler("SIGTERM");
  process.on("SIGINT", int);
  process.on("SIGTERM", term);
  return () => {
    process.off("SIGINT", int);
    process.off("SIGTERM", term);
  };
}

/** The terminal: a progress line that rewrites itself on a TTY, plain lines otherwise. */
export interface Terminal {
  /** Whether stdout is a terminal. */
  readonly tty: boolean;
  /**
   * Shows the progress line (on a TTY in place; else a line every `plainEveryMs`).
   *
   * @param line the text
   * @param now the clock's time, ms
   */
  progress(line: string, now: number): void;
  /**
   * Prints text on its own lines (ends a progress line first).
   *
   * @param text the text
   */
  print(text: string): void;
  /**
   * Prints to stderr.
   *
   * @param text the text
   */
  error(text: string): void;
}

/**
 * The process's terminal.
 *
 * @param plainEveryMs how often to print the progress when stdout is not a TTY
 * @returns the terminal
 */
export function terminal(plainEveryMs = 10_000): Terminal {
  const tty = process.stdout.isTTY === true;
  let inLine = false;
  let lastPlain = -Infinity;
  return {
    tty,
    progress(line: string, now: number): void {
      if (tty) {
        const width = process.stdout.columns ?? 120;
        process.stdout.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
        inLine = true;
      } else if (now - lastPlain >= plainEveryMs) {
        lastPlain = now;
        process.stdout.write(line + "\n");
      }
    },
    print(text: string): void {
      if (inLine) process.stdout.write("\r\x1b[2K");
      inLine = false;
      process.stdout.write(text + "\n");
    },
    error(text: string): void {
      if (inLine) process.stdout.write("\n");
      inLine = false;
      process.stderr.write(text + "\n");
    },
  };
}

/**
 * An environment variable.
 *
 * @param name its name
 * @returns its value, or `undefined`
 */
export function env(name: string): string | undefined {
  return process.env[name];
}

/**
 * The command-line arguments after the script.
 *
 * @returns the arguments
 */
export function argv(): string[] {
  return process.argv.slice(2);
}

/**
 * Sets the exit code and exits once output is flushed.
 *
 * @param code the exit code
 */
export function exit(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 50);
}
