#!/usr/bin/env node
/**
 * The dialer's entry point (`--help` says it all). Runs on Deno
 * (`deno run -A examples/dialer/main.ts`), Bun (`bun examples/dialer/main.ts`)
 * and Node (`npm run dialer --`, or the npm build's `esm/examples/dialer/main.js`).
 *
 * @module
 */

import { campaignInput, HELP, parseCommandLine } from "./args.ts";
import { CampaignError, checkCampaign } from "./campaign.ts";
import { argv, readText, type Terminal, terminal } from "./io.ts";
import { runAndExit, runCampaign } from "./run.ts";

async function main(args: readonly string[], term: Terminal): Promise<number> {
  const values = parseCommandLine(args);
  if (values.help) {
    term.print(HELP);
    return 0;
  }
  if (values.simulate) {
    const { runSimulation } = await import("./simulate.ts");
    const count = values["leads-count"] === undefined ? 40 : Number(values["leads-count"]);
    return await runSimulation(count, term);
  }
  if (typeof values.leads !== "string") {
    throw new CampaignError("--leads", "required (or --simulate); see --help");
  }
  const file = typeof values.config === "string"
    ? JSON.parse(await readText(values.config)) as Record<string, unknown>
    : {};
  const config = checkCampaign(campaignInput(values, file));
  const base = values.leads.replace(/\.csv$/i, "");
  return await runCampaign(config, {
    leads: values.leads,
    journal: typeof values.journal === "string" ? values.journal : `${base}.journal.ndjson`,
    summary: typeof values.summary === "string" ? values.summary : `${base}.summary.csv`,
  }, term);
}

const term = terminal();
runAndExit(() => main(argv(), term), term);
