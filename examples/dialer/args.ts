/**
 * The dialer's command line: flags, the environment, the help text, and
 * the campaign fields they give.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CampaignError, DEFAULTS } from "./campaign.ts";
import { env } from "./io.ts";

/** The help text. */
export const HELP = `amikit example dialer: a small, safe campaign dialer on the live model

Usage:
  dialer --leads leads.csv --queue sales [options]     run a campaign
  dialer --simulate [--leads-count 40]                 a demo against an in-process simulator
  dialer --help

Files:
  --leads FILE            CSV with a header: id,number[,VARIABLE...] (extra columns become
                          channel variables)
  --journal FILE          append-only NDJSON journal (default: <leads>.journal.ndjson); a run
                          resumes from it, never redialling a lead whose call may have happened
  --summary FILE          per-lead CSV written at the end (default: <leads>.summary.csv)
  --config FILE           campaign JSON (any field below, camelCase; flags win)

Server (environment AMI_HOST, AMI_PORT, AMI_USERNAME, AMI_SECRET):
  --host HOST  --port PORT  --username USER  --secret SECRET (prefer AMI_SECRET)
  Several servers: "servers": [{"name", "host", "port", "username", "secret"}, ...] in --config;
  the leads are shared, each server paces by its own queue (max-concurrent is per server).

Campaign:
  --name NAME             campaign name, the start of every ChannelId (default campaign)
  --channel TEMPLATE      channel to dial, {number} replaced (default Local/{number}@leads)
  --context CTX --exten EXT --priority N
                          where answered calls go: the agents' queue extension (default agents,s,1)
  --queue QUEUE           the agents' queue: its free members pace the campaign (required)
  --caller-id CID         caller id to present
  --max-concurrent N      calls in flight at most (default 20)
  --ratio R               calls per free agent to start with (default 1); --min-ratio, --max-ratio
  --abandon-ceiling F     abandon rate never to reach (default 0.03)
  --abandon-after-ms MS   an answered call without an agent this long is abandoned (default 2000)
  --ring-timeout-ms MS    ring time before no answer (default 25000)
  --max-attempts N        attempts per lead (default 3)
  --retry-busy-ms MS --retry-no-answer-ms MS --retry-congestion-ms MS --retry-failed-ms MS
                          delay before another attempt (defaults 5 min, 30 min, 1 min, never)
  --drain-timeout-ms MS   on SIGINT/SIGTERM, how long to wait for calls in flight (default 60000)

Exit codes: 0 done (or stopped), 1 failure (connection, journal), 2 bad input.
A lead whose Originate may have left the process and whose outcome was lost is "unknown": it is
listed at the end and never dialled again by the dialer.`;

/** The flags. */
export const FLAGS = {
  help: { type: "boolean" },
  simulate: { type: "boolean" },
  "leads-count": { type: "string" },
  leads: { type: "string" },
  journal: { type: "string" },
  summary: { type: "string" },
  config: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  username: { type: "string" },
  secret: { type: "string" },
  name: { type: "string" },
  channel: { type: "string" },
  context: { type: "string" },
  exten: { type: "string" },
  priority: { type: "string" },
  queue: { type: "string" },
  "caller-id": { type: "string" },
  "max-concurrent": { type: "string" },
  ratio: { type: "string" },
  "min-ratio": { type: "string" },
  "max-ratio": { type: "string" },
  "abandon-ceiling": { type: "string" },
  "abandon-after-ms": { type: "string" },
  "ring-timeout-ms": { type: "string" },
  "max-attempts": { type: "string" },
  "retry-busy-ms": { type: "string" },
  "retry-no-answer-ms": { type: "string" },
  "retry-congestion-ms": { type: "string" },
  "retry-failed-ms": { type: "string" },
  "drain-timeout-ms": { type: "string" },
} as const;

const RETRY_FLAGS: Record<string, string> = {
  "retry-busy-ms": "busy",
  "retry-no-answer-ms": "noAnswer",
  "retry-congestion-ms": "congestion",
  "retry-failed-ms": "failed",
};
const NOT_CAMPAIGN = new Set([
  "help",
  "simulate",
  "leads-count",
  "leads",
  "journal",
  "summary",
  "config",
  "host",
  "port",
  "username",
  "secret",
]);

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The campaign's fields from a config file's JSON, the environment and flags.
 *
 * @param values the parsed flags
 * @param file the config file's JSON, if any
 * @returns the fields for `checkCampaign`
 */
export function campaignInput(
  values: Record<string, string | boolean | undefined>,
  file: Record<string, unknown> = {},
): Record<string, unknown> {
  const input: Record<string, unknown> = { ...file };
  const retry: Record<string, unknown> = {
    ...DEFAULTS.retryDelayMs,
    ...(file.retryDelayMs as Record<string, unknown> | undefined),
  };
  for (const [flag, v] of Object.entries(values)) {
    if (v === undefined || NOT_CAMPAIGN.has(flag)) continue;
    if (flag in RETRY_FLAGS) retry[RETRY_FLAGS[flag]] = v;
    else input[camel(flag)] = v;
  }
  input.retryDelayMs = retry;
  const secret = values.secret ?? env("AMI_SECRET");
  if (Array.isArray(file.servers)) {
    // Several servers come from the file only; AMI_SECRET fills the secrets it leaves out.
    for (const flag of ["host", "port", "username"]) {
      if (values[flag] !== undefined) {
        throw new CampaignError(`--${flag}`, "not with a config file that lists servers");
      }
    }
    input.servers = (file.servers as Array<Record<string, unknown>>).map((sv) => ({
      ...sv,
      secret: sv?.secret ?? secret,
    }));
    return input;
  }
  const server = (file.server ?? {}) as Record<string, unknown>;
  input.server = {
    ...server,
    host: values.host ?? env("AMI_HOST") ?? server.host,
    port: values.port ?? env("AMI_PORT") ?? server.port,
    username: values.username ?? env("AMI_USERNAME") ?? server.username,
    secret: secret ?? server.secret,
  };
  return input;
}

/**
 * Parses the arguments.
 *
 * @param argv the arguments after the script
 * @returns the flags' values
 * @throws {CampaignError} an unknown flag or a missing value (field `usage`)
 */
export function parseCommandLine(
  argv: readonly string[],
): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false })
      .values;
  } catch (error) {
    throw new CampaignError("usage", (error as Error).message);
  }
}
