/**
 * Engine behaviour with a simulated clock: login deadlines, keepalive,
 * graceful and abrupt close, misuse of send, and strategy details.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ActionError,
  AuthError,
  ConnectError,
  ConnectionLostError,
  LocalProtocolError,
  RemoteProtocolError,
} from "../core/mod.ts";
import { bytes, Harness, readyHarness, serverMessage, testOptions } from "./_fake_server.ts";

const ready = readyHarness;

describe("login", () => {
  test("no banner before the login deadline closes with loginTimedOut", () => {
    const h = new Harness(testOptions({ loginTimeoutMs: 2_000 }), 100);
    assert.equal(h.conn.pollTimeout(), 2_100);
    h.runUntil(10_000);
    assert.deepEqual(h.states(), ["closed:loginTimedOut"]);
    const n = h.notices.at(-1);
    assert.ok(n?.type === "state" && n.error instanceof ConnectError);
  });

  test("a banner but no login answer also times out; the deadline is cleared once ready", () => {
    const h = new Harness(testOptions({ loginTimeoutMs: 2_000 }));
    h.feed("Asterisk Call Manager/13.0.0\r\n");
    h.runUntil(2_000);
    assert.deepEqual(h.states(), ["authenticating", "closed:loginTimedOut"]);

    const ok = ready({ loginTimeoutMs: 2_000 });
    assert.equal(ok.conn.pollTimeout(), undefined); // keepalive off, nothing pending
  });

  test("the Events mask is sent with Login: on, off or a class list", () => {
    for (
      const [events, value] of [[true, "on"], [false, "off"], ["call,user", "call,user"]] as const
    ) {
      const h = new Harness(testOptions({ events }));
      h.feed("Asterisk Call Manager/13.0.0\r\n");
      assert.equal(h.lastAction().get("Events"), value);
    }
  });

  test("an MD5 Challenge refused closes with authFailed", () => {
    const h = new Harness(testOptions({ auth: "md5" }));
    h.feed("Asterisk Call Manager/13.0.0\r\n");
    h.say([["Response", "Error"], ["ActionID", h.lastAction().actionId ?? ""], [
      "Message",
      "Must specify AuthType",
    ]]);
    const n = h.notices.at(-1);
    assert.ok(n?.type === "state" && n.reason === "authFailed" && n.error instanceof AuthError);
  });

  test("a non-AMI banner (an SSH server) closes with protocol, receive does not throw", () => {
    const h = new Harness();
    assert.doesNotThrow(() => h.feed("SSH-2.0-OpenSSH_9.6\r\n"));
    const n = h.notices.at(-1);
    assert.ok(n?.type === "state" && n.reason === "protocol");
    assert.ok(n.error instanceof RemoteProtocolError);
  });

  test("banner, login answer and first events in one read: all kept", () => {
    const h = new Harness();
    h.conn.receive(bytes("Asterisk Call Manager/13.0.0\r\n"), 0);
    const id = h.conn.pollTransmit() && "inst0001.pbx1.1.1";
    h.conn.receive(
      bytes(
        `Response: Success\r\nActionID: ${id}\r\n\r\nEvent: FullyBooted\r\n\r\nEvent: Other\r\n\r\n`,
      ),
      0,
    );
    h.drain();
    assert.equal(h.conn.state, "ready");
    assert.deepEqual(h.events.map((e) => e.name), ["FullyBooted", "Other"]);
  });
});

describe("send misuse is a LocalProtocolError and queues nothing", () => {
  test("before ready, with a caller ActionID, Login/Challenge, unknown strategy, after close", () => {
    const fresh = new Harness();
    assert.throws(() => fresh.conn.send({ name: "Ping" }, undefined, 0), LocalProtocolError);
    const h = ready();
    assert.throws(
      () => h.conn.send({ name: "Ping", actionId: "mine" }, undefined, 0),
      LocalProtocolError,
    );
    assert.throws(() => h.conn.send({ name: "Login" }, undefined, 0), LocalProtocolError);
    assert.throws(() => h.conn.send({ name: "challenge" }, undefined, 0), LocalProtocolError);
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => h.conn.send({ name: "Ping" }, { strategy: "bogus" as any }, 0),
      LocalProtocolError,
    );
    for (const timeoutMs of [0, -1, NaN]) {
      assert.throws(() => h.conn.send({ name: "Ping" }, { timeoutMs }, 0), LocalProtocolError);
    }
    assert.equal(h.conn.stats().writeBufferBytes, 0);
    assert.equal(h.conn.stats().actionsPending, 0);
    const forever = h.send("Ping", undefined, { timeoutMs: Infinity });
    assert.equal(h.conn.pollTimeout(), undefined, "Infinity: no deadline");
    h.conn.close(0);
    h.drain();
    const lost = h.settled.get(forever);
    assert.ok(lost && !lost.outcome.ok && lost.outcome.error instanceof ConnectionLostError);
    assert.throws(() => h.conn.send({ name: "Ping" }, undefined, 0), LocalProtocolError);
  });
});

describe("keepalive", () => {
  test("Ping after the idle interval; its answer gives the RTT and is never a settled notice", () => {
    const h = ready({ keepaliveIdleMs: 20_000, keepaliveTimeoutMs: 5_000 });
    assert.equal(h.conn.pollTimeout(), 20_000);
    h.advanceTo(10_000);
    h.say([["Event", "Tick"]]); // traffic postpones the ping
    assert.equal(h.conn.pollTimeout(), 30_000);
    h.runUntil(30_000);
    const ping = h.lastAction();
    assert.equal(ping.name, "Ping");
    assert.equal(h.conn.pollTimeout(), 35_000);
    h.now = 30_042;
    h.say([["Response", "Success"], ["ActionID", ping.actionId ?? ""], ["Ping", "Pong"]]);
    assert.equal(h.conn.stats().keepaliveRttMs, 42);
    assert.equal(h.settled.size, 0);
    assert.equal(h.conn.stats().orphans, 0);
    assert.equal(h.conn.pollTimeout(), 30_042 + 20_000);
  });

  test("an unanswered Ping closes with timedOut and fails pending actions", () => {
    const h = ready({ keepaliveIdleMs: 1_000, keepaliveTimeoutMs: 500 });
    const id = h.send("Originate", { Channel: "x", Async: "true" });
    h.runUntil(1_499);
    assert.equal(h.conn.state, "ready");
    h.runUntil(1_500);
    assert.deepEqual(h.states().at(-1), "closed:timedOut");
    const n = h.settled.get(id);
    assert.ok(n && !n.outcome.ok && n.outcome.error instanceof ConnectionLostError);
    assert.equal(n.outcome.error.written, true);
  });
});

describe("close", () => {
  test("graceful: Logoff is flushed, pending actions may complete, Goodbye closes as loggedOff", () => {
    const h = ready();
    const a = h.send("Ping");
    const b = h.send("Ping");
    h.conn.close(h.now, { graceful: true });
    h.drain();
    assert.equal(h.conn.state, "closing");
    const logoff = h.lastAction();
    assert.equal(logoff.name, "Logoff");
    assert.throws(() => h.conn.send({ name: "Ping" }, undefined, h.now), LocalProtocolError);
    h.say([["Response", "Success"], ["ActionID", a]]);
    h.say([["Response", "Goodbye"], ["ActionID", logoff.actionId ?? ""]]);
    assert.deepEqual(h.states().slice(-2), ["closing", "closed:loggedOff"]);
    assert.equal(h.settled.get(a)?.outcome.ok, true);
    const lost = h.settled.get(b);
    assert.ok(lost && !lost.outcome.ok && lost.outcome.error instanceof ConnectionLostError);
    assert.equal(h.settled.size, 2, "the engine's Logoff is not a settled action");
  });

  test("graceful: no Goodbye closes at the close deadline, or on EOF", () => {
    const h = ready({ closeTimeoutMs: 3_000 });
    h.conn.close(h.now, { graceful: true });
    assert.equal(h.conn.pollTimeout(), 3_000);
    h.runUntil(3_000);
    assert.deepEqual(h.states().at(-1), "closed:local");
    const e = ready();
    e.conn.close(0, { graceful: true });
    e.conn.receiveEof(1);
    e.drain();
    assert.deepEqual(e.states().at(-1), "closed:local");
  });

  test("abrupt close is idempotent; receive, EOF and timeouts after it are ignored", () => {
    const h = ready();
    h.conn.close(0, { reason: "transportError", error: new Error("reset") });
    h.conn.close(0);
    h.conn.receive(bytes("Event: X\r\n\r\n"), 1);
    h.conn.receiveEof(2);
    h.conn.handleTimeout(3);
    h.drain();
    assert.deepEqual(h.states().slice(-1), ["closed:transportError"]);
    assert.equal(h.states().filter((s) => s.startsWith("closed")).length, 1);
    assert.equal(h.conn.pollTimeout(), undefined);
  });

  test("unreported drops get a final summary before the closed notice", () => {
    const h = new Harness(testOptions({ eventQueueCapacity: 1, dropSummaryIntervalMs: 10_000 }));
    h.login();
    h.feed("Event: A\r\n\r\nEvent: B\r\n\r\n"); // 1 dropped, summary now
    h.feed("Event: C\r\n\r\nEvent: D\r\n\r\n"); // 1 more, its summary due later
    h.conn.receiveEof(h.now);
    h.drain();
    const tail = h.notices.slice(-2);
    assert.deepEqual(tail[0], { type: "drops", dropped: 1, totalDropped: 2, depth: 0 });
    assert.ok(tail[1].type === "state" && tail[1].state === "closed");
  });
});

describe("tags and ActionID lookup", () => {
  test("the tag given to send comes back on the settled notice, however it settles", () => {
    const h = ready();
    const tags = [{ n: 1 }, { n: 2 }, { n: 3 }];
    const answered = h.send("Ping", undefined, { tag: tags[0] });
    const timedOut = h.send("Ping", undefined, { tag: tags[1], timeoutMs: 10 });
    const lost = h.send("Ping", undefined, { tag: tags[2] });
    const untagged = h.send("Ping");
    h.say([["Response", "Success"], ["ActionID", answered]]);
    h.advanceTo(10);
    h.conn.close(10);
    h.drain();
    assert.equal(h.settled.get(answered)?.tag, tags[0]);
    assert.equal(h.settled.get(timedOut)?.tag, tags[1]);
    assert.equal(h.settled.get(lost)?.tag, tags[2]);
    assert.equal(h.settled.get(untagged)?.tag, undefined);
  });

  test("only the exact ActionID settles an action: lookalikes are orphans", () => {
    const h = ready();
    const id = h.send("Ping");
    const prefix = id.slice(0, id.lastIndexOf(".") + 1);
    const counter = id.slice(prefix.length);
    const lookalikes = [
      `${prefix}0${counter}`, // leading zero
      `${prefix}${counter}.`,
      `${prefix}+${counter}`,
      `x${prefix.slice(1)}${counter}`,
      prefix,
      `${prefix}${counter}0`,
      `${prefix}1${"0".repeat(20)}`,
    ];
    for (const other of lookalikes) h.say([["Response", "Success"], ["ActionID", other]]);
    assert.equal(h.settled.has(id), false);
    assert.equal(h.conn.stats().orphans, lookalikes.length);
    h.say([["Response", "Success"], ["ActionID", id]]);
    assert.equal(h.settled.get(id)?.outcome.ok, true);
  });
});

describe("strategies in detail", () => {
  test("a legacy Response: Follows body becomes the command output", () => {
    const h = ready();
    const id = h.send("Command", { Command: "core show uptime" });
    h.feed(
      `Response: Follows\r\nActionID: ${id}\r\nPrivilege: Command\r\nSystem uptime: 1 hour\r\nLast reload: 2 min\r\n--END COMMAND--\r\n\r\n`,
    );
    const n = h.settled.get(id);
    assert.ok(n?.outcome.ok && n.outcome.result.kind === "command");
    assert.deepEqual(n.outcome.result.output, ["System uptime: 1 hour", "Last reload: 2 min"]);
  });

  test("an OriginateResponse arriving before the queued response still completes it", () => {
    const h = ready();
    const id = h.send("Originate", { Channel: "x", Async: "true" });
    h.say([["Event", "OriginateResponse"], ["ActionID", id], ["Response", "Success"]]);
    assert.equal(h.settled.has(id), false);
    h.say([["Response", "Success"], ["ActionID", id]]);
    const n = h.settled.get(id);
    assert.ok(n?.outcome.ok && n.outcome.result.kind === "originate");
  });

  test("a sync Originate (no Async) completes on its response; Async: false too", () => {
    const h = ready();
    const a = h.send("Originate", { Channel: "x" });
    const b = h.send("Originate", { Channel: "x", Async: "false" });
    h.say([["Response", "Success"], ["ActionID", a]]);
    h.say([["Response", "Error"], ["ActionID", b], ["Message", "Originate failed"]]);
    assert.equal(h.settled.get(a)?.outcome.ok, true);
    const n = h.settled.get(b);
    assert.ok(n && !n.outcome.ok && n.outcome.error instanceof ActionError);
  });

  test("the default Originate deadline is originateTimeoutMs; others use actionTimeoutMs", () => {
    const h = ready({ actionTimeoutMs: 1_000, originateTimeoutMs: 9_000 });
    h.send("Originate", { Channel: "x", Async: "true" });
    assert.equal(h.conn.pollTimeout(), 9_000);
    h.send("Ping");
    assert.equal(h.conn.pollTimeout(), 1_000);
  });

  test("an application Logoff: Goodbye settles it, then EOF closes as loggedOff", () => {
    const h = ready();
    const id = h.send("Logoff");
    h.say([["Response", "Goodbye"], ["ActionID", id], ["Message", "Thanks for all the fish."]]);
    const n = h.settled.get(id);
    assert.ok(n?.outcome.ok && n.outcome.result.kind === "logoff");
    assert.equal(h.conn.state, "closing");
    h.conn.receiveEof(h.now);
    h.drain();
    assert.deepEqual(h.states().at(-1), "closed:loggedOff");
  });

  test("an explicit strategy overrides auto (a Command as a single response)", () => {
    const h = ready();
    const id = h.send("Command", { Command: "x" }, { strategy: "response" });
    h.say([["Response", "Success"], ["ActionID", id], ["Output", "a"]]);
    const n = h.settled.get(id);
    assert.ok(n?.outcome.ok && n.outcome.result.kind === "response");
  });
});

describe("an event list's place in the event stream", () => {
  test("eventsBefore counts the events delivered or queued before the Complete, not those after it in the same read", () => {
    const h = ready();
    h.say([["Event", "Newchannel"], ["Uniqueid", "1"]]); // delivered before
    const id = h.send("CoreShowChannels");
    const ev = (u: string): Uint8Array => serverMessage([["Event", "Newstate"], ["Uniqueid", u]]);
    const chunk = [
      serverMessage([["Response", "Success"], ["ActionID", id], ["EventList", "start"]]),
      ev("2"), // queued in the same read, before the items (Asterisk never does; still counted)
      serverMessage([["Event", "CoreShowChannel"], ["ActionID", id], ["Uniqueid", "1"]]),
      serverMessage([["Event", "CoreShowChannelsComplete"], ["ActionID", id], [
        "EventList",
        "Complete",
      ]]),
      ev("3"), // after the Complete, same read
      ev("4"),
    ];
    const all = new Uint8Array(chunk.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunk) {
      all.set(c, at);
      at += c.length;
    }
    h.feed(all);
    const n = h.settled.get(id);
    assert.ok(n?.outcome.ok && n.outcome.result.kind === "eventList");
    assert.equal(n.outcome.result.eventsBefore, 2);
    assert.deepEqual(h.events.map((e) => e.get("Uniqueid")), ["1", "2", "3", "4"]);
  });
});

describe("stats", () => {
  test("counters add up", () => {
    const h = ready();
    const a = h.send("Ping");
    h.send("Ping", undefined, { timeoutMs: 10 });
    h.say([["Response", "Success"], ["ActionID", a]]);
    h.say([["Response", "Success"], ["ActionID", "stranger"]]);
    h.runUntil(10);
    const s = h.conn.stats();
    assert.equal(s.actionsSent, 2);
    assert.equal(s.actionsCompleted, 1);
    assert.equal(s.actionsTimedOut, 1);
    assert.equal(s.actionsFailed, 0);
    assert.equal(s.orphans, 1);
    assert.equal(s.messagesOut, 3); // Login + 2 Pings
    assert.equal(s.messagesIn, 3);
    assert.equal(s.bytesOut, h.transmitted.reduce((n, b) => n + b.length, 0));
    assert.equal(s.state, "ready");
  });
});

describe("an async Originate needs call events", () => {
  const originate = { name: "Originate", fields: { Channel: "Local/100@lab", Async: true } };

  for (
    const [events, allowed] of [
      [undefined, true],
      [true, true],
      ["on", true],
      ["call,user", true],
      ["all", true],
      [false, false],
      ["off", false],
      ["system,user", false],
    ] as const
  ) {
    test(`login with events ${String(events)}: ${allowed ? "sent" : "refused before anything is written"}`, () => {
      const h = ready({ events });
      const before = h.transmittedText().length;
      if (allowed) {
        h.conn.send(originate, undefined, h.now);
      } else {
        assert.throws(
          () => h.conn.send(originate, undefined, h.now),
          (e: unknown) =>
            e instanceof LocalProtocolError && /receives no call events/.test(e.message),
        );
        assert.throws(
          () => h.conn.send(originate, { strategy: "originate" }, h.now),
          LocalProtocolError,
        );
        h.drain();
        assert.equal(h.transmittedText().length, before);
        // A synchronous Originate completes on its response: always allowed.
        h.conn.send({ name: "Originate", fields: { Channel: "Local/1@x" } }, undefined, h.now);
      }
    });
  }

  test("an accepted Events action changes it; an unreadable mask (Events: Off) turns it off", () => {
    const h = ready({ events: false });
    const on = h.send("Events", { EventMask: "call" });
    h.say([["Response", "Success"], ["ActionID", on], ["Events", "On"]]);
    h.conn.send(originate, undefined, h.now);
    const bad = h.send("Events", { EventMask: "nonsense" });
    h.say([["Response", "Success"], ["ActionID", bad], ["Events", "Off"]]);
    assert.throws(() => h.conn.send(originate, undefined, h.now), LocalProtocolError);
    const user = h.send("Events", { EventMask: "user" });
    h.say([["Response", "Success"], ["ActionID", user], ["Events", "On"]]);
    assert.throws(() => h.conn.send(originate, undefined, h.now), LocalProtocolError);
    const refused = h.send("Events", { EventMask: "on" });
    h.say([["Response", "Error"], ["ActionID", refused], ["Message", "Permission denied"]]);
    assert.throws(() => h.conn.send(originate, undefined, h.now), LocalProtocolError);
  });
});
