/**
 * Benchmark of the simulator's flood mode: MB/s delivered to a client that
 * only counts bytes, against a bare `node:net` writer of the same
 * pre-serialised bytes, in the same run.
 *
 * Run: `deno run -A scripts/bench_simulator.ts`, `bun scripts/bench_simulator.ts`,
 * or on Node from the build (`node npm/esm/scripts/bench_simulator.js`).
 *
 * @module
 */

import * as net from "node:net";
import { AmiSimulator, floodChunks } from "../testing/mod.ts";
import { isMain } from "./_main.ts";

const COUNT = 100_000;

/** A client socket that counts received bytes and can wait for a total. */
function countingClient(
  port: number,
): Promise<{ received: () => number; wait: (n: number) => Promise<void>; close: () => void }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port });
    let got = 0;
    let waiter: { n: number; resolve: () => void } | undefined;
    s.on("data", (c: Uint8Array) => {
      got += c.length;
      if (waiter && got >= waiter.n) {
        waiter.resolve();
        waiter = undefined;
      }
    });
    s.on("error", reject);
    s.on("connect", () =>
      resolve({
        received: () => got,
        wait: (n) =>
          got >= n ? Promise.resolve() : new Promise<void>((r) => (waiter = { n, resolve: r })),
        close: () => s.destroy(),
        // deno-lint-ignore no-explicit-any
        ...({ socket: s } as any),
      }));
  });
}

async function simulatorFlood(): Promise<number> {
  const sim = await AmiSimulator.start({ writeTimeoutMs: 0 });
  try {
    const c = await countingClient(sim.port);
    // deno-lint-ignore no-explicit-any
    const sock = (c as any).socket as net.Socket;
    sock.write("Action: Login\r\nUsername: admin\r\nSecret: amp111\r\nEvents: on\r\n\r\n");
    while (sim.stats.logins === 0 || c.received() < 300) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    const base = c.received();
    const t0 = performance.now();
    const bytes = await sim.flood({ count: COUNT });
    await c.wait(base + bytes);
    const s = (performance.now() - t0) / 1000;
    c.close();
    return bytes / 1e6 / s;
  } finally {
    await sim.stop();
  }
}

async function bareWriter(): Promise<number> {
  const { chunks, bytes } = floodChunks({ count: COUNT });
  let t0 = 0;
  const server = net.createServer(async (s) => {
    s.on("error", () => {});
    t0 = performance.now();
    for (const chunk of chunks) {
      if (!s.write(chunk)) await new Promise((r) => s.once("drain", r));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const c = await countingClient((server.address() as net.AddressInfo).port);
  await c.wait(bytes);
  const s = (performance.now() - t0) / 1000;
  c.close();
  await new Promise<void>((r) => server.close(() => r()));
  return bytes / 1e6 / s;
}

/**
 * Measures the flood and the bare writer (best of 3 each).
 *
 * @returns the figures
 */
export async function benchSimulator(): Promise<
  Array<{ name: string; value: number; unit: string }>
> {
  let flood = 0;
  let bare = 0;
  for (let i = 0; i < 3; i++) {
    bare = Math.max(bare, await bareWriter());
    flood = Math.max(flood, await simulatorFlood());
  }
  return [
    { name: "simulator flood (100k events)", value: Math.round(flood), unit: "MB/s" },
    { name: "bare node:net writer, same bytes", value: Math.round(bare), unit: "MB/s" },
    { name: "flood / bare", value: Math.round((flood / bare) * 100), unit: "%" },
  ];
}

if (isMain(import.meta)) {
  for (const r of await benchSimulator()) console.log(`${r.name}: ${r.value} ${r.unit}`);
}
