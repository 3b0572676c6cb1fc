/**
 * The ARCHITECTURE.md invariants that concern one connection (3, 4, 5, 6, 7,
 * 8, 13) and the audit's regressions, each with a test that fails if it breaks.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ActionError,
  ActionTimeoutError,
  AmiConnection,
  ConnectionLostError,
  type DropSummaryNotice,
  LocalProtocolError,
  RemoteProtocolError,
} from "../core/mod.ts";
import {
  bytes,
  Harness,
  readyHarness,
  serverMessage,
  TEST_IDS,
  testOptions,
} from "./_fake_server.ts";

const ready = readyHarness;

function settledError(h: Harness, id: string): Error {
  const n = h.settled.get(id);
  assert.ok(n, `${id} did not settle`);
  if (n.outcome.ok) assert.fail(`${id} succeeded`);
  return n.outcome.error;
}

describe("invariant 3: no synthetic success", () => {
  test("an async Originate does not resolve on 'successfully queued', only on OriginateResponse", () => {
    const h = ready();
    const id = h.send("Originate", {
      Channel: "Local/100@lab",
      Application: "Wait",
      Async: "true",
    });
    h.say([["Response", "Success"], ["ActionID", id], [
      "Message",
      "Originate successfully queued",
    ]]);
    assert.equal(h.settled.has(id), false);
    h.advanceTo(60_000);
    assert.equal(h.settled.has(id), false);
    h.say([["Event", "OriginateResponse"], ["ActionID", id], ["Response", "Success"], [
      "Reason",
      "4",
    ]]);
    const n = h.settled.get(id);
    assert.ok(n?.outcome.ok && n.outcome.result.kind === "originate");
  });

  test("an async Originate answered Response: Error fails at once", () => {
    const h = ready();
    const id = h.send("Originate", { Channel: "x", Async: "yes" });
    h.say([["Response", "Error"], ["ActionID", id], ["Message", "Permission denied"]]);
    const err = settledError(h, id);
    assert.ok(err instanceof ActionError);
    assert.equal(err.serverMessage, "Permission denied");
  });

  test("an event list resolves only on its Complete event; an error response ends it at once", () => {
    const h = ready();
    const id = h.send("CoreShowChannels");
    h.say([["Response", "Success"], ["ActionID", id], ["EventList", "start"]]);
    h.say([["Event", "CoreShowChannel"], ["ActionID", id], ["Channel", "a"]]);
    assert.equal(h.settled.has(id), false);
    h.say([["Event", "CoreShowChannelsComplete"], ["ActionID", id], ["EventList", "Complete"], [
      "ListItems",
      "1",
    ]]);
    const n = h.settled.get(id);
    assert.ok(n?.outcome.ok && n.outcome.result.kind === "eventList");
    assert.equal(n.outcome.result.events.length, 1);

    const bad = h.send("CoreShowChannels", undefined, { strategy: "eventList" });
    h.say([["Response", "Error"], ["ActionID", bad], ["Message", "nope"]]);
    assert.ok(settledError(h, bad) instanceof ActionError);
  });

  test("a single-response action is not completed by an event carrying its ActionID", () => {
    const h = ready();
    const id = h.send("Ping");
    h.say([["Event", "UserEvent"], ["ActionID", id]]);
    assert.equal(h.settled.has(id), false);
    assert.equal(h.events.at(-1)?.name, "UserEvent");
  });

  test("without an answer an action only ever fails: timeout, or connection lost", () => {
    const h = ready({ actionTimeoutMs: 1_000 });
    const a = h.send("Ping");
    const b = h.send("Originate", { Channel: "x", Async: "1" });
    h.runUntil(1_000);
    assert.ok(settledError(h, a) instanceof ActionTimeoutError);
    h.conn.receiveEof(h.now);
    h.drain();
    assert.ok(settledError(h, b) instanceof ConnectionLostError);
    assert.equal(h.conn.stats().actionsCompleted, 0);
  });
});

describe("invariant 4: pending actions fail deterministically on disconnect and on timeout", () => {
  test("on disconnect each pending action fails exactly once, saying whether it was written", () => {
    const run = (): string[] => {
      const h = ready();
      const written = h.send("Ping"); // drained by the harness: written
      const unwritten = h.conn.send({ name: "Ping" }, undefined, h.now).actionId; // not pulled
      h.conn.receiveEof(h.now);
      h.drain();
      const w = settledError(h, written);
      const u = settledError(h, unwritten);
      assert.ok(w instanceof ConnectionLostError && w.written === true);
      assert.ok(u instanceof ConnectionLostError && u.written === false);
      assert.equal(w.reason, "remoteClosed");
      assert.deepEqual(h.doubleSettles, []);
      assert.equal(h.conn.stats().actionsPending, 0);
      return h.notices.map((n) => JSON.stringify(n.type === "settled" ? [n.actionId] : n));
    };
    assert.deepEqual(run(), run());
  });

  test("an action times out exactly at its deadline; a late answer is an orphan, never a second settle", () => {
    const h = ready({ actionTimeoutMs: 5_000 });
    const id = h.send("Ping");
    const quick = h.send("Ping", undefined, { timeoutMs: 100 });
    assert.equal(h.conn.pollTimeout(), h.now + 100);
    h.advanceTo(99);
    assert.equal(h.settled.size, 0);
    h.advanceTo(100);
    assert.ok(settledError(h, quick) instanceof ActionTimeoutError);
    h.advanceTo(4_999);
    assert.equal(h.settled.has(id), false);
    h.advanceTo(5_000);
    const err = settledError(h, id);
    assert.ok(err instanceof ActionTimeoutError);
    assert.equal(err.written, true);
    assert.equal(err.timeoutMs, 5_000);
    h.say([["Response", "Success"], ["ActionID", id], ["Ping", "Pong"]]);
    assert.equal(h.conn.stats().orphans, 1);
    assert.deepEqual(h.doubleSettles, []);
    assert.equal(h.conn.stats().actionsTimedOut, 2);
  });

  test("a protocol error fails pending actions with ConnectionLostError caused by it", () => {
    const h = ready({ parser: { maxLineBytes: 64 } });
    const id = h.send("Ping");
    // An ActionID line too long to read: the owner of the message cannot be known.
    assert.doesNotThrow(() => h.feed(`Response: Success\r\nActionID: ${"x".repeat(200)}\r\n\r\n`));
    const err = settledError(h, id);
    assert.ok(err instanceof ConnectionLostError);
    assert.equal(err.reason, "protocol");
    assert.ok(err.cause instanceof RemoteProtocolError);
    const closed = h.notices.at(-1);
    assert.ok(closed?.type === "state" && closed.reason === "protocol");
    assert.ok(closed.error instanceof RemoteProtocolError);
  });
});

describe("invariant 5: a non-graceful close discards unsent bytes (the audit's P0)", () => {
  test("disconnect with unsent writes, then a new session: no old byte and no old ActionID is sent", () => {
    const old = ready();
    const oldIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      oldIds.push(
        old.conn.send(
          { name: "Originate", fields: { Channel: `Local/old-${i}@lab`, Async: "true" } },
          undefined,
          old.now,
        )
          .actionId,
      );
    }
    assert.ok(old.conn.stats().writeBufferBytes > 0);
    old.conn.close(old.now, { reason: "transportError", error: new Error("ECONNRESET") });
    assert.equal(old.conn.pollTransmit(), undefined);
    assert.equal(old.conn.stats().writeBufferBytes, 0);
    old.drain();
    for (const id of oldIds) {
      const err = settledError(old, id);
      assert.ok(err instanceof ConnectionLostError && err.written === false);
    }
    // The next session (a new engine with the next epoch) for the same node.
    const next = new Harness(testOptions({ ids: { ...TEST_IDS, session: TEST_IDS.session + 1 } }));
    next.login();
    next.send("Ping");
    next.conn.send({ name: "Ping" }, undefined, next.now);
    next.drain();
    const text = next.transmittedText();
    for (const id of oldIds) assert.ok(!text.includes(id), `old ActionID ${id} sent`);
    assert.ok(!text.includes("Local/old-"), "an old action's bytes were sent");
    assert.ok(!text.includes(`${TEST_IDS.instance}.${TEST_IDS.node}.${TEST_IDS.session}.`));
    // And an old session's late response is ignored there.
    next.say([["Response", "Success"], ["ActionID", oldIds[0]], ["Message", "queued"]]);
    assert.equal(next.conn.stats().orphans, 1);
  });

  test("after every kind of close pollTransmit yields nothing", () => {
    for (const kill of ["eof", "protocol", "timeout", "close"] as const) {
      const h = ready({ keepaliveIdleMs: 1_000, keepaliveTimeoutMs: 500 });
      if (kill === "timeout") {
        h.runUntil(1_000); // Ping pulled
        h.conn.send({ name: "Ping" }, undefined, h.now);
        h.runUntil(1_500);
      } else {
        h.conn.send({ name: "Ping" }, undefined, h.now);
        if (kill === "eof") h.conn.receiveEof(h.now);
        if (kill === "protocol") {
          h.conn.receive(
            bytes(`Response: Error\r\nActionID: ${"\0".repeat(1_100_000)}\r\n\r\n`),
            h.now,
          );
        }
        if (kill === "close") h.conn.close(h.now);
      }
      assert.equal(h.conn.state, "closed", kill);
      assert.equal(h.conn.pollTransmit(), undefined, kill);
    }
  });
});

describe("invariant 6: ActionIDs are unique per process, node and session; stale ones are ignored and counted", () => {
  test("IDs are instance.node.session.counter and never repeat", () => {
    const seen = new Set<string>();
    for (
      const ids of [TEST_IDS, { ...TEST_IDS, node: "pbx2" }, { ...TEST_IDS, session: 2 }, {
        ...TEST_IDS,
        instance: "other",
      }]
    ) {
      const h = ready({ ids, maxInFlight: 5_000 });
      for (let i = 0; i < 500; i++) {
        const id = h.conn.send({ name: "Ping" }, undefined, h.now).actionId;
        assert.ok(id.startsWith(`${ids.instance}.${ids.node}.${ids.session}.`));
        assert.ok(!seen.has(id), id);
        seen.add(id);
      }
    }
  });

  test("a foreign OriginateResponse is a real event, never a result, and is counted", () => {
    const h = ready();
    const mine = h.send("Originate", { Channel: "x", Async: "true" });
    h.say([["Response", "Success"], ["ActionID", mine]]);
    h.say([["Event", "OriginateResponse"], ["ActionID", "otherproc.pbx1.1.1"], [
      "Response",
      "Success",
    ]]);
    assert.equal(h.settled.has(mine), false);
    assert.equal(h.events.at(-1)?.get("ActionID"), "otherproc.pbx1.1.1");
    assert.equal(h.conn.stats().orphans, 1);
  });

  test("ActionID parts that would break the format are refused", () => {
    for (
      const ids of [{ ...TEST_IDS, node: "a.b" }, { ...TEST_IDS, instance: "" }, {
        ...TEST_IDS,
        session: -1,
      }]
    ) {
      assert.throws(() => new AmiConnection(testOptions({ ids }), 0), LocalProtocolError);
    }
  });
});

describe("invariant 7: every buffer and queue is bounded with an enforced cap", () => {
  test("maxInFlight: beyond it send throws and queues nothing", () => {
    const h = ready({ maxInFlight: 3 });
    for (let i = 0; i < 3; i++) h.conn.send({ name: "Ping" }, undefined, h.now);
    const before = h.conn.stats();
    assert.throws(() => h.conn.send({ name: "Ping" }, undefined, h.now), LocalProtocolError);
    const after = h.conn.stats();
    assert.equal(after.actionsPending, 3);
    assert.equal(after.writeBufferBytes, before.writeBufferBytes);
    assert.equal(after.actionsSent, 3);
  });

  test("write buffer: over maxWriteBufferBytes send throws; draining makes room", () => {
    const h = ready({ maxWriteBufferBytes: 200 });
    const n = () => h.conn.send({ name: "Ping" }, undefined, h.now);
    let accepted = 0;
    for (;;) {
      try {
        n();
        accepted++;
      } catch (err) {
        assert.ok(err instanceof LocalProtocolError);
        break;
      }
    }
    assert.ok(accepted >= 1);
    assert.ok(h.conn.stats().writeBufferBytes <= 200);
    h.drain();
    assert.doesNotThrow(n);
  });

  test("event queue: depth never exceeds the capacity", () => {
    const h = new Harness(testOptions({ eventQueueCapacity: 8 }));
    h.login();
    h.events.length = 0;
    let chunk = "";
    for (let i = 0; i < 100; i++) chunk += `Event: Tick\r\nN: ${i}\r\n\r\n`;
    h.conn.receive(bytes(chunk), h.now);
    assert.equal(h.conn.stats().eventQueueDepth, 8);
  });

  test("parser bounds: an oversized event is dropped and counted, receive does not throw", () => {
    const h = ready({ parser: { maxMessageBytes: 1_000 } });
    assert.doesNotThrow(() => h.feed(`Event: X\r\n${"K: v\r\n".repeat(400)}\r\n`, { seed: 3 }));
    assert.equal(h.conn.state, "ready");
    assert.equal(h.conn.stats().eventsDropped, 1);
  });

  test("event list: more than maxListItems items fails the action", () => {
    const h = ready({ maxListItems: 2 });
    const id = h.send("Status");
    h.say([["Response", "Success"], ["ActionID", id], ["EventList", "start"]]);
    for (let i = 0; i < 3; i++) h.say([["Event", "Status"], ["ActionID", id]]);
    assert.ok(settledError(h, id) instanceof RemoteProtocolError);
  });
});

describe("invariant 8: drops are counted exactly and summarised at most once per interval", () => {
  function flood(h: Harness, from: number, n: number): void {
    let chunk = "";
    for (let i = from; i < from + n; i++) chunk += `Event: Tick\r\nN: ${i}\r\n\r\n`;
    h.conn.receive(bytes(chunk), h.now);
  }
  const summaries = (h: Harness) =>
    h.notices.filter((n): n is DropSummaryNotice => n.type === "drops");

  test("a flood that overflows the queue: exact counts, one summary, dropOldest keeps the newest", () => {
    const h = new Harness(testOptions({ eventQueueCapacity: 10, dropSummaryIntervalMs: 1_000 }));
    h.login();
    h.events.length = 0;
    flood(h, 0, 1_000); // not drained in between: 990 must go
    h.drain();
    assert.equal(h.conn.stats().eventsDropped, 990);
    assert.deepEqual(summaries(h), [{ type: "drops", dropped: 990, totalDropped: 990, depth: 10 }]);
    assert.deepEqual(
      h.events.map((e) => e.get("N")),
      Array.from({ length: 10 }, (_, i) => String(990 + i)),
    );
  });

  test("dropNewest keeps the oldest", () => {
    const h = new Harness(testOptions({ eventQueueCapacity: 10, dropPolicy: "dropNewest" }));
    h.login();
    const before = h.conn.stats().eventsDelivered;
    flood(h, 0, 50);
    h.drain();
    assert.equal(h.conn.stats().eventsDropped, 40);
    assert.deepEqual(
      h.events.slice(before).map((e) => e.get("N")),
      Array.from({ length: 10 }, (_, i) => String(i)),
    );
  });

  test("repeated floods: at most one summary per interval, the due one is a real deadline, sums exact", () => {
    const interval = 1_000;
    const h = new Harness(testOptions({ eventQueueCapacity: 5, dropSummaryIntervalMs: interval }));
    h.login();
    let expected = 0;
    for (let step = 0; step < 40; step++) {
      flood(h, step * 100, 20); // 15 dropped per flood (queue drained after each)
      expected += 15;
      h.drain();
      const due = h.conn.pollTimeout();
      if (due !== undefined) assert.ok(due >= h.now);
      h.advanceTo(h.now + 137);
    }
    h.runUntil(h.now + interval);
    const s = summaries(h);
    let total = 0;
    for (const x of s) total += x.dropped;
    assert.equal(total, expected);
    assert.equal(s.at(-1)?.totalDropped, expected);
    assert.equal(h.conn.stats().eventsDropped, expected);
    // 40 floods over 40 * 137 ms: about 6 intervals, never one summary per flood.
    assert.ok(s.length <= Math.ceil((40 * 137) / interval) + 1, `${s.length} summaries`);
  });

  test("a summary is due within the interval: pollTimeout reports it and handleTimeout emits it", () => {
    const h = new Harness(testOptions({ eventQueueCapacity: 1, dropSummaryIntervalMs: 1_000 }));
    h.login();
    h.events.length = 0;
    flood(h, 0, 3);
    h.drain();
    assert.equal(summaries(h).length, 1);
    h.now = 10;
    flood(h, 3, 3);
    h.drain();
    assert.equal(summaries(h).length, 1, "a second summary inside the interval");
    assert.equal(h.conn.pollTimeout(), 1_000);
    h.advanceTo(1_000);
    assert.deepEqual(summaries(h).at(-1), { type: "drops", dropped: 2, totalDropped: 4, depth: 0 });
  });
});

describe("invariant 13: no header injection", () => {
  test("CR or LF in a value, or ':' / CRLF in a key, is refused before anything is queued", () => {
    const h = ready();
    const sentBefore = h.transmitted.length;
    const bad = [
      { Channel: "Local/1@lab\r\nAction: Originate" },
      { Channel: "x\n" },
      { "Bad:Key": "v" },
      { "Bad\r\nKey": "v" },
    ];
    for (const fields of bad) {
      assert.throws(
        () => h.conn.send({ name: "Originate", fields }, undefined, h.now),
        LocalProtocolError,
      );
    }
    assert.throws(
      () => h.conn.send({ name: "Ping\r\nX: y" }, undefined, h.now),
      LocalProtocolError,
    );
    assert.equal(h.conn.stats().writeBufferBytes, 0);
    assert.equal(h.conn.stats().actionsPending, 0);
    h.drain();
    assert.equal(h.transmitted.length, sentBefore);
  });

  test("credentials with CR/LF are refused at construction, without echoing the secret", () => {
    assert.throws(
      () => new AmiConnection(testOptions({ secret: "hunter2\r\nAction: Originate" }), 0),
      (err: unknown) => err instanceof LocalProtocolError && !err.message.includes("hunter2"),
    );
    assert.throws(
      () => new AmiConnection(testOptions({ username: "a\nb" }), 0),
      LocalProtocolError,
    );
  });
});

test("serverMessage helper round-trips (sanity)", () => {
  assert.ok(serverMessage([["Event", "X"]]).length > 0);
});
