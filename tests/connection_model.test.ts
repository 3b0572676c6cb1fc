/**
 * A fast-check model test: random interleavings of sends, answers, events,
 * foreign and stale ActionIDs, time jumps, disconnects and garbage, checked
 * against the engine's invariants after every step; aborts among them. Every state change is
 * checked against `CONNECTION_TRANSITIONS`, and the last test fails unless
 * the tests before it made every transition that table lists.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AbortedError,
  CONNECTION_TRANSITIONS,
  type ConnectionNotice,
  type ConnectionOptions,
  type ConnectionState,
  type Header,
  isConnectionTransition,
} from "../core/mod.ts";
import { Harness, serverMessage, testOptions } from "./_fake_server.ts";

type Op =
  | { op: "send"; kind: number; timeout: number | undefined }
  | { op: "transmit" }
  | { op: "answer"; pick: number; how: number }
  | { op: "abort"; pick: number }
  | { op: "foreign"; stale: boolean; event: boolean }
  | { op: "event"; n: number }
  | { op: "time"; ms: number; fire: boolean }
  | { op: "garbage"; data: Uint8Array; end: boolean }
  | { op: "eof" }
  | { op: "close"; graceful: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      op: fc.constant("send" as const),
      kind: fc.integer({ min: 0, max: 4 }),
      timeout: fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: "transmit" as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("abort" as const), pick: fc.nat() }) },
  {
    weight: 16,
    arbitrary: fc.record({
      op: fc.constant("answer" as const),
      pick: fc.nat(),
      how: fc.integer({ min: 0, max: 11 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("foreign" as const),
      stale: fc.boolean(),
      event: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant("event" as const), n: fc.integer({ min: 1, max: 30 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("time" as const),
      ms: fc.integer({ min: 0, max: 3_000 }),
      fire: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("garbage" as const),
      data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
      end: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "eof" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("close" as const), graceful: fc.boolean() }),
  },
);

/** Every transition (`from>to`) the tests of this file saw the engine make. */
const seenTransitions = new Set<string>();

/** Follows the state notices of one engine and checks each move against the table. */
class StateTracker {
  state: ConnectionState = "awaitingBanner";

  /** Checks `n` if it is a state notice, and records the transition. */
  see(n: ConnectionNotice): void {
    if (n.type !== "state") return;
    assert.ok(
      isConnectionTransition(this.state, n.state),
      `the engine moved from ${this.state} to ${n.state}, which CONNECTION_TRANSITIONS does not list`,
    );
    seenTransitions.add(`${this.state}>${n.state}`);
    this.state = n.state;
  }
}

const NAMES = ["Ping", "CoreShowChannels", "Command", "Originate", "Status"];

interface ModelAction {
  readonly id: string;
  readonly kind: number;
  readonly deadline: number;
  settled: number;
  aborted: boolean;
}

function run(
  ops: Op[],
  seed: number,
  options: Partial<ConnectionOptions>,
  exactTimeout: boolean,
): void {
  const opts = testOptions({
    maxInFlight: 8,
    maxWriteBufferBytes: 600,
    eventQueueCapacity: 16,
    maxListItems: 5,
    actionTimeoutMs: 2_000,
    originateTimeoutMs: 4_000,
    dropSummaryIntervalMs: 500,
    ...options,
  });
  const h = new Harness(opts, 0);
  h.login();
  // check() reads the notices from the first (the login's state changes included).
  const tracker = new StateTracker();
  const actions = new Map<string, ModelAction>();
  let stale = 0;
  let settledAfterClose = 0;
  let closedSeen = false;
  let noticesSeen = 0;
  let chunkSeed = seed;
  const say = (headers: Header[]): void => h.feed(serverMessage(headers), { seed: chunkSeed++ });

  const check = (afterTimeout: boolean): void => {
    for (; noticesSeen < h.notices.length; noticesSeen++) {
      const n = h.notices[noticesSeen];
      tracker.see(n);
      if (n.type === "state" && n.state === "closed") closedSeen = true;
      if (n.type === "settled") {
        if (closedSeen) settledAfterClose++;
        const a = actions.get(n.actionId);
        // No result for an ActionID this engine did not hand out.
        assert.ok(a, `settled a foreign ActionID ${n.actionId}`);
        a.settled++;
        assert.equal(
          !n.outcome.ok && n.outcome.error instanceof AbortedError,
          a.aborted,
          `${a.id}: settled as aborted exactly when abort() said it was`,
        );
        if (n.outcome.ok) {
          const r = n.outcome.result;
          assert.equal(r.response.actionId, n.actionId);
          if (r.kind === "originate") assert.equal(r.event.actionId, n.actionId);
          if (r.kind === "eventList") {
            for (const e of r.events) assert.equal(e.actionId, n.actionId);
            assert.equal(r.complete.actionId, n.actionId);
          }
        }
      }
    }
    assert.equal(settledAfterClose, 0, "an action settled after close");
    assert.equal(tracker.state, h.conn.state, "the state notices disagree with the state");
    for (const a of actions.values()) assert.ok(a.settled <= 1, `${a.id} settled twice`);
    const s = h.conn.stats();
    assert.ok(s.eventQueueDepth <= opts.eventQueueCapacity!);
    assert.ok(s.actionsPending <= opts.maxInFlight!);
    // Internal actions (keepalive Ping, Logoff) may add a few bytes beyond the cap.
    assert.ok(s.writeBufferBytes <= opts.maxWriteBufferBytes! + 200);
    const t = h.conn.pollTimeout();
    if (h.conn.state === "closed") {
      assert.equal(t, undefined);
      return;
    }
    let min = Infinity;
    for (const a of actions.values()) if (a.settled === 0) min = Math.min(min, a.deadline);
    if (t !== undefined) {
      assert.ok(t <= min, `pollTimeout ${t} later than an action deadline ${min}`);
    } else assert.equal(min, Infinity, "pollTimeout undefined with an action pending");
    if (afterTimeout && t !== undefined) assert.ok(t > h.now, "a due deadline was left unhandled");
    if (exactTimeout && h.conn.state === "ready") {
      assert.equal(
        t,
        min === Infinity ? undefined : min,
        "pollTimeout is not the earliest real deadline",
      );
    }
  };

  for (const op of ops) {
    let afterTimeout = false;
    switch (op.op) {
      case "send": {
        const fields: Record<string, string> = op.kind === 3
          ? { Channel: "Local/1@lab", Async: "true" }
          : op.kind === 2
          ? { Command: "core show uptime" }
          : {};
        try {
          const id = h.conn.send(
            { name: NAMES[op.kind], fields },
            op.timeout === undefined ? undefined : { timeoutMs: op.timeout },
            h.now,
          ).actionId;
          const timeout = op.timeout ?? (op.kind === 3 ? 4_000 : 2_000);
          assert.ok(!actions.has(id));
          actions.set(id, {
            id,
            kind: op.kind,
            deadline: h.now + timeout,
            settled: 0,
            aborted: false,
          });
        } catch (err) {
          assert.equal((err as Error).name, "LocalProtocolError");
        }
        break;
      }
      case "transmit":
        h.drain();
        break;
      case "abort": {
        const all = [...actions.values()];
        if (all.length === 0) break;
        const a = all[op.pick % all.length];
        const pending = a.settled === 0 && h.conn.state !== "closed";
        assert.equal(h.conn.abort(a.id, h.now), pending);
        a.aborted = pending;
        break;
      }
      case "answer": {
        const open = [...actions.values()].filter((a) => a.settled === 0);
        const all = [...actions.values()];
        const pool = open.length > 0 && op.pick % 5 !== 0 ? open : all;
        if (pool.length === 0) break;
        const id = pool[op.pick % pool.length].id;
        const msgs: Header[][] = [
          [["Response", "Success"], ["ActionID", id], ["Message", "ok"]],
          [["Response", "Error"], ["ActionID", id], ["Message", "bad"]],
          [["Response", "Success"], ["ActionID", id], ["EventList", "start"]],
          [["Event", "Item"], ["ActionID", id]],
          [["Event", "ListComplete"], ["ActionID", id], ["EventList", "Complete"]],
          [["Event", "OriginateResponse"], ["ActionID", id], ["Response", "Success"]],
          [["Event", "OriginateResponse"], ["ActionID", id], ["Response", "Failure"], [
            "Reason",
            "0",
          ]],
          [["Response", "Goodbye"], ["ActionID", id]],
        ];
        if (op.how < msgs.length) {
          say(msgs[op.how]);
          break;
        }
        // The complete, proper answer for the action's kind.
        const kind = actions.get(id)?.kind;
        if (kind === 1 || kind === 4) {
          say(msgs[2]);
          for (let i = 0; i < op.how - 8; i++) say(msgs[3]);
          say(msgs[4]);
        } else if (kind === 3) {
          say(msgs[0]);
          say(msgs[op.how === 11 ? 6 : 5]);
        } else if (kind === 2) {
          say([["Response", "Success"], ["ActionID", id], ["Output", "up 1 hour"]]);
        } else say(msgs[0]);
        break;
      }
      case "foreign": {
        const id = op.stale ? `inst0001.pbx1.0.${++stale}` : `otherinst.pbx1.1.${++stale}`;
        say(
          op.event ? [["Event", "OriginateResponse"], ["ActionID", id], ["Response", "Success"]] : [
            ["Response", "Success"],
            ["ActionID", id],
          ],
        );
        break;
      }
      case "event": {
        let text = "";
        for (let i = 0; i < op.n; i++) text += `Event: Tick\r\nN: ${i}\r\n\r\n`;
        h.conn.receive(new TextEncoder().encode(text), h.now);
        if (op.n % 3 === 0) h.drain();
        break;
      }
      case "time":
        h.now += op.ms;
        if (op.fire) {
          h.conn.handleTimeout(h.now);
          afterTimeout = true;
        }
        break;
      case "garbage":
        h.conn.receive(op.data, h.now);
        if (op.end) h.conn.receive(new Uint8Array([13, 10, 13, 10]), h.now);
        break;
      case "eof":
        h.conn.receiveEof(h.now);
        break;
      case "close":
        h.conn.close(h.now, { graceful: op.graceful });
        break;
    }
    // Pull notices (and events) so invariants see them; transmit only on "transmit" ops.
    for (let n = h.conn.poll(); n !== undefined; n = h.conn.poll()) h.notices.push(n);
    if (op.op !== "event") {
      for (let e = h.conn.pollEvent(); e !== undefined; e = h.conn.pollEvent()) {
        h.events.push(e);
      }
    }
    check(afterTimeout);
  }
  // In the end every action settles exactly once.
  h.conn.close(h.now);
  h.drain();
  check(false);
  for (const a of actions.values()) {
    assert.equal(a.settled, 1, `${a.id} settled ${a.settled} times`);
  }
  assert.deepEqual(h.doubleSettles, []);
}

test("model: random interleavings keep every invariant (keepalive off, exact pollTimeout)", () => {
  fc.assert(
    fc.property(
      fc.array(opArb, { minLength: 10, maxLength: 120, size: "max" }),
      fc.nat(),
      (ops, seed) => {
        run(ops, seed, { eventQueueCapacity: 100_000 }, true);
      },
    ),
    { numRuns: 400, seed: 42 },
  );
});

test("model: random interleavings with keepalive, small queues and drops", () => {
  fc.assert(
    fc.property(
      fc.array(opArb, { minLength: 10, maxLength: 120, size: "max" }),
      fc.nat(),
      (ops, seed) => {
        run(ops, seed, {
          keepaliveIdleMs: 1_500,
          keepaliveTimeoutMs: 700,
          parser: { maxLineBytes: 256 },
        }, false);
      },
    ),
    { numRuns: 400, seed: 7 },
  );
});

type LifeOp =
  | { op: "banner" }
  | { op: "auth"; ok: boolean }
  | { op: "logoff" }
  | { op: "goodbye" }
  | { op: "time"; ms: number }
  | { op: "eof" }
  | { op: "close"; graceful: boolean };

const lifeOpArb: fc.Arbitrary<LifeOp> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ op: "banner" as const }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("auth" as const), ok: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ op: "logoff" as const }) },
  { weight: 2, arbitrary: fc.constant({ op: "goodbye" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("time" as const),
      ms: fc.integer({ min: 0, max: 1_500 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "eof" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("close" as const), graceful: fc.boolean() }),
  },
);

test("model: the connection's life from the banner on only makes transitions of the table", () => {
  fc.assert(
    fc.property(fc.array(lifeOpArb, { minLength: 1, maxLength: 30 }), (ops) => {
      const h = new Harness(
        testOptions({ loginTimeoutMs: 2_000, closeTimeoutMs: 1_000, keepaliveIdleMs: 800 }),
        0,
      );
      const tracker = new StateTracker();
      let seen = 0;
      const answerTo = (name: string): string | undefined =>
        h.actions.filter((a) => a.name === name).at(-1)?.actionId;
      for (const op of ops) {
        switch (op.op) {
          case "banner":
            h.feed("Asterisk Call Manager/13.0.0\r\n");
            break;
          case "auth":
            h.say([
              ["Response", op.ok ? "Success" : "Error"],
              ["ActionID", answerTo("Login") ?? "none"],
              ["Message", op.ok ? "Authentication accepted" : "Authentication failed"],
            ]);
            break;
          case "logoff":
            if (h.conn.state === "ready") h.send("Logoff");
            break;
          case "goodbye":
            h.say([["Response", "Goodbye"], ["ActionID", answerTo("Logoff") ?? "none"]]);
            break;
          case "time":
            h.runUntil(h.now + op.ms);
            break;
          case "eof":
            h.conn.receiveEof(h.now);
            h.drain();
            break;
          case "close":
            h.conn.close(h.now, { graceful: op.graceful });
            h.drain();
            break;
        }
        for (; seen < h.notices.length; seen++) tracker.see(h.notices[seen]);
        assert.equal(tracker.state, h.conn.state);
      }
      h.conn.close(h.now);
      h.drain();
      for (; seen < h.notices.length; seen++) tracker.see(h.notices[seen]);
      assert.equal(tracker.state, "closed");
    }),
    { numRuns: 300, seed: 11 },
  );
});

// Runs last (tests in a file run in order): the table lists nothing the engine never does.
test("model: every transition of CONNECTION_TRANSITIONS was made by a test above", () => {
  const listed = Object.entries(CONNECTION_TRANSITIONS).flatMap(([from, tos]) =>
    tos.map((to) => `${from}>${to}`)
  );
  const never = listed.filter((t) => !seenTransitions.has(t));
  assert.deepEqual(never, [], `listed but never exercised: ${never.join(", ")}`);
  const unlisted = [...seenTransitions].filter((t) => !listed.includes(t));
  assert.deepEqual(unlisted, [], `made but not listed: ${unlisted.join(", ")}`);
});
