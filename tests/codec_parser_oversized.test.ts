/**
 * The parser's skipping of oversized messages (`onOversized`): bounded
 * memory while skipping, the same reports and items whatever the chunking,
 * and parsing resumes after the skipped message.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AmiParser, RemoteProtocolError } from "../core/mod.ts";
import type { OversizedMessage, ParsedItem, ParserOptions } from "../core/mod.ts";
import { parserWork } from "../core/_parser_work.ts";
import { bytes, commandAnswer } from "./_codec.ts";

const MiB = 1024 * 1024;

type Out = Array<string | OversizedMessage>;

function run(data: Uint8Array, cuts: number[], options: ParserOptions): Out {
  const out: Out = [];
  const parser = new AmiParser({
    expectBanner: false,
    ...options,
    onOversized: (m) => out.push(m),
  });
  const onItem = (item: ParsedItem): void => {
    out.push(item.type === "banner" ? item.line : `${item.name}/${item.actionId}`);
  };
  const at = [0, ...cuts, data.length];
  for (let i = 1; i < at.length; i++) parser.push(data.subarray(at[i - 1], at[i]), onItem);
  return out;
}

describe("parser: oversized messages skipped with onOversized", () => {
  test("skipping a 4 MiB answer: the buffer never exceeds the bound plus one chunk; parsing resumes", () => {
    const maxMessageBytes = 64 * 1024;
    const chunk = 65536;
    const { bytes: big } = commandAnswer(4 * MiB);
    const data = new Uint8Array(big.length + 64);
    data.set(big);
    data.set(bytes("Event: After\r\nN: 1\r\n\r\n"), big.length);
    const end = big.length + "Event: After\r\nN: 1\r\n\r\n".length;
    const reports: OversizedMessage[] = [];
    const names: string[] = [];
    const parser = new AmiParser({
      expectBanner: false,
      maxMessageBytes,
      onOversized: (m) => reports.push(m),
    });
    let maxCapacity = 0;
    for (let pos = 0; pos < end; pos += chunk) {
      parser.push(data.subarray(pos, Math.min(end, pos + chunk)), (item) => {
        if (item.type !== "banner") names.push(item.name);
      });
      maxCapacity = Math.max(maxCapacity, parserWork(parser).capacity);
    }
    assert.ok(maxCapacity <= maxMessageBytes + chunk, `capacity ${maxCapacity}`);
    assert.equal(reports.length, 1);
    assert.equal(reports[0].actionId, `cmd-${4 * MiB}`);
    assert.equal(reports[0].kind, "response");
    assert.equal(reports[0].bytes, big.length - 2);
    assert.deepEqual(names, ["After"]);
    const work = parserWork(parser);
    // Each byte scanned at most twice (the part read before the bound, again when skipping).
    assert.ok(work.scanned <= end + maxMessageBytes + chunk, `scanned ${work.scanned}`);
  });

  test("a line with no end, over maxLineBytes: skipped in constant memory", () => {
    const parser = new AmiParser({
      expectBanner: false,
      maxLineBytes: 1024,
      onOversized: () => {},
    });
    const x = new Uint8Array(65536).fill(0x78);
    parser.push(bytes("Event: Long\r\nData: "), () => {});
    for (let i = 0; i < 64; i++) {
      parser.push(x, () => {});
      assert.ok(parserWork(parser).capacity <= 1024 + 65536);
    }
    assert.equal(parser.hasPartial, true);
  });

  test("without onOversized a bound still throws, and the banner is never skipped", () => {
    assert.throws(
      () => new AmiParser({ maxLineBytes: 10 }).push(bytes("Event: 0123456789\r\n\r\n"), () => {}),
      RemoteProtocolError,
    );
    assert.throws(
      () =>
        new AmiParser({ maxLineBytes: 10, onOversized: () => assert.fail("skipped") }).push(
          bytes("Asterisk Call Manager/13.0.0\r\n"),
          () => {},
        ),
      (e: unknown) => e instanceof RemoteProtocolError && e.bound === "maxLineBytes",
    );
  });

  const stream = bytes(
    "Response: Success\r\nActionID: a1\r\n" + "Output: 0123456789abcdef\r\n".repeat(20) + "\r\n" +
      "\r\nEvent: Small\r\nActionID: s\r\n\r\n" +
      "Response: Follows\r\nPrivilege: Command\r\nActionID: f1\r\n" +
      "out\n\nActionID: body\n".repeat(12) + "--END COMMAND--\r\n\r\n" +
      `Event: Wide\nData: ${"w".repeat(150)}\nActionID: late\n\n` +
      "Event: H\r\n" + "K: v\r\n".repeat(40) + "\r\n" +
      `Response: Error\r\nActionID: ${"i".repeat(200)}\r\n\r\n` +
      "Event: Last\r\n\r\n",
  );
  const options = { maxMessageBytes: 300, maxLineBytes: 120, maxHeaders: 30 };

  test("whole and byte by byte give the same items and reports", () => {
    const whole = run(stream, [], options);
    const byByte = run(stream, Array.from({ length: stream.length - 1 }, (_, i) => i + 1), options);
    assert.deepEqual(byByte, whole);
    assert.deepEqual(
      whole.map((x) =>
        typeof x === "string"
          ? x
          : `${x.bound}:${x.kind}:${x.name}:${x.actionId}:${x.actionIdUnreadable}`
      ),
      [
        "maxMessageBytes:response:Success:a1:false",
        "Small/s",
        "maxHeaders:response:Follows:f1:false",
        "maxLineBytes:event:Wide:late:false",
        "maxHeaders:event:H:undefined:false",
        "maxLineBytes:response:Error:undefined:true",
        "Last/undefined",
      ],
    );
  });

  test("any chunking gives the same items and reports (fast-check)", () => {
    const whole = run(stream, [], options);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 60 }),
        (c) => {
          assert.deepEqual(run(stream, [...new Set(c)].sort((a, b) => a - b), options), whole);
        },
      ),
      { numRuns: 500, seed: 5 },
    );
  });
});
