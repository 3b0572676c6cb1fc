/**
 * Fidelity harness: replays a fixture's client sends against the simulator
 * and compares what comes back with the capture, structurally.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { AmiParser } from "../core/parser.ts";
import type { AmiMessage } from "../core/message.ts";
import { AmiSimulator, ManualClock } from "../testing/mod.ts";
import { RawClient } from "./_simulator_client.ts";
import { fixture } from "./_fixtures.ts";

/** Values that are times, ids or counters: compared by presence only. */
export const NORMALISED_KEYS: ReadonlySet<string> = new Set([
  "timestamp",
  "eventtv",
  "sessiontv",
  "sessionid",
  "uptime",
  "lastreload",
  "uniqueid",
  "linkedid",
  "destuniqueid",
  "destlinkedid",
  "localoneuniqueid",
  "localonelinkedid",
  "localtwouniqueid",
  "localtwolinkedid",
  "localaddress",
  "remoteaddress",
  "challenge",
  "starttime",
  "answertime",
  "endtime",
  "duration",
  "billableseconds",
  "seconds",
  "bridgeuniqueid",
]);

/** One client send of a scenario. */
export interface Send {
  t: number;
  side: boolean;
  data: string;
}

function unescapePy(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|r|n|t|\\|'|")/g, (_m, e: string) => {
    if (e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
    return ({ r: "\r", n: "\n", t: "\t", "\\": "\\", "'": "'", '"': '"' } as Record<
      string,
      string
    >)[e];
  });
}

/** The sends listed in a fixture's .txt (recorded and side connection), in time order. */
export function fixtureSends(base: string): Send[] {
  const lines = new TextDecoder().decode(
    readFileSync(new URL(`./fixtures/${base}.txt`, import.meta.url)),
  ).split("\n");
  const out: Send[] = [];
  for (let i = 0; i < lines.length; i++) {
    const main = /^\s*\[t=([-\d.]+) rx@\d+\] SEND \d+ bytes[^:]*:\s*$/.exec(lines[i]);
    if (main) {
      out.push({ t: Number(main[1]), side: false, data: unescapePy(lines[i + 1].trim()) });
      continue;
    }
    const side = /^\s*\[t=([-\d.]+)\] SEND \d+ bytes(?: \([^)]*\))?: (.*)$/.exec(lines[i]);
    if (side) out.push({ t: Number(side[1]), side: true, data: unescapePy(side[2]) });
  }
  return out.sort((a, b) => a.t - b.t);
}

/** Parses a byte stream from a server into messages (banner dropped). */
export function parseStream(bytes: Uint8Array): AmiMessage[] {
  const out: AmiMessage[] = [];
  new AmiParser({ maxHeaders: 100_000 }).push(bytes, (item) => {
    if (item.type !== "banner") out.push(item);
  });
  return out;
}

const COUNTER = /-[0-9a-f]{8};/g;

function norm(key: string, value: string): string {
  if (NORMALISED_KEYS.has(key.toLowerCase())) return "*";
  // Counters: the Local channel suffix and the CLI's "calls processed".
  return value.replace(COUNTER, "-N;").replace(/^\d+ (calls? processed)$/, "N $1");
}

/** `Output` rows as a sorted multiset (CLI tables list channels in container order). */
function outputRows(m: AmiMessage): string {
  return m.getAll("Output").map((v) => norm("Output", v)).sort().join("\n");
}

/** A message reduced to what the comparison looks at. */
export function signature(m: AmiMessage): string {
  return `${m.type}:${m.name}`;
}

function listSorted(msgs: AmiMessage[]): AmiMessage[] {
  // Event-list items come in Asterisk's container order (unspecified): sort them.
  const out = [...msgs];
  let i = 0;
  while (i < out.length) {
    if (out[i].get("EventList") === "start") {
      let j = i + 1;
      while (j < out.length && out[j].get("EventList") !== "Complete") j++;
      const items = out.slice(i + 1, j).sort((a, b) => key(a).localeCompare(key(b)));
      out.splice(i + 1, items.length, ...items);
      i = j;
    }
    i++;
  }
  return out;
}

function key(m: AmiMessage): string {
  return m.headers.map(([k, v]) => `${k}=${norm(k, v)}`).join("|");
}

/**
 * Structural differences between a capture and the simulator's output, as
 * short readable strings (empty when they match).
 */
export function compare(capture: AmiMessage[], sim: AmiMessage[]): string[] {
  const a = listSorted(capture);
  const b = listSorted(sim);
  // LCS on kind+name.
  const n = a.length, m = b.length;
  const dp: number[][] = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i][j] = signature(a[i]) === signature(b[j])
        ? dp[i + 1][j + 1] + 1
        : Math.max(dp[i + 1][j], dp[i][j + 1]);
    }
  }
  const diffs: string[] = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && signature(a[i]) === signature(b[j])) {
      diffs.push(...compareOne(a[i], b[j]));
      i++;
      j++;
    } else if (j < m && (i === n || dp[i][j + 1] >= dp[i + 1][j])) {
      diffs.push(`extra ${signature(b[j])}`);
      j++;
    } else {
      diffs.push(`missing ${signature(a[i])}`);
      i++;
    }
  }
  return diffs;
}

function compareOne(a: AmiMessage, b: AmiMessage): string[] {
  const s = signature(a);
  const ka = a.headers.map(([k]) => k.replace(COUNTER, "-N;")).join(",");
  const kb = b.headers.map(([k]) => k.replace(COUNTER, "-N;")).join(",");
  if (ka !== kb) return [`${s} keys: capture [${ka}] simulator [${kb}]`];
  const out: string[] = [];
  const sameRows = outputRows(a) === outputRows(b);
  for (let i = 0; i < a.headers.length; i++) {
    if (sameRows && a.headers[i][0] === "Output") continue;
    const [k, va] = a.headers[i];
    const vb = b.headers[i][1];
    if (norm(k, va) !== norm(k, vb)) out.push(`${s} ${k}: capture "${va}" simulator "${vb}"`);
  }
  return out;
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** Sends replacing the .txt ones (for payloads the .txt abbreviates). */
  sends?: Send[];
  /** Simulated seconds to run after the last send. Default 5. */
  tailSeconds?: number;
}

/** Waits until the client has received nothing new for `ms`. */
async function quiet(clients: RawClient[], ms = 25): Promise<void> {
  let last = -1;
  for (;;) {
    const now = clients.reduce((s, c) => s + c.bytes, 0);
    if (now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, ms));
  }
}

/** Replays a fixture against a fresh simulator; returns the recorded connection's messages. */
export async function replay(base: string, options: ReplayOptions = {}): Promise<AmiMessage[]> {
  const clock = new ManualClock();
  const sim = await AmiSimulator.start({
    clock,
    users: [
      { username: "admin", secret: "labsecret", read: "all", write: "all" },
      { username: "reader", secret: "readsecret", read: "call", write: "none" },
    ],
    channelVariables: ["LABVAR", "LABINHERIT"],
  });
  const clients: RawClient[] = [];
  try {
    const sends = options.sends ?? fixtureSends(base);
    let main: RawClient | undefined;
    let side: RawClient | undefined;
    let t = sends.length ? Math.min(0, sends[0].t) : 0;
    for (const s of sends) {
      const dt = Math.max(0, Math.round((s.t - t) * 1000));
      if (dt > 0) {
        clock.advance(dt);
        await quiet(clients);
      }
      t = Math.max(t, s.t);
      let c: RawClient;
      if (s.side) {
        c = side ??= await RawClient.connect(sim.port);
      } else {
        c = main ??= await RawClient.connect(sim.port);
      }
      if (!clients.includes(c)) clients.push(c);
      let data = s.data;
      if (/^Key: /m.test(data)) {
        // The MD5 key depends on the challenge this simulator issued.
        const ch = c.messages.findLast((m) => m.has("Challenge"))!.get("Challenge")!;
        const key = createHash("md5").update(ch + "labsecret").digest("hex");
        data = data.replace(/^Key: [0-9a-f]+/m, `Key: ${key}`);
      }
      c.send(data);
      await quiet(clients);
    }
    clock.advance((options.tailSeconds ?? 5) * 1000);
    await quiet(clients);
    const raw = main ? main.messages : [];
    return raw;
  } finally {
    for (const c of clients) await c.close();
    await sim.stop();
  }
}

/** The capture's messages. */
export function captured(base: string): AmiMessage[] {
  return parseStream(fixture(`${base}.raw`));
}
