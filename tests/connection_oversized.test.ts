/**
 * Issue 11: a message over a parser bound is its owner's problem, not the
 * session's. An oversized answer fails its own action; an oversized event is
 * dropped and counted; the session closes only when the owner cannot be known.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chunkingName, CHUNKINGS, Harness, readyHarness } from "./_fake_server.ts";

function settledError(h: Harness, id: string): Error & { code?: string } {
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
