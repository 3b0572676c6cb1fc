/**
 * The engine's timer table (core/_timers.ts) against a plain list: any mix
 * of arming, stopping and clearing gives the same earliest deadline and the
 * same expired kinds, whatever `next()` kept from before.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Timer, TIMER_COUNT, type TimerKind, TimerTable } from "../core/_timers.ts";

type Op = { kind: number; deadline: number | undefined } | { clear: true };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.integer({ min: 0, max: TIMER_COUNT - 1 }),
      deadline: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ clear: fc.constant(true as const) }) },
);

test("TimerTable: one kind per Timer entry, numbered 0..TIMER_COUNT-1", () => {
  assert.deepEqual(Object.values(Timer), [...Array(TIMER_COUNT).keys()]);
});

test("TimerTable: next() is the earliest armed deadline; expired() agrees with a list", () => {
  fc.assert(
    fc.property(
      fc.array(opArb, { maxLength: 60 }),
      fc.integer({ min: 0, max: 100 }),
      (ops, now) => {
        const t = new TimerTable();
        const model: (number | undefined)[] = Array(TIMER_COUNT).fill(undefined);
        for (const op of ops) {
          if ("clear" in op) {
            t.clear();
            model.fill(undefined);
          } else {
            t.set(op.kind as TimerKind, op.deadline);
            model[op.kind] = op.deadline;
          }
          const armed = model.filter((d): d is number => d !== undefined);
          assert.equal(t.next(), armed.length === 0 ? undefined : Math.min(...armed));
          for (let k = 0; k < TIMER_COUNT; k++) {
            assert.equal(t.get(k as TimerKind), model[k]);
            const d = model[k];
            assert.equal(t.expired(k as TimerKind, now), d !== undefined && now >= d);
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});
