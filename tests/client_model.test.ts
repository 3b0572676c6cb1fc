/**
 * The whole cluster (clients, sessions, engines, gate) on simulated time over
 * an in-memory network with random fault schedules and random user calls
 * (ARCHITECTURE.md invariants 4, 10, 11 and 14): one session per node at any time,
 * each event delivered once, every action settled once, the gate's caps
 * kept, and nothing left open or armed after close or destroy.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ManualClock } from "../testing/clock.ts";
import { type Cluster, createClusterWith } from "../client/cluster.ts";
import { advance, type Behaviour, MemoryNet, settle } from "./_memory_net.ts";

const NODES = ["a", "b", "c"];
const GATE = { intervalMs: 1_000, maxPerInterval: 2, maxPerNodePerInterval: 1 };

const behaviour: fc.Arbitrary<Behaviour> = fc.constantFrom(
  "ok",
  "refuse",
  "hang",
  "closeBeforeBanner",
  "closeInLogin",
  "closeDuringReplay",
  "authFail",
  "stall",
);

type Op =
  | { t: "advance"; ms: number }
  | { t: "event"; node: number }
  | { t: "serverClose"; node: number }
  | { t: "restart" }
  | { t: "action"; node: number; name: "Ping" | "Wait"; wait: boolean; timeout: number }
  | { t: "filter"; node: number }
  | { t: "abort" };

const node = fc.integer({ min: 0, max: NODES.length - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    t: fc.constant("advance" as const),
    ms: fc.constantFrom(0, 10, 300, 1_000, 5_000, 40_000),
  }),
  fc.record({ t: fc.constant("event" as const), node }),
  fc.record({ t: fc.constant("serverClose" as const), node }),
  fc.record({ t: fc.constant("restart" as const) }),
  fc.record({
    t: fc.constant("action" as const),
    node,
    name: fc.constantFrom("Ping" as const, "Wait" as const),
    wait: fc.boolean(),
    timeout: fc.constantFrom(100, 5_000, Infinity),
  }),
  fc.record({ t: fc.constant("filter" as const), node }),
  fc.record({ t: fc.constant("abort" as const) }),
);

/** `n` times: 5 s pass, then node a's server sends an event. */
function eventsEvery5s(n: number): Op[] {
  return Array.from({ length: n }, (): Op[] => [
    { t: "advance", ms: 5_000 },
    { t: "event", node: 0 },
  ]).flat();
}

async function finish(cluster: Cluster, clock: ManualClock, graceful: boolean): Promise<void> {
  if (!graceful) {
    cluster.destroy();
    await settle();
    return;
  }
  let done = false;
  cluster.close().then(() => done = true);
  for (let i = 0; i < 50 && !done; i++) await advance(clock, 1_000);
  await settle();
  assert.ok(done, "close() resolved");
}

async function run(
  schedules: Behaviour[][],
  ops: Op[],
  graceful: boolean,
): Promise<{ seen: number; sessions: number; attempts: number }> {
  const clock = new ManualClock();
  const net = new MemoryNet(() => clock.now());
  NODES.forEach((n, i) => net.schedule.set(n, [...schedules[i]]));
  const cluster = createClusterWith(net.connector, {
    clock,
    gate: GATE,
    defaults: {
      username: "u",
      secret: "s",
      keepaliveIdleMs: 5_000,
      keepaliveTimeoutMs: 2_000,
      loginTimeoutMs: 1_000,
      connectTimeoutMs: 2_000,
      reconnect: { minDelayMs: 100, maxDelayMs: 4_000, random: () => 0.5 },
    },
    nodes: Object.fromEntries(NODES.map((n) => [n, { host: n }])),
  });
  const seen: number[] = [];
  cluster.on("Tick", (e) => {
    seen.push(Number(e.get("Seq")));
  });
  const settled: number[] = [];
  const aborts: AbortController[] = [];
  const track = (p: Promise<unknown>): void => {
    const i = settled.push(0) - 1;
    p.then(() => settled[i]++, () => settled[i]++);
  };
  await settle();
  for (const o of ops) {
    switch (o.t) {
      case "advance":
        await advance(clock, o.ms);
        break;
      case "event":
        for (const c of net.openConns(NODES[o.node])) c.event();
        break;
      case "serverClose":
        for (const c of net.openConns(NODES[o.node])) c.close();
        break;
      case "restart":
        for (const n of NODES) for (const c of net.openConns(n)) c.close();
        break;
      case "action": {
        const ac = new AbortController();
        aborts.push(ac);
        track(cluster.action(NODES[o.node], o.name, undefined, {
          timeoutMs: o.timeout,
          waitForConnection: o.wait,
          signal: ac.signal,
        }));
        break;
      }
      case "filter":
        track(cluster.action(NODES[o.node], "Filter", { Filter: "Event: Tick" }));
        break;
      case "abort":
        aborts.shift()?.abort();
        break;
    }
    await settle();
    for (const n of NODES) assert.ok(net.openConns(n).length <= 1, `two sessions open for ${n}`);
  }
  const sessions = cluster.stats().nodes.reduce((n, s) => n + s.sessions, 0);
  await finish(cluster, clock, graceful);
  assert.equal(net.maxOpenPerNode <= 1, true, "at most one session per node, ever");
  assert.equal(net.openCount(), 0, "a socket left open after close");
  assert.equal(clock.pending, 0, "a timer left armed after close");
  assert.deepEqual(settled.filter((n) => n !== 1), [], "every action settles exactly once");
  assert.equal(new Set(seen).size, seen.length, "an event delivered twice");
  assert.deepEqual(seen, net.delivered, "every event read is delivered once, in order");
  // The gate's caps: per node and globally, within any interval.
  const at = net.attempts;
  for (let i = 0; i < at.length; i++) {
    const win = at.filter((x) => x.at > at[i].at - GATE.intervalMs && x.at <= at[i].at);
    assert.ok(win.length <= GATE.maxPerInterval, `global cap at ${at[i].at}`);
    assert.ok(win.filter((x) => x.node === at[i].node).length <= 1, `node cap at ${at[i].at}`);
  }
  return { seen: seen.length, sessions, attempts: at.length };
}

describe("client and cluster on simulated time (model)", () => {
  test("property: random fault schedules and user calls keep one session per node, deliver each event once, settle every action once, and leave nothing open", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(behaviour, { maxLength: 8 }), {
          minLength: NODES.length,
          maxLength: NODES.length,
        }),
        fc.array(op, { maxLength: 60, size: "max" }),
        fc.boolean(),
        async (schedules, ops, graceful) => {
          await run(schedules, ops, graceful);
        },
      ),
      { numRuns: 60 },
    );
  });

  test("a close in the same read as the login's Success, three times: one session, events once", async () => {
    const r = await run(
      [["closeInLogin", "closeInLogin", "closeInLogin"], [], []],
      [
        { t: "filter", node: 0 },
        ...eventsEvery5s(8),
      ],
      false,
    );
    assert.equal(r.sessions, 6, "a: three brief sessions and the last; b and c one each");
    assert.equal(r.seen, 8);
  });

  test("closes during the replay of Filter/Events: one session, events once", async () => {
    const r = await run(
      [["ok", "closeDuringReplay", "closeDuringReplay", "closeDuringReplay"], [], []],
      [
        { t: "filter", node: 0 },
        { t: "event", node: 0 },
        { t: "serverClose", node: 0 },
        ...eventsEvery5s(8),
      ],
      true,
    );
    assert.equal(r.sessions, 4, "a: the first and the last (replays cut are no session); b, c");
    assert.equal(r.seen, 9);
  });
});
