/**
 * The refusal log (gateway/refusal_log.ts): once at first, then one summary
 * per interval per identity, nothing lost, bounded memory with an overflow
 * bucket. Time is a number passed in; a fast-check model drives random
 * refusals, polls and jumps to the next deadline.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { OVERFLOW_IDENTITY, RefusalLog, type RefusalSummary } from "../gateway/refusal_log.ts";

const r = (identity: string, action = "Command") => ({ identity, node: "pbx1", action });

const INTERVAL = 10;

type Command =
  | { kind: "refuse"; id: string; dt: number }
  | { kind: "poll"; dt: number }
  | { kind: "toDeadline" };

/**
 * Runs commands against a log and checks it: conservation, at most one
 * summary per interval per identity, the cap, and (while nothing can
 * overflow: 3 identities, max >= 3) the exact summaries and deadlines.
 */
function runModel(max: number, cmds: readonly Command[]): void {
  const log = new RefusalLog({ intervalMs: INTERVAL, maxIdentities: max });
  let now = 0;
  let refusals = 0;
  const perId = new Map<string, number>();
  const lastAt = new Map<string, number>();
  const summed = new Map<string, number>();
  // The exact model while nothing overflows (3 identities, max >= 3).
  const exact = max >= 3;
  const pending = new Map<string, number>();
  const logged = new Map<string, number>();
  const due = (): [string, number][] =>
    [...pending].filter(([id, n]) => n > 0 && now - (logged.get(id) ?? -Infinity) >= INTERVAL)
      .sort();
  const expect = (got: RefusalSummary[]): void => {
    if (!exact) return;
    assert.deepEqual(got.map((s) => [s.identity, s.refused]).sort(), due());
    for (const s of got) [pending.set(s.identity, 0), logged.set(s.identity, now)];
  };
  const take = (s: RefusalSummary): void => {
    assert.ok(s.refused >= 1);
    const prev = lastAt.get(s.identity);
    if (prev !== undefined) assert.ok(now - prev >= INTERVAL, "twice in one interval");
    lastAt.set(s.identity, now);
    summed.set(s.identity, (summed.get(s.identity) ?? 0) + s.refused);
  };
  for (const c of cmds) {
    if (c.kind === "refuse") {
      now += c.dt;
      refusals++;
      perId.set(c.id, (perId.get(c.id) ?? 0) + 1);
      pending.set(c.id, (pending.get(c.id) ?? 0) + 1);
      const s = log.refuse(r(c.id), now);
      if (exact) {
        const mine = due().filter(([id]) => id === c.id);
        assert.deepEqual(s === undefined ? [] : [[s.identity, s.refused]], mine);
        if (s !== undefined) [pending.set(c.id, 0), logged.set(c.id, now)];
      }
      if (s !== undefined) take(s);
    } else if (c.kind === "poll") {
      now += c.dt;
      const got = log.poll(now);
      expect(got);
      got.forEach(take);
    } else {
      const d = log.nextDeadline();
      if (exact) {
        const want = [...pending].filter(([, n]) => n > 0)
          .map(([id]) => logged.get(id)! + INTERVAL);
        assert.equal(d, want.length ? Math.min(...want) : undefined);
      }
      if (d === undefined) continue;
      if (d > now) {
        now = d - 1;
        assert.deepEqual(log.poll(now), []);
        now = d;
      }
      const got = log.poll(now);
      assert.ok(got.length > 0, "a deadline with nothing due");
      expect(got);
      got.forEach(take);
    }
    assert.ok(log.tracked <= max);
  }
  now += INTERVAL;
  log.poll(now).forEach(take);
  assert.equal(log.nextDeadline(), undefined);
  assert.equal(log.total, refusals);
  assert.equal([...summed.values()].reduce((a, b) => a + b, 0), refusals);
  assert.equal(summed.get(OVERFLOW_IDENTITY) ?? 0, log.overflowed);
  if (exact) assert.deepEqual(new Map([...summed].sort()), new Map([...perId].sort()));
}

describe("RefusalLog", () => {
  test("the first refusal logs at once, the rest of the interval is summed up once", () => {
    const log = new RefusalLog({ intervalMs: 1000 });
    assert.deepEqual(log.refuse(r("DIAL/d"), 0), {
      identity: "DIAL/d",
      refused: 1,
      last: { node: "pbx1", action: "Command" },
      overflow: false,
    });
    for (let i = 1; i <= 99; i++) assert.equal(log.refuse(r("DIAL/d", `A${i}`), i), undefined);
    assert.equal(log.nextDeadline(), 1000);
    assert.deepEqual(log.poll(999), []);
    assert.deepEqual(log.poll(1000), [{
      identity: "DIAL/d",
      refused: 99,
      last: { node: "pbx1", action: "A99" },
      overflow: false,
    }]);
    assert.equal(log.nextDeadline(), undefined);
    assert.equal(log.refuse(r("DIAL/d"), 1500), undefined); // logged at 1000
    assert.equal(log.refuse(r("DIAL/d"), 2000)?.refused, 2); // due: logs itself
    assert.equal(log.total, 102);
  });

  test("identities idle for an interval are forgotten; beyond the cap, one overflow bucket", () => {
    const log = new RefusalLog({ intervalMs: 100, maxIdentities: 2 });
    assert.equal(log.refuse(r("a"), 0)?.identity, "a");
    assert.equal(log.refuse(r("b"), 10)?.identity, "b");
    const over = log.refuse(r("c"), 20);
    assert.deepEqual(over, {
      identity: OVERFLOW_IDENTITY,
      refused: 1,
      last: { node: "pbx1", action: "Command" },
      overflow: true,
    });
    assert.equal(log.refuse(r("d"), 30), undefined);
    assert.equal(log.tracked, 2);
    assert.equal(log.overflowed, 2);
    // "a" was logged at 0 and is idle: at 100 a new identity takes its place.
    assert.equal(log.refuse(r("e"), 100)?.identity, "e");
    assert.equal(log.tracked, 2);
    assert.equal(log.nextDeadline(), 120);
    assert.deepEqual(log.poll(119), []);
    assert.deepEqual(log.poll(120).map((s) => [s.identity, s.refused]), [[OVERFLOW_IDENTITY, 1]]);
    assert.equal(log.tracked, 1); // "b", idle since 10, forgotten
    assert.deepEqual(log.poll(1000), []);
    assert.equal(log.tracked, 0);
  });

  test("a summary logged by refuse() moves its identity behind the others", () => {
    const log = new RefusalLog({ intervalMs: 10 });
    log.refuse(r("a"), 0);
    log.refuse(r("b"), 1);
    assert.equal(log.refuse(r("b"), 5), undefined);
    assert.equal(log.refuse(r("a"), 20)?.refused, 1);
    assert.equal(log.nextDeadline(), 11);
    assert.deepEqual(log.poll(25).map((s) => [s.identity, s.refused]), [["b", 1]]);
  });

  test("bad options are a RangeError", () => {
    assert.throws(() => new RefusalLog({ intervalMs: 0 }), RangeError);
    assert.throws(() => new RefusalLog({ maxIdentities: 1.5 }), RangeError);
  });

  test("model: nothing lost, one summary per interval per identity, bounded (fast-check)", () => {
    const dt = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 25 }));
    const command: fc.Arbitrary<Command> = fc.oneof(
      {
        arbitrary: fc.record({
          kind: fc.constant("refuse" as const),
          id: fc.constantFrom("a", "b", "c"),
          dt,
        }),
        weight: 4,
      },
      { arbitrary: fc.record({ kind: fc.constant("poll" as const), dt }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant("toDeadline" as const) }), weight: 1 },
    );
    runModel(3, [
      { kind: "refuse", id: "a", dt: 0 },
      { kind: "refuse", id: "b", dt: 1 },
      { kind: "refuse", id: "b", dt: 4 },
      { kind: "refuse", id: "a", dt: 15 },
      { kind: "poll", dt: 5 },
    ]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(command, { maxLength: 80 }), runModel),
      { numRuns: 1000 },
    );
  });
});
