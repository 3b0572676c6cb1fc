/**
 * gateway/spread.ts: which free nodes a gateway acquires. Examples for each
 * rule, then a fleet of gateways acquiring in rounds (fast-check): every node
 * held, nobody above the fair share while the count is right, and a stale
 * count never leaves a node unheld past the grace period.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fairShare, nodesToAcquire, type SpreadInput } from "../gateway/spread.ts";
import { LocalProtocolError } from "../core/errors.ts";

const NODES = ["pbx1", "pbx2", "pbx3", "pbx4", "pbx5", "pbx6"];

function input(over: Partial<SpreadInput>): SpreadInput {
  return {
    nodes: NODES,
    holding: new Set(),
    liveGateways: 2,
    freeForMs: new Map(NODES.map((n) => [n, 0])),
    gatewayId: "gw-a",
    graceMs: 10_000,
    ...over,
  };
}

describe("spread: examples", () => {
  test("fair share is ceil(nodes / live gateways); 0 gateways count as 1", () => {
    assert.equal(fairShare(10, 3), 4);
    assert.equal(fairShare(9, 3), 3);
    assert.equal(fairShare(10, 0), 10);
    assert.equal(fairShare(0, 3), 0);
    assert.equal(fairShare(2, 5), 1);
  });

  test("below the share: acquire up to it, its own preferred nodes first", () => {
    const picked = nodesToAcquire(input({}));
    assert.equal(picked.length, 3);
    assert.deepEqual(nodesToAcquire(input({})), picked, "deterministic");
    const held = nodesToAcquire(input({ holding: new Set([picked[0]]) }));
    assert.equal(held.length, 2, "what it holds counts");
    assert.ok(!held.includes(picked[0]));
  });

  test("at the share: nothing, unless a node was free past the grace period", () => {
    const holding = new Set(["pbx1", "pbx2", "pbx3"]);
    const freeForMs = new Map([["pbx4", 9_999], ["pbx5", 10_000], ["pbx6", 50_000]]);
    assert.deepEqual(nodesToAcquire(input({ holding, freeForMs })), ["pbx5", "pbx6"]);
    assert.deepEqual(nodesToAcquire(input({ holding, freeForMs, graceMs: 60_000 })), []);
  });

  test("overdue nodes come first and count toward the share", () => {
    const freeForMs = new Map([["pbx1", 20_000], ["pbx2", 0], ["pbx3", 0], ["pbx4", 0]]);
    const picked = nodesToAcquire(input({ freeForMs }));
    assert.equal(picked[0], "pbx1");
    assert.equal(picked.length, 3);
  });

  test("only free nodes of the configuration: held elsewhere or unknown ones are left", () => {
    const freeForMs = new Map([["pbx2", 0], ["gone", 99_999]]);
    assert.deepEqual(nodesToAcquire(input({ freeForMs })), ["pbx2"]);
    assert.deepEqual(nodesToAcquire(input({ freeForMs, holding: new Set(["pbx2"]) })), []);
  });

  test("gateways prefer different nodes", () => {
    const nodes = Array.from({ length: 20 }, (_, i) => `pbx${i}`);
    const freeForMs = new Map(nodes.map((n) => [n, 0]));
    const a = nodesToAcquire(input({ nodes, freeForMs, gatewayId: "gw-a" }));
    const b = nodesToAcquire(input({ nodes, freeForMs, gatewayId: "gw-b" }));
    assert.equal(a.length, 10);
    assert.notDeepEqual([...a].sort(), [...b].sort());
  });

  test("bad input: a clear LocalProtocolError", () => {
    const bad: [Partial<SpreadInput>, RegExp][] = [
      [{ nodes: ["a", "a"] }, /node names must be unique/],
      [{ liveGateways: -1 }, /liveGateways must be an integer >= 0, got -1/],
      [{ liveGateways: 1.5 }, /liveGateways must be an integer/],
      [{ graceMs: NaN }, /graceMs must be a number >= 0, got NaN/],
      [{ freeForMs: new Map([["pbx1", NaN]]) }, /freeForMs of pbx1 must be a number/],
    ];
    for (const [over, message] of bad) {
      assert.throws(
        () => nodesToAcquire(input(over)),
        (e: unknown) => e instanceof LocalProtocolError && message.test(e.message),
        String(message),
      );
    }
    assert.throws(() => fairShare(-1, 1), LocalProtocolError);
  });
});

describe("spread: a fleet acquiring in rounds (model)", () => {
  /**
   * Every round each gateway asks for `nodesToAcquire` of what it sees; a
   * free node asked for by several goes to one of them (the KV create race).
   * Rounds are 1 ms apart; `stale` gateways are counted that do not exist.
   */
  function rounds(
    gateways: number,
    nodeCount: number,
    stale: number,
    graceMs: number,
    pick: number[],
  ): { heldBy: (number | undefined)[]; maxHolding: number; allHeldAt: number | undefined } {
    const nodes = Array.from({ length: nodeCount }, (_, i) => `n${i}`);
    const heldBy: (number | undefined)[] = nodes.map(() => undefined);
    let maxHolding = 0;
    let allHeldAt: number | undefined;
    for (let round = 0; round <= Math.min(nodeCount + graceMs, 50); round++) {
      const freeForMs = new Map<string, number>();
      nodes.forEach((n, i) => {
        if (heldBy[i] === undefined) freeForMs.set(n, round);
      });
      const asks: number[][] = nodes.map(() => []);
      for (let g = 0; g < gateways; g++) {
        const holding = new Set(nodes.filter((_, i) => heldBy[i] === g));
        const want = nodesToAcquire({
          nodes,
          holding,
          liveGateways: gateways + stale,
          freeForMs,
          gatewayId: `gw-${g}`,
          graceMs,
        });
        for (const n of want) {
          assert.ok(freeForMs.has(n), "asked for a node that is not free");
          asks[nodes.indexOf(n)].push(g);
        }
      }
      asks.forEach((who, i) => {
        if (who.length > 0) heldBy[i] = who[pick[(round + i) % pick.length] % who.length];
      });
      for (let g = 0; g < gateways; g++) {
        maxHolding = Math.max(maxHolding, heldBy.filter((h) => h === g).length);
      }
      if (allHeldAt === undefined && heldBy.every((h) => h !== undefined)) allHeldAt = round;
    }
    return { heldBy, maxHolding, allHeldAt };
  }

  test("property: right count: every node held within nodes rounds, nobody above the share", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 10 }),
        (gateways, nodeCount, pick) => {
          // A grace period no node reaches: the share alone decides.
          const r = rounds(gateways, nodeCount, 0, 1_000, pick);
          assert.ok(r.allHeldAt !== undefined && r.allHeldAt < Math.max(1, nodeCount));
          assert.ok(r.maxHolding <= fairShare(nodeCount, gateways));
        },
      ),
      { numRuns: 300 },
    );
  });

  test("property: a count too high (dead gateways' heartbeats) leaves no node unheld past the grace", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 10 }),
        (gateways, nodeCount, stale, graceMs, pick) => {
          const r = rounds(gateways, nodeCount, stale, graceMs, pick);
          assert.ok(r.allHeldAt !== undefined && r.allHeldAt <= graceMs, `at ${r.allHeldAt}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("without the grace rule a stale count would leave nodes unheld (the rule is needed)", () => {
    // One gateway alive, three counted: share 2 of 6; only the grace takes the rest.
    const r = rounds(1, 6, 2, 3, [0]);
    assert.equal(r.allHeldAt, 3);
    const never = rounds(1, 6, 2, 1_000_000, [0]);
    assert.equal(never.allHeldAt, undefined);
    assert.equal(never.heldBy.filter((h) => h !== undefined).length, 2);
  });
});
