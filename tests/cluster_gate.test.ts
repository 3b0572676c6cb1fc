import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ReconnectGate } from "../client/reconnect_gate.ts";

/** Runs a gate with every node always wanting to reconnect, on a simulated clock. */
function run(options: {
  nodes: number;
  intervalMs: number;
  maxPerInterval: number;
  maxPerNodePerInterval: number;
  maxConcurrent: number;
  attemptMs: number;
  until: number;
}) {
  const gate = new ReconnectGate(options);
  const names = Array.from({ length: options.nodes }, (_, i) => `n${i}`);
  for (const n of names) gate.request(n, 0, 0);
  const grants: Array<{ node: string; at: number }> = [];
  const releases: Array<{ node: string; at: number }> = [];
  let now = 0;
  let polls = 0;
  while (now <= options.until) {
    // Release attempts that have finished, then re-request (the node is still dead).
    releases.sort((a, b) => a.at - b.at);
    while (releases.length > 0 && releases[0].at <= now) {
      const r = releases.shift()!;
      gate.release(r.node);
      gate.request(r.node, 0, now);
    }
    for (const node of gate.poll(now)) {
      grants.push({ node, at: now });
      releases.push({ node, at: now + options.attemptMs });
    }
    polls++;
    const next = [gate.pollTimeout(now), ...releases.map((r) => r.at)].filter((x) =>
      x !== undefined
    ) as number[];
    if (next.length === 0) break;
    const t = Math.min(...next);
    assert.ok(t >= now, "time never goes backwards");
    now = Math.max(t, now + 1);
  }
  return { gate, names, grants, polls };
}

describe("reconnect gate (simulated clock)", () => {
  test("caps: global and per node within any window, and concurrency", () => {
    const o = {
      nodes: 300,
      intervalMs: 1_000,
      maxPerInterval: 10,
      maxPerNodePerInterval: 1,
      maxConcurrent: 8,
      attemptMs: 50,
      until: 60_000,
    };
    const { grants } = run(o);
    assert.ok(grants.length > 100);
    for (let i = 0; i < grants.length; i++) {
      const inWindow = grants.filter((g) =>
        g.at > grants[i].at - o.intervalMs && g.at <= grants[i].at
      );
      assert.ok(inWindow.length <= o.maxPerInterval, `global cap broken at ${grants[i].at}`);
      const mine = inWindow.filter((g) => g.node === grants[i].node);
      assert.ok(
        mine.length <= o.maxPerNodePerInterval,
        `per-node cap broken for ${grants[i].node}`,
      );
    }
  });

  test("fairness: every node gets its turn within ceil(N / cap) intervals, in turn order", () => {
    const o = {
      nodes: 250,
      intervalMs: 1_000,
      maxPerInterval: 20,
      maxPerNodePerInterval: 1,
      maxConcurrent: 1_000,
      attemptMs: 10,
      until: 40_000,
    };
    const { grants, names } = run(o);
    const rounds = Math.ceil(o.nodes / o.maxPerInterval); // 13
    const bound = rounds * o.intervalMs;
    for (const n of names) {
      const times = grants.filter((g) => g.node === n).map((g) => g.at);
      assert.ok(times.length > 0, `${n} never granted`);
      assert.ok(times[0] <= bound, `${n} first granted at ${times[0]} > ${bound}`);
      for (let i = 1; i < times.length; i++) {
        assert.ok(times[i] - times[i - 1] <= bound + o.intervalMs, `${n} starved`);
      }
    }
    // The first N grants visit every node exactly once (equal turns: request order).
    assert.equal(new Set(grants.slice(0, o.nodes).map((g) => g.node)).size, o.nodes);
  });

  test("a live node asking once is served within a bounded number of rounds despite 200 dead ones", () => {
    const gate = new ReconnectGate({ intervalMs: 1_000, maxPerInterval: 5, maxConcurrent: 100 });
    for (let i = 0; i < 200; i++) gate.request(`dead${i}`, 0, 0);
    let now = 0;
    let servedAt: number | undefined;
    for (let round = 0; round < 100 && servedAt === undefined; round++) {
      if (round === 3) gate.request("live", 0, now);
      for (const n of gate.poll(now)) {
        if (n === "live") servedAt = round;
        else {
          gate.release(n);
          gate.request(n, 0, now);
        }
      }
      now = gate.pollTimeout(now) ?? now + 1_000;
    }
    assert.ok(
      servedAt !== undefined && servedAt <= 3 + Math.ceil(201 / 5),
      `served at ${servedAt}`,
    );
  });

  test("a node whose short backoff ran out goes before long-failing ones waiting at the gate", () => {
    // 1,000 dead nodes, each re-asking after a failure (3 in a row, as the
    // throttled dead nodes of a 1,000-node cluster have after two minutes);
    // once every dead node has had its first try (50 s at 20/s), a live one
    // asks after a drop (1 failure): granted at the next free slot, not after ~50 s.
    const gate = new ReconnectGate({ intervalMs: 1_000, maxPerInterval: 20, maxConcurrent: 32 });
    for (let i = 0; i < 1_000; i++) gate.request(`dead${i}`, 0, 0);
    let now = 0;
    let servedAt: number | undefined;
    let askedAt: number | undefined;
    while (servedAt === undefined && now < 200_000) {
      if (askedAt === undefined && now >= 60_000) {
        askedAt = now;
        gate.request("live", 1, now);
      }
      for (const n of gate.poll(now)) {
        if (n === "live") servedAt = now;
        else {
          gate.release(n);
          gate.request(n, 3, now);
        }
      }
      now = Math.max(now + 1, gate.pollTimeout(now) ?? now + 1_000);
    }
    assert.ok(askedAt !== undefined && servedAt !== undefined, "served");
    assert.ok(servedAt - askedAt <= 1_000, `asked at ${askedAt}, served at ${servedAt}`);
    // Equal turns keep request order: the dead nodes' first round is unchanged.
    const g = new ReconnectGate({ maxPerInterval: 3 });
    for (const n of ["a", "b", "c", "d"]) g.request(n, 0, 0);
    assert.deepEqual(g.poll(0), ["a", "b", "c"]);
  });

  test("no starvation: a node with many failures is served although new low-failure requests never stop", () => {
    const gate = new ReconnectGate({
      intervalMs: 100,
      maxPerInterval: 2,
      maxPerNodePerInterval: 1,
      maxConcurrent: 100,
      agingMs: 1_000,
    });
    let k = 0;
    for (; k < 50; k++) gate.request(`new${k}`, 0, 0);
    gate.request("victim", 5, 0);
    let servedAt: number | undefined;
    for (let now = 0; now < 120_000 && servedAt === undefined; now += 10) {
      gate.request(`new${k++}`, 0, now); // 100 requests/s against 20 grants/s, forever
      for (const n of gate.poll(now)) {
        if (n === "victim") servedAt = now;
        gate.release(n);
      }
    }
    // Passed only by requests made within 5 x agingMs after its own, then by
    // the backlog of those: about 5 s + 500 / 20 per s.
    assert.ok(servedAt !== undefined && servedAt >= 5_000, `served at ${servedAt}: not by key`);
    assert.ok(servedAt <= 31_000, `served at ${servedAt}`);
  });

  test("pollTimeout: undefined when idle or blocked on concurrency, else the next free slot", () => {
    const gate = new ReconnectGate({ intervalMs: 1_000, maxPerInterval: 2, maxConcurrent: 2 });
    assert.equal(gate.pollTimeout(0), undefined);
    gate.request("a", 0, 0);
    gate.request("b", 0, 0);
    gate.request("c", 0, 0);
    assert.equal(gate.pollTimeout(0), 0);
    assert.deepEqual(gate.poll(0), ["a", "b"]);
    assert.equal(gate.pollTimeout(0), undefined); // concurrency full: only release unblocks
    gate.release("a");
    assert.equal(gate.pollTimeout(10), 1_000); // global window full until the first grant expires
    assert.deepEqual(gate.poll(999), []);
    assert.deepEqual(gate.poll(1_000), ["c"]);
    gate.cancel("c");
    gate.remove("b");
    assert.equal(gate.stats().waiting, 0);
    assert.equal(gate.pollTimeout(2_000), undefined);
  });

  test("property: any request/release/poll sequence respects the caps", () => {
    fc.assert(fc.property(
      fc.array(
        fc.tuple(fc.constantFrom("req", "rel", "poll", "tick"), fc.integer({ min: 0, max: 9 })),
        {
          maxLength: 300,
          size: "max",
        },
      ),
      (ops) => {
        const gate = new ReconnectGate({
          intervalMs: 100,
          maxPerInterval: 3,
          maxPerNodePerInterval: 1,
          maxConcurrent: 4,
        });
        let now = 0;
        const grants: Array<[string, number]> = [];
        const active = new Set<string>();
        for (const [op, k] of ops) {
          const n = `n${k}`;
          if (op === "req") gate.request(n, k % 4, now);
          else if (op === "rel") {
            gate.release(n);
            active.delete(n);
          } else if (op === "tick") now += k * 7;
          else {
            for (const g of gate.poll(now)) {
              if (active.has(g)) return false; // granted twice without release
              active.add(g);
              grants.push([g, now]);
            }
            if (active.size > 4) return false;
          }
        }
        for (const [g, t] of grants) {
          const w = grants.filter(([, u]) => u > t - 100 && u <= t);
          if (w.length > 3) return false;
          if (w.filter(([h]) => h === g).length > 1) return false;
        }
        return true;
      },
    ));
  });
});
