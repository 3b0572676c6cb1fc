/**
 * Runs the codec's fast-check properties for longer than the test suite.
 *
 * Usage: `deno task fuzz [runs]` (default 20,000 runs per property); also
 * `bun scripts/fuzz.ts [runs]`. Prints how many inputs each property tried.
 *
 * @module
 */

import fc from "fast-check";
import process from "node:process";
import {
  chunkingProperty,
  garbageProperty,
  lazyLookupProperty,
  roundTripProperty,
} from "../tests/_codec_properties.ts";

const runs = Number(process.argv[2] ?? process.env.FUZZ_RUNS ?? 20_000);
if (!Number.isInteger(runs) || runs < 1) {
  console.error("usage: fuzz [runs]  (a positive whole number)");
  process.exit(2);
}
const seed = Date.now() ^ 0x5eed;
let total = 0;
for (
  const [name, prop] of [
    ["chunking", chunkingProperty()],
    ["round trip", roundTripProperty()],
    ["garbage", garbageProperty()],
    ["lazy lookup", lazyLookupProperty()],
  ] as const
) {
  const started = performance.now();
  const details = fc.check(prop as fc.IProperty<unknown[]>, { numRuns: runs, seed });
  const ms = performance.now() - started;
  total += details.numRuns;
  if (details.failed) {
    console.error(fc.defaultReportMessage(details));
    process.exit(1);
  }
  console.log(`${name}: ${details.numRuns} inputs, ok (${ms.toFixed(0)} ms, seed ${seed})`);
}
console.log(`fuzz: ${total} inputs tried, no failure`);
