/**
 * The codec's fast-check properties, shared by the test suite (a few hundred
 * runs) and `deno task fuzz` (as many as asked).
 *
 * @module
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { AmiMessage, AmiParser, RemoteProtocolError } from "../core/mod.ts";
import { actionText, messageText } from "../core/serializer.ts";
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

/** A line of Command output: mostly short, sometimes kilobytes long. */
const outputLine: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 60 }), weight: 8 },
  { arbitrary: fc.integer({ min: 1000, max: 20000 }).map((n) => "z".repeat(n)), weight: 1 },
).map((s) => s.replace(/[\r\n\0]/g, " "));

/**
 * A stream with big messages: `Command` answers of many `Output:` lines
 * (long ones too) and legacy `Response: Follows` bodies (blank lines and
 * colons inside), between small events; CRLF or bare LF. With the number of
 * Output lines of each Command answer, in order.
 */
export const bigStream: fc.Arbitrary<{ bytes: Uint8Array; outputs: number[] }> = fc.tuple(
  fc.array(
    fc.oneof(
      serverMessage.map((headers) => ({ text: messageText(headers), outputs: -1 })),
      fc.array(outputLine, { minLength: 1, maxLength: 400 }).map((lines) => ({
        text: "Response: Success\r\nActionID: c\r\nMessage: Command output follows\r\n" +
          lines.map((l) => `Output: ${l}\r\n`).join("") + "\r\n",
        outputs: lines.length,
      })),
      fc.array(outputLine, { minLength: 1, maxLength: 200 }).map((lines) => ({
        text: "Response: Follows\r\nPrivilege: Command\r\nActionID: f\r\n" +
          lines.map((l, i) => i % 7 === 3 ? "\r\n" : `${l}\r\n`).join("") +
          "--END COMMAND--\r\n\r\n",
        outputs: -1,
      })),
    ),
    { minLength: 1, maxLength: 6 },
  ),
  fc.boolean(),
).map(([messages, bareLf]) => {
  let text = "Asterisk Call Manager/1.1\r\n" + messages.map((m) => m.text).join("");
  if (bareLf) text = text.replace(/\r\n/g, "\n");
  return { bytes: encoder.encode(text), outputs: messages.map((m) => m.outputs) };
});

/**
 * Chunk ends for `bytes`: cycled sizes (1 byte, small, or up to 64 KiB), and
 * optionally a cut between every CR and the LF after it.
 */
function cuts(bytes: Uint8Array, sizes: number[], atCr: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  let i = 0;
  while (pos < bytes.length) {
    let end = Math.min(bytes.length, pos + sizes[i++ % sizes.length]);
    if (atCr) {
      const cr = bytes.indexOf(13, pos);
      if (cr >= 0 && cr < end) end = cr + 1;
    }
    out.push(bytes.subarray(pos, end));
    pos = end;
  }
  return out;
}

/**
 * Any chunking of a stream with big messages (1-byte chunks, chunk ends
 * between CR and LF, 64 KiB chunks) gives the messages whole-feeding gives.
 */
export function bigChunkingProperty(): fc.IPropertyWithHooks<
  [{ bytes: Uint8Array; outputs: number[] }, number[], boolean]
> {
  return fc.property(
    bigStream,
    fc.oneof(
      fc.constant<number[]>([1]),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 65536 }), { minLength: 1, maxLength: 8 }),
    ),
    fc.boolean(),
    ({ bytes, outputs }, sizes, atCr) => {
      const whole = parseWhole(bytes);
      const parser = new AmiParser();
      const chunked: ParsedItem[] = [];
      for (const chunk of cuts(bytes, sizes, atCr)) parser.push(chunk, (i) => chunked.push(i));
      assert.equal(parser.buffered, 0);
      assert.deepEqual(plain(chunked), plain(whole));
      const got = whole.filter((i): i is AmiMessage => i.type !== "banner");
      assert.equal(got.length, outputs.length);
      got.forEach((m, i) => {
        if (outputs[i] >= 0) assert.equal(m.getAll("Output").length, outputs[i]);
      });
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
