/**
 * Test helpers for spawned processes: the command for a script under the
 * runtime the test runs on (`deno run -A x.ts`, `bun x.ts`, or
 * `node x.js` from the npm build), and a bounded run that collects output.
 *
 * @module
 */

import { type ChildProcess, spawn, type StdioOptions } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The runtime the tests run on. */
export const RUNTIME: "deno" | "bun" | "node" =
  (globalThis as { Deno?: unknown }).Deno !== undefined
    ? "deno"
    : (globalThis as { Bun?: unknown }).Bun !== undefined
    ? "bun"
    : "node";

const EXT = import.meta.url.endsWith(".ts") ? "ts" : "js";

/**
 * The argv that runs a script of this project on the current runtime.
 *
 * @param path the script relative to the project root, without extension
 *   (e.g. `cli/main`); under Node it is the built `.js` next to these tests
 * @returns `[command, ...args]`
 */
export function scriptCommand(path: string): [string, string[]] {
  const file = fileURLToPath(new URL(`../${path}.${EXT}`, import.meta.url));
  switch (RUNTIME) {
    case "deno":
      return [process.execPath, ["run", "-A", "--quiet", file]];
    case "bun":
      return [process.execPath, [file]];
    default:
      return [process.execPath, [file]];
  }
}

/** Options of {@link runScript}. */
export interface RunOptions {
  /** Extra environment (merged over a minimal copy of the current one). */
  readonly env?: Record<string, string | undefined>;
  /** Hard limit; the child is killed after it. Default 20,000 ms. */
  readonly timeoutMs?: number;
  /** stdio for stdin; default `ignore`. */
  readonly stdin?: "ignore" | "pipe";
}

/** What a finished child gave. */
export interface RunResult {
  /** Exit code (null when killed). */
  readonly code: number | null;
  /** The signal that ended it, if any. */
  readonly signal: NodeJS.Signals | null;
  /** All of stdout. */
  readonly stdout: string;
  /** All of stderr. */
  readonly stderr: string;
  /** Whether the time limit killed it. */
  readonly timedOut: boolean;
}

/** The environment for children: the current one without AMI_* variables. */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("AMI_")) env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  env.NO_COLOR = "1";
  return env;
}

/**
 * Starts a script; the caller drives it (signals) and awaits `done`.
 *
 * @param path the script (see {@link scriptCommand})
 * @param args its arguments
 * @param options environment, limit
 * @returns the child and a promise of its result
 */
export function startScript(
  path: string,
  args: readonly string[],
  options: RunOptions = {},
): { child: ChildProcess; done: Promise<RunResult>; stdout: () => string; stderr: () => string } {
  const [cmd, pre] = scriptCommand(path);
  const stdio: StdioOptions = [options.stdin ?? "ignore", "pipe", "pipe"];
  const cwd = fileURLToPath(new URL("../", import.meta.url));
  const child = spawn(cmd, [...pre, ...args], { stdio, env: baseEnv(options.env), cwd });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 20_000);
  const done = new Promise<RunResult>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err, timedOut });
    });
  });
  return { child, done, stdout: () => out, stderr: () => err };
}

/**
 * Runs a script to its end (bounded) and collects its output.
 *
 * @param path the script (see {@link scriptCommand})
 * @param args its arguments
 * @param options environment, limit
 * @returns exit code, output, whether it timed out
 */
export function runScript(
  path: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return startScript(path, args, options).done;
}

/**
 * Waits until `predicate` holds, polling every 20 ms, at most `timeoutMs`.
 *
 * @param predicate the condition
 * @param timeoutMs the limit
 * @param what what is awaited, for the error
 */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * CPU time (user + system) a process has used, in ms, from `/proc` (Linux);
 * `undefined` where `/proc` is not available.
 *
 * @param pid the process id
 * @returns milliseconds of CPU time, or `undefined`
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) in parentheses.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return ((utime + stime) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}
