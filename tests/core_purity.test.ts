import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PURE_DIRS, scanDir, scanSource } from "../scripts/check_core_purity.ts";

test("invariant 1: core/ uses no runtime API, timer, clock or randomness", () => {
  const dir = fileURLToPath(new URL("../core", import.meta.url));
  assert.deepEqual(scanDir(dir), []);
});

test("invariant 1: live/ (the live model's reducer) is pure too", () => {
  assert.deepEqual(PURE_DIRS, ["core", "live"]);
  const dir = fileURLToPath(new URL("../live", import.meta.url));
  assert.deepEqual(scanDir(dir), []);
});

test("the purity check catches each forbidden use and ignores comments", () => {
  const bad = [
    'import { connect } from "node:net";',
    "const t = setTimeout(() => {}, 1);",
    "Deno.exit(1);",
    "await Bun.connect({});",
    "const now = Date.now();",
    "const r = Math.random();",
    "performance.now()",
    "process.exit(0)",
  ];
  for (const line of bad) assert.equal(scanSource("x.ts", line).length, 1, line);
  assert.deepEqual(
    scanSource("x.ts", "// setTimeout( in a comment\n/** Date.now() */\nconst a = 1;"),
    [],
  );
});
