/**
 * Test helpers: the recorded Asterisk captures and their index.
 *
 * @module
 */

import { readFileSync } from "node:fs";

const DIR = new URL("./fixtures/", import.meta.url);

/** The raw bytes of a capture, e.g. `"10-originate-async-local-100.raw"`. */
export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, DIR)));
}

/** One row of INDEX.csv. */
export interface FixtureRow {
  file: string;
  bytes: number;
  messages: number;
  events: number;
  responses: number;
}

/** The rows of INDEX.csv. */
export function fixtureIndex(): FixtureRow[] {
  const text = new TextDecoder().decode(readFileSync(new URL("INDEX.csv", DIR)));
  return text.trim().split("\n").slice(1).map((line) => {
    const cells = line.split(",");
    const n = cells.length;
    return {
      file: cells[0],
      bytes: Number(cells[n - 4]),
      messages: Number(cells[n - 3]),
      events: Number(cells[n - 2]),
      responses: Number(cells[n - 1]),
    };
  });
}
