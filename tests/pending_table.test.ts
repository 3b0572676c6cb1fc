/**
 * The engine's table of pending actions (core/_pending_table.ts) against a
 * Map: any mix of adds, deletes and lookups, with colliding counters, gives
 * the same entries, size and order.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Counted, PendingTable } from "../core/_pending_table.ts";

type Op = { add: number } | { del: number } | { get: number } | { clear: true };

// Small tables collide often; also runs, wide gaps, counters past 2^31 and
// the largest safe integer (hashed by their low 32 bits).
const counterArb = fc.oneof(
  fc.integer({ min: 0, max: 40 }),
  fc.integer({ min: 0, max: 20 }).map((n) => n * 16),
  fc.integer({ min: 0, max: 20 }).map((n) => n * 64 + 3),
  fc.integer({ min: 2 ** 31 - 8, max: 2 ** 31 + 8 }),
  fc.constant(Number.MAX_SAFE_INTEGER),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ add: counterArb }) },
  { weight: 4, arbitrary: fc.record({ del: counterArb }) },
  { weight: 3, arbitrary: fc.record({ get: counterArb }) },
  { weight: 1, arbitrary: fc.record({ clear: fc.constant(true as const) }) },
);

test("PendingTable: agrees with a Map under any adds, deletes, lookups and clears", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 400, size: "max" }), (ops) => {
      const table = new PendingTable<Counted>();
      const model = new Map<number, Counted>();
      for (const op of ops) {
        if ("add" in op) {
          if (model.has(op.add)) continue; // counters are unique among those held
          const e = { counter: op.add };
          table.add(e);
          model.set(op.add, e);
        } else if ("del" in op) {
          assert.equal(table.delete(op.del), model.delete(op.del));
        } else if ("get" in op) {
          assert.equal(table.get(op.get), model.get(op.get));
        } else {
          table.clear();
          model.clear();
        }
        assert.equal(table.size, model.size);
      }
      for (const [k, v] of model) assert.equal(table.get(k), v);
      assert.deepEqual(table.values(), [...model.values()].sort((a, b) => a.counter - b.counter));
    }),
    { seed: 5, numRuns: 400 },
  );
});

test("PendingTable: numbers that are not counters find nothing", () => {
  const table = new PendingTable<Counted>();
  for (let i = 0; i < 40; i++) table.add({ counter: i });
  for (const n of [-1, NaN, 1.5, Infinity, 41]) {
    assert.equal(table.get(n), undefined);
    assert.equal(table.delete(n), false);
  }
  assert.equal(table.size, 40);
});

test("PendingTable: a window always in flight keeps every entry findable", () => {
  const table = new PendingTable<Counted>();
  for (let i = 1; i <= 50_000; i++) {
    table.add({ counter: i });
    if (i > 100) assert.equal(table.delete(i - 100), true);
    if (i % 997 === 0) { for (let k = Math.max(1, i - 99); k <= i; k++) assert.ok(table.get(k)); }
  }
  assert.equal(table.size, 100);
});
