import { test } from "node:test";
import fc from "fast-check";
import {
  bigChunkingProperty,
  chunkingProperty,
  garbageProperty,
  lazyLookupProperty,
  roundTripProperty,
} from "./_codec_properties.ts";

// `deno task fuzz` runs the same properties for longer.
const runs = { numRuns: 300 };

test("any chunking of a valid stream gives the same messages", () => {
  fc.assert(chunkingProperty(), runs);
});

test("any chunking of a stream with big messages gives the messages whole-feeding gives", () => {
  fc.assert(bigChunkingProperty(), { numRuns: 40 });
});

test("parse(serialize(action)) round-trips for arbitrary valid actions", () => {
  fc.assert(roundTripProperty(), runs);
});

test("arbitrary bytes give messages or a RemoteProtocolError, never a crash or an unbounded buffer", () => {
  fc.assert(garbageProperty(), { numRuns: 500 });
});

test("a message read lazily from its text answers every lookup as the split one", () => {
  fc.assert(lazyLookupProperty(), { numRuns: 500 });
});
