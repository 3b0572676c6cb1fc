/**
 * The engine's deadline bookkeeping (core/_deadlines.ts) against a plain
 * list: any mix of pushes (in order, out of order, equal), removals from
 * anywhere and drains gives the same earliest entry and size.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Deadlines, type HeapEntry } from "../core/_deadlines.ts";

type Op = { push: number } | { remove: number } | { drain: true };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ push: fc.integer({ min: 0, max: 50 }) }) },
  { weight: 5, arbitrary: fc.record({ remove: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ drain: fc.constant(true as const) }) },
);

test("Deadlines: peek is always the earliest entry held; size and drain agree with a list", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 300, size: "max" }), fc.boolean(), (ops, growing) => {
      const d = new Deadlines<HeapEntry>();
      let held: HeapEntry[] = [];
      let clock = 0;
      for (const op of ops) {
        if ("push" in op) {
          // `growing`: deadlines only grow (one timeout, the FIFO's case).
          const deadline = growing ? (clock += op.push % 3) : op.push;
          const e = { deadline, heapIndex: -1 };
          d.push(e);
          held.push(e);
        } else if ("remove" in op) {
          if (held.length === 0) continue;
          const e = held.splice(op.remove % held.length, 1)[0];
          d.remove(e);
          d.remove(e); // a second removal is harmless
          assert.equal(e.heapIndex, -1);
        } else {
          const out = d.drain();
          assert.equal(new Set(out).size, held.length);
          for (const e of held) assert.ok(out.includes(e));
          held = [];
        }
        assert.equal(d.size, held.length);
        const min = Math.min(...held.map((e) => e.deadline));
        assert.equal(d.peek()?.deadline, held.length === 0 ? undefined : min);
      }
    }),
    { seed: 11, numRuns: 300 },
  );
});

test("Deadlines: a stuck first entry does not keep every later one (holes are squeezed out)", () => {
  const d = new Deadlines<HeapEntry>();
  const stuck = { deadline: 0, heapIndex: -1 };
  d.push(stuck);
  for (let i = 1; i <= 10_000; i++) {
    const e = { deadline: i, heapIndex: -1 };
    d.push(e);
    // Its position: how long the FIFO's array is; without squeezing it would be i.
    assert.ok(e.heapIndex < 2 * d.size + 40, `position ${e.heapIndex} with ${d.size} held`);
    d.remove(e);
  }
  assert.equal(d.size, 1);
  assert.equal(d.peek(), stuck);
});

test("Deadlines: a window always in flight, settled in order, keeps the array bounded (no leak)", () => {
  // A dialer never drains to zero: 100 actions pending at all times, the
  // oldest settling first. The FIFO's array must not grow with the total.
  const d = new Deadlines<HeapEntry>();
  const window: HeapEntry[] = [];
  for (let i = 0; i < 100_000; i++) {
    const e = { deadline: i, heapIndex: -1 };
    d.push(e);
    window.push(e);
    // Its position is the array's length at the push.
    assert.ok(e.heapIndex < 2 * d.size + 40, `position ${e.heapIndex} with ${d.size} held`);
    if (window.length === 100) d.remove(window.shift()!);
  }
  assert.equal(d.size, 99);
  assert.equal(d.peek(), window[0]);
});
