/**
 * Issue 11: a message over a parser bound is its owner's problem, not the
 * session's. An oversized answer fails its own action; an oversized event is
 * dropped and counted; the session closes only when the owner cannot be known.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type AmiError,
  ConnectionLostError,
  type DropSummaryNotice,
  MessageTooLargeError,
  RemoteProtocolError,
} from "../core/mod.ts";
import { bytes, chunkingName, CHUNKINGS, type Harness, readyHarness } from "./_fake_server.ts";

function settledError(h: Harness, id: string): AmiError {
  const n = h.settled.get(id);
  assert.ok(n, `${id} did not settle`);
  if (n.outcome.ok) assert.fail(`${id} succeeded`);
  return n.outcome.error;
}

/** A Command answer with `lines` Output lines of 60 bytes. */
function bigCommandAnswer(id: string, lines: number): string {
  let text = `Response: Success\r\nActionID: ${id}\r\nMessage: Command output follows\r\n`;
  for (let i = 0; i < lines; i++) {
    text += `Output: ${String(i).padStart(6, "0")} ${"c".repeat(44)}\r\n`;
  }
  return text + "\r\n";
}

describe("issue 11: an answer over a parser bound fails only its own action", () => {
  for (const chunking of CHUNKINGS) {
    test(`Command over maxMessageBytes fails alone; the Ping after it succeeds (${chunkingName(chunking)})`, () => {
      const h = readyHarness({ parser: { maxMessageBytes: 2_000 } });
      const cmd = h.send("Command", { Command: "core show channels" });
      const ping = h.send("Ping");
      h.feed(
        bigCommandAnswer(cmd, 100) + `Response: Success\r\nActionID: ${ping}\r\nPing: Pong\r\n\r\n`,
        chunking,
      );
      const err = settledError(h, cmd);
      assert.equal(err.code, "ERR_REMOTE_PROTOCOL");
      assert.match(err.message, /Command/);
      assert.match(err.message, /maxMessageBytes \(2000 bytes\)/);
      assert.match(err.message, /too large/);
      const pong = h.settled.get(ping);
      assert.ok(pong?.outcome.ok, "the Ping answered after the big answer succeeds");
      assert.equal(h.conn.state, "ready");
      assert.deepEqual(h.doubleSettles, []);
    });
  }
});

const pong = (id: string): string => `Response: Success\r\nActionID: ${id}\r\nPing: Pong\r\n\r\n`;

describe("issue 11: what each oversized message does", () => {
  for (const chunking of CHUNKINGS) {
    test(`the error names the action, the bound, the limit and the size (${chunkingName(chunking)})`, () => {
      const h = readyHarness({ parser: { maxMessageBytes: 2_000 } });
      const cmd = h.send("Command", { Command: "core show channels" });
      const text = bigCommandAnswer(cmd, 100);
      h.feed(text, chunking);
      const err = settledError(h, cmd);
      assert.ok(err instanceof MessageTooLargeError);
      assert.ok(err instanceof RemoteProtocolError);
      assert.equal(err.code, "ERR_REMOTE_PROTOCOL");
      assert.equal(err.reason, "tooLarge");
      assert.equal(err.action, "Command");
      assert.equal(err.bound, "maxMessageBytes");
      assert.equal(err.limit, 2_000);
      assert.equal(err.size, bytes(text).length - 2);
      assert.match(err.message, new RegExp(`${err.size} bytes`));
    });

    test(`an event over the bound is dropped and counted; the next event is delivered (${chunkingName(chunking)})`, () => {
      const h = readyHarness({ parser: { maxMessageBytes: 1_000 }, dropSummaryIntervalMs: 1_000 });
      h.events.length = 0;
      const ping = h.send("Ping");
      h.feed(
        `Event: Huge\r\n${"Variable: x=yyyyyyyyyy\r\n".repeat(100)}\r\n` +
          `Event: Next\r\nN: 1\r\n\r\n` + pong(ping),
        chunking,
      );
      assert.deepEqual(h.events.map((e) => e.name), ["Next"]);
      assert.equal(h.conn.stats().eventsDropped, 1);
      assert.ok(h.settled.get(ping)?.outcome.ok);
      assert.equal(h.conn.state, "ready");
      h.runUntil(h.now + 1_000);
      const drops = h.notices.filter((n): n is DropSummaryNotice => n.type === "drops");
      assert.deepEqual(drops.map((d) => d.dropped), [1]);
    });

    test(`a line over maxLineBytes inside an answer fails that answer's action alone (${chunkingName(chunking)})`, () => {
      const h = readyHarness({ parser: { maxLineBytes: 100 } });
      const get = h.send("Getvar", { Variable: "BIG" });
      const ping = h.send("Ping");
      h.feed(
        `Response: Success\r\nActionID: ${get}\r\nValue: ${"v".repeat(500)}\r\n\r\n` + pong(ping),
        chunking,
      );
      const err = settledError(h, get);
      assert.ok(err instanceof MessageTooLargeError);
      assert.equal(err.bound, "maxLineBytes");
      assert.equal(err.actual, "Value: ".length + 500);
      assert.match(err.message, /Getvar: .*a line of 507 bytes passed maxLineBytes \(100 bytes\)/);
      assert.ok(h.settled.get(ping)?.outcome.ok);
    });

    test(`an event list whose one item is over the bound fails that list's action (${chunkingName(chunking)})`, () => {
      const h = readyHarness({ parser: { maxMessageBytes: 1_000 } });
      const list = h.send("CoreShowChannels");
      const ping = h.send("Ping");
      let text = `Response: Success\r\nActionID: ${list}\r\nEventList: start\r\n\r\n` +
        `Event: CoreShowChannel\r\nActionID: ${list}\r\nChannel: PJSIP/1\r\n\r\n` +
        `Event: CoreShowChannel\r\nActionID: ${list}\r\n${
          "ChanVariable: A=bbbbbbbbbb\r\n".repeat(60)
        }\r\n`;
      text += pong(ping);
      text += `Event: CoreShowChannelsComplete\r\nActionID: ${list}\r\nEventList: Complete\r\n\r\n`;
      h.feed(text, chunking);
      const err = settledError(h, list);
      assert.ok(err instanceof MessageTooLargeError);
      assert.equal(err.action, "CoreShowChannels");
      assert.match(err.message, /CoreShowChannel event is too large/);
      assert.ok(h.settled.get(ping)?.outcome.ok);
      assert.equal(h.conn.state, "ready");
      assert.deepEqual(h.doubleSettles, []);
    });

    test(`a legacy Follows answer with blank lines in its body is skipped to --END COMMAND-- (${chunkingName(chunking)})`, () => {
      const h = readyHarness({ parser: { maxMessageBytes: 500 } });
      const cmd = h.send("Command", { Command: "core show help" });
      const ping = h.send("Ping");
      h.feed(
        `Response: Follows\r\nPrivilege: Command\r\nActionID: ${cmd}\r\n` +
          "some output\n\nActionID: not-a-header\n\n".repeat(30) + "--END COMMAND--\r\n\r\n" +
          pong(ping),
        chunking,
      );
      assert.ok(settledError(h, cmd) instanceof MessageTooLargeError);
      assert.ok(h.settled.get(ping)?.outcome.ok);
      assert.deepEqual(h.events, []);
      assert.equal(h.conn.stats().orphans, 0);
    });

    test(`bound crossed before the ActionID: the ActionID later in the message still names the owner (${chunkingName(chunking)})`, () => {
      const h = readyHarness({ parser: { maxLineBytes: 100 } });
      const get = h.send("Getvar", { Variable: "BIG" });
      const ping = h.send("Ping");
      h.feed(
        `Response: Success\r\nValue: ${"v".repeat(500)}\r\nActionID: ${get}\r\n\r\n` + pong(ping),
        chunking,
      );
      assert.ok(settledError(h, get) instanceof MessageTooLargeError);
      assert.ok(h.settled.get(ping)?.outcome.ok);
    });

    test(`an ActionID line too long to read closes the session with a clear message (${chunkingName(chunking)})`, () => {
      const h = readyHarness({ parser: { maxLineBytes: 100 } });
      const ping = h.send("Ping");
      h.feed(`Response: Success\r\nActionID: ${"i".repeat(300)}\r\n\r\n`, chunking);
      const err = settledError(h, ping);
      assert.ok(err instanceof ConnectionLostError);
      assert.equal(err.written, true);
      const closed = h.notices.at(-1);
      assert.ok(closed?.type === "state" && closed.reason === "protocol");
      assert.ok(closed.error instanceof MessageTooLargeError);
      assert.equal(closed.error.action, undefined);
      assert.equal(err.cause, closed.error);
      assert.match(
        closed.error.message,
        /a message of \d+ bytes \(a line of 310 bytes passed maxLineBytes \(100 bytes\)\) has an ActionID line too long to read; the session closes because the message's owner cannot be known/,
      );
    });
  }

  test("a response over the bound without ActionID is an orphan; the session goes on", () => {
    const h = readyHarness({ parser: { maxMessageBytes: 500 } });
    const ping = h.send("Ping");
    h.feed(`Response: Error\r\nMessage: ${"m".repeat(600)}\r\n\r\n` + pong(ping));
    assert.equal(h.conn.stats().orphans, 1);
    assert.ok(h.settled.get(ping)?.outcome.ok);
  });

  test("any chunking gives the same outcomes (fast-check)", () => {
    const h0 = readyHarness({ parser: { maxMessageBytes: 1_500, maxLineBytes: 300 } });
    const ids = [h0.send("Command", { Command: "x" }), h0.send("Ping"), h0.send("Getvar")];
    const stream = bytes(
      bigCommandAnswer(ids[0], 60) +
        `Event: Huge\r\nData: ${"d".repeat(400)}\r\nActionID: foreign.1\r\n\r\n` +
        pong(ids[1]) + `Event: Small\r\n\r\n` +
        `Response: Success\r\nActionID: ${ids[2]}\r\nValue: ${"v".repeat(350)}\r\n\r\n`,
    );
    const outcome = (h: Harness) =>
      JSON.stringify([
        ids.map((id) => {
          const n = h.settled.get(id)?.outcome;
          return n === undefined ? "pending" : n.ok ? "ok" : n.error.message;
        }),
        h.events.map((e) => e.name),
        h.conn.stats().eventsDropped,
        h.conn.stats().orphans,
        h.conn.state,
      ]);
    const fresh = (): Harness => {
      const h = readyHarness({ parser: { maxMessageBytes: 1_500, maxLineBytes: 300 } });
      for (const [name, f] of [["Command", { Command: "x" }], ["Ping"], ["Getvar"]] as const) {
        h.send(name, f);
      }
      h.events.length = 0;
      return h;
    };
    const whole = fresh();
    whole.conn.receive(stream, whole.now);
    whole.drain();
    const expected = outcome(whole);
    assert.match(expected, /"ok"/);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 40 }),
        (cuts) => {
          const h = fresh();
          const at = [0, ...[...new Set(cuts)].sort((a, b) => a - b), stream.length];
          for (let i = 1; i < at.length; i++) {
            h.conn.receive(stream.subarray(at[i - 1], at[i]), h.now);
            h.drain();
          }
          assert.equal(outcome(h), expected);
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });
});
