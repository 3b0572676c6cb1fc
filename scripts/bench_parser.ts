/**
 * Parser throughput over the 50-originate burst capture repeated to 50 MB,
 * fed in 64 KiB chunks and in random chunk sizes, side by side with a
 * baseline that only finds message boundaries (`indexOf` of LF, then a check
 * for the empty line). The parser is measured twice: reading the name and
 * one late header of every message (headers are split lazily, so this is
 * what a dispatcher pays), and splitting every header of every message.
 * Reports MB/s, messages/s and the ratios to the baseline.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { AmiParser } from "../core/mod.ts";
import type { AmiMessage, ParsedItem } from "../core/mod.ts";
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
function parseAll(parts: Uint8Array[], read: (message: AmiMessage) => number): number {
  const parser = new AmiParser();
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

function time(fn: () => number): { ms: number; count: number } {
  const start = performance.now();
  const count = fn();
  return { ms: performance.now() - start, count };
}

/**
 * Runs the parser benchmark.
 *
 * @param rounds how many times each variant runs (the best is kept)
 * @returns the figures
 */
export function benchParser(rounds = 3): BenchRow[] {
  const data = corpus();
  const mb = data.length / (1024 * 1024);
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const variants: Array<[string, Uint8Array[]]> = [
    ["64KiB", chunks(data, [65536])],
    ["random", chunks(data, Array.from({ length: 1000 }, () => 1 + Math.floor(rnd() * 16384)))],
  ];
  const rows: BenchRow[] = [];
  for (const [label, parts] of variants) {
    let best = { parse: Infinity, split: Infinity, scan: Infinity, messages: 0 };
    for (let r = 0; r < rounds; r++) {
      const s = time(() => boundaryScan(parts));
      const p = time(() => parseAll(parts, readLazily));
      const f = time(() => parseAll(parts, splitAll));
      if (s.count !== p.count || s.count !== f.count) {
        throw new Error(`baseline found ${s.count}, parser ${p.count}/${f.count}`);
      }
      best = {
        parse: Math.min(best.parse, p.ms),
        split: Math.min(best.split, f.ms),
        scan: Math.min(best.scan, s.ms),
        messages: p.count,
      };
    }
    rows.push(
      { name: `parser ${label} MB/s`, value: mb / (best.parse / 1000), unit: "MB/s" },
      {
        name: `parser ${label} messages/s`,
        value: best.messages / (best.parse / 1000),
        unit: "msg/s",
      },
      { name: `boundary scan ${label} MB/s`, value: mb / (best.scan / 1000), unit: "MB/s" },
      { name: `parser/scan ${label} cost ratio`, value: best.parse / best.scan, unit: "x" },
      { name: `parser+split all ${label} MB/s`, value: mb / (best.split / 1000), unit: "MB/s" },
      {
        name: `parser+split all/scan ${label} cost ratio`,
        value: best.split / best.scan,
        unit: "x",
      },
    );
  }
  return rows;
}

if (isMain(import.meta)) {
  for (const row of benchParser()) console.log(`${row.name}: ${row.value.toFixed(2)} ${row.unit}`);
}
