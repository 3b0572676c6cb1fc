/**
 * The codec's fast-check properties, shared by the test suite (a few hundred
 * runs) and `deno task fuzz` (as many as asked).
 *
 * @module
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import {
  actionText,
  AmiMessage,
  AmiParser,
  messageText,
  RemoteProtocolError,
} from "../core/mod.ts";
import type { Action, Header, ParsedItem } from "../core/mod.ts";
import { parseChunked, parseWhole, plain } from "./_codec.ts";

const encoder = new TextEncoder();

/** A header key as servers and clients use them: no colon, no white space around. */
const key: fc.Arbitrary<string> = fc.stringMatching(/^[A-Za-z0-9()\/@;._\-]{1,24}$/);

/** A value: any Unicode text without CR, LF or NUL (spaces anywhere, colons too). */
const value: fc.Arbitrary<string> = fc.string({ unit: "grapheme", maxLength: 40 })
  .map((s) => s.replace(/[\r\n\0]/g, " "));

const header: fc.Arbitrary<Header> = fc.tuple(key, value);

/** A message as a server sends it: Event or Response first. */
const serverMessage: fc.Arbitrary<Header[]> = fc.tuple(
  fc.constantFrom("Event", "Response"),
  fc.stringMatching(/^[A-Za-z]{1,16}$/).filter((n) => n.toLowerCase() !== "follows"),
  fc.array(header, { maxLength: 12 }),
).map(([first, name, rest]) => [[first, name] as Header, ...rest]);

/** A stream of server messages (banner, then messages) with its expected parse. */
export const serverStream: fc.Arbitrary<{ bytes: Uint8Array; messages: Header[][] }> = fc
  .tuple(fc.array(serverMessage, { minLength: 1, maxLength: 12 }), fc.boolean())
  .map(([messages, bareLf]) => {
    let text = "Asterisk Call Manager/13.0.0\r\n" + messages.map(messageText).join("");
    if (bareLf) text = text.replace(/\r\n/g, "\n");
    return { bytes: encoder.encode(text), messages };
  });

/** Any chunking of a valid stream gives the same messages. */
export function chunkingProperty(): fc.IPropertyWithHooks<
  [{ bytes: Uint8Array; messages: Header[][] }, number[]]
> {
  return fc.property(
    serverStream,
    fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
    ({ bytes, messages }, sizes) => {
      const whole = parseWhole(bytes);
      const chunked = parseChunked(bytes, sizes);
      assert.deepEqual(plain(chunked), plain(whole));
      const got = whole.filter((i): i is AmiMessage => i.type !== "banner");
      assert.deepEqual(got.map((m) => m.headers.map(([k, v]) => [k, v])), messages);
    },
  );
}

/** An arbitrary valid action. */
export const validAction: fc.Arbitrary<Action> = fc.record({
  name: fc.stringMatching(/^[A-Za-z]{1,20}$/),
  actionId: fc.option(fc.stringMatching(/^[A-Za-z0-9.\-]{1,40}$/), { nil: undefined }),
  fields: fc.array(
    header.filter(([k]) => !["action", "actionid"].includes(k.toLowerCase())),
    { maxLength: 10 },
  ),
}).map(({ name, actionId, fields }) => ({ name, actionId, fields }));

/** parse(serialize(action)) gives the action back. */
export function roundTripProperty(): fc.IPropertyWithHooks<[Action]> {
  return fc.property(validAction, (action) => {
    const text = actionText(action);
    const items = parseWhole(encoder.encode(text), { expectBanner: false });
    assert.equal(items.length, 1);
    const msg = items[0] as AmiMessage;
    assert.equal(msg.type, "action");
    const expected: Array<[string, string]> = [["Action", action.name]];
    if (action.actionId !== undefined) expected.push(["ActionID", action.actionId]);
    for (const [k, v] of action.fields as Header[]) expected.push([k, v]);
    assert.deepEqual(msg.headers.map(([k, v]) => [k, v]), expected);
  });
}

/** Bounds small enough that random input crosses them. */
const SMALL = { maxLineBytes: 64, maxMessageBytes: 256, maxHeaders: 8 };

/**
 * Arbitrary bytes, in arbitrary chunks, only ever produce items or a
 * RemoteProtocolError, and the parser never holds more than its message
 * bound plus one chunk.
 */
export function garbageProperty(): fc.IPropertyWithHooks<[Uint8Array[], boolean]> {
  const noisy = fc.oneof(
    fc.uint8Array({ maxLength: 80 }),
    fc.constantFrom(
      "\r\n",
      "\n",
      "\r\n\r\n",
      ": ",
      "Event: X\r\n",
      "Response: Follows\r\n",
      "--END COMMAND--",
    )
      .map((s) => encoder.encode(s)),
  );
  return fc.property(fc.array(noisy, { maxLength: 40 }), fc.boolean(), (chunks, banner) => {
    const parser = new AmiParser({ ...SMALL, expectBanner: banner });
    for (const chunk of chunks) {
      try {
        parser.push(chunk, (item: ParsedItem) => {
          assert.ok(item.type === "banner" || item.headers.length <= SMALL.maxHeaders);
        });
      } catch (e) {
        if (!(e instanceof RemoteProtocolError)) throw e;
        assert.equal(parser.buffered, 0);
        return;
      }
      assert.ok(
        parser.buffered <= SMALL.maxMessageBytes + chunk.length,
        `buffered ${parser.buffered} > bound + chunk`,
      );
    }
  });
}

/**
 * A message read lazily from its text answers every lookup (any case, absent
 * keys, keys that only appear inside values) as the split message does.
 */
export function lazyLookupProperty(): fc.IPropertyWithHooks<[Header[], string[], boolean]> {
  return fc.property(
    serverMessage,
    fc.array(fc.oneof(key, value), { maxLength: 5 }),
    fc.boolean(),
    (headers, probes, bareLf) => {
      let text = messageText(headers).slice(0, -2);
      if (bareLf) text = text.replace(/\r\n/g, "\n");
      const names = [
        ...headers.flatMap(([k]) => [k, k.toLowerCase(), k.toUpperCase()]),
        ...probes,
        "ActionID",
      ];
      const eager = new AmiMessage(headers);
      const lazy = new AmiMessage(text);
      assert.equal(lazy.type, eager.type);
      assert.equal(lazy.name, eager.name);
      for (const n of names) assert.equal(lazy.get(n), eager.get(n), `get(${JSON.stringify(n)})`);
      const later = new AmiMessage(text);
      assert.deepEqual(later.headers.map(([k, v]) => [k, v]), headers);
      for (const n of names) assert.equal(later.get(n), eager.get(n));
      assert.deepEqual(later.body, []);
    },
  );
}
