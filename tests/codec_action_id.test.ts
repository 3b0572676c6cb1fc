import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AmiMessage, AmiParser } from "../core/mod.ts";
import { messageText } from "../core/serializer.ts";
import type { Header, ParsedItem } from "../core/mod.ts";
import { fixture, fixtureIndex } from "./_fixtures.ts";

const encoder = new TextEncoder();

function parseAll(bytes: Uint8Array, expectBanner: boolean): AmiMessage[] {
  const out: AmiMessage[] = [];
  new AmiParser({ expectBanner }).push(bytes, (item: ParsedItem) => {
    if (item.type !== "banner") out.push(item);
  });
  return out;
}

/** The ActionID of the split message (no note involved). */
function splitActionId(msg: AmiMessage): string | undefined {
  return new AmiMessage(msg.headers).get("ActionID");
}

// The parser notes while framing whether a line's key is ActionID, so that
// `actionId` of an event without one costs no search. The note must never
// hide an ActionID that is there.
describe("parser: the ActionID note", () => {
  test("every message of every capture: actionId equals the split lookup", () => {
    let withId = 0;
    let without = 0;
    for (const row of fixtureIndex()) {
      for (const msg of parseAll(fixture(row.file), true)) {
        assert.equal(msg.actionId, splitActionId(msg), row.file);
        if (msg.actionId === undefined) without++;
        else withId++;
      }
    }
    assert.ok(withId > 0 && without > 0, `${withId} with, ${without} without`);
  });

  test("any case of the key, any line, look-alikes in values and keys", () => {
    const spelling = fc.constantFrom(
      "ActionID",
      "actionid",
      "ACTIONID",
      "aCTIONiD",
      "ActionIDs",
      "Action",
      "XActionID",
      "ActionI",
    );
    const line = fc.oneof(
      fc.tuple(spelling, fc.stringMatching(/^[ -9;-~]{0,12}$/)),
      fc.tuple(fc.constantFrom("Body", "Data", "Channel"), fc.constantFrom("ActionID: x", "y")),
    );
    fc.assert(
      fc.property(
        fc.constantFrom("Event", "Response", "Action"),
        fc.array(line, { maxLength: 6 }),
        fc.boolean(),
        (first, rest, bareLf) => {
          const headers: Header[] = [[first, "X"], ...rest.map(([k, v]) => [k, v] as Header)];
          let text = messageText(headers);
          if (bareLf) text = text.replace(/\r\n/g, "\n");
          const [msg] = parseAll(encoder.encode(text), false);
          // get() prefers the exact spelling, then any case: ask the split message.
          const expected = new AmiMessage(headers).get("ActionID");
          const present = headers.some(([k]) => k.toLowerCase() === "actionid");
          assert.equal(expected !== undefined, present);
          assert.equal(msg.actionId, expected);
          assert.equal(msg.get("ActionID"), expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  test("messages before and after one with an ActionID answer right", () => {
    const text =
      "Event: A\r\nActionID: 1\r\n\r\nEvent: B\r\n\r\nResponse: Success\r\nactionid: 2\r\n\r\n";
    const [a, b, c] = parseAll(encoder.encode(text), false);
    assert.equal(a.actionId, "1");
    assert.equal(b.actionId, undefined);
    assert.equal(c.actionId, "2");
  });

  test("hasActionId: false answers undefined without a search; omitted or true searches", () => {
    const text = "Event: X\r\nActionID: 7\r\n";
    assert.equal(new AmiMessage(text, { hasActionId: false }).actionId, undefined);
    assert.equal(new AmiMessage(text, { hasActionId: true }).actionId, "7");
    assert.equal(new AmiMessage(text, {}).actionId, "7");
    assert.equal(new AmiMessage(text).actionId, "7");
  });
});
