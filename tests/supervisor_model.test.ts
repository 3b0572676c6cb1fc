/**
 * The reconnect supervisor alone (pure, simulated time): random inputs in
 * random order, stale ones included, against ARCHITECTURE.md invariants 14
 * and 15.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Phase,
  PHASE_TRANSITIONS,
  Supervisor,
  type SupervisorOutput,
  type WaitingEntry,
} from "../client/supervisor.ts";

class Item implements WaitingEntry {
  heapIndex = -1;
  settled = 0;
  constructor(public deadline: number) {}
}

type Op =
  | { t: "advance"; ms: number }
  | { t: "connected"; stale: boolean }
  | { t: "loggedIn"; stale: boolean }
  | { t: "replayed"; stale: boolean }
  | { t: "ended"; stale: boolean; reason: "connectFailed" | "remoteClosed" | "authFailed" }
  | { t: "grant" }
  | { t: "wait"; ms: number }
  | { t: "cancel" }
  | { t: "close" }
  | { t: "destroy" };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constant("advance" as const),
      ms: fc.constantFrom(1, 100, 1_000, 30_000),
    }),
    weight: 10,
  },
  {
    arbitrary: fc.record({ t: fc.constant("connected" as const), stale: fc.boolean() }),
    weight: 10,
  },
  {
    arbitrary: fc.record({ t: fc.constant("loggedIn" as const), stale: fc.boolean() }),
    weight: 10,
  },
  {
    arbitrary: fc.record({ t: fc.constant("replayed" as const), stale: fc.boolean() }),
    weight: 10,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("ended" as const),
      stale: fc.boolean(),
      reason: fc.constantFrom(
        "connectFailed" as const,
        "remoteClosed" as const,
        "authFailed" as const,
      ),
    }),
    weight: 10,
  },
  { arbitrary: fc.record({ t: fc.constant("grant" as const) }), weight: 10 },
  {
    arbitrary: fc.record({
      t: fc.constant("wait" as const),
      ms: fc.constantFrom(50, 5_000, Infinity),
    }),
    weight: 10,
  },
  { arbitrary: fc.record({ t: fc.constant("cancel" as const) }), weight: 10 },
  // Rare, so that runs get far before they end.
  { arbitrary: fc.record({ t: fc.constant("close" as const) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant("destroy" as const) }), weight: 1 },
);

function run(
  ops: Op[],
  config: { gated: boolean; once: boolean; reconnect: boolean; closeFirst: boolean },
): { phases: Set<string> } {
  const sup = new Supervisor<Item>({
    gated: config.gated,
    reconnect: config.reconnect,
    connectTimeoutMs: 2_000,
    maxWaiting: 5,
    backoff: { random: () => 0.5 },
  });
  const phases = new Set<string>();
  const items: Item[] = [];
  let now = 0;
  let prev: Phase = sup.phase;
  let permitRequested = false;
  let permitHeld = false;
  let open: number | undefined; // the attempt the driver has a session for
  const drain = (): void => {
    for (let o = sup.poll(); o !== undefined; o = sup.poll()) apply(o);
    const p = sup.phase;
    if (p !== prev) {
      phases.add(`${prev}->${p}`);
      prev = p;
    }
    const s = sup.snapshot();
    // One attempt and one retry at most, by construction: the retry exists
    // only in backoff, the attempt only in the phases that have one.
    assert.equal(s.retryAt !== undefined, p === "backoff", `retry in ${p}`);
    assert.equal(
      s.attempt !== undefined,
      ["connecting", "login", "replay", "ready", "closing"].includes(p),
    );
    if (open !== undefined) assert.equal(open, s.attempt, "a session of an old attempt is open");
    assert.equal(s.holdsPermit, permitHeld);
    if (p === "closed") {
      assert.equal(sup.pollTimeout(), undefined, "a deadline after close");
      assert.equal(s.waiting, 0);
      assert.equal(permitHeld || permitRequested, false, "a permit kept after close");
      assert.equal(open, undefined, "a session kept after close");
    }
    const t = sup.pollTimeout();
    if (t !== undefined) assert.ok(t > now || sup.phase !== "closed");
  };
  const apply = (o: SupervisorOutput<Item>): void => {
    switch (o.type) {
      case "connect":
        assert.equal(open, undefined, "connect while a session is open");
        open = o.attempt;
        return;
      case "closeSession":
        if (open === o.attempt && !o.graceful) open = undefined;
        return;
      case "requestPermit":
        assert.ok(!permitRequested && !permitHeld, "two permit requests");
        permitRequested = true;
        return;
      case "cancelPermit":
        permitRequested = false;
        return;
      case "releasePermit":
        if (permitHeld) permitHeld = false;
        return;
      case "flush":
      case "failWaiting":
        for (const w of o.actions) w.settled++;
        return;
      default:
        return;
    }
  };
  const attemptFor = (stale: boolean): number => (sup.attempt ?? 0) + (stale ? -1 : 0);
  if (config.closeFirst) sup.close(now); // closed before it started: start is then ignored
  if (config.once) sup.start(now, { once: true });
  else sup.start(now);
  drain();
  for (const o of ops) {
    switch (o.t) {
      case "advance":
        now += o.ms;
        {
          const t = sup.pollTimeout();
          if (t !== undefined && t <= now) sup.handleTimeout(now);
        }
        break;
      case "connected":
        sup.connected(attemptFor(o.stale), now);
        break;
      case "loggedIn":
        sup.loggedIn(attemptFor(o.stale), now);
        break;
      case "replayed":
        sup.replayed(attemptFor(o.stale), now);
        break;
      case "ended": {
        const a = attemptFor(o.stale);
        if (!o.stale && open === a) open = undefined;
        sup.ended(a, now, { reason: o.reason });
        break;
      }
      case "grant":
        if (permitRequested) {
          permitRequested = false;
          permitHeld = true;
          sup.permitGranted(now);
        }
        break;
      case "wait": {
        const item = new Item(now + o.ms);
        if (sup.wait(item) === "accepted") items.push(item);
        break;
      }
      case "cancel": {
        const item = items.find((i) => i.settled === 0);
        if (item !== undefined && sup.cancelWait(item)) item.settled++;
        break;
      }
      case "close":
        sup.close(now);
        break;
      case "destroy":
        sup.destroy(now);
        break;
    }
    // A graceful close ends with the session's own report.
    if (sup.phase === "closing" && open === undefined) {
      sup.ended(sup.attempt!, now, { reason: "loggedOff" });
    }
    drain();
  }
  sup.destroy(now);
  drain();
  for (const i of items) assert.equal(i.settled, 1, "every waiting action settles exactly once");
  return { phases };
}

describe("reconnect supervisor (pure model)", () => {
  test("property: random and stale inputs keep one attempt, one retry, the transition table, and settle every waiting action once", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 200, size: "max" }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 19 }),
        (ops, gated, once, reconnect, k) => {
          const closeFirst = k === 0;
          for (const p of run(ops, { gated, once, reconnect, closeFirst }).phases) seen.add(p);
        },
      ),
      // A fixed seed: the coverage check below must not depend on the draw
      // (a random seed once missed ready->closing).
      { numRuns: 600, seed: 20261202 },
    );
    // Every transition the table lists is exercised, and no other happened.
    const listed = new Set<string>();
    for (const [from, tos] of Object.entries(PHASE_TRANSITIONS)) {
      for (const to of tos) listed.add(`${from}->${to}`);
    }
    for (const p of seen) assert.ok(listed.has(p), `unlisted transition ${p}`);
    for (const p of listed) assert.ok(seen.has(p), `transition ${p} never exercised`);
  });

  test("a close reported twice (session hook and failed attempt) schedules one retry", () => {
    const sup = new Supervisor<Item>({ backoff: { random: () => 0 } });
    sup.start(0, { once: false });
    const out = (): SupervisorOutput<Item>[] => {
      const o: SupervisorOutput<Item>[] = [];
      for (let x = sup.poll(); x !== undefined; x = sup.poll()) o.push(x);
      return o;
    };
    assert.deepEqual(out(), [{ type: "connect", attempt: 1 }]);
    sup.connected(1, 0);
    sup.loggedIn(1, 0);
    sup.ended(1, 1, { reason: "protocol" }); // the session's close hook
    sup.ended(1, 1, { reason: "connectFailed" }); // the failed attempt, again
    sup.replayed(1, 1); // a replay finishing late
    assert.equal(sup.phase, "backoff");
    assert.equal(out().filter((o) => o.type === "state").length, 1);
    sup.handleTimeout(10_000);
    assert.deepEqual(out(), [{ type: "connect", attempt: 2 }]);
    assert.equal(sup.snapshot().retryAt, undefined);
  });

  test("connect has its own deadline; the login's is the engine's, from the connect", () => {
    const sup = new Supervisor({ connectTimeoutMs: 1_000, backoff: { random: () => 0 } });
    sup.start(0, { once: true });
    sup.poll();
    assert.equal(sup.pollTimeout(), 1_000);
    sup.connected(1, 900);
    assert.equal(sup.pollTimeout(), undefined, "no client deadline while the engine logs in");
    const sup2 = new Supervisor<Item>({ connectTimeoutMs: 1_000 });
    sup2.start(0, { once: true });
    sup2.poll();
    sup2.handleTimeout(1_000);
    const outs: SupervisorOutput<Item>[] = [];
    for (let x = sup2.poll(); x !== undefined; x = sup2.poll()) outs.push(x);
    assert.deepEqual(outs[0], { type: "closeSession", attempt: 1, graceful: false });
    const closed = outs.find((o) => o.type === "state");
    assert.ok(closed?.type === "state" && closed.change.state === "closed");
    assert.match(String(closed.change.error), /connectTimeoutMs \(1000 ms\)/);
  });

  test("without reconnect, failures before the first session still back off with growing delays", () => {
    const sup = new Supervisor({ reconnect: false, gated: true, backoff: { random: () => 1 } });
    sup.start(0);
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 5; i++) {
      for (let x = sup.poll(); x !== undefined; x = sup.poll()) {
        if (x.type === "requestPermit") sup.permitGranted(now);
        if (x.type === "state" && x.change.delayMs !== undefined) delays.push(x.change.delayMs);
      }
      for (let x = sup.poll(); x !== undefined; x = sup.poll()) void x;
      sup.ended(sup.attempt!, now, { reason: "connectFailed" });
      for (let x = sup.poll(); x !== undefined; x = sup.poll()) {
        if (x.type === "state" && x.change.delayMs !== undefined) delays.push(x.change.delayMs);
      }
      now = sup.pollTimeout()!;
      sup.handleTimeout(now);
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000]);
  });
});
