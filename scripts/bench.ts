/**
 * Every benchmark in one run: the parser, the engine, the simulator's flood,
 * the live model and the full client against its peers. Prints one line per figure and a
 * Markdown table at the end.
 *
 * Run: `deno task bench` / `npm run bench`; `bun scripts/bench.ts`; on Node
 * from the build: `npm run build && node npm/esm/scripts/bench.js`.
 * `--no-client` skips the client benchmark (it spawns Node, Deno and Bun
 * children itself, so one run of it covers all three).
 *
 * @module
 */

import process from "node:process";
import { isMain } from "./_main.ts";
import { benchParser } from "./bench_parser.ts";
import { benchEngine } from "./bench_engine.ts";
import { benchSimulator } from "./bench_simulator.ts";
import { benchClient } from "./bench_client.ts";
import { benchLive } from "./bench_live.ts";

/** One figure. */
interface Row {
  name: string;
  value: number;
  unit: string;
}

function runtime(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return `Deno ${g.Deno.version.deno}`;
  if (g.Bun) return `Bun ${g.Bun.version}`;
  return `Node ${process.versions.node}`;
}

function format(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(2);
}

/**
 * Runs the sections and prints their figures.
 *
 * @param withClient whether to run the client benchmark too
 * @returns every figure, section by section
 */
export async function benchAll(withClient: boolean): Promise<Array<[string, Row[]]>> {
  const sections: Array<[string, () => Row[] | Promise<Row[]>]> = [
    ["parser", () => benchParser()],
    ["engine", () => benchEngine()],
    ["simulator", () => benchSimulator()],
    ["live", () => benchLive()],
  ];
  if (withClient) sections.push(["client", () => benchClient()]);
  const out: Array<[string, Row[]]> = [];
  for (const [name, run] of sections) {
    console.error(`bench: ${name} on ${runtime()} ...`);
    const rows = await run();
    for (const r of rows) console.log(`${name}: ${r.name}: ${format(r.value)} ${r.unit}`);
    out.push([name, rows]);
  }
  console.log(`\n| Section | Figure | Value (${runtime()}) |\n| --- | --- | --- |`);
  for (const [name, rows] of out) {
    for (const r of rows) console.log(`| ${name} | ${r.name} | ${format(r.value)} ${r.unit} |`);
  }
  return out;
}

if (isMain(import.meta)) {
  await benchAll(!process.argv.includes("--no-client"));
  process.exit(0);
}
