/**
 * Helpers for the client tests: a simulator per test, client options for
 * it, a port that refuses, and bounded waits.
 *
 * @module
 */

import * as net from "node:net";
import { AmiSimulator, type SimulatorOptions } from "../testing/mod.ts";
import type { ClientOptions } from "../client/mod.ts";
import type { TransportConnector } from "../client/transport.ts";

/** Starts a simulator, runs `fn`, always stops it. */
export async function withSim<T>(
  fn: (sim: AmiSimulator) => Promise<T>,
  options: SimulatorOptions = {},
): Promise<T> {
  const sim = await AmiSimulator.start({ loginFailureDelayMs: 20, ...options });
  try {
    return await fn(sim);
  } finally {
    await sim.stop();
  }
}

/** Client options for a simulator: admin/amp111, keepalive off, fast reconnect. */
export function simOptions(sim: AmiSimulator, over: Partial<ClientOptions> = {}): ClientOptions {
  return {
    host: "127.0.0.1",
    port: sim.port,
    username: "admin",
    secret: "amp111",
    keepaliveIdleMs: 0,
    reconnect: { minDelayMs: 20, maxDelayMs: 200, stableAfterMs: 1_000 },
    ...over,
  };
}

/** A loopback port with nothing listening (connections are refused). */
export async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Rejects when `promise` takes longer than `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls `predicate` every 5 ms until true; rejects after `ms`. */
export async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a recording connector saw on one transport. */
export interface RecordedTransport {
  /** Bytes passed on to the socket, decoded. */
  written: string;
  /** The same, one entry per write. */
  writes: string[];
  /** Bytes the client handed over while blocked (never passed on). */
  held: string;
  /** While true, writes are held and `write` returns `false` (a socket that stopped taking bytes). */
  blocked: boolean;
}

/**
 * Wraps a connector and records every transport's writes; a blocked
 * transport holds what it is given (as a full kernel buffer would).
 */
export function recordingConnector(
  inner: TransportConnector,
): { connector: TransportConnector; transports: RecordedTransport[] } {
  const transports: RecordedTransport[] = [];
  const decoder = new TextDecoder();
  const connector: TransportConnector = async (options, handlers) => {
    const t = await inner(options, handlers);
    const rec: RecordedTransport = { written: "", writes: [], held: "", blocked: false };
    transports.push(rec);
    return {
      write(bytes) {
        if (rec.blocked) {
          rec.held += decoder.decode(bytes);
          return false;
        }
        const text = decoder.decode(bytes);
        rec.written += text;
        rec.writes.push(text);
        return t.write(bytes);
      },
      end: () => t.end(),
      destroy: () => t.destroy(),
    };
  };
  return { connector, transports };
}

/** The ActionIDs in the written text. */
export function actionIds(text: string): string[] {
  return [...text.matchAll(/^ActionID: (.*)\r$/gm)].map((m) => m[1]);
}
