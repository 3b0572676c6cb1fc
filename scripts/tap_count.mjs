// Reads TAP (from `deno test --reporter=tap` or `node --test --test-reporter=tap`)
// on stdin, echoes it, and appends "passed failed skipped" of the leaf tests
// (a test with subtests counts through its subtests) to the file in argv[2].
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";

const out = process.argv[2];
let prevIndent = -1;
let passed = 0, failed = 0, skipped = 0;
const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  console.log(line);
  const m = /^(\s*)(not ok|ok) \d+/.exec(line);
  if (!m) {
    if (/^\s*(ok|not ok|#|1\.\.|TAP|---|\.\.\.|\w+:)/.test(line) || line.trim() === "") return;
    return;
  }
  const indent = m[1].length;
  const parent = prevIndent > indent;
  prevIndent = indent;
  if (parent) return;
  if (/# (SKIP|TODO)/i.test(line)) skipped++;
  else if (m[2] === "ok") passed++;
  else failed++;
});
rl.on("close", () => appendFileSync(out, `${passed} ${failed} ${skipped}\n`));
