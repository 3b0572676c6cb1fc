/**
 * Checks the code in README.md as a user would meet it: every block fenced
 * as `ts` is written to a file (the package names mapped to this checkout)
 * and type-checked with `deno check`; every block fenced as `ts run` is also run, against
 * a simulator started here (its port in `AMI_PORT`), on Deno, on Bun and on
 * Node (from the npm build, so run `npm run build` first), and must exit 0.
 *
 * Run: `deno run -A scripts/check_docs.ts` (the suite's `npm test` does).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import ts from "typescript";
import { AmiSimulator } from "../testing/mod.ts";

/** One code block of a Markdown file. */
export interface DocBlock {
  /** The block's code. */
  readonly code: string;
  /** Whether it is marked `ts run`. */
  readonly run: boolean;
  /** Its first line's number in the file. */
  readonly line: number;
}

/**
 * The TypeScript blocks (fenced as `ts`, or `ts run`) of a Markdown text.
 *
 * @param markdown the text
 * @returns the blocks, in order
 */
export function tsBlocks(markdown: string): DocBlock[] {
  const out: DocBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(ts|typescript)( run)?\s*$/.exec(lines[i]);
    if (m === null) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !lines[j].startsWith("```")) j++;
    out.push({
      code: lines.slice(start, j).join("\n") + "\n",
      run: m[2] !== undefined,
      line: start,
    });
    i = j;
  }
  return out;
}

/** Rewrites the package's import names to paths in `target`'s layout. */
function mapImports(code: string, paths: Record<string, string>): string {
  return code.replace(
    /from "(?:amikit|@amikit\/amikit)(\/core|\/testing|\/metrics|\/live|\/gateway)?"/g,
    (_, sub: string | undefined) => `from "${paths[sub ?? ""]}"`,
  );
}

const root = new URL("../", import.meta.url);
const dir = new URL(".docs_check/", root);
const BIN = new URL("node_modules/.bin/", root).pathname;

/** Runs a command without blocking this process (the simulator answers meanwhile). */
function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root.pathname, env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (c: Uint8Array) => out += new TextDecoder().decode(c));
    child.stderr.on("data", (c: Uint8Array) => out += new TextDecoder().decode(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : `exit ${code ?? signal}\n${out}`);
    });
  });
}

if (import.meta.main) {
  const blocks = tsBlocks(readFileSync(new URL("README.md", root), "utf8"));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const src = {
    "": "../mod.ts",
    "/core": "../core/mod.ts",
    "/testing": "../testing/mod.ts",
    "/metrics": "../metrics/mod.ts",
    "/live": "../live/mod.ts",
    "/gateway": "../gateway/mod.ts",
  };
  const built = {
    "": "../npm/esm/mod.js",
    "/core": "../npm/esm/core/mod.js",
    "/testing": "../npm/esm/testing/mod.js",
    "/metrics": "../npm/esm/metrics/mod.js",
    "/live": "../npm/esm/live/mod.js",
    "/gateway": "../npm/esm/gateway/mod.js",
  };
  const files = blocks.map((b) => {
    const name = `readme_${b.line}`;
    writeFileSync(new URL(`${name}.ts`, dir), mapImports(b.code, src));
    const js = ts.transpileModule(mapImports(b.code, built), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    }).outputText;
    writeFileSync(new URL(`${name}.mjs`, dir), js);
    return { block: b, ts: `.docs_check/${name}.ts`, mjs: `.docs_check/${name}.mjs` };
  });
  let failed = 0;
  const report = (what: string, error: string | undefined): void => {
    if (error === undefined) console.log(`ok: ${what}`);
    else {
      failed++;
      console.log(`FAILED: ${what}\n${error}`);
    }
  };
  report(
    `README: ${blocks.length} TypeScript blocks type-check`,
    await run(`${BIN}deno`, ["check", "-q", ...files.map((f) => f.ts)], {}),
  );
  const sim = await AmiSimulator.start({ port: 0 });
  const env = { AMI_HOST: "127.0.0.1", AMI_PORT: String(sim.port) };
  try {
    for (const f of files.filter((f) => f.block.run)) {
      const at = `README.md line ${f.block.line}`;
      report(`${at} runs on Deno`, await run(`${BIN}deno`, ["run", "-A", f.ts], env));
      report(`${at} runs on Bun`, await run(`${BIN}bun`, [f.ts], env));
      report(`${at} runs on Node (npm build)`, await run("node", [f.mjs], env));
    }
  } finally {
    await sim.stop();
  }
  rmSync(dir, { recursive: true, force: true });
  if (failed > 0) process.exit(1);
}
