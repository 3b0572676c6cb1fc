/**
 * Helpers for the dialer example's tests: the simulated world and a
 * dialer on one `ManualClock`, an in-memory journal, a watcher session
 * that counts each Originate on the simulator's side, a check of the
 * calls in flight against the pacing bound at every Originate and every
 * live-model change, and a loop that advances the clock once the sockets
 * are quiet.
 *
 * @module
 */

import assert from "node:assert/strict";
import { defaultConnector } from "../adapters/mod.ts";
import { Client, type ClientOptions } from "../client/mod.ts";
import { createLiveState, type LiveState } from "../live/mod.ts";
import { AmiSimulator, ManualClock } from "../testing/mod.ts";
import { type CampaignConfig, checkCampaign } from "../examples/dialer/campaign.ts";
import { Dialer, type DialerOptions } from "../examples/dialer/dialer.ts";
import { Journal, type JournalRecord, parseJournal } from "../examples/dialer/journal.ts";
import type { Lead } from "../examples/dialer/leads.ts";
import { simWorld, type SimWorldOptions } from "../examples/dialer/simulate.ts";
import type { Summary } from "../examples/dialer/summary.ts";
import { simOptions, within } from "./_client.ts";

/** A journal kept in memory (its `append` resolves at once, as after an fsync). */
export class MemoryJournal {
  text = "";
  /** The sink for {@link Journal}. */
  readonly sink = { append: (t: string): Promise<void> => (this.text += t, Promise.resolve()) };
  /** The records so far. */
  records(): JournalRecord[] {
    return parseJournal(this.text).records;
  }
}

/** Counts, from its own AMI session, every call the simulator starts for the campaign. */
export class OriginateCounter {
  /** `lead -> attempts` seen as a `;1` Newchannel whose Uniqueid is the campaign's ChannelId. */
  readonly byLead = new Map<string, string[]>();
  /** Receipt time (clock) of each caller's QueueCallerJoin and AgentConnect, by ChannelId. */
  readonly joined = new Map<string, number>();
  /** See {@link OriginateCounter.joined}. */
  readonly connected = new Map<string, number>();

  constructor(readonly client: Client, readonly campaign: string) {
    const root = (uid: string | undefined) => (uid ?? "").replace(/;2$/, "");
    client.on("Newchannel", (e) => {
      const m = new RegExp(`^${campaign}-(.+)-(\\d+)$`).exec(e.get("Uniqueid") ?? "");
      if (m === null) return;
      const list = this.byLead.get(m[1]) ?? [];
      list.push(m[2]);
      this.byLead.set(m[1], list);
    });
    client.on("QueueCallerJoin", (e) => {
      this.joined.set(root(e.get("Uniqueid")), client.clock.now());
    });
    client.on("AgentConnect", (e) => {
      this.connected.set(root(e.get("Uniqueid")), client.clock.now());
    });
  }

  /** Originates the simulator received in all. */
  get total(): number {
    let n = 0;
    for (const l of this.byLead.values()) n += l.length;
    return n;
  }
}

/** Leads `L000..` with numbers from {@link leadNumbers}. */
export function makeLeads(numbers: readonly string[]): Lead[] {
  return numbers.map((number, i) => ({
    id: `L${String(i).padStart(3, "0")}`,
    number,
    variables: { ROW: String(i) },
    line: i + 2,
  }));
}

/**
 * Numbers whose first digit picks the outcome (see `OUTCOME_BY_DIGIT`),
 * following `pattern` over and over.
 */
export function leadNumbers(count: number, pattern = "1213141151"): string[] {
  return Array.from(
    { length: count },
    (_, i) => `${pattern[i % pattern.length]}${String(i).padStart(3, "0")}`,
  );
}

/** One test's world: simulator, clock, the dialer's client and live state, a watcher. */
export interface DialerLab {
  readonly sim: AmiSimulator;
  readonly clock: ManualClock;
  readonly client: Client;
  readonly live: LiveState;
  readonly watcher: OriginateCounter;
  readonly journal: MemoryJournal;
  readonly config: CampaignConfig;
  readonly leads: Lead[];
  /**
   * In-flight checks made (at Originates, at live-model changes) and what
   * broke the bound (recorded: the dialer and the live state isolate throws).
   */
  readonly checks: {
    originates: number;
    changes: number;
    maxInFlight: number;
    violations: string[];
  };
  /** Makes the dialer (once); the live state given to it checks the bound at each Originate. */
  dialer(options?: Partial<DialerOptions>): Dialer;
  /** Advances the clock in steps (sockets quiet between steps) until `done()` or `maxMs`. */
  run(done: () => boolean, maxMs: number, stepMs?: number): Promise<void>;
  /** Lets the sockets and the journal go quiet. */
  settle(): Promise<void>;
}

/** Options of {@link withDialerLab}. */
export interface LabOptions {
  readonly numbers: readonly string[];
  readonly world?: SimWorldOptions;
  readonly config?: Record<string, unknown>;
}

function clientOptions(sim: AmiSimulator, clock: ManualClock): ClientOptions {
  return simOptions(sim, {
    clock,
    reconnect: { minDelayMs: 100, maxDelayMs: 100, stableAfterMs: 1_000 },
  });
}

/** Runs `fn` with a lab; everything is closed after. */
export async function withDialerLab(
  options: LabOptions,
  fn: (lab: DialerLab) => Promise<void>,
): Promise<void> {
  const clock = new ManualClock();
  const world = simWorld(options.numbers, options.world);
  const sim = await AmiSimulator.start({ clock, ...world, loginFailureDelayMs: 20 });
  const watcherClient = new Client(clientOptions(sim, clock), defaultConnector());
  const client = new Client(clientOptions(sim, clock), defaultConnector());
  const live = createLiveState(client);
  const config = checkCampaign({
    name: "t",
    server: { port: sim.port, secret: "amp111" },
    queue: world.queues[0].name,
    channel: "Local/{number}@leads",
    ringTimeoutMs: 5_000,
    maxConcurrent: 10,
    ratio: 1.5,
    maxRatio: 3,
    maxAttempts: 2,
    retryDelayMs: { busy: 4_000, noAnswer: 4_000, congestion: 4_000 },
    drainTimeoutMs: 60_000,
    ...options.config,
  });
  const journal = new MemoryJournal();
  const leads = makeLeads(options.numbers);
  const checks = { originates: 0, changes: 0, maxInFlight: 0, violations: [] as string[] };
  let dialer: Dialer | undefined;
  const offs: Array<() => void> = [];
  try {
    await watcherClient.start();
    const watcher = new OriginateCounter(watcherClient, config.name);
    await client.start();
    await within(live.synced({ timeoutMs: 10_000 }), 5_000, "synced");

    // The calls in flight as the live model shows them: the campaign's
    // ChannelIds among its channels (or originated and not seen yet), less
    // those an agent took.
    const connected = new Set<string>();
    const pending = new Set<string>();
    const seen = new Set<string>();
    offs.push(client.on("AgentConnect", (e) => {
      connected.add((e.get("Uniqueid") ?? "").replace(/;2$/, ""));
    }));
    const prefix = `${config.name}-`;
    const inFlight = () => {
      const ids = new Set<string>();
      for (const ch of live.channels.values()) {
        if (!ch.uniqueid.startsWith(prefix)) continue;
        const root = ch.uniqueid.replace(/;2$/, "");
        seen.add(root);
        if (!connected.has(root)) ids.add(root);
      }
      for (const id of pending) if (!seen.has(id)) ids.add(id);
      return ids.size;
    };
    offs.push(live.on("channel", () => {
      const n = inFlight();
      checks.changes++;
      checks.maxInFlight = Math.max(checks.maxInFlight, n);
      assert.ok(
        n <= config.maxConcurrent,
        `in flight ${n} > maxConcurrent ${config.maxConcurrent}`,
      );
    }));
    const checked = new Proxy(live, {
      get(target, key) {
        if (key === "originate") {
          return (fields: Record<string, unknown>, opts: unknown) => {
            const d = dialer!;
            const free = target.freeMembers(config.queue).length;
            const bound = Math.min(config.maxConcurrent, Math.floor(d.pacing.ratio * free + 1e-9));
            const n = inFlight();
            assert.ok(
              n + 1 <= bound,
              `an Originate with ${n} in flight, bound ${bound} (free ${free})`,
            );
            checks.originates++;
            const h = target.originate(fields as never, opts as never);
            pending.add(h.channelId);
            h.ended.then(() => pending.delete(h.channelId));
            return h;
          };
        }
        const v = Reflect.get(target, key, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });

    const settle = async () => {
      let stable = 0;
      let last = -1;
      for (let i = 0; i < 500 && stable < 3; i++) {
        await new Promise((r) => setTimeout(r, 1));
        const sent = sim.stats.bytesSent;
        const got = client.stats().totals.bytesIn + watcherClient.stats().totals.bytesIn;
        const quiet = sent === got && sent === last;
        stable = quiet ? stable + 1 : 0;
        last = sent;
      }
    };
    const lab: DialerLab = {
      sim,
      clock,
      client,
      live,
      watcher,
      journal,
      config,
      leads,
      checks,
      dialer(o: Partial<DialerOptions> = {}) {
        dialer ??= new Dialer({
          config,
          leads,
          sites: [{ name: "sim", client, live: checked }],
          journal: new Journal(journal.sink),
          wallNow: () => 1_700_000_000_000 + clock.now(),
          ...o,
        });
        return dialer;
      },
      async run(done, maxMs, stepMs = 250) {
        const end = clock.now() + maxMs;
        await settle();
        while (!done()) {
          if (clock.now() >= end) throw new Error(`not done after ${maxMs} ms of simulated time`);
          clock.advance(stepMs);
          await settle();
        }
      },
      settle,
    };
    await fn(lab);
  } finally {
    for (const off of offs) off();
    dialer?.stop();
    live.close();
    client.destroy();
    watcherClient.destroy();
    await sim.stop();
  }
}

/** Starts the dialer and runs the clock until its summary is in. */
export async function runToEnd(lab: DialerLab, maxMs: number, stepMs = 250): Promise<Summary> {
  let summary: Summary | undefined;
  let failure: unknown;
  lab.dialer().start().then((s) => (summary = s), (e) => (failure = e));
  await lab.run(() => summary !== undefined || failure !== undefined, maxMs, stepMs);
  if (failure !== undefined) throw failure;
  return summary!;
}
