/**
 * Test helpers for the codec: parse bytes whole, byte by byte or in given
 * chunks, and a compact comparable form of what came out.
 *
 * @module
 */

import { AmiParser } from "../core/mod.ts";
import type { ParsedItem, ParserOptions } from "../core/mod.ts";

/** Parses `bytes` fed in the chunk sizes given (cycled), returning every item. */
export function parseChunked(
  bytes: Uint8Array,
  sizes: readonly number[],
  options?: ParserOptions,
): ParsedItem[] {
  const parser = new AmiParser(options);
  const items: ParsedItem[] = [];
  let pos = 0;
  let i = 0;
  while (pos < bytes.length) {
    const size = Math.max(1, sizes[i++ % sizes.length]);
    parser.push(bytes.subarray(pos, pos + size), (item) => items.push(item));
    pos += size;
  }
  return items;
}

/** Parses `bytes` in one push. */
export function parseWhole(bytes: Uint8Array, options?: ParserOptions): ParsedItem[] {
  return parseChunked(bytes, [bytes.length || 1], options);
}

/** A plain, deep-comparable form of parsed items. */
export function plain(items: readonly ParsedItem[]): unknown[] {
  return items.map((item) =>
    item.type === "banner"
      ? { banner: item.line, version: item.protocolVersion }
      : { type: item.type, headers: item.headers.map(([k, v]) => [k, v]), body: [...item.body] }
  );
}

/** A deterministic pseudo-random generator (mulberry32) for chunk sizes. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` random chunk sizes between 1 and `max`, from a seed. */
export function randomSizes(seed: number, n: number, max: number): number[] {
  const rnd = seeded(seed);
  return Array.from({ length: n }, () => 1 + Math.floor(rnd() * max));
}

/** UTF-8 bytes of a string. */
export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/**
 * A `Command` answer of about `size` bytes, as Asterisk 14+ sends it: a
 * Response, then `Output:` lines of 20 to 180 bytes, then the empty line.
 *
 * @param size the answer's size in bytes, roughly (never less)
 * @param lineEnd `"\r\n"` or a bare `"\n"`
 * @returns the bytes and how many Output lines they hold
 */
export function commandAnswer(
  size: number,
  lineEnd = "\r\n",
): { bytes: Uint8Array; outputs: number } {
  const rnd = seeded(size);
  const parts = [
    `Response: Success${lineEnd}ActionID: cmd-${size}${lineEnd}Message: Command output follows${lineEnd}`,
  ];
  let total = parts[0].length + lineEnd.length;
  let outputs = 0;
  while (total < size) {
    const line = `Output: ${outputs} ${"x".repeat(10 + Math.floor(rnd() * 160))}${lineEnd}`;
    parts.push(line);
    total += line.length;
    outputs++;
  }
  parts.push(lineEnd);
  return { bytes: bytes(parts.join("")), outputs };
}
