/**
 * Fails when anything under `core/` or `live/` (the pure live-model reducer) reaches a runtime, a clock, a timer or
 * randomness (ARCHITECTURE.md invariant 1): `Deno.`, `Bun.`, `node:` imports,
 * `setTimeout`/`setInterval`/`queueMicrotask`, `Date.now`/`new Date`,
 * `performance.now`, `Math.random`, `crypto.`, `process.`, `require(`.
 *
 * Run: `deno task purity` (exit 1 with the offending lines).
 *
 * @module
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** One forbidden use found in a file. */
export interface PurityViolation {
  /** The file, relative to the scanned folder's parent. */
  file: string;
  /** The 1-based line number. */
  line: number;
  /** What was found. */
  match: string;
}

const FORBIDDEN: RegExp[] = [
  /\bDeno\s*\./,
  /\bBun\s*\./,
  /["']node:[a-z_/]+["']/,
  /\bset(Timeout|Interval|Immediate)\s*\(/,
  /\bqueueMicrotask\s*\(/,
  /\bDate\.now\s*\(/,
  /\bnew\s+Date\s*\(/,
  /\bperformance\s*\.\s*now\b/,
  /\bMath\.random\s*\(/,
  /\bcrypto\s*\./,
  /\bprocess\s*\./,
  /\brequire\s*\(/,
  /\bglobalThis\b/,
];

/**
 * Scans TypeScript source text for forbidden uses, ignoring comment lines.
 *
 * @param file the name to report
 * @param text the source
 * @returns the violations, in line order
 */
export function scanSource(file: string, text: string): PurityViolation[] {
  const out: PurityViolation[] = [];
  const lines = text.split("\n");
  let inBlock = false;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (inBlock) {
      const end = line.indexOf("*/");
      if (end < 0) continue;
      line = line.slice(end + 2);
      inBlock = false;
    }
    line = line.replace(/\/\*.*?\*\//g, "");
    const open = line.indexOf("/*");
    if (open >= 0) {
      inBlock = true;
      line = line.slice(0, open);
    }
    const comment = line.indexOf("//");
    if (comment >= 0 && !/["'`][^"'`]*\/\//.test(line)) line = line.slice(0, comment);
    for (const re of FORBIDDEN) {
      const m = re.exec(line);
      if (m) out.push({ file, line: i + 1, match: m[0] });
    }
  }
  return out;
}

/**
 * Scans every `.ts` and `.js` file (not `.d.ts`) under a folder.
 *
 * @param dir the folder (e.g. `core`)
 * @returns every violation found
 */
export function scanDir(dir: string): PurityViolation[] {
  const out: PurityViolation[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...scanDir(path));
    else if (/\.(ts|js)$/.test(name) && !name.endsWith(".d.ts")) {
      out.push(...scanSource(path, readFileSync(path, "utf8")));
    }
  }
  return out;
}

/** The folders that must stay pure: the protocol engine and the live model's reducer. */
export const PURE_DIRS: readonly string[] = ["core", "live"];

if ((import.meta as { main?: boolean }).main) {
  let failed = false;
  for (const name of PURE_DIRS) {
    const found = scanDir(fileURLToPath(new URL(`../${name}`, import.meta.url)));
    for (const v of found) console.error(`${v.file}:${v.line}: ${v.match}`);
    if (found.length > 0) {
      console.error(`${name}/ is not runtime-neutral: ${found.length} forbidden use(s)`);
      failed = true;
    } else console.log(`${name}/ is runtime-neutral`);
  }
  if (failed) process.exit(1);
}
