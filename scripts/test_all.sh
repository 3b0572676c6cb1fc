#!/usr/bin/env bash
# The full test suite: checks, then the same tests on Deno, Bun and Node (the
# Node run uses the npm build). Ends with one line "N passed, N failed".
# Usage: npm test   (or: bash scripts/test_all.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=node_modules/.bin
COUNTS=$(mktemp)
trap 'rm -f "$COUNTS"' EXIT

check() { # name, command...: one pass or fail per check
  local name=$1; shift
  echo "== check: $name"
  if "$@"; then echo "ok: $name"; echo "1 0 0" >>"$COUNTS"; else echo "FAILED: $name"; echo "0 1 0" >>"$COUNTS"; fi
}

# A runner that exits non-zero with no failed test counted (a crash, a load
# error) still counts as one failure.
runner_status() {
  local name=$1 status=$2 last
  last=$(tail -1 "$COUNTS")
  if [ "$status" != 0 ] && [ "$(echo "$last" | cut -d' ' -f2)" = 0 ]; then
    echo "$name exited $status"; echo "0 1 0" >>"$COUNTS"
  fi
}

# Through `deno task`, so that a broken task runner (it once ran the npm
# package's deno binary as a script) fails here and not in a user's hands.
check "core purity (deno task purity)" "$BIN/deno" task purity
check "deno lint" "$BIN/deno" lint
check "deno fmt --check" "$BIN/deno" fmt --check
check "deno check (doc-comment examples too)" "$BIN/deno" check --doc mod.ts core/ live/ adapters/ client/ testing/ metrics/ gateway/ cli/ examples/ tests/ scripts/
check "deno doc --lint" "$BIN/deno" doc -q --lint $(node -e 'const d=require("./deno.json");console.log(Object.values(d.exports).join(" "))')
check "deno publish --dry-run" "$BIN/deno" publish --dry-run --allow-dirty
check "npm build (tsc: ESM and CommonJS)" "$BIN/deno" run -A scripts/build_npm.ts
check "npm package (pack; require and import on Node; types for node10, node16, nodenext, bundler)" \
  node npm/esm/scripts/check_package.js
check "README examples (type-check; the runnable ones on Deno, Bun and Node)" \
  "$BIN/deno" run -A scripts/check_docs.ts

echo "== deno test"
"$BIN/deno" test -A --reporter=tap tests/ 2>&1 | node scripts/tap_count.mjs "$COUNTS"
runner_status "deno test" "${PIPESTATUS[0]}"

echo "== bun test"
BUN_OUT=$(mktemp)
"$BIN/bun" test --timeout 60000 ./tests/ 2>&1 | tee "$BUN_OUT"
bun_status=${PIPESTATUS[0]}
bp=$(grep -Eo '^ *[0-9]+ pass' "$BUN_OUT" | tail -1 | grep -Eo '[0-9]+' || echo 0)
bf=$(grep -Eo '^ *[0-9]+ fail' "$BUN_OUT" | tail -1 | grep -Eo '[0-9]+' || echo 0)
bs=$(grep -Eo '^ *[0-9]+ skip' "$BUN_OUT" | tail -1 | grep -Eo '[0-9]+' || echo 0)
if [ "$bp" = 0 ] && [ "$bf" = 0 ]; then bf=1; echo "bun test ran nothing"; fi
if [ "$bun_status" != 0 ] && [ "$bf" = 0 ]; then bf=1; echo "bun test exited $bun_status"; fi
echo "$bp $bf $bs" >>"$COUNTS"
rm -f "$BUN_OUT"

echo "== node --test (npm build)"
if [ -d npm/esm/tests ]; then
  node --test --test-reporter=tap npm/esm/tests/ 2>&1 | node scripts/tap_count.mjs "$COUNTS"
  runner_status "node --test" "${PIPESTATUS[0]}"
else
  echo "no build: node tests not run"; echo "0 1 0" >>"$COUNTS"
fi

awk '{p+=$1; f+=$2; s+=$3} END {printf "\n%d passed, %d failed", p, f; if (s) printf ", %d skipped", s; printf "\n"; exit (f > 0)}' "$COUNTS"
