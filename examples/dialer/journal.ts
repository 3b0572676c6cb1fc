/**
 * The journal: an append-only NDJSON file, one record a line. A `dialing`
 * record is on disk (flushed and synced) before its Originate is written;
 * an `outcome` record follows when the call is over. Read back at start,
 * it tells what was done ({@link resumeFrom}): a `dialing` with no outcome
 * is a call that may have happened, reported `unknown` and never dialled
 * again.
 *
 * @module
 */

import { type Outcome, OUTCOMES } from "./campaign.ts";

/** The campaign started (or started again on this journal). */
export interface StartRecord {
  /** Always `start`. */
  readonly t: "start";
  /** The campaign's name. */
  readonly campaign: string;
  /** Wall-clock time, ms since the epoch. */
  readonly wall: number;
}

/** A call is about to be placed: written and synced before the Originate. */
export interface DialingRecord {
  /** Always `dialing`. */
  readonly t: "dialing";
  /** The lead's id. */
  readonly lead: string;
  /** Its attempt number (1 for the first). */
  readonly attempt: number;
  /** The Originate's ChannelId. */
  readonly channelId: string;
  /** The server it goes to. */
  readonly node?: string;
  /** Wall-clock time, ms. */
  readonly wall: number;
}

/** How a call ended. */
export interface OutcomeRecord {
  /** Always `outcome`. */
  readonly t: "outcome";
  /** The lead's id. */
  readonly lead: string;
  /** The attempt this ends. */
  readonly attempt: number;
  /** The outcome. */
  readonly outcome: Outcome;
  /** Whether an answered call was abandoned (no agent in time, or hung up first). */
  readonly abandoned: boolean;
  /** Time with an agent, ms. */
  readonly talkMs: number;
  /** Hangup cause, if known. */
  readonly cause: number | undefined;
  /** Why the outcome is what it is, when not plain (`restart`, `connection`, `stopped`, ...). */
  readonly detail: string;
  /** Wall-clock time, ms. */
  readonly wall: number;
}

/** One line of the journal. */
export type JournalRecord = StartRecord | DialingRecord | OutcomeRecord;

/** A journal line is not a record (a torn last line is not an error: it is skipped). */
export class JournalError extends Error {
  /** The 1-based line. */
  readonly line: number;

  /**
   * Creates the error.
   *
   * @param line where
   * @param message what
   */
  constructor(line: number, message: string) {
    super(`journal line ${line}: ${message}`);
    this.name = "JournalError";
    this.line = line;
  }
}

/**
 * The text of records, one JSON object a line.
 *
 * @param records the records
 * @returns NDJSON, ending with a newline
 */
export function encodeRecords(records: readonly JournalRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join("\n") + "\n";
}

const OUTCOME_NAMES: ReadonlySet<string> = new Set(OUTCOMES);

function check(r: Record<string, unknown>, line: number): JournalRecord {
  const isStr = (k: string) => typeof r[k] === "string";
  const isNum = (k: string) => typeof r[k] === "number";
  switch (r.t) {
    case "start":
      if (isStr("campaign") && isNum("wall")) return r as unknown as StartRecord;
      break;
    case "dialing":
      if (isStr("lead") && isNum("attempt") && isStr("channelId") && isNum("wall")) {
        return r as unknown as DialingRecord;
      }
      break;
    case "outcome":
      if (
        isStr("lead") && isNum("attempt") && OUTCOME_NAMES.has(String(r.outcome)) && isNum("wall")
      ) {
        return {
          t: "outcome",
          lead: r.lead as string,
          attempt: r.attempt as number,
          outcome: r.outcome as Outcome,
          abandoned: r.abandoned === true,
          talkMs: typeof r.talkMs === "number" ? r.talkMs : 0,
          cause: typeof r.cause === "number" ? r.cause : undefined,
          detail: typeof r.detail === "string" ? r.detail : "",
          wall: r.wall as number,
        };
      }
      break;
  }
  throw new JournalError(line, `not a journal record: ${JSON.stringify(r).slice(0, 80)}`);
}

/**
 * Parses a journal. A last line without its newline was torn by a crash
 * while being written: it is dropped (a torn `dialing` was never followed
 * by its Originate, which waits for the sync; a torn `outcome` leaves its
 * call `unknown`, the safe side).
 *
 * @param text the file's text
 * @returns the records and whether a torn line was dropped
 * @throws {JournalError} a complete line that is not a record
 */
export function parseJournal(text: string): { records: JournalRecord[]; torn: boolean } {
  const lines = text.split("\n");
  const last = lines.pop() ?? "";
  const records: JournalRecord[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new JournalError(i + 1, "not JSON");
    }
    if (typeof value !== "object" || value === null) throw new JournalError(i + 1, "not an object");
    records.push(check(value as Record<string, unknown>, i + 1));
  }
  return { records, torn: last.trim() !== "" };
}

/** What the journal says about one lead. */
export interface LeadHistory {
  /** Attempts made (dialing records). */
  readonly attempts: number;
  /** The outcome of each finished attempt, in order. */
  readonly outcomes: readonly OutcomeRecord[];
  /** The attempt dialled with no outcome recorded, if any (the process died during the call). */
  readonly open: DialingRecord | undefined;
}

/**
 * Replays the records into each lead's history.
 *
 * @param records the journal
 * @returns the history of each lead named in it
 */
export function resumeFrom(records: readonly JournalRecord[]): Map<string, LeadHistory> {
  const out = new Map<
    string,
    { attempts: number; outcomes: OutcomeRecord[]; open?: DialingRecord }
  >();
  const get = (lead: string) => {
    let h = out.get(lead);
    if (h === undefined) out.set(lead, h = { attempts: 0, outcomes: [] });
    return h;
  };
  for (const r of records) {
    if (r.t === "dialing") {
      const h = get(r.lead);
      h.attempts = Math.max(h.attempts, r.attempt);
      h.open = r;
    } else if (r.t === "outcome") {
      const h = get(r.lead);
      h.outcomes.push(r);
      h.attempts = Math.max(h.attempts, r.attempt);
      if (h.open?.attempt === r.attempt) h.open = undefined;
    }
  }
  return new Map([...out].map(([k, h]) => [k, { ...h, open: h.open }]));
}

/** Where journal text goes: appended, then flushed and synced to disk. */
export interface JournalSink {
  /**
   * Appends `text` and resolves once it is on disk (fsync).
   *
   * @param text whole lines
   */
  append(text: string): Promise<void>;
}

/**
 * The journal writer: records are appended in order; one `write` call
 * appends a batch with one sync (a group commit), so that placing ten calls
 * costs one fsync.
 */
export class Journal {
  readonly #sink: JournalSink;
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  /**
   * Creates a writer.
   *
   * @param sink where the lines go
   */
  constructor(sink: JournalSink) {
    this.#sink = sink;
  }

  /** Batches written but not yet on disk. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Appends records after every earlier batch.
   *
   * @param records the batch
   * @returns resolves once the batch is on disk; rejects if the sink failed
   */
  write(records: readonly JournalRecord[]): Promise<void> {
    if (records.length === 0) return this.#tail;
    const text = encodeRecords(records);
    this.#pending++;
    const done = this.#tail.then(() => this.#sink.append(text));
    this.#tail = done.catch(() => {}).finally(() => this.#pending--);
    return done;
  }

  /** Resolves when every batch so far is on disk (or failed). */
  flushed(): Promise<void> {
    return this.#tail;
  }
}
