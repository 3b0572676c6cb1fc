/**
 * The engine keeps queued actions as text and encodes them once per
 * `pollTransmit`; its byte accounting (the write cap, `writeBufferBytes`,
 * the `written` flag of a lost action) must still count UTF-8 bytes.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ConnectionLostError, LocalProtocolError } from "../core/mod.ts";
import { Harness, testOptions } from "./_fake_server.ts";

const encoder = new TextEncoder();

function ready(maxWriteBufferBytes?: number): Harness {
  const h = new Harness(testOptions(maxWriteBufferBytes ? { maxWriteBufferBytes } : {}), 0);
  h.login();
  return h;
}

describe("engine write buffer", () => {
  test("writeBufferBytes counts UTF-8 bytes; pollTransmit returns them all in one chunk", () => {
    // ASCII, two-, three- and four-byte characters, and a lone surrogate (U+FFFD once encoded).
    const values = fc.array(
      fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.string({ unit: "grapheme", maxLength: 20 }),
        fc.constantFrom("é", "€", "😀", "\ud800", "x\udc00y"),
      ).map((s) => s.replace(/[\r\n\0]/g, " ")),
      { minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(values, (vals) => {
        const h = ready();
        let expected = 0;
        for (const v of vals) {
          const before = h.conn.stats().writeBufferBytes;
          const { actionId } = h.conn.send({ name: "UserEvent", fields: { Data: v } }, {}, h.now);
          const size = h.conn.stats().writeBufferBytes - before;
          const text = `Action: UserEvent\r\nActionID: ${actionId}\r\nData: ${v}\r\n\r\n`;
          assert.equal(size, encoder.encode(text).length);
          expected += size;
        }
        const out = h.conn.pollTransmit();
        assert.equal(out?.length, expected);
        assert.equal(h.conn.stats().writeBufferBytes, 0);
        assert.equal(h.conn.pollTransmit(), undefined);
      }),
      { numRuns: 200 },
    );
  });

  test("the cap counts bytes, not characters", () => {
    const h = ready(300);
    // 60 three-byte characters: 60 characters, 180 bytes.
    h.conn.send({ name: "UserEvent", fields: { Data: "€".repeat(60) } }, {}, h.now);
    assert.throws(
      () => h.conn.send({ name: "UserEvent", fields: { Data: "€".repeat(60) } }, {}, h.now),
      LocalProtocolError,
    );
    h.drain();
    assert.doesNotThrow(() =>
      h.conn.send({ name: "UserEvent", fields: { Data: "€".repeat(60) } }, {}, h.now)
    );
  });

  test("written: actions polled before a drop were written, those queued after were not", () => {
    const h = ready();
    const first = h.conn.send({ name: "UserEvent", fields: { Data: "😀é" } }, {}, h.now).actionId;
    h.drain();
    const second = h.conn.send({ name: "UserEvent", fields: { Data: "€" } }, {}, h.now).actionId;
    h.conn.close(h.now, { reason: "transportError" });
    h.drain();
    const lost = (id: string): ConnectionLostError => {
      const n = h.settled.get(id);
      assert.ok(n && !n.outcome.ok && n.outcome.error instanceof ConnectionLostError);
      return n.outcome.error;
    };
    assert.equal(lost(first).written, true);
    assert.equal(lost(second).written, false);
  });
});
