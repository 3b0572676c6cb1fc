/**
 * Every recorded capture replayed against the engine, fed whole, byte by
 * byte and in random chunks: each completion strategy and failure path
 * against what a real Asterisk sent.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ActionError,
  type ActionResult,
  AmiMessage,
  AuthError,
  ConnectError,
  LocalProtocolError,
  type SettledNotice,
} from "../core/mod.ts";
import {
  type Chunking,
  chunkingName,
  CHUNKINGS,
  type Replay,
  replayFixture,
  type ReplayOptions,
  testOptions,
} from "./_fake_server.ts";
import { fixtureIndex } from "./_fixtures.ts";

function replay(name: string, chunking: Chunking, extra: Partial<ReplayOptions> = {}): Replay {
  return replayFixture(name, { chunking, ...extra });
}

/** The settled outcome of the action the fixture sent with `fixtureId`. */
function outcome(r: Replay, fixtureId: string): SettledNotice["outcome"] {
  const id = r.idMap.get(fixtureId);
  assert.ok(id, `no engine ActionID for ${fixtureId}`);
  const n = r.h.settled.get(id);
  assert.ok(n, `${fixtureId} did not settle`);
  return n.outcome;
}

function ok(r: Replay, fixtureId: string): ActionResult {
  const o = outcome(r, fixtureId);
  if (!o.ok) assert.fail(`${fixtureId} failed: ${o.error.message}`);
  return o.result;
}

function failed(r: Replay, fixtureId: string): Error {
  const o = outcome(r, fixtureId);
  if (o.ok) assert.fail(`${fixtureId} succeeded`);
  return o.error;
}

/** A chunking-independent digest of a replay, keyed by the fixture's ActionIDs. */
function digest(r: Replay): string[] {
  const back = new Map([...r.idMap].map(([f, e]) => [e, f]));
  return r.h.notices.map((n) => {
    if (n.type === "state") return `state ${n.state} ${n.reason ?? ""}`;
    if (n.type === "drops") return `drops ${n.dropped}`;
    const o = n.outcome;
    const what = o.ok
      ? o.result.kind + (o.result.kind === "eventList" ? ` ${o.result.events.length}` : "") +
        (o.result.kind === "command" ? ` ${JSON.stringify(o.result.output)}` : "")
      : `${o.error.name} ${o.error.message}`;
    return `settled ${back.get(n.actionId) ?? n.actionId} ${what}`;
  }).concat([
    `events ${r.h.events.map((e) => e.name).join(",")}`,
    `orphans ${r.h.conn.stats().orphans}`,
  ]);
}

for (const chunking of CHUNKINGS) {
  describe(`fixtures fed ${chunkingName(chunking)}`, () => {
    test("01 login ok: events in the same read as the login answer are queued, not lost", () => {
      const r = replay("01-login-ok", chunking);
      assert.deepEqual(r.h.states(), ["authenticating", "ready"]);
      assert.equal(r.h.conn.banner?.line, "Asterisk Call Manager/13.0.0");
      const login = r.h.actions[0];
      assert.deepEqual(login.headers.filter(([k]) => k !== "ActionID"), [
        ["Action", "Login"],
        ["Username", "admin"],
        ["Secret", "labsecret"],
      ]);
      assert.deepEqual(r.h.events.map((e) => e.name), ["FullyBooted", "SuccessfulAuth"]);
      assert.equal(r.h.conn.stats().orphans, 0);
    });

    test("02 login failure closes with authFailed and an AuthError without the secret", () => {
      const r = replay("02-login-fail", chunking, {
        options: testOptions({ secret: "wrongsecret" }),
      });
      assert.deepEqual(r.h.states(), ["authenticating", "closed:authFailed"]);
      const closed = r.h.notices.at(-1);
      assert.ok(closed?.type === "state");
      assert.ok(closed.error instanceof AuthError);
      assert.match(closed.error.message, /Authentication failed/);
      assert.ok(!closed.error.message.includes("wrongsecret"));
      assert.equal(r.h.conn.state, "closed");
      assert.equal(r.h.conn.pollTimeout(), undefined);
    });

    test("03 MD5 login: Challenge, then Login with Key = md5hex(challenge + secret)", () => {
      const r = replay("03-login-md5-challenge", chunking, {
        options: testOptions({ auth: "md5" }),
      });
      assert.deepEqual(r.h.states(), ["authenticating", "ready"]);
      const [challenge, login] = r.h.actions;
      assert.deepEqual(challenge.headers.filter(([k]) => k !== "ActionID"), [
        ["Action", "Challenge"],
        ["AuthType", "MD5"],
      ]);
      assert.deepEqual(login.headers.filter(([k]) => k !== "ActionID"), [
        ["Action", "Login"],
        ["AuthType", "MD5"],
        ["Username", "admin"],
        ["Key", "1221536eb879f866686edd0f126acf78"],
      ]);
      assert.ok(!r.h.transmittedText().includes("labsecret"), "the secret is never sent");
      assert.equal(ok(r, "md5-ping").kind, "response");
      assert.deepEqual(r.h.events.map((e) => e.name), ["FullyBooted", "SuccessfulAuth"]);
    });

    test("07 command: Output lines; an invalid CLI command is an ActionError keeping the response", () => {
      const r = replay("07-command-core-show-version", chunking);
      const version = ok(r, "cmd-version");
      assert.equal(version.kind, "command");
      assert.equal(version.output.length, 1);
      assert.match(version.output[0], /^Asterisk GIT-master-f0c1c1a7b7 built by root/);
      const bogus = failed(r, "cmd-bogus");
      assert.ok(bogus instanceof ActionError);
      assert.equal(bogus.serverMessage, "Command output follows");
      assert.ok(bogus.response instanceof AmiMessage);
      assert.match(bogus.response.getAll("Output")[0], /^No such command 'this is not a cli/);
    });

    test("08 command: many Output lines, an empty one, trailing spaces and colons kept", () => {
      const r = replay("08-command-core-show-channels", chunking);
      const channels = ok(r, "cmd-channels");
      assert.ok(channels.kind === "command");
      assert.ok(channels.output.some((l) => /active channels?/.test(l)));
      const concise = ok(r, "cmd-channels-concise");
      assert.ok(concise.kind === "command");
      assert.deepEqual(concise.output, [""]);
      const help = ok(r, "cmd-help-core-show");
      assert.ok(help.kind === "command");
      assert.ok(help.output.length > 10);
    });

    test("09 event lists: items carrying the ActionID, ended by the Complete event", () => {
      const r = replay("09-coreshowchannels-3-calls", chunking, {
        options: testOptions({ events: false }),
      });
      assert.deepEqual(
        r.h.actions[0].headers.filter(([k]) => k === "Events"),
        [["Events", "off"]],
      );
      for (
        const [id, item, complete] of [
          ["csc-1", "CoreShowChannel", "CoreShowChannelsComplete"],
          ["status-1", "Status", "StatusComplete"],
          ["csc-hangup-all", "ChannelHungup", "ChannelsHungupListComplete"],
        ]
      ) {
        const res = ok(r, id);
        assert.ok(res.kind === "eventList", id);
        assert.equal(res.response.get("EventList"), "start");
        assert.equal(res.complete.name, complete);
        assert.equal(res.events.length, Number(res.complete.get("ListItems")));
        assert.ok(res.events.length > 0);
        assert.ok(res.events.every((e) => e.name === item && e.actionId === r.idMap.get(id)));
      }
      assert.equal(ok(r, "csc-cmd").kind, "command");
      const none = failed(r, "csc-hangup-none");
      assert.ok(none instanceof ActionError);
      assert.equal(none.serverMessage, "No such channel");
      assert.equal(r.h.events.length, 0, "list items are results, not queued events");
      assert.equal(r.h.conn.stats().orphans, 0);
    });

    test("10 async Originate resolves on its OriginateResponse Success", () => {
      const r = replay("10-originate-async-local-100", chunking);
      const res = ok(r, "orig-async-1");
      assert.ok(res.kind === "originate");
      assert.equal(res.response.get("Message"), "Originate successfully queued");
      assert.equal(res.event.name, "OriginateResponse");
      assert.equal(res.event.get("Response"), "Success");
      assert.equal(res.event.get("Reason"), "4");
      // 40 events in the capture: the OriginateResponse is the result, the rest are events.
      assert.equal(r.h.events.length, 39);
      assert.ok(!r.h.events.some((e) => e.name === "OriginateResponse"));
    });

    test("11 Originate failures: async Failure with its Reason, sync Response: Error", () => {
      const r = replay("11-originate-failures", chunking);
      for (const id of ["orig-fail-async", "orig-fail-badtech"]) {
        const err = failed(r, id);
        assert.ok(err instanceof ActionError, id);
        assert.match(err.serverMessage, /Failure \(Reason: 0\)/);
        assert.ok(err.response instanceof AmiMessage);
        assert.equal(err.response.name, "OriginateResponse");
        assert.equal(err.originate?.kind, "failed", "Reason 0 translated");
        assert.match(err.message, /no such extension/);
      }
      for (const id of ["orig-fail-sync", "orig-busy-sync"]) {
        const err = failed(r, id);
        assert.ok(err instanceof ActionError, id);
        assert.equal(err.serverMessage, "Originate failed");
        assert.equal(err.originate, undefined, "a Response: Error carries no Reason code");
      }
      assert.deepEqual(r.h.doubleSettles, []);
    });

    test("12 a burst of 50 async Originates: each settles exactly once on its own OriginateResponse", () => {
      const r = replay("12-originate-burst-50", chunking);
      assert.equal(r.idMap.size, 51); // login + 50
      assert.equal(r.h.settled.size, 50);
      assert.deepEqual(r.h.doubleSettles, []);
      for (const n of r.h.settled.values()) {
        const err = n.outcome.ok ? undefined : n.outcome.error;
        const event = n.outcome.ok
          ? (n.outcome.result.kind === "originate" ? n.outcome.result.event : undefined)
          : (err instanceof ActionError ? err.response as AmiMessage : undefined);
        assert.equal(event?.name, "OriginateResponse");
        assert.equal(event?.actionId, n.actionId);
      }
    });

    test("14 Logoff: Goodbye settles it, then the server's EOF closes as loggedOff", () => {
      const r = replay("14-logoff", chunking);
      assert.equal(ok(r, "logoff-1").kind, "logoff");
      assert.deepEqual(r.h.states(), ["authenticating", "ready", "closing", "closed:loggedOff"]);
    });

    test("15 oversized lines: refused before writing; the error with no ActionID is an orphan", () => {
      const r = replay("15-oversized-header-line", chunking);
      // The capture's 100 KB header line is refused by send() before anything is queued.
      const before = r.h.conn.stats().writeBufferBytes;
      assert.throws(
        () => r.h.conn.send({ name: "Ping", fields: { "X-Big": "A".repeat(102400) } }, {}, r.h.now),
        LocalProtocolError,
      );
      assert.equal(r.h.conn.stats().writeBufferBytes, before);
      assert.equal(ok(r, "after-big").kind, "response");
      assert.equal(ok(r, "after-big-2").kind, "response");
      assert.equal(
        ok(r, "ok-1000-" + "C".repeat(1000 - "ActionID: ok-1000-".length)).kind,
        "response",
      );
      // big-1's error (never sent by us: foreign) and the error without ActionID.
      assert.equal(r.h.conn.stats().orphans, 2);
      assert.equal(r.h.conn.state, "ready");
    });

    test("16 garbage replies: errors without ActionID are orphans, the session stays usable", () => {
      const r = replay("16-garbage-bytes", chunking);
      for (const id of ["lf-only", "nospace", "after-garbage"]) {
        assert.equal(ok(r, id).kind, "response");
      }
      assert.equal(r.h.conn.stats().orphans, 2);
      assert.deepEqual(r.h.events.map((e) => e.name), [
        "FullyBooted",
        "SuccessfulAuth",
        "RequestBadFormat",
        "RequestBadFormat",
      ]);
      assert.equal(r.h.conn.state, "ready");
    });

    test("17 answers to someone else's pre-login actions never complete our login", () => {
      const r = replay("17-actions-before-login", chunking, {
        onSend: (s) => s.actions.map(() => undefined),
      });
      assert.equal(r.h.conn.stats().orphans, 5);
      assert.deepEqual(r.h.states(), ["authenticating", "closed:remoteClosed"]);
      const closed = r.h.notices.at(-1);
      assert.ok(closed?.type === "state" && closed.error instanceof ConnectError);
    });
  });
}

describe("every fixture gives the same outcome however it is cut", () => {
  for (const row of fixtureIndex()) {
    const name = row.file.replace(/\.raw$/, "");
    test(name, () => {
      const options = testOptions({
        auth: name.startsWith("03") ? "md5" : "plain",
        events: name.startsWith("09") ? false : undefined,
      });
      const reference = digest(replayFixture(name, { options }));
      assert.ok(!reference.some((l) => l.includes("protocol")), reference.join("\n"));
      for (const chunking of CHUNKINGS.slice(1)) {
        const r = replayFixture(name, { options, chunking });
        assert.deepEqual(digest(r), reference, chunkingName(chunking));
        assert.deepEqual(r.h.doubleSettles, []);
      }
    });
  }
});
