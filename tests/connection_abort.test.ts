/**
 * Aborting an action through the engine (`AmiConnection.abort`): it settles
 * at once with AbortedError, frees its in-flight slot, an unwritten one's
 * bytes never leave, a late answer is an orphan; with a simulated clock.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AbortedError,
  type Action,
  ConnectionLostError,
  LocalProtocolError,
  type SettledNotice,
} from "../core/mod.ts";
import { actionTextWithId } from "../core/serializer.ts";
import { binary, Harness, readyHarness, serverMessage, testOptions } from "./_fake_server.ts";

/** The AbortedError an action settled with (fails the test otherwise). */
function aborted(h: Harness, id: string): AbortedError {
  const n = h.settled.get(id);
  assert.ok(n, `${id} did not settle`);
  assert.ok(!n.outcome.ok && n.outcome.error instanceof AbortedError, `${id} was not aborted`);
  return n.outcome.error;
}

/** The `written` flag of the ConnectionLostError an action settled with. */
function lostWritten(h: Harness, id: string): boolean {
  const n = h.settled.get(id);
  assert.ok(n && !n.outcome.ok && n.outcome.error instanceof ConnectionLostError, `${id} not lost`);
  return n.outcome.error.written;
}

/** Queues an action without draining (its bytes stay in the write buffer). */
function queue(h: Harness, action: Action, tag?: unknown): string {
  return h.conn.send(action, { tag }, h.now).actionId;
}

/** What `pollTransmit` returned after login, as one latin-1 string. */
function sentAfterLogin(h: Harness, loginChunks: number): string {
  return h.transmitted.slice(loginChunks).map((b) => binary(b)).join("");
}

/** Pulls notices and events as {@link Harness.drain} does, but transmits nothing. */
function pull(h: Harness): void {
  for (let n = h.conn.poll(); n !== undefined; n = h.conn.poll()) {
    h.notices.push(n);
    if (n.type === "settled") {
      if (h.settled.has(n.actionId)) h.doubleSettles.push(n.actionId);
      h.settled.set(n.actionId, n);
    }
  }
  for (let e = h.conn.pollEvent(); e !== undefined; e = h.conn.pollEvent()) h.events.push(e);
}

/** The bytes of an action's text, latin-1 like {@link binary}. */
function wire(action: Action, id: string): string {
  return binary(new TextEncoder().encode(actionTextWithId(action, id)));
}

describe("abort", () => {
  test("a written action settles at once, written; an unwritten one too, not written", () => {
    const h = readyHarness();
    const cause = new Error("the caller gave up");
    const a = h.send("Ping", undefined, { tag: "tag-a" });
    const b = queue(h, { name: "Ping" }, "tag-b");
    assert.equal(h.conn.stats().actionsPending, 2);

    assert.equal(h.conn.abort(a, h.now, cause), true);
    assert.equal(h.conn.abort(b, h.now), true);
    h.drain();
    const ea = aborted(h, a);
    assert.equal(ea.written, true);
    assert.equal(ea.cause, cause);
    assert.equal(ea.code, "ERR_ABORTED");
    assert.equal(aborted(h, b).written, false);
    assert.equal(h.settled.get(a)?.tag, "tag-a");
    assert.equal(h.settled.get(b)?.tag, "tag-b");
    assert.equal(h.settled.get(a)?.action, "Ping");

    const s = h.conn.stats();
    assert.equal(s.actionsAborted, 2);
    assert.equal(s.actionsFailed, 2);
    assert.equal(s.actionsPending, 0);
    assert.equal(s.writeBufferBytes, 0);
    assert.equal(h.conn.pollTimeout(), undefined, "the aborted actions' deadlines are gone");
    assert.equal(h.conn.pollTransmit(), undefined, "the unwritten Ping is never sent");
    assert.deepEqual(h.doubleSettles, []);
  });

  test("aborting frees the action's maxInFlight slot", () => {
    const h = readyHarness({ maxInFlight: 2 });
    const a = h.send("Originate", { Channel: "Local/1@lab", Async: "true" });
    h.send("Ping");
    assert.throws(() => h.send("Ping"), LocalProtocolError);
    assert.equal(h.conn.abort(a, h.now), true);
    const c = h.send("Ping");
    assert.equal(h.conn.stats().actionsPending, 2);
    h.say([["Response", "Success"], ["ActionID", c]]);
    assert.equal(h.settled.get(c)?.outcome.ok, true);
  });

  test("unwritten bytes are never sent; the others go in order with the right written flags", () => {
    const h = readyHarness();
    const login = h.transmitted.length;
    // Non-ASCII values: the buffer's offsets count bytes and characters apart.
    const act = (n: number): Action => ({ name: "UserEvent", fields: { Data: `é😀${n}` } });
    const ids = [0, 1, 2, 3, 4].map((n) => queue(h, act(n)));
    assert.equal(h.conn.abort(ids[3], h.now), true);
    assert.equal(h.conn.abort(ids[1], h.now), true);
    const before = h.conn.stats().writeBufferBytes;
    const expected = [0, 2, 4].map((n) => wire(act(n), ids[n])).join("");
    assert.equal(before, expected.length);
    h.drain();
    assert.equal(sentAfterLogin(h, login), expected);

    // Written ones abort as written; queue more around an abort and close.
    const f = queue(h, act(5));
    const g = queue(h, act(6));
    assert.equal(h.conn.abort(f, h.now), true);
    h.drain();
    const k = queue(h, act(7));
    h.conn.close(h.now, { reason: "transportError" });
    h.drain();
    assert.equal(sentAfterLogin(h, login), expected + wire(act(6), g));
    assert.equal(aborted(h, f).written, false);
    assert.equal(lostWritten(h, ids[0]), true);
    assert.equal(lostWritten(h, ids[2]), true);
    assert.equal(lostWritten(h, ids[4]), true);
    assert.equal(lostWritten(h, g), true);
    assert.equal(lostWritten(h, k), false);
    assert.deepEqual(h.doubleSettles, []);
  });

  test("an answer after the abort is an orphan, not a settlement", () => {
    const h = readyHarness();
    const a = h.send("Ping");
    h.conn.abort(a, h.now);
    h.drain();
    const settledBefore = h.notices.filter((n) => n.type === "settled").length;
    h.say([["Response", "Success"], ["ActionID", a], ["Ping", "Pong"]]);
    assert.equal(h.conn.stats().orphans, 1);
    assert.equal(h.notices.filter((n) => n.type === "settled").length, settledBefore);
    assert.ok(aborted(h, a));
    assert.deepEqual(h.doubleSettles, []);
  });

  test("an aborted event list: later items and the Complete event are orphans, delivered as events", () => {
    const h = readyHarness();
    const a = h.send("CoreShowChannels");
    h.say([["Response", "Success"], ["ActionID", a], ["EventList", "start"]]);
    h.say([["Event", "CoreShowChannel"], ["ActionID", a], ["Channel", "PJSIP/1-0"]]);
    assert.equal(h.conn.abort(a, h.now), true);
    h.drain();
    h.say([["Event", "CoreShowChannel"], ["ActionID", a], ["Channel", "PJSIP/2-0"]]);
    h.say([["Event", "CoreShowChannelsComplete"], ["ActionID", a], ["EventList", "Complete"]]);
    assert.equal(h.conn.stats().orphans, 2);
    assert.deepEqual(h.events.map((e) => e.name), ["CoreShowChannel", "CoreShowChannelsComplete"]);
    assert.ok(aborted(h, a).written);
    assert.deepEqual(h.doubleSettles, []);
  });

  test("an aborted async Originate: its OriginateResponse is an orphan event", () => {
    const h = readyHarness();
    const a = h.send("Originate", { Channel: "Local/1@lab", Async: "true" });
    h.say([["Response", "Success"], ["ActionID", a], ["Message", "Originate successfully queued"]]);
    assert.equal(h.conn.abort(a, h.now, "hung up"), true);
    h.drain();
    h.say([["Event", "OriginateResponse"], ["ActionID", a], ["Response", "Success"]]);
    assert.equal(h.conn.stats().orphans, 1);
    assert.equal(h.events.at(-1)?.name, "OriginateResponse");
    assert.equal(aborted(h, a).cause, "hung up");
  });

  test("false and no change: settled, unknown, foreign, internal, or closed", () => {
    const h = readyHarness({ keepaliveIdleMs: 1_000, keepaliveTimeoutMs: 5_000 });
    const a = h.send("Ping");
    h.say([["Response", "Success"], ["ActionID", a]]);
    assert.equal(h.conn.abort(a, h.now), false, "already settled");
    assert.equal(h.conn.abort(a + "0", h.now), false);
    assert.equal(h.conn.abort("otherinst.pbx1.1.2", h.now), false);
    assert.equal(h.conn.abort("", h.now), false);
    const login = h.actions.find((x) => x.name === "Login")?.actionId ?? "";
    assert.equal(h.conn.abort(login, h.now), false, "the Login");
    h.runUntil(1_000);
    const ping = h.lastAction();
    assert.equal(ping.name, "Ping");
    assert.equal(h.conn.abort(ping.actionId ?? "", h.now), false, "the keepalive Ping");
    h.conn.close(h.now, { graceful: true });
    h.drain();
    const logoff = h.lastAction();
    assert.equal(logoff.name, "Logoff");
    assert.equal(h.conn.abort(logoff.actionId ?? "", h.now), false, "the engine's Logoff");
    assert.equal(h.conn.stats().actionsAborted, 0);
    assert.equal(h.notices.filter((n) => n.type === "settled").length, 1);

    const c = readyHarness();
    const b = queue(c, { name: "Ping" });
    c.conn.close(c.now);
    c.drain();
    assert.equal(c.conn.abort(b, c.now), false, "closed");
    assert.ok(lostWritten(c, b) === false);
  });

  test("an action may be aborted while the connection is closing", () => {
    const h = readyHarness();
    const a = h.send("Ping");
    h.conn.close(h.now, { graceful: true });
    h.drain();
    assert.equal(h.conn.state, "closing");
    assert.equal(h.conn.abort(a, h.now), true);
    h.drain();
    assert.equal(aborted(h, a).written, true);
  });
});

type Op =
  | { op: "send"; unicode: boolean }
  | { op: "transmit" }
  | { op: "abort"; pick: number }
  | { op: "answer"; pick: number }
  | { op: "close" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("send" as const), unicode: fc.boolean() }) },
  { weight: 3, arbitrary: fc.constant({ op: "transmit" as const }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("abort" as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("answer" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ op: "close" as const }) },
);

interface Sent {
  readonly id: string;
  readonly action: Action;
  written: boolean;
  /** Aborted before its bytes left: they must never be sent. */
  cut: boolean;
  /** `pending` until it settles (as the model expects). */
  state: "pending" | "ok" | "aborted" | "lost";
}

test("abort property: every action settles once; exactly the actions not aborted before their write are written, in order", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
      const h = new Harness(testOptions({ maxInFlight: 6, maxWriteBufferBytes: 2_000 }), 0);
      h.login();
      const login = h.transmitted.length;
      const sent: Sent[] = [];
      let orphans = 0;
      let n = 0;
      for (const op of ops) {
        switch (op.op) {
          case "send": {
            const action: Action = {
              name: "UserEvent",
              fields: { Data: op.unicode ? `ü€😀${n++}` : `plain${n++}` },
            };
            try {
              const id = h.conn.send(action, undefined, h.now).actionId;
              sent.push({ id, action, written: false, cut: false, state: "pending" });
            } catch (err) {
              assert.ok(err instanceof LocalProtocolError);
              const pending = sent.filter((s) => s.state === "pending").length;
              assert.ok(h.conn.state !== "ready" || pending === 6, "refused below maxInFlight");
            }
            break;
          }
          case "transmit":
            h.drain();
            if (h.conn.state !== "closed") {
              for (const s of sent) if (s.state === "pending") s.written = true;
            }
            break;
          case "abort": {
            if (sent.length === 0) break;
            const s = sent[op.pick % sent.length];
            const ok = h.conn.abort(s.id, h.now);
            assert.equal(ok, s.state === "pending");
            if (ok) {
              s.state = "aborted";
              s.cut = !s.written;
            }
            break;
          }
          case "answer": {
            // The server answers only what it received.
            const got = sent.filter((s) => s.written);
            if (got.length === 0 || h.conn.state === "closed") break;
            const s = got[op.pick % got.length];
            h.conn.receive(serverMessage([["Response", "Success"], ["ActionID", s.id]]), h.now);
            if (s.state === "pending") s.state = "ok";
            else orphans++;
            break;
          }
          case "close":
            h.conn.close(h.now, { reason: "transportError" });
            for (const s of sent) if (s.state === "pending") s.state = "lost";
            break;
        }
        pull(h);
        assert.equal(h.conn.stats().orphans, orphans);
      }
      h.conn.close(h.now);
      h.drain();
      for (const s of sent) if (s.state === "pending") s.state = "lost";

      assert.deepEqual(h.doubleSettles, []);
      for (const s of sent) {
        const settled: SettledNotice | undefined = h.settled.get(s.id);
        assert.ok(settled, `${s.id} never settled`);
        const o = settled.outcome;
        if (s.state === "ok") assert.ok(o.ok);
        else if (s.state === "aborted") {
          assert.ok(!o.ok && o.error instanceof AbortedError);
          assert.equal(o.error.written, !s.cut);
        } else {
          assert.ok(!o.ok && o.error instanceof ConnectionLostError);
          assert.equal(o.error.written, s.written);
        }
      }
      const expected = sent.filter((s) => s.written && !s.cut).map((s) => wire(s.action, s.id))
        .join("");
      assert.equal(sentAfterLogin(h, login), expected);
      assert.equal(h.conn.stats().actionsAborted, sent.filter((s) => s.state === "aborted").length);
    }),
    { numRuns: 300, seed: 3 },
  );
});
