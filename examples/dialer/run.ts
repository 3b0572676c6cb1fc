/**
 * One campaign run, wired: read the leads and the journal, connect, wait
 * for the live model, dial, stop on SIGINT/SIGTERM, print the summary and
 * write the CSV.
 *
 * @module
 */

import { connect } from "amikit";
import { createLiveState } from "amikit/live";
import type { CampaignConfig } from "./campaign.ts";
import { Dialer, type DialerSite } from "./dialer.ts";
import {
  exit,
  onStopSignals,
  openJournalFile,
  readText,
  readTextIfAny,
  type Terminal,
  writeText,
} from "./io.ts";
import { Journal, JournalError, parseJournal, resumeFrom } from "./journal.ts";
import { parseLeads } from "./leads.ts";
import { progressLine, summaryCsv, summaryTable } from "./summary.ts";

/** The files of a run. */
export interface RunFiles {
  /** The leads CSV. */
  readonly leads: string;
  /** The journal (created if missing; resumed if present). */
  readonly journal: string;
  /** Where the per-lead CSV goes. */
  readonly summary: string;
}

/**
 * Runs a campaign to its end (or a graceful stop).
 *
 * @param config the campaign
 * @param files leads, journal, summary
 * @param term where output goes
 * @returns the exit code: 0 done, 1 failed (connection, journal), 2 bad input
 */
export async function runCampaign(
  config: CampaignConfig,
  files: RunFiles,
  term: Terminal,
): Promise<number> {
  const leads = parseLeads(await readText(files.leads));
  const { records, torn } = parseJournal(await readTextIfAny(files.journal));
  const start = records.find((r) => r.t === "start");
  if (start !== undefined && start.t === "start" && start.campaign !== config.name) {
    throw new JournalError(1, `belongs to campaign "${start.campaign}", not "${config.name}"`);
  }
  const history = resumeFrom(records);
  const sink = await openJournalFile(files.journal);
  const journal = new Journal(sink);
  await journal.write([{ t: "start", campaign: config.name, wall: Date.now() }]);

  const sites: DialerSite[] = [];
  try {
    for (const server of config.servers) {
      const client = await connect({
        host: server.host,
        port: server.port,
        username: server.username,
        secret: server.secret,
        // One clock for every site: the dialer's timers run on the first one's.
        ...(sites.length > 0 ? { clock: sites[0].client.clock } : {}),
      });
      const live = createLiveState(client, { maxOriginates: config.maxConcurrent + 100 });
      sites.push({ name: server.name, client, live });
    }
    for (const site of sites) await site.live.synced({ timeoutMs: 30_000 });
    const clock = sites[0].client.clock;
    const dialer = new Dialer({
      config,
      leads,
      sites,
      journal,
      history,
      onProgress: (p) => term.progress(progressLine(p), clock.now()),
    });
    const c = dialer.book.counts();
    const open = [...history.values()].filter((h) => h.open !== undefined).length;
    term.print(
      `${config.name}: ${leads.length} leads, ${c.ready} to dial, ${c.waiting} waiting a retry, ` +
        `${c.done} done` + (records.length > 0 ? ` (resumed from ${files.journal})` : ""),
    );
    if (open > 0) {
      const ids = [...history].filter(([, h]) => h.open !== undefined).map(([id]) => id);
      term.print(
        `${open} call(s) were in progress when the last run ended: unknown, not redialled:`,
      );
      term.print(`  ${ids.slice(0, 50).join(", ")}${ids.length > 50 ? ", ..." : ""}`);
    }
    if (torn) term.print("the journal's last line was torn (a crash while writing): ignored");
    // Kept until the process exits: a signal after the summary must not kill it.
    onStopSignals((signal) => {
      term.print(`${signal}: no new calls; waiting for ${dialer.open} call(s) in progress`);
      dialer.stop();
    });
    const summary = await dialer.start();
    term.print(`${config.name}: done\n${summaryTable(summary)}`);
    await writeText(files.summary, summaryCsv(dialer.book.states));
    term.print(`per-lead CSV: ${files.summary}`);
    return 0;
  } finally {
    for (const site of sites) {
      site.live.close();
      await site.client.close().catch(() => {});
    }
    await journal.flushed();
    await sink.close();
  }
}

/**
 * Runs and exits with its code.
 *
 * @param fn the run
 * @param term where errors go
 */
export function runAndExit(fn: () => Promise<number>, term: Terminal): void {
  fn().then(exit, (error: unknown) => {
    term.error(`dialer: ${error instanceof Error ? error.message : String(error)}`);
    const input = error instanceof Error &&
      ["LeadsError", "CampaignError", "JournalError", "UsageError"].includes(error.name);
    exit(input ? 2 : 1);
  });
}
