/**
 * Soak: does a long-running client keep a flat heap? One client keeps 100
 * Pings in flight without pause (against the Ping responder of the
 * benchmark), plus five slow actions answered after 50 ms each, staggered
 * so that pending actions never drain to none (as with long Originates in
 * a dialer); another client takes floods of events from the simulator.
 * Every 200,000 actions and 200,000 events make a round, and the heap is
 * measured after a full garbage collection at the end of every round, with
 * the actions still in flight. A leak shows as growth from round to round;
 * compiled code settles in the first rounds, so growth is judged from the
 * third round on.
 *
 * Run: `node --expose-gc npm/esm/scripts/soak.js`,
 * `deno run -A --v8-flags=--expose-gc scripts/soak.ts` or
 * `bun scripts/soak.ts`; `SOAK_ROUNDS` (default 10) sets the rounds.
 * Exits 1 when the heap grew more than 1 MB from the third round to the
 * last.
 *
 * @module
 */

import process from "node:process";
import { connect } from "../mod.ts";
import { AmiSimulator } from "../testing/mod.ts";
import { startPingResponder } from "./_ping_responder.ts";
import { isMain } from "./_main.ts";

const PER_ROUND = 200_000;
const IN_FLIGHT = 100;

/** A full collection, where the runtime offers one. */
function collector(): (() => void) | undefined {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun !== undefined) return () => g.Bun!.gc(true);
  const gc = g.gc;
  return gc === undefined ? undefined : () => {
    gc();
    gc();
  };
}

/** What one soak run measured: heap after GC per round, MB. */
export interface SoakResult {
  /** Heap used after a full collection at the end of each round, MB. */
  readonly heapMb: number[];
  /** Growth from the third round to the last, MB. */
  readonly growthMb: number;
}

/**
 * Runs the soak.
 *
 * @param rounds how many rounds (at least 3)
 * @returns the heap after every round and the growth
 */
export async function soak(rounds: number): Promise<SoakResult> {
  const gc = collector();
  if (gc === undefined) {
    throw new Error(
      "soak needs a garbage collector to call: node --expose-gc, deno --v8-flags=--expose-gc, or bun",
    );
  }
  const responder = await startPingResponder();
  const sim = await AmiSimulator.start({ writeTimeoutMs: 0 });
  const base = { host: "127.0.0.1", username: "admin", secret: "amp111", keepaliveIdleMs: 0 };
  const actions = await connect({ ...base, port: responder.port, events: false });
  const events = await connect({ ...base, port: sim.port });
  let seen = 0;
  events.on("Newexten", (e) => {
    if (e.get("AppData") !== undefined) seen++;
  });
  // Actions stay in flight the whole run, round boundaries included.
  let done = 0;
  let failure: unknown;
  let stop = false;
  let pending = 0;
  const pump = (): void => {
    while (!stop && pending < IN_FLIGHT) {
      pending++;
      actions.action("Ping").then(() => {
        pending--;
        done++;
        pump();
      }, (error) => (failure ??= error));
    }
  };
  // Slow actions (answered after 50 ms) overlap the Pings and each other,
  // as long Originates do in a dialer.
  const hold = (): void => {
    if (stop) return;
    actions.action("Hold").then(
      hold,
      (error) => (failure ??= error),
    );
  };
  const heapMb: number[] = [];
  try {
    for (let i = 0; i < 5; i++) setTimeout(hold, i * 10);
    pump();
    for (let r = 1; r <= rounds; r++) {
      const target = seen + PER_ROUND;
      await sim.flood({ count: PER_ROUND });
      for (let last = -1; seen < target; await sleep(500)) {
        if (seen === last) throw new Error(`events stopped at ${seen} of ${target}`);
        last = seen;
      }
      while (done < r * PER_ROUND && failure === undefined) await sleep(20);
      if (failure !== undefined) throw failure;
      gc();
      heapMb.push(process.memoryUsage().heapUsed / 1e6);
    }
  } finally {
    stop = true;
    actions.destroy();
    events.destroy();
    await sim.stop();
    await responder.close();
  }
  return { heapMb, growthMb: heapMb[heapMb.length - 1] - heapMb[Math.min(2, heapMb.length - 1)] };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

if (isMain(import.meta)) {
  const rounds = Math.max(3, Number(process.env.SOAK_ROUNDS ?? 10));
  const r = await soak(rounds);
  const total = rounds * PER_ROUND;
  console.log(
    `heap after GC per round (${PER_ROUND.toLocaleString("en-US")} actions + ` +
      `${PER_ROUND.toLocaleString("en-US")} events each), MB: ` +
      r.heapMb.map((m) => m.toFixed(2)).join(" "),
  );
  console.log(
    `growth from round 3 to round ${rounds}: ${r.growthMb.toFixed(2)} MB over ` +
      `${total.toLocaleString("en-US")} actions and as many events`,
  );
  process.exit(r.growthMb > 1 ? 1 : 0);
}
