/**
 * Engine throughput: actions through {@link AmiConnection} alone (send, pull
 * the bytes, feed the matching responses back, pull the settled notices), at
 * 1 and at 100 in flight, and the cost per action while 5,000 other actions
 * are pending (the deadline heap: one timer per connection, not one per
 * action). Responses are built before timing, so only the engine is measured.
 *
 * Run: `deno run -A scripts/bench_engine.ts` (or import `benchEngine`).
 *
 * @module
 */

import { AmiConnection, type ConnectionOptions } from "../core/mod.ts";
import { isMain } from "./_main.ts";

/** One measured figure. */
export interface EngineBenchRow {
  /** What was measured. */
  name: string;
  /** The figure. */
  value: number;
  /** Its unit. */
  unit: string;
}

const encoder = new TextEncoder();
const IDS = { instance: "bench", node: "n1", session: 1 };

function readyConnection(over: Partial<ConnectionOptions> = {}): AmiConnection {
  const conn = new AmiConnection({
    username: "admin",
    secret: "secret",
    ids: IDS,
    keepaliveIdleMs: 0,
    maxInFlight: 100_000,
    maxWriteBufferBytes: 64 * 1024 * 1024,
    ...over,
  }, 0);
  conn.receive(encoder.encode("Asterisk Call Manager/13.0.0\r\n"), 0);
  conn.pollTransmit();
  conn.receive(
    encoder.encode(`Response: Success\r\nActionID: bench.n1.1.1\r\nMessage: ok\r\n\r\n`),
    0,
  );
  while (conn.poll() !== undefined);
  if (conn.state !== "ready") throw new Error(`not ready: ${conn.state}`);
  return conn;
}

/** Responses for ActionID counters `first`..`first+count-1`, `batch` per chunk. */
function responses(first: number, count: number, batch: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i += batch) {
    let text = "";
    for (let j = i; j < Math.min(count, i + batch); j++) {
      text += `Response: Success\r\nActionID: bench.n1.1.${
        first + j
      }\r\nPing: Pong\r\nTimestamp: 1795782213.981938\r\n\r\n`;
    }
    out.push(encoder.encode(text));
  }
  return out;
}

const PING = { name: "Ping" } as const;

/** Runs `count` Pings through `conn`, `inFlight` at a time; returns elapsed ms. */
function pump(conn: AmiConnection, firstCounter: number, count: number, inFlight: number): number {
  const chunks = responses(firstCounter, count, inFlight);
  let settled = 0;
  let now = 1;
  const t0 = performance.now();
  for (const chunk of chunks) {
    const n = Math.min(inFlight, count - settled);
    for (let i = 0; i < n; i++) conn.send(PING, undefined, now);
    while (conn.pollTransmit() !== undefined);
    conn.receive(chunk, now);
    for (let x = conn.poll(); x !== undefined; x = conn.poll()) {
      if (x.type === "settled") {
        if (!x.outcome.ok) throw new Error("a bench action failed");
        settled++;
      }
    }
    conn.pollTimeout();
    now++;
  }
  const ms = performance.now() - t0;
  if (settled !== count) throw new Error(`settled ${settled} of ${count}`);
  return ms;
}

/**
 * Measures the engine and returns the figures.
 *
 * @returns rows of name, value and unit
 */
export function benchEngine(): Array<{ name: string; value: number; unit: string }> {
  const rows: EngineBenchRow[] = [];
  const N = 200_000;
  for (const inFlight of [1, 100]) {
    // Warm up, then measure on a fresh connection.
    pump(readyConnection(), 2, 20_000, inFlight);
    const ms = pump(readyConnection(), 2, N, inFlight);
    rows.push({
      name: `engine actions/s (${inFlight} in flight)`,
      value: N / (ms / 1000),
      unit: "actions/s",
    });
    rows.push({
      name: `engine µs per action (${inFlight} in flight)`,
      value: (ms * 1000) / N,
      unit: "µs",
    });
  }

  // 5,000 actions pending with varied deadlines, then 100-in-flight traffic on top.
  const PENDING = 5_000;
  const conn = readyConnection({ actionTimeoutMs: 3_600_000 });
  for (let i = 0; i < PENDING; i++) {
    conn.send(PING, { timeoutMs: 3_600_000 + ((i * 7919) % 100_000) }, 0);
  }
  while (conn.pollTransmit() !== undefined);
  const M = 100_000;
  const ms = pump(conn, 2 + PENDING, M, 100);
  rows.push({
    name: `engine µs per action with ${PENDING} pending (100 in flight)`,
    value: (ms * 1000) / M,
    unit: "µs",
  });
  let t0 = performance.now();
  let sink = 0;
  // Enough calls to take tens of ms: 100,000 took about 2 ms, within the clock's noise.
  const CALLS = 2_000_000;
  for (let i = 0; i < CALLS; i++) sink += conn.pollTimeout() ?? 0;
  rows.push({
    name: `pollTimeout with ${PENDING} pending`,
    value: ((performance.now() - t0) * 1000) / CALLS,
    unit: "µs",
  });
  if (sink === 0) throw new Error("no deadline");
  // Expire all 5,000 in one handleTimeout.
  t0 = performance.now();
  conn.handleTimeout(3_600_000 + 100_000);
  const expireMs = performance.now() - t0;
  let timedOut = 0;
  for (let x = conn.poll(); x !== undefined; x = conn.poll()) if (x.type === "settled") timedOut++;
  if (timedOut !== PENDING) throw new Error(`timed out ${timedOut} of ${PENDING}`);
  rows.push({
    name: `expire ${PENDING} pending in one handleTimeout, per action`,
    value: (expireMs * 1000) / PENDING,
    unit: "µs",
  });
  return rows;
}

if (isMain(import.meta)) {
  for (const r of benchEngine()) {
    const v = r.value >= 1000 ? Math.round(r.value).toLocaleString("en") : r.value.toFixed(3);
    console.log(`${r.name.padEnd(62)} ${v.padStart(12)} ${r.unit}`);
  }
}
