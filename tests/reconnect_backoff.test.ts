import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Backoff, backoffDelay } from "../client/backoff.ts";

describe("backoff", () => {
  test("delays grow exponentially within [min, max] with full jitter", () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 80 }),
      fc.double({ min: 0, max: 0.999999, noNaN: true }),
      (attempt, r) => {
        const d = backoffDelay(attempt, { minDelayMs: 100, maxDelayMs: 10_000, r });
        const ceiling = Math.min(10_000, 100 * 2 ** (attempt + 1));
        return d >= 100 && d <= ceiling && d <= 10_000;
      },
    ));
    // r spans the whole range: 0 gives the floor, ~1 the ceiling.
    assert.equal(backoffDelay(3, { minDelayMs: 100, maxDelayMs: 10_000, r: 0 }), 100);
    assert.equal(backoffDelay(3, { minDelayMs: 100, maxDelayMs: 10_000, r: 1 }), 1600);
    assert.equal(backoffDelay(30, { minDelayMs: 100, maxDelayMs: 10_000, r: 1 }), 10_000);
  });

  test("injected randomness reproduces the sequence; consecutive failures grow", () => {
    const seq = () => {
      let i = 0;
      const rs = [0.5, 0.25, 0.75, 0.1, 0.9];
      const b = new Backoff({
        minDelayMs: 100,
        maxDelayMs: 5_000,
        random: () => rs[i++ % rs.length],
      });
      return [0, 1, 2, 3, 4].map((k) => b.failure("connectFailed", k));
    };
    assert.deepEqual(seq(), seq());
    const b = new Backoff({ minDelayMs: 100, maxDelayMs: 100_000, random: () => 0.999 });
    const ds = [0, 1, 2, 3, 4, 5].map((k) => b.failure("connectFailed", k));
    for (let i = 1; i < ds.length; i++) assert.ok(ds[i] > ds[i - 1], `${ds}`);
  });

  test("a stable session resets; a session dropped at once does not", () => {
    const b = new Backoff({
      minDelayMs: 100,
      maxDelayMs: 100_000,
      stableAfterMs: 1_000,
      random: () => 0.999,
    });
    for (let i = 0; i < 5; i++) b.failure("connectFailed", 0);
    assert.equal(b.attempt, 5);
    b.up(10_000);
    const quick = b.failure("lost", 10_010); // accept then drop: keeps growing
    assert.equal(b.attempt, 6);
    assert.ok(quick > 3_000, `accept-then-drop must be backed off, got ${quick}`);
    b.up(20_000);
    const afterStable = b.failure("lost", 21_000);
    assert.ok(afterStable <= 200, `reset after a stable session, got ${afterStable}`);
    assert.equal(b.attempt, 1);
  });

  test("a failed login backs off to the maximum", () => {
    const b = new Backoff({ minDelayMs: 100, maxDelayMs: 7_000, random: () => 0 });
    assert.equal(b.failure("authFailed", 0), 7_000);
    assert.equal(b.failure("authFailed", 1), 7_000);
  });
});
