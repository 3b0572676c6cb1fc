/**
 * The parser's work is linear in the bytes it is fed, whatever the chunking:
 * counted (bytes copied and bytes scanned for a line end), never timed.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AmiParser } from "../core/mod.ts";
import type { AmiMessage, ParsedItem } from "../core/mod.ts";
import { parserWork } from "../core/_parser_work.ts";
import { bytes, commandAnswer } from "./_codec.ts";

const MiB = 1024 * 1024;

/** Feeds `data` in chunks of `size`; returns the messages and the largest buffer seen. */
function feed(
  parser: AmiParser,
  data: Uint8Array,
  size: number,
): { messages: AmiMessage[]; maxCapacity: number } {
  const messages: AmiMessage[] = [];
  const onItem = (item: ParsedItem): void => {
    if (item.type !== "banner") messages.push(item);
  };
  let maxCapacity = 0;
  for (let pos = 0; pos < data.length; pos += size) {
    parser.push(data.subarray(pos, pos + size), onItem);
    maxCapacity = Math.max(maxCapacity, parserWork(parser).capacity);
  }
  return { messages, maxCapacity };
}

describe("parser: work is linear in the bytes fed", () => {
  for (const [label, size] of [["64 KiB", 65536], ["64 B", 64]] as const) {
    test(`one 4 MiB Command answer in ${label} chunks: each byte scanned once, copied at most 4 times`, () => {
      const { bytes: data, outputs } = commandAnswer(4 * MiB);
      const parser = new AmiParser({ expectBanner: false });
      const { messages } = feed(parser, data, size);
      assert.equal(messages.length, 1);
      assert.equal(messages[0].getAll("Output").length, outputs);
      const work = parserWork(parser);
      assert.ok(work.scanned <= data.length, `scanned ${work.scanned} of ${data.length}`);
      assert.ok(work.copied <= 4 * data.length, `copied ${work.copied} for ${data.length}`);
    });
  }

  test("one 256 KiB line in 64 B chunks is scanned once, not again on every chunk", () => {
    const data = bytes(`Event: Long\r\nData: ${"y".repeat(256 * 1024)}\r\n\r\n`);
    const parser = new AmiParser({ expectBanner: false });
    const { messages } = feed(parser, data, 64);
    assert.equal(messages[0].get("Data")?.length, 256 * 1024);
    const work = parserWork(parser);
    assert.ok(work.scanned <= data.length, `scanned ${work.scanned} of ${data.length}`);
    assert.ok(work.copied <= 4 * data.length, `copied ${work.copied} for ${data.length}`);
  });

  test("small events in 64 KiB chunks: each byte scanned once, buffer within two chunks", () => {
    const event = "Event: Newchannel\r\nChannel: PJSIP/100-00000001\r\nUniqueid: 1.1\r\n\r\n";
    const data = bytes(event.repeat(Math.ceil(4 * MiB / event.length)));
    const parser = new AmiParser({ expectBanner: false });
    const { messages, maxCapacity } = feed(parser, data, 65536);
    assert.equal(messages.length * event.length, data.length);
    const work = parserWork(parser);
    assert.ok(work.scanned <= data.length, `scanned ${work.scanned} of ${data.length}`);
    assert.ok(work.copied <= 1.1 * data.length, `copied ${work.copied} for ${data.length}`);
    assert.ok(maxCapacity <= 2 * 65536, `capacity ${maxCapacity}`);
  });

  test("the buffer never outgrows the message bound plus one chunk", () => {
    const maxMessageBytes = 1 * MiB + 12345;
    const { bytes: data } = commandAnswer(2 * MiB);
    const parser = new AmiParser({ expectBanner: false, maxMessageBytes });
    let maxCapacity = 0;
    assert.throws(() => {
      for (let pos = 0; pos < data.length; pos += 65536) {
        parser.push(data.subarray(pos, pos + 65536), () => {});
        maxCapacity = Math.max(maxCapacity, parserWork(parser).capacity);
      }
    }, /maxMessageBytes/);
    assert.ok(maxCapacity <= maxMessageBytes + 65536, `capacity ${maxCapacity}`);
  });

  for (const aligned of [true, false]) {
    const reads = aligned ? "some reads ending" : "no read ending";
    test(`after a big message, small events let the big buffer go (${reads} on a message end)`, () => {
      // 64-byte events start at `offset`; 64 KiB reads end on an event's end
      // when `offset` is a multiple of 64, and never when it is 32 past one.
      const answer = commandAnswer(2 * MiB).bytes;
      const head = answer.subarray(0, answer.length - 2); // without its empty line
      const event = "Event: Hangup\r\nChannel: PJSIP/100-00000001\r\nCause: 16\r\nX: 12\r\n\r\n";
      assert.equal(event.length, 64);
      const fixed = head.length + "Pad: \r\n\r\n".length;
      const pad = "p".repeat(((aligned ? 0 : 32) - fixed % 64 + 128) % 64);
      const tail = bytes(`Pad: ${pad}\r\n\r\n`);
      const small = bytes(event.repeat(Math.ceil(4 * MiB / event.length)));
      const data = new Uint8Array(head.length + tail.length + small.length);
      data.set(head);
      data.set(tail, head.length);
      data.set(small, head.length + tail.length);
      assert.equal((head.length + tail.length) % 64, aligned ? 0 : 32);
      const parser = new AmiParser({ expectBanner: false });
      const { messages, maxCapacity } = feed(parser, data, 65536);
      assert.equal(messages.length, 1 + small.length / event.length);
      assert.equal(messages[0].get("Pad"), pad);
      assert.ok(maxCapacity >= 2 * MiB);
      const { capacity } = parserWork(parser);
      assert.ok(capacity <= 4 * 65536, `capacity ${capacity}`);
    });
  }
});
