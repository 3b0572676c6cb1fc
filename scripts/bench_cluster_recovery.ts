/**
 * How long a live node waits behind dead ones: a cluster of N refusing nodes
 * listed before one live node, with the default gate (20 attempts/s, 1 per
 * node per second, 32 at once) and the default backoff, on simulated time
 * over the in-memory network of the tests. Reports the live node's first
 * `ready`, and how long it takes to be ready again after its server drops
 * it at t = 120 s (the dead nodes are then deep in their backoff), against
 * the delay its own backoff asked for. Simulated time: the figures are the
 * policy's, not the machine's, and the same on every run and runtime.
 *
 * Run: `deno run -A scripts/bench_cluster_recovery.ts` (`bun` works too).
 *
 * @module
 */

import { ManualClock } from "../testing/clock.ts";
import { createClusterWith } from "../client/cluster.ts";
import { advance, MemoryNet } from "../tests/_memory_net.ts";
import { isMain } from "./_main.ts";

/** One row of the benchmark. */
export interface RecoveryRow {
  /** Dead nodes in front of the live one. */
  dead: number;
  /** Simulated ms to the live node's first `ready`. */
  firstReadyMs: number;
  /** Simulated ms from the drop to `ready` again. */
  recoveryMs: number;
  /** The delay the live node's backoff asked for after the drop, ms. */
  backoffMs: number;
}

/**
 * Runs one configuration.
 *
 * @param dead refusing nodes listed before the live one
 * @returns the live node's figures
 */
export async function recovery(dead: number): Promise<RecoveryRow> {
  const clock = new ManualClock();
  const net = new MemoryNet(() => clock.now());
  const nodes: Record<string, { host: string }> = {};
  for (let i = 0; i < dead; i++) {
    nodes[`dead${i}`] = { host: `dead${i}` };
    net.schedule.set(`dead${i}`, Array(100_000).fill("refuse"));
  }
  nodes.live = { host: "live" };
  let seed = 42;
  const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const cluster = createClusterWith(net.connector, {
    clock,
    defaults: { username: "u", secret: "s", keepaliveIdleMs: 0, reconnect: { random } },
    nodes,
  });
  let readyAt: number[] = [];
  let backoffMs = 0;
  cluster.onStateChange((node, change) => {
    if (node !== "live") return;
    if (change.state === "ready") readyAt.push(clock.now());
    if (change.state === "reconnecting" && change.delayMs !== undefined) backoffMs = change.delayMs;
  });
  while (readyAt.length === 0 && clock.now() < 600_000) await advance(clock, 100);
  const firstReadyMs = readyAt[0] ?? Infinity;
  await advance(clock, Math.max(0, 120_000 - clock.now()));
  readyAt = [];
  const dropAt = clock.now();
  for (const c of net.openConns("live")) c.close();
  while (readyAt.length === 0 && clock.now() < dropAt + 600_000) await advance(clock, 100);
  cluster.destroy();
  return { dead, firstReadyMs, recoveryMs: (readyAt[0] ?? Infinity) - dropAt, backoffMs };
}

if (isMain(import.meta)) {
  console.log("| dead nodes in front | first ready | ready again after a drop | its own backoff |");
  console.log("|---:|---:|---:|---:|");
  for (const dead of [0, 200, 1_000]) {
    const r = await recovery(dead);
    const s = (ms: number): string => `${(ms / 1_000).toFixed(1)} s`;
    console.log(`| ${dead} | ${s(r.firstReadyMs)} | ${s(r.recoveryMs)} | ${s(r.backoffMs)} |`);
  }
}
