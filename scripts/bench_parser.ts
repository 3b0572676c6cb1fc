/**
 * Parser throughput over the 50-originate burst capture repeated to 50 MB,
 * fed in 64 KiB chunks and in random chunk sizes, side by side with a
 * baseline that only finds message boundaries (`indexOf` of LF, then a check
 * for the empty line). The parser is measured twice: reading the name and
 * one late header of every message (headers are split lazily, so this is
 * what a dispatcher pays), and splitting every header of every message.
 * Reports MB/s, messages/s and the ratios to the baseline.
 *
 * Then one big message: a 1, 4 and 8 MB `Command` answer (many `Output:`
 * lines) and one 1 MiB line, fed in 64 KiB and in 64-byte chunks: the time
 * to parse it (what a read loop is blocked for; the first run, with fresh
 * buffers, and the best run) and MB/s.
 *
 * `--baseline FILE` measures another copy of the parser (a module exporting
 * `AmiParser`, e.g. an older `core/parser.ts`, or its compiled `.js` on
 * Node) in the same run, round for round, and prints both side by side;
 * `--rounds N` keeps the best of N runs (default 3).
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { AmiParser } from "../core/mod.ts";
import type { AmiMessage, ParsedItem, ParserOptions } from "../core/mod.ts";
import { commandAnswer } from "../tests/_codec.ts";
import { isMain } from "./_main.ts";

/** One measured figure. */
export interface BenchRow {
  /** What was measured. */
  name: string;
  /** The figure. */
  value: number;
  /** Its unit. */
  unit: string;
}

/** A parser to measure: this one, or a baseline copy. */
export type ParserClass = new (options?: ParserOptions) => {
  push(chunk: Uint8Array, onItem: (item: ParsedItem) => void): void;
};

const TARGET_BYTES = 50 * 1024 * 1024;

function corpus(): Uint8Array {
  const raw = new Uint8Array(
    readFileSync(new URL("../tests/fixtures/12-originate-burst-50.raw", import.meta.url)),
  );
  const banner = raw.indexOf(10) + 1;
  const body = raw.subarray(banner);
  const reps = Math.ceil(TARGET_BYTES / body.length);
  const out = new Uint8Array(banner + body.length * reps);
  out.set(raw.subarray(0, banner));
  for (let i = 0; i < reps; i++) out.set(body, banner + i * body.length);
  return out;
}

function chunks(data: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  let i = 0;
  while (pos < data.length) {
    const n = sizes[i++ % sizes.length];
    out.push(data.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

/** Counts messages by finding empty lines only: the least any parser must do. */
function boundaryScan(parts: Uint8Array[]): number {
  let count = 0;
  let lineLen = 0; // bytes on the current line, CR excluded, carried across chunks
  let sawContent = false;
  for (const part of parts) {
    let pos = 0;
    while (pos < part.length) {
      const lf = part.indexOf(10, pos);
      if (lf < 0) {
        lineLen += part.length - pos;
        break;
      }
      let len = lineLen + lf - pos;
      if (len > 0 && (lf > 0 ? part[lf - 1] === 13 : true)) len--;
      if (len === 0) {
        if (sawContent) count++;
        sawContent = false;
      } else sawContent = true;
      lineLen = 0;
      pos = lf + 1;
    }
  }
  return count;
}

/**
 * Parses every chunk and reads each message with `read` (its result is
 * summed so that the reads cannot be optimised away); returns the count.
 */
function parseAll(
  Parser: ParserClass,
  parts: Uint8Array[],
  read: (message: AmiMessage) => number,
  options?: ParserOptions,
): number {
  const parser = new Parser(options);
  let count = 0;
  let sink = 0;
  const onItem = (item: ParsedItem): void => {
    if (item.type === "banner") return;
    count++;
    sink += read(item);
  };
  for (const part of parts) parser.push(part, onItem);
  return sink >= 0 ? count : -1;
}

/** The name and one late header (what a dispatcher does). */
const readLazily = (m: AmiMessage): number => m.name.length + (m.get("Uniqueid")?.length ?? 0);
/** Every header split (the full cost). */
const splitAll = (m: AmiMessage): number => m.headers.length;

/** Indexes 0..n-1 rotated by `round`. */
function order(n: number, round: number): number[] {
  return Array.from({ length: n }, (_, i) => (i + round) % n);
}

function time(fn: () => number): { ms: number; count: number } {
  const start = performance.now();
  const count = fn();
  return { ms: performance.now() - start, count };
}

/** The big messages, each with what it is. */
function bigMessages(): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  for (const mb of [1, 4, 8]) {
    out.push([`one ${mb} MB Command answer`, commandAnswer(mb * 1_000_000).bytes]);
  }
  const line = new TextEncoder().encode(
    `Event: Long\r\nData: ${"y".repeat(1024 * 1024 - 6)}\r\n\r\n`,
  );
  out.push(["one 1 MiB line", line]);
  return out;
}

/**
 * Runs the parser benchmark: the big messages, then the corpus.
 *
 * @param rounds how many times each variant runs (the best is kept)
 * @param baseline another parser to measure side by side (its rows are
 *   named `baseline: ...`)
 * @returns the figures
 */
export function benchParser(rounds = 3, baseline?: ParserClass): BenchRow[] {
  const contenders: Array<[string, ParserClass]> = [["", AmiParser]];
  if (baseline) contenders.push(["baseline: ", baseline]);
  const rows: BenchRow[] = [];
  // Big messages first, before the corpus has warmed the heap: the first run
  // is what a long-running process pays when such an answer arrives.
  for (const [what, message] of bigMessages()) {
    for (const [label, size] of [["64 KiB", 65536], ["64 B", 64]] as const) {
      const parts = chunks(message, [size]);
      const best = contenders.map(() => Infinity);
      const first = contenders.map(() => Infinity);
      // A run over a second is not repeated (the old parser takes seconds here).
      for (let r = 0; r < rounds && (r === 0 || best.some((ms) => ms < 1000)); r++) {
        order(contenders.length, r).forEach((c) => {
          const Parser = contenders[c][1];
          if (best[c] >= 1000 && r > 0) return;
          const t = time(() =>
            parseAll(Parser, parts, (m) => m.name.length, { expectBanner: false })
          );
          if (t.count !== 1) throw new Error(`${what}: ${t.count} messages`);
          best[c] = Math.min(best[c], t.ms);
          if (r === 0) first[c] = t.ms;
        });
      }
      contenders.forEach(([prefix], c) => {
        const name = `${prefix}${what}, ${label} chunks`;
        rows.push(
          { name: `${name}: first run, ms`, value: first[c], unit: "ms" },
          { name: `${name}: best run, ms`, value: best[c], unit: "ms" },
          {
            name: `${name}: best run, MB/s`,
            value: message.length / 1_000_000 / (best[c] / 1000),
            unit: "MB/s",
          },
        );
      });
    }
  }
  const data = corpus();
  const mb = data.length / (1024 * 1024);
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const variants: Array<[string, Uint8Array[]]> = [
    ["64KiB", chunks(data, [65536])],
    ["random", chunks(data, Array.from({ length: 1000 }, () => 1 + Math.floor(rnd() * 16384)))],
  ];
  for (const [label, parts] of variants) {
    let scan = Infinity;
    const best = contenders.map(() => ({ parse: Infinity, split: Infinity, messages: 0 }));
    for (let r = 0; r < rounds; r++) {
      const s = time(() => boundaryScan(parts));
      scan = Math.min(scan, s.ms);
      // Alternate who goes first, so that neither always runs on a fresh heap.
      order(contenders.length, r).forEach((c) => {
        const Parser = contenders[c][1];
        const p = time(() => parseAll(Parser, parts, readLazily));
        const f = time(() => parseAll(Parser, parts, splitAll));
        if (s.count !== p.count || s.count !== f.count) {
          throw new Error(`baseline found ${s.count}, parser ${p.count}/${f.count}`);
        }
        best[c] = {
          parse: Math.min(best[c].parse, p.ms),
          split: Math.min(best[c].split, f.ms),
          messages: p.count,
        };
      });
    }
    contenders.forEach(([prefix], c) => {
      const b = best[c];
      rows.push(
        { name: `${prefix}parser ${label} MB/s`, value: mb / (b.parse / 1000), unit: "MB/s" },
        {
          name: `${prefix}parser ${label} messages/s`,
          value: b.messages / (b.parse / 1000),
          unit: "msg/s",
        },
      );
      if (c === 0) {
        rows.push({ name: `boundary scan ${label} MB/s`, value: mb / (scan / 1000), unit: "MB/s" });
      }
      rows.push(
        { name: `${prefix}parser/scan ${label} cost ratio`, value: b.parse / scan, unit: "x" },
        {
          name: `${prefix}parser+split all ${label} MB/s`,
          value: mb / (b.split / 1000),
          unit: "MB/s",
        },
        {
          name: `${prefix}parser+split all/scan ${label} cost ratio`,
          value: b.split / scan,
          unit: "x",
        },
      );
    });
  }
  return rows;
}

/**
 * Loads `AmiParser` from a file given on the command line.
 *
 * @param file a module's path
 * @returns its parser class
 */
async function loadBaseline(file: string): Promise<ParserClass> {
  const mod = await import(pathToFileURL(resolve(file)).href);
  if (typeof mod.AmiParser !== "function") throw new Error(`${file} exports no AmiParser`);
  return mod.AmiParser as ParserClass;
}

function runtime(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return `Deno ${g.Deno.version.deno}`;
  if (g.Bun) return `Bun ${g.Bun.version}`;
  return `Node ${process.versions.node}`;
}

if (isMain(import.meta)) {
  const at = process.argv.indexOf("--baseline");
  const baseline = at >= 0 ? await loadBaseline(process.argv[at + 1]) : undefined;
  const r = process.argv.indexOf("--rounds");
  const rows = benchParser(r >= 0 ? Number(process.argv[r + 1]) : 3, baseline);
  const fmt = (v: number): string =>
    v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(2);
  for (const row of rows) console.log(`${row.name}: ${fmt(row.value)} ${row.unit}`);
  if (baseline) {
    const byName = new Map(rows.map((r) => [r.name, r]));
    console.log(`\n| ${runtime()} | baseline | this parser | ratio |\n| --- | --- | --- | --- |`);
    for (const row of rows) {
      const old = byName.get(`baseline: ${row.name}`);
      if (row.name.startsWith("baseline: ") || !old) continue;
      console.log(
        `| ${row.name} | ${fmt(old.value)} ${old.unit} | ${fmt(row.value)} ${row.unit} | ${
          (row.value / old.value).toFixed(2)
        }x |`,
      );
    }
  }
}
