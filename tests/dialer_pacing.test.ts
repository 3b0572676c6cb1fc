/**
 * The dialer example's pure parts: the pacing controller (fast-check over
 * random inputs: the bound, the ratio's bounds and direction, the phase
 * table, the counts; the ratio down past the ceiling, up after idle time)
 * and the lead book (fast-check: never two calls for one lead at a time,
 * `unknown` and `answered` final, attempts capped; the resume from a
 * journal).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  abandonRate,
  PACING_TRANSITIONS,
  pacingAllowance,
  pacingBound,
  pacingDeadline,
  type PacingInput,
  pacingSettings,
  pacingStart,
  type PacingState,
  pacingStep,
} from "../examples/dialer/pacing.ts";
import { LeadBook, type LeadStatus } from "../examples/dialer/book.ts";
import type { Outcome } from "../examples/dialer/campaign.ts";
import { resumeFrom } from "../examples/dialer/journal.ts";
import type { Lead } from "../examples/dialer/leads.ts";

const S = pacingSettings({
  maxConcurrent: 12,
  minRatio: 1,
  maxRatio: 3,
  ceiling: 0.03,
  idleAfterMs: 10_000,
  drainTimeoutMs: 30_000,
});

const input: fc.Arbitrary<(at: number) => PacingInput> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.boolean().map((abandoned) => (at: number): PacingInput => ({
      type: "measured",
      abandoned,
      at,
    })),
  },
  {
    weight: 6,
    arbitrary: fc.record({ free: fc.nat(8), inFlight: fc.nat(30), ready: fc.boolean() }).map(
      (v) => (at: number): PacingInput => ({
        type: "observe",
        at,
        freeAgents: v.free,
        inFlight: v.inFlight,
        leadsReady: v.ready,
      }),
    ),
  },
  { weight: 2, arbitrary: fc.constant((at: number): PacingInput => ({ type: "tick", at })) },
  { weight: 1, arbitrary: fc.constant((at: number): PacingInput => ({ type: "stop", at })) },
  { weight: 1, arbitrary: fc.constant((at: number): PacingInput => ({ type: "drained", at })) },
);

describe("pacing controller", () => {
  test("fast-check: bound, ratio bounds and direction, phase table, counts, window", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(20_000), input), { maxLength: 300 }),
        fc.double({ min: 1, max: 3, noNaN: true }),
        (steps, ratio0) => {
          let s = pacingStart(ratio0, S, 0);
          let at = 0;
          let measured = 0;
          let abandoned = 0;
          for (const [dt, make] of steps) {
            at += dt;
            const inp = make(at);
            const prev = s;
            s = pacingStep(s, S, inp);
            if (s.phase !== prev.phase) {
              assert.ok(
                PACING_TRANSITIONS[prev.phase].includes(s.phase),
                `${prev.phase} -> ${s.phase}`,
              );
            }
            assert.ok(s.ratio >= S.minRatio && s.ratio <= S.maxRatio, `ratio ${s.ratio}`);
            if (inp.type === "measured") {
              measured++;
              if (inp.abandoned) abandoned++;
              assert.ok(s.ratio <= prev.ratio, "a measured call never raises the ratio");
            } else {
              assert.ok(s.ratio >= prev.ratio, "time and observations never lower it");
            }
            assert.equal(s.answered, measured);
            assert.equal(s.abandoned, abandoned);
            assert.ok(s.recent.length <= S.window);
            for (let free = 0; free <= 8; free++) {
              const bound = pacingBound(s, S, free);
              assert.ok(bound <= S.maxConcurrent && bound <= s.ratio * free + 1e-9);
              for (const inFlight of [0, 1, 5, 30]) {
                const n = pacingAllowance(s, S, { freeAgents: free, inFlight, leadsReady: true });
                assert.ok(n >= 0);
                assert.ok(n === 0 || inFlight + n <= bound, "calls in flight never pass the bound");
                if (s.phase !== "running") assert.equal(n, 0);
                else assert.equal(n, Math.max(0, bound - inFlight));
              }
            }
            if (prev.phase === "stopped") assert.equal(s.phase, "stopped");
            if (s.phase === "draining") assert.equal(pacingDeadline(s, S), s.drainDeadline);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test("every answered call abandoned: the ratio falls to the minimum once the sample is big enough", () => {
    let s = pacingStart(3, S, 0);
    for (let i = 1; i < S.minSample; i++) {
      s = pacingStep(s, S, { type: "measured", abandoned: true, at: i });
      assert.equal(s.ratio, 3, "not before minSample");
    }
    s = pacingStep(s, S, { type: "measured", abandoned: true, at: 100 });
    assert.equal(s.ratio, 1);
    assert.equal(s.lastRule, "over");
    assert.equal(abandonRate(s), 1);
  });

  test("near the ceiling: a step down, not to the minimum at once", () => {
    // 1 abandoned in 40: 2.5 %, over 0.66 x 3 % and under 3 %.
    let s = pacingStart(3, S, 0);
    for (let i = 0; i < 39; i++) {
      s = pacingStep(s, S, { type: "measured", abandoned: false, at: i });
    }
    assert.equal(s.ratio, 3);
    s = pacingStep(s, S, { type: "measured", abandoned: true, at: 40 });
    assert.equal(s.lastRule, "near");
    assert.ok(s.ratio > 1 && s.ratio < 3, String(s.ratio));
  });

  test("idle agents held back by the ratio: one step up per idle period, no higher than the maximum", () => {
    let s = pacingStart(1, S, 0);
    const view = { freeAgents: 2, inFlight: 2, leadsReady: true };
    s = pacingStep(s, S, { type: "observe", at: 0, ...view });
    assert.equal(s.idleSince, 0);
    assert.equal(pacingDeadline(s, S), S.idleAfterMs);
    s = pacingStep(s, S, { type: "tick", at: S.idleAfterMs - 1 });
    assert.equal(s.ratio, 1);
    s = pacingStep(s, S, { type: "tick", at: S.idleAfterMs });
    assert.equal(s.ratio, 1.1);
    assert.equal(s.lastRule, "idle");
    s = pacingStep(s, S, { type: "tick", at: S.idleAfterMs + 1 });
    assert.equal(s.ratio, 1.1, "the next step needs another idle period");
    for (let t = 2; t < 40; t++) {
      s = pacingStep(s, S, { type: "observe", at: t * S.idleAfterMs, ...view, inFlight: 30 });
    }
    assert.equal(s.ratio, S.maxRatio);
    assert.equal(pacingDeadline(s, S), undefined);
    // Agents busy or no lead to dial: not idle.
    s = pacingStep(s, S, { type: "observe", at: 1e6, ...view, leadsReady: false });
    assert.equal(s.idleSince, undefined);
  });

  test("stop drains until the deadline, or until drained", () => {
    let s: PacingState = pacingStart(1, S, 0);
    s = pacingStep(s, S, { type: "stop", at: 5 });
    assert.equal(s.phase, "draining");
    assert.equal(pacingAllowance(s, S, { freeAgents: 5, inFlight: 0, leadsReady: true }), 0);
    s = pacingStep(s, S, { type: "tick", at: 5 + S.drainTimeoutMs - 1 });
    assert.equal(s.phase, "draining");
    s = pacingStep(s, S, { type: "tick", at: 5 + S.drainTimeoutMs });
    assert.equal(s.phase, "stopped");
    for (const type of ["stop", "tick", "drained"] as const) {
      assert.equal(pacingStep(s, S, { type, at: 1e9 }).phase, "stopped", "stopped for good");
    }
  });
});

function leads(n: number): Lead[] {
  return Array.from(
    { length: n },
    (_, i) => ({ id: `l${i}`, number: `${i}`, variables: {}, line: i + 2 }),
  );
}

const OUTCOMES: Outcome[] = ["answered", "busy", "noAnswer", "congestion", "failed", "unknown"];

describe("lead book", () => {
  const policy = { maxAttempts: 3, retryDelayMs: { busy: 100, noAnswer: 200, congestion: 50 } };

  test("fast-check: one call per lead at a time; unknown and answered final; attempts capped", () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant("take" as const), n: fc.nat(5) }),
      fc.record({
        k: fc.constant("finish" as const),
        pick: fc.nat(),
        outcome: fc.constantFrom(...OUTCOMES),
        notSent: fc.boolean(),
      }),
      fc.record({ k: fc.constant("time" as const), dt: fc.nat(300) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 15 }), fc.array(op, { maxLength: 200 }), (n, ops) => {
        const book = new LeadBook(leads(n), policy);
        let now = 0;
        const dialing = new Set<string>();
        const final = new Set<string>();
        const calls = new Map<string, number>();
        for (const o of ops) {
          if (o.k === "take") {
            book.promote(now);
            for (const s of book.take(o.n)) {
              assert.ok(!dialing.has(s.lead.id), "dialled twice at once");
              assert.ok(!final.has(s.lead.id), "a final lead dialled again");
              dialing.add(s.lead.id);
              calls.set(s.lead.id, (calls.get(s.lead.id) ?? 0) + 1);
              assert.ok(s.attempts <= policy.maxAttempts);
              assert.equal(s.attempts, calls.get(s.lead.id));
            }
          } else if (o.k === "finish") {
            if (dialing.size === 0) continue;
            const id = [...dialing][o.pick % dialing.size];
            dialing.delete(id);
            const outcome = o.notSent ? "failed" : o.outcome;
            book.finish(id, {
              outcome,
              abandoned: false,
              talkMs: 0,
              cause: undefined,
              detail: o.notSent ? "notSent" : "",
            }, now);
            if (outcome === "answered" || outcome === "unknown") final.add(id);
            if (outcome === "unknown" || outcome === "answered") {
              assert.equal(book.get(id)?.status, "done");
            }
          } else now += o.dt;
          const c = book.counts();
          assert.equal(c.ready + c.dialing + c.waiting + c.done, n);
          assert.equal(c.dialing, dialing.size);
          const next = book.nextRetryAt;
          if (c.waiting === 0) assert.equal(next, undefined);
        }
        assert.throws(() =>
          book.finish("nope", {
            outcome: "busy",
            abandoned: false,
            talkMs: 0,
            cause: 17,
            detail: "",
          }, 0)
        );
      }),
      { numRuns: 300 },
    );
  });

  test("resume: an open call is unknown and final; a busy one waits its remaining delay; others go on", () => {
    const history = resumeFrom([
      { t: "dialing", lead: "l0", attempt: 1, channelId: "c-l0-1", wall: 1_000 },
      { t: "dialing", lead: "l1", attempt: 1, channelId: "c-l1-1", wall: 1_000 },
      {
        t: "outcome",
        lead: "l1",
        attempt: 1,
        outcome: "busy",
        abandoned: false,
        talkMs: 0,
        cause: 17,
        detail: "",
        wall: 1_050,
      },
      { t: "dialing", lead: "l2", attempt: 1, channelId: "c-l2-1", wall: 1_000 },
      {
        t: "outcome",
        lead: "l2",
        attempt: 1,
        outcome: "answered",
        abandoned: false,
        talkMs: 5_000,
        cause: 16,
        detail: "",
        wall: 1_100,
      },
    ]);
    const book = new LeadBook(leads(4), policy, history, 500, 1_100);
    const status = (id: string): LeadStatus | undefined => book.get(id)?.status;
    assert.equal(status("l0"), "done");
    assert.equal(book.get("l0")?.outcome, "unknown");
    assert.equal(book.get("l0")?.detail, "restart");
    assert.equal(status("l1"), "waiting");
    assert.equal(
      book.get("l1")?.retryAt,
      500 + 50,
      "busy at 1,050 + 100 ms = 1,150 wall: 50 ms from now",
    );
    assert.equal(status("l2"), "done");
    assert.equal(book.get("l2")?.talkMs, 5_000);
    assert.equal(status("l3"), "ready");
    assert.deepEqual(book.take(10).map((s) => s.lead.id), ["l3"]);
    book.promote(550);
    const again = book.take(10);
    assert.deepEqual(again.map((s) => [s.lead.id, s.attempts]), [["l1", 2]]);
  });
});
