/**
 * A real `nats-server` for one test file: JetStream on, a temporary store,
 * a free loopback port; stopped (and its store removed) by `stop()`. When
 * the binary is missing the start fails with one line saying how to
 * install it: a test that needs NATS never skips silently.
 *
 * @module
 */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A running server. */
export interface NatsServer {
  /** `127.0.0.1:<port>`. */
  readonly url: string;
  /** The port. */
  readonly port: number;
  /** The store and config folder. */
  readonly dir: string;
  /** The child process. */
  readonly process: ChildProcess;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
  /** Stops the server but keeps its store (for {@link startNatsServer} `dir`). */
  kill(): Promise<void>;
}

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** Extra config text (accounts, users, permissions); JetStream's block is added. */
  readonly config?: string;
  /** Reuse a folder (a restart on the same store); default a new temporary one. */
  readonly dir?: string;
  /** Reuse a port (a restart); default a free one. */
  readonly port?: number;
  /** The whole config instead (listen and JetStream included), from the port and store folder. */
  readonly fullConfig?: (port: number, storeDir: string) => string;
  /** How long to wait for the server to be ready, ms. Default 10,000. */
  readonly readyTimeoutMs?: number;
}

/** The one-line error when the binary is missing. */
export const NATS_MISSING =
  "nats-server is not installed: run `apt-get update && apt-get install -y nats-server` (the gateway tests need it)";

/**
 * Checks the binary is there.
 *
 * @throws {Error} {@link NATS_MISSING} when it is not
 */
export function requireNatsServer(): void {
  try {
    execFileSync("nats-server", ["--version"], { stdio: "pipe", timeout: 10_000 });
  } catch {
    throw new Error(NATS_MISSING);
  }
}

/**
 * A free loopback port.
 *
 * @returns the port
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a server and waits until it accepts clients.
 *
 * @param options config, folder, port
 * @returns the running server
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  requireNatsServer();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "amikit-nats-"));
  const port = options.port ?? await freePort();
  const conf = join(dir, "server.conf");
  const store = join(dir, "js");
  writeFileSync(
    conf,
    options.fullConfig !== undefined
      ? options.fullConfig(port, store)
      : `listen: "127.0.0.1:${port}"\n` +
        `jetstream { store_dir: ${JSON.stringify(store)}, max_mem: 256MB, max_file: 4GB }\n` +
        (options.config ?? ""),
  );

  const child = spawn("nats-server", ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`nats-server did not start within 10 s:\n${log}`)),
      options.readyTimeoutMs ?? 10_000,
    );
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.length > 20_000) log = log.slice(-20_000);
      if (log.includes("Server is ready")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}) before it was ready:\n${log}`));
    });
  });
  await ready;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  const kill = async () => {
    child.kill("SIGKILL");
    await exited;
  };
  return {
    url: `127.0.0.1:${port}`,
    port,
    dir,
    process: child,
    kill,
    async stop() {
      await kill();
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
