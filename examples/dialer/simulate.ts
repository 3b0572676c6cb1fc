/**
 * `--simulate`: the whole campaign against amikit's simulator in this
 * process, with one command. The simulated world: a queue of agents that
 * answer after a second, and numbers whose first digit says what happens
 * ({@link OUTCOME_BY_DIGIT}). Tests build the same world with {@link simWorld}.
 *
 * In the simulator the called number's own extension answers and then waits
 * in the agents' queue (the simulator does not run the Originate's
 * Context/Exten on the answered channel); on a real Asterisk the answered
 * channel goes to `--context/--exten`, the queue's extension.
 *
 * @module
 */

import type { DialplanStep, QueueOptions, SimClock } from "amikit/testing";
import { AmiSimulator } from "amikit/testing";
import { type CampaignConfig, checkCampaign, type Outcome } from "./campaign.ts";
import { tempDir, type Terminal, writeText } from "./io.ts";
import { runCampaign } from "./run.ts";

/** What a number starting with each digit does in the simulated world. */
export const OUTCOME_BY_DIGIT: Readonly<Record<string, Outcome>> = {
  "1": "answered",
  "2": "busy",
  "3": "noAnswer",
  "4": "congestion",
  "5": "failed", // no such extension
};

/** The simulated world's shape. */
export interface SimWorldOptions {
  /** Agents in the queue. Default 3. */
  readonly agents?: number;
  /** An agent answers this long after it starts ringing, s. Default 1. */
  readonly answerAfterSeconds?: number;
  /** An agent talks this long, s. Default 4. */
  readonly talkSeconds?: number;
  /** A called party rings this long before answering, s. Default 2. */
  readonly ringSeconds?: number;
  /** A called party waits this long in the queue before hanging up, s. Default 20. */
  readonly patienceSeconds?: number;
  /** The queue's name. Default `sales`. */
  readonly queue?: string;
}

/** The dialplan and queues of the simulated world, for `AmiSimulator.start`. */
export interface SimWorld {
  /** Context `leads`: one extension per number. */
  readonly dialplan: Record<string, Record<string, DialplanStep[]>>;
  /** The agents' queue. */
  readonly queues: QueueOptions[];
}

/**
 * The outcome the simulated world gives a number.
 *
 * @param number the lead's number
 * @returns the outcome
 */
export function expectedOutcome(number: string): Outcome {
  return OUTCOME_BY_DIGIT[number[0]] ?? "failed";
}

/**
 * Builds the world for the given numbers.
 *
 * @param numbers the numbers to give extensions
 * @param options agents and timings
 * @returns dialplan and queues
 */
export function simWorld(numbers: readonly string[], options: SimWorldOptions = {}): SimWorld {
  const queue = options.queue ?? "sales";
  const ring = options.ringSeconds ?? 2;
  const leads: Record<string, DialplanStep[]> = {};
  for (const n of numbers) {
    switch (expectedOutcome(n)) {
      case "answered":
        leads[n] = [
          { app: "Ringing" },
          { app: "Wait", seconds: ring },
          { app: "Answer" },
          { app: "Queue", queue, timeoutSeconds: options.patienceSeconds ?? 20 },
          { app: "Hangup", cause: 16 },
        ];
        break;
      case "busy":
        leads[n] = [{ app: "Ringing" }, { app: "Wait", seconds: 1 }, { app: "Hangup", cause: 17 }];
        break;
      case "noAnswer":
        leads[n] = [{ app: "Ring" }];
        break;
      case "congestion":
        leads[n] = [{ app: "Hangup", cause: 34 }];
        break;
      default:
        break; // no extension: the Originate fails
    }
  }
  const members = Array.from({ length: options.agents ?? 3 }, (_, i) => ({
    interface: `Local/${800 + i}@agents/n`,
    name: `Agent ${800 + i}`,
    answerAfterSeconds: options.answerAfterSeconds ?? 1,
    talkSeconds: options.talkSeconds ?? 4,
  }));
  return {
    dialplan: { leads },
    queues: [{
      name: queue,
      strategy: "ringall",
      memberTimeoutSeconds: 15,
      retrySeconds: 1,
      members,
    }],
  };
}

/**
 * Demo numbers: half answered, the rest busy, no answer, congestion, failed.
 *
 * @param count how many
 * @returns `[id, number]` pairs
 */
export function demoLeads(count: number): Array<[string, string]> {
  const digits = "1213141151"; // 5 answered, 2 busy, 1 no answer, 1 congestion, 1 failed in 10
  return Array.from({ length: count }, (_, i) => {
    const number = `${digits[i % digits.length]}${String(i).padStart(3, "0")}`;
    return [`L${String(i + 1).padStart(3, "0")}`, number];
  });
}

/**
 * The demo campaign's configuration for a simulator on `port`.
 *
 * @param port the simulator's port
 * @returns the configuration
 */
export function demoConfig(port: number): CampaignConfig {
  return checkCampaign({
    name: "demo",
    server: { host: "127.0.0.1", port, username: "admin", secret: "amp111" },
    channel: "Local/{number}@leads",
    context: "agents",
    exten: "queue",
    queue: "sales",
    maxConcurrent: 8,
    ratio: 1.5,
    maxRatio: 3,
    ringTimeoutMs: 6_000,
    maxAttempts: 2,
    retryDelayMs: { busy: 5_000, noAnswer: 5_000, congestion: 3_000 },
    drainTimeoutMs: 20_000,
  });
}

/**
 * Runs the demo: a simulator with a queue of four agents, `count` leads in
 * a temporary folder, the campaign, the summary.
 *
 * @param count how many leads
 * @param term where output goes
 * @param clock the simulator's clock (default real time)
 * @returns the exit code
 */
export async function runSimulation(
  count: number,
  term: Terminal,
  clock?: SimClock,
): Promise<number> {
  if (!Number.isInteger(count) || count < 1 || count > 1_000) {
    throw new Error(`--leads-count: 1 to 1000, got ${count}`);
  }
  const leads = demoLeads(count);
  const world = simWorld(leads.map(([, n]) => n), { agents: 4, answerAfterSeconds: 0.5 });
  const sim = await AmiSimulator.start({ port: 0, ...world, clock });
  try {
    const dir = await tempDir("amikit-dialer-");
    const files = {
      leads: `${dir}/leads.csv`,
      journal: `${dir}/leads.journal.ndjson`,
      summary: `${dir}/leads.summary.csv`,
    };
    await writeText(files.leads, "id,number\n" + leads.map((l) => l.join(",")).join("\n") + "\n");
    term.print(
      `simulator on 127.0.0.1:${sim.port}: queue "sales" with 4 agents (answer after 0.5 s, talk 4 s);` +
        ` numbers 1xxx answer, 2xxx busy, 3xxx no answer, 4xxx congestion, 5xxx fail\n` +
        `leads ${files.leads}, journal ${files.journal}`,
    );
    return await runCampaign(demoConfig(sim.port), files, term);
  } finally {
    await sim.stop();
  }
}
