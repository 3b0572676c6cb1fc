/**
 * What a campaign reports: the progress line while it runs, and at the end
 * the outcome counts as a table and every lead as a CSV row.
 *
 * @module
 */

import type { LeadState } from "./book.ts";
import { type Outcome, OUTCOMES, zeroOutcomes } from "./campaign.ts";

/** The counts at the end of a campaign. */
export interface Summary {
  /** Leads in the file. */
  readonly leads: number;
  /** Leads by their last outcome; `notDialled` for leads never tried. */
  readonly outcomes: Readonly<Record<Outcome | "notDialled", number>>;
  /** Leads whose answered call was abandoned. */
  readonly abandoned: number;
  /** Abandoned over answered, 0 when nothing was answered. */
  readonly abandonRate: number;
  /** Time with agents over every call, ms. */
  readonly talkMs: number;
  /** Attempts over every lead. */
  readonly attempts: number;
  /** Leads still waiting for a retry (the campaign stopped before it was due). */
  readonly waiting: number;
  /** The ids of the leads whose outcome is `unknown`: check them by hand before calling again. */
  readonly unknown: readonly string[];
}

/** What the progress line shows. */
export interface Progress {
  /** Time since the start, ms. */
  readonly elapsedMs: number;
  /** Calls started per minute over the run. */
  readonly perMinute: number;
  /** Calls in flight. */
  readonly inFlight: number;
  /** Free agents. */
  readonly freeAgents: number;
  /** The dial ratio. */
  readonly ratio: number;
  /** Outcomes so far (this run and the journal's). */
  readonly outcomes: Readonly<Record<Outcome, number>>;
  /** The measured abandon rate. */
  readonly abandonRate: number;
  /** Leads left (ready or waiting). */
  readonly left: number;
}

/**
 * Counts the leads' final states.
 *
 * @param states every lead's state
 * @returns the summary
 */
export function summarize(states: Iterable<LeadState>): Summary {
  const outcomes: Record<Outcome | "notDialled", number> = { ...zeroOutcomes(), notDialled: 0 };
  let leads = 0, abandoned = 0, talkMs = 0, attempts = 0, waiting = 0;
  const unknown: string[] = [];
  for (const s of states) {
    leads++;
    outcomes[s.outcome ?? "notDialled"]++;
    if (s.abandoned) abandoned++;
    if (s.outcome === "unknown") unknown.push(s.lead.id);
    if (s.status === "waiting") waiting++;
    talkMs += s.talkMs;
    attempts += s.attempts;
  }
  return {
    leads,
    outcomes,
    abandoned,
    abandonRate: outcomes.answered === 0 ? 0 : abandoned / outcomes.answered,
    talkMs,
    attempts,
    waiting,
    unknown,
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m${
    String(s % 60).padStart(2, "0")
  }s`;
}

/**
 * The summary as a table for the terminal, with the unknown leads listed.
 *
 * @param s the summary
 * @returns lines of text
 */
export function summaryTable(s: Summary): string {
  const rows: Array<[string, string]> = [
    ["leads", String(s.leads)],
    ...OUTCOMES.map((o): [string, string] => [o, String(s.outcomes[o])]),
    ["not dialled", String(s.outcomes.notDialled)],
    ["abandoned", `${s.abandoned} (${pct(s.abandonRate)} of answered)`],
    ["talk time", duration(s.talkMs)],
    ["attempts", String(s.attempts)],
  ];
  if (s.waiting > 0) rows.push(["waiting retry", String(s.waiting)]);
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`);
  if (s.unknown.length > 0) {
    const shown = s.unknown.slice(0, 20).join(", ");
    const more = s.unknown.length > 20 ? ` and ${s.unknown.length - 20} more (see the CSV)` : "";
    lines.push(`  unknown outcome, not redialled: ${shown}${more}`);
  }
  return lines.join("\n");
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/**
 * Every lead as a CSV row: `id,number,outcome,abandoned,attempts,talk_seconds,cause,detail`.
 *
 * @param states every lead's state
 * @returns the CSV text, header first
 */
export function summaryCsv(states: Iterable<LeadState>): string {
  const lines = ["id,number,outcome,abandoned,attempts,talk_seconds,cause,detail"];
  for (const s of states) {
    lines.push(
      [
        s.lead.id,
        s.lead.number,
        s.outcome ?? "notDialled",
        s.abandoned ? "yes" : "no",
        String(s.attempts),
        (s.talkMs / 1000).toFixed(1),
        s.cause === undefined ? "" : String(s.cause),
        s.detail,
      ].map(csvField).join(","),
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * The one-line progress report.
 *
 * @param p the figures
 * @returns the line (no newline)
 */
export function progressLine(p: Progress): string {
  const o = p.outcomes;
  return `${duration(p.elapsedMs)} ${p.perMinute.toFixed(0)}/min in flight ${p.inFlight}` +
    ` free agents ${p.freeAgents} ratio ${p.ratio.toFixed(2)} | answered ${o.answered}` +
    ` busy ${o.busy} no answer ${o.noAnswer} congestion ${o.congestion} failed ${o.failed}` +
    ` unknown ${o.unknown} | abandon ${pct(p.abandonRate)} | left ${p.left}`;
}
