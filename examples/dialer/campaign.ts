/**
 * The campaign's configuration: where to call from, where answered calls
 * go, how fast to dial, when to try a lead again. Read from an optional
 * JSON file (`--config`) and command-line flags (flags win), checked in one
 * place: {@link CampaignError} names the field.
 *
 * @module
 */

/** How a call ended (the live model's originate outcomes), in report order. */
export const OUTCOMES = [
  "answered",
  "busy",
  "noAnswer",
  "congestion",
  "failed",
  "unknown",
] as const;

/** How a call ended (the live model's originate outcomes). */
export type Outcome = typeof OUTCOMES[number];

/** A count of 0 for each outcome. */
export function zeroOutcomes(): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
}

/** The outcomes a lead may be tried again after (never `answered`, never `unknown`). */
export type RetryableOutcome = "busy" | "noAnswer" | "congestion" | "failed";

/** One AMI server; each has its own agents' queue, pacing and abandon measure. */
export interface ServerConfig {
  /** Its name, in the journal and the progress line. Default `default`. */
  readonly name: string;
  /** Host. Default `127.0.0.1`. */
  readonly host: string;
  /** Port. Default 5038. */
  readonly port: number;
  /** AMI user. */
  readonly username: string;
  /** Its secret (never printed). */
  readonly secret: string;
}

/** Everything a campaign needs besides its leads. */
export interface CampaignConfig {
  /** The campaign's name: the start of every ChannelId, and the journal's identity. */
  readonly name: string;
  /** The AMI servers (from `server`, or `servers` in a config file): the leads are shared. */
  readonly servers: readonly ServerConfig[];
  /** The channel to dial, `{number}` replaced by the lead's number (`PJSIP/{number}@trunk`). */
  readonly channel: string;
  /** Where an answered call goes: context, extension, priority (usually the queue's extension). */
  readonly context: string;
  /** See {@link CampaignConfig.context}. */
  readonly exten: string;
  /** See {@link CampaignConfig.context}. */
  readonly priority: string;
  /** The agents' queue: free members pace the campaign. */
  readonly queue: string;
  /** Caller id shown to the called party, if set. */
  readonly callerId: string | undefined;
  /** How long a call rings before it counts as no answer, ms (the Originate's `Timeout`). */
  readonly ringTimeoutMs: number;
  /** Calls in flight at most per server, whatever the agents. */
  readonly maxConcurrent: number;
  /** Calls per free agent to start with. */
  readonly ratio: number;
  /** The lowest ratio (1: one call per free agent, no overdial). */
  readonly minRatio: number;
  /** The highest ratio. */
  readonly maxRatio: number;
  /** The abandon rate not to reach (0.03: 3 %). */
  readonly abandonCeiling: number;
  /** An answered call not with an agent this long after the answer is abandoned, ms. */
  readonly abandonAfterMs: number;
  /** Attempts per lead at most. */
  readonly maxAttempts: number;
  /** Delay before another attempt, per outcome, ms; an outcome missing here is final. */
  readonly retryDelayMs: Readonly<Partial<Record<RetryableOutcome, number>>>;
  /** How long a graceful stop waits for the calls in flight, ms. */
  readonly drainTimeoutMs: number;
  /** A call with no news for this long is given up as `unknown`, ms. */
  readonly callTimeoutMs: number;
}

/** A configuration value is missing or out of range. */
export class CampaignError extends Error {
  /** The field (or flag) at fault. */
  readonly field: string;

  /**
   * Creates the error.
   *
   * @param field the field
   * @param message what is wrong
   */
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "CampaignError";
    this.field = field;
  }
}

/** The defaults: a careful campaign (ratio 1, 3 % ceiling, 2 s abandon threshold). */
export const DEFAULTS: Omit<CampaignConfig, "servers" | "queue"> = {
  name: "campaign",
  channel: "Local/{number}@leads",
  context: "agents",
  exten: "s",
  priority: "1",
  callerId: undefined,
  ringTimeoutMs: 25_000,
  maxConcurrent: 20,
  ratio: 1,
  minRatio: 1,
  maxRatio: 3,
  abandonCeiling: 0.03,
  abandonAfterMs: 2_000,
  maxAttempts: 3,
  retryDelayMs: { busy: 300_000, noAnswer: 1_800_000, congestion: 60_000 },
  drainTimeoutMs: 60_000,
  callTimeoutMs: 3_600_000,
};

const NAME = /^[A-Za-z0-9_-]{1,40}$/;

function num(v: unknown, field: string, min: number, max: number, integer = true): number {
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max) {
    throw new CampaignError(field, `expected a number from ${min} to ${max}, got ${String(v)}`);
  }
  if (integer && !Number.isInteger(n)) throw new CampaignError(field, `expected an integer`);
  return n;
}

function str(v: unknown, field: string): string {
  if (typeof v !== "string" || v === "" || /[\r\n\0]/.test(v)) {
    throw new CampaignError(field, "expected a non-empty single-line string");
  }
  return v;
}

/**
 * Checks a configuration assembled from defaults, a file and flags; returns
 * it typed and frozen.
 *
 * @param input the values (strings from flags are accepted for numbers)
 * @returns the configuration
 * @throws {CampaignError} the first field missing or out of range
 */
export function checkCampaign(input: Record<string, unknown>): CampaignConfig {
  const v = { ...DEFAULTS, ...input } as Record<string, unknown>;
  const list = Array.isArray(v.servers) ? v.servers as unknown[] : [v.server ?? {}];
  if (list.length === 0 || list.length > 100) {
    throw new CampaignError("servers", "1 to 100 servers");
  }
  const servers = list.map((raw, i): ServerConfig => {
    const sv = (raw ?? {}) as Record<string, unknown>;
    const at = Array.isArray(v.servers) ? `servers[${i}]` : "server";
    return {
      name: str(sv.name ?? (Array.isArray(v.servers) ? undefined : "default"), `${at}.name`),
      host: str(sv.host ?? "127.0.0.1", `${at}.host`),
      port: num(sv.port ?? 5038, `${at}.port`, 1, 65_535),
      username: str(sv.username ?? "admin", `${at}.username`),
      secret: str(sv.secret, `${at}.secret (or AMI_SECRET)`),
    };
  });
  if (new Set(servers.map((sv) => sv.name)).size !== servers.length) {
    throw new CampaignError("servers", "two servers have the same name");
  }
  const name = str(v.name, "name");
  if (!NAME.test(name)) throw new CampaignError("name", "1 to 40 of A-Z a-z 0-9 _ -");
  const channel = str(v.channel, "channel");
  if (!channel.includes("{number}")) throw new CampaignError("channel", "needs {number}");
  const retry = (v.retryDelayMs ?? {}) as Record<string, unknown>;
  const retryDelayMs: Partial<Record<RetryableOutcome, number>> = {};
  for (const [k, d] of Object.entries(retry)) {
    if (k !== "busy" && k !== "noAnswer" && k !== "congestion" && k !== "failed") {
      throw new CampaignError(`retryDelayMs.${k}`, "only busy, noAnswer, congestion, failed retry");
    }
    if (d !== undefined && d !== null) {
      retryDelayMs[k] = num(d, `retryDelayMs.${k}`, 0, 30 * 86_400_000);
    }
  }
  const minRatio = num(v.minRatio, "minRatio", 1, 10, false);
  const maxRatio = num(v.maxRatio, "maxRatio", minRatio, 10, false);
  const config: CampaignConfig = {
    name,
    servers: Object.freeze(servers),
    channel,
    context: str(v.context, "context"),
    exten: str(v.exten, "exten"),
    priority: str(String(v.priority), "priority"),
    queue: str(v.queue, "queue"),
    callerId: v.callerId === undefined ? undefined : str(v.callerId, "callerId"),
    ringTimeoutMs: num(v.ringTimeoutMs, "ringTimeoutMs", 1_000, 600_000),
    maxConcurrent: num(v.maxConcurrent, "maxConcurrent", 1, 10_000),
    ratio: num(v.ratio, "ratio", minRatio, maxRatio, false),
    minRatio,
    maxRatio,
    abandonCeiling: num(v.abandonCeiling, "abandonCeiling", 0, 1, false),
    abandonAfterMs: num(v.abandonAfterMs, "abandonAfterMs", 0, 600_000),
    maxAttempts: num(v.maxAttempts, "maxAttempts", 1, 100),
    retryDelayMs: Object.freeze(retryDelayMs),
    drainTimeoutMs: num(v.drainTimeoutMs, "drainTimeoutMs", 0, 3_600_000),
    callTimeoutMs: num(v.callTimeoutMs, "callTimeoutMs", 10_000, 86_400_000),
  };
  return Object.freeze(config);
}

/**
 * The channel to dial for a number.
 *
 * @param config the campaign
 * @param number the lead's number (already checked: digits, `+`, `*`, `#`)
 * @returns the channel
 */
export function channelFor(config: CampaignConfig, number: string): string {
  return config.channel.replaceAll("{number}", number);
}
