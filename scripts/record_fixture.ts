/**
 * Records raw AMI fixtures from a running Asterisk lab (see
 * /work/shared/asterisk-lab): a raw TCP connection logs in, sends a
 * scenario's actions, and every byte received is written verbatim to
 * `tests/fixtures/NN-name.raw`, with a readable `NN-name.txt` beside it
 * (summary counts, the bytes sent with their timing, and the sends of the
 * side connection that drives calls and is not recorded).
 *
 * Usage: `deno run -A scripts/record_fixture.ts [--host H] [--port P] [--out DIR] NAME...`
 * (`all` records every scenario; no name lists them). Rerunning a scenario
 * overwrites its files; INDEX.csv is updated with the new row.
 *
 * @module
 */

import { createConnection, type Socket } from "node:net";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { isMain } from "./_main.ts";

/** What a step waits for before the next one. */
export interface Wait {
  /** Received text (recorded connection) must match this many times. */
  pattern?: RegExp;
  /** How many matches (default 1). */
  count?: number;
  /** Give up after this many ms (default 15000); the scenario goes on. */
  timeoutMs?: number;
  /** Or just wait this long. */
  ms?: number;
}

/** One step of a scenario. */
export interface Step {
  /** Bytes to send, or a function of everything received so far. */
  send?: string | ((rx: string) => string);
  /** Send on the side (control) connection instead of the recorded one. */
  side?: boolean;
  /** Why (written into the .txt). */
  note?: string;
  /** What to wait for after sending. */
  wait?: Wait;
}

/** A recorded scenario. */
export interface Scenario {
  /** The fixture's base name, e.g. `21-dial-bridge`. */
  file: string;
  /** One line for INDEX.csv and the .txt. */
  title: string;
  /** Steps on the side connection before the recorded one connects. */
  before?: Step[];
  /** Steps after the recorded connection's login. */
  steps: Step[];
  /** Stop once the recorded connection was silent this long (default 1500 ms). */
  quietMs?: number;
  /** Steps on the side connection after the recorded one closed (cleanup). */
  after?: Step[];
  /** Lines for the .txt's observations. */
  notes?: string[];
}

const CRLF = "\r\n";

/** An action as wire bytes. */
export function action(name: string, headers: Record<string, string | string[]> = {}): string {
  let out = `Action: ${name}${CRLF}`;
  for (const [k, v] of Object.entries(headers)) {
    for (const one of Array.isArray(v) ? v : [v]) out += `${k}: ${one}${CRLF}`;
  }
  return out + CRLF;
}

function login(id: string, events: string): string {
  return action("Login", { ActionID: id, Username: "admin", Secret: "labsecret", Events: events });
}

/** Hang up every Local channel left over (side connection). */
const CLEANUP: Step = {
  side: true,
  note: "cleanup: hang up every Local channel left",
  send: action("Hangup", { ActionID: "cleanup", Channel: "/^Local\\//" }),
  wait: { ms: 1500 },
};

function originate(id: string, headers: Record<string, string>): string {
  return action("Originate", { ActionID: id, ...headers });
}

/** The Uniqueid-free value of header `key` in the last block of `rx` that matches `block`. */
function lastValue(rx: string, block: RegExp, key: string): string {
  const blocks = rx.split("\r\n\r\n").filter((b) => block.test(b));
  const last = blocks.at(-1) ?? "";
  const m = new RegExp(`^${key}: (.*)$`, "m").exec(last);
  return m ? m[1].trim() : "missing";
}

/** Every scenario, by base name. */
export const SCENARIOS: Scenario[] = [
  {
    file: "21-dial-bridge-local-600",
    title:
      "Originate Async of Local/600@lab (Application Wait 6): 600 Dials Local/100@lab, two calls bridged (DialBegin/End, BridgeCreate/Enter/Leave/Destroy), 100 hangs up after 2 s",
    steps: [{
      send: originate("dial-600", {
        Channel: "Local/600@lab",
        Application: "Wait",
        Data: "6",
        Async: "true",
        CallerID: '"Lab Dial" <5556000>',
      }),
      wait: { pattern: /Event: BridgeDestroy/, timeoutMs: 15000 },
    }],
    quietMs: 2500,
    after: [CLEANUP],
  },
  {
    file: "22-local-optimization",
    title:
      "Local channel optimised away: M = Local/200@lab running Milliwatt (audio), L = Local/610@lab (Wait 10; 610 Dials Local/200@lab/n), then Action Bridge L;1 with M;2: audio through L triggers LocalOptimizationBegin/End (swap), then everything hung up from a side connection",
    steps: [
      {
        note: "M: a Local channel whose ;1 half plays a milliwatt tone (voice frames)",
        send: originate("optim-tone", {
          Channel: "Local/200@lab",
          Application: "Milliwatt",
          Async: "true",
          CallerID: '"Lab Tone" <5552000>',
        }),
        wait: { pattern: /Event: OriginateResponse/ },
      },
      {
        note: "L: the Local channel to optimise away (no /n); 610 dials Local/200@lab/n",
        send: originate("optim-610", {
          Channel: "Local/610@lab",
          Application: "Wait",
          Data: "10",
          Async: "true",
          CallerID: '"Lab Optim" <5556102>',
        }),
        wait: { pattern: /Event: OriginateResponse/, count: 2 },
      },
      {
        note: "bridge L;1 with M;2: M's tone now flows through L",
        send: (rx) =>
          action("Bridge", {
            ActionID: "optim-bridge",
            Channel1: lastValue(rx, /ActionID: optim-610/, "Channel"),
            Channel2: lastValue(rx, /ActionID: optim-tone/, "Channel").replace(/;1$/, ";2"),
            Tone: "no",
          }),
        wait: { pattern: /Event: LocalOptimizationEnd/, timeoutMs: 6000 },
      },
      { note: "let the optimised call run 1 s", wait: { ms: 1000 } },
      {
        side: true,
        note: "hang up every Local channel (from the side connection)",
        send: action("Hangup", { ActionID: "optim-hangup", Channel: "/^Local\\//" }),
        wait: { ms: 500 },
      },
    ],
    quietMs: 1500,
    after: [CLEANUP],
  },
  {
    file: "23-queue-answered",
    title:
      "Queue call answered by a member: Originate Async of Local/700@lab (Application Wait 8); queue labq ring-all, member 710 answers after 1 s and talks 4 s, 711 never answers",
    steps: [{
      send: originate("queue-700", {
        Channel: "Local/700@lab",
        Application: "Wait",
        Data: "8",
        Async: "true",
        CallerID: '"Lab Queue" <5557000>',
      }),
      wait: { pattern: /Event: AgentComplete/, timeoutMs: 15000 },
    }],
    quietMs: 2500,
    after: [CLEANUP],
  },
  {
    file: "24-queue-abandon",
    title:
      "Queue caller who abandons: Originate Async of Local/720@lab (Application Wait 3); queue labslow, its only member 711 never answers; the caller hangs up after 3 s (QueueCallerAbandon)",
    steps: [{
      send: originate("queue-720", {
        Channel: "Local/720@lab",
        Application: "Wait",
        Data: "3",
        Async: "true",
        CallerID: '"Lab Abandon" <5557200>',
      }),
      wait: { pattern: /Event: QueueCallerAbandon/, timeoutMs: 10000 },
    }],
    quietMs: 2000,
    after: [CLEANUP],
  },
  {
    file: "25-lists-with-calls-up",
    title:
      "CoreShowChannels, BridgeList, BridgeInfo, QueueStatus while calls are up (two calls to 610, one to 700 talking to agent 710, one to 720 waiting in labslow; started from a side connection)",
    before: [
      {
        side: true,
        send: originate("lists-610-a", {
          Channel: "Local/610@lab",
          Application: "Wait",
          Data: "12",
          Async: "true",
          CallerID: '"Lab List A" <5556100>',
        }),
      },
      {
        side: true,
        send: originate("lists-610-b", {
          Channel: "Local/610@lab",
          Application: "Wait",
          Data: "12",
          Async: "true",
          CallerID: '"Lab List B" <5556101>',
        }),
      },
      {
        side: true,
        send: originate("lists-700", {
          Channel: "Local/700@lab",
          Application: "Wait",
          Data: "12",
          Async: "true",
          CallerID: '"Lab List Q" <5557001>',
        }),
      },
      {
        side: true,
        send: originate("lists-720", {
          Channel: "Local/720@lab",
          Application: "Wait",
          Data: "12",
          Async: "true",
          CallerID: '"Lab List S" <5557201>',
        }),
        note: "then wait 2.5 s: agent 710 has answered the 700 caller",
        wait: { ms: 2500 },
      },
    ],
    steps: [
      {
        send: action("CoreShowChannels", { ActionID: "lists-csc" }),
        wait: { pattern: /Event: CoreShowChannelsComplete/ },
      },
      {
        send: action("BridgeList", { ActionID: "lists-bl" }),
        wait: { pattern: /Event: BridgeListComplete/ },
      },
      {
        note: "BridgeInfo of the last bridge BridgeList listed",
        send: (rx) =>
          action("BridgeInfo", {
            ActionID: "lists-bi",
            BridgeUniqueid: lastValue(rx, /^Event: BridgeListItem/m, "BridgeUniqueid"),
          }),
        wait: { pattern: /Event: BridgeInfoComplete|Response: Error/ },
      },
      {
        send: action("BridgeInfo", { ActionID: "lists-bi-bad", BridgeUniqueid: "no-such-bridge" }),
        note: "BridgeInfo of an unknown bridge",
        wait: { ms: 300 },
      },
      {
        send: action("QueueStatus", { ActionID: "lists-qs" }),
        wait: { pattern: /Event: QueueStatusComplete/ },
      },
      {
        send: action("QueueStatus", { ActionID: "lists-qs-labq", Queue: "labq" }),
        wait: { pattern: /Event: QueueStatusComplete/, count: 2 },
      },
    ],
    quietMs: 400,
    after: [CLEANUP],
  },
  {
    file: "26-originate-channelid-in-use",
    title:
      "Originate with a ChannelId already in use: a call with ChannelId lab-dup-1 to Local/400@lab stays up, then a sync and an async Originate with the same ChannelId, then one with OtherChannelId in use",
    steps: [
      {
        send: originate("dup-first", {
          Channel: "Local/400@lab",
          Application: "Wait",
          Data: "10",
          Async: "true",
          ChannelId: "lab-dup-1",
          CallerID: '"Lab Dup" <5554000>',
        }),
        wait: { pattern: /Event: OriginateResponse/ },
      },
      {
        note: "same ChannelId, synchronous",
        send: originate("dup-sync", {
          Channel: "Local/400@lab",
          Application: "Wait",
          Data: "10",
          ChannelId: "lab-dup-1",
        }),
        wait: { pattern: /ActionID: dup-sync/, timeoutMs: 5000 },
      },
      {
        note: "same ChannelId, asynchronous",
        send: originate("dup-async", {
          Channel: "Local/400@lab",
          Application: "Wait",
          Data: "10",
          Async: "true",
          ChannelId: "lab-dup-1",
        }),
        wait: { pattern: /ActionID: dup-async/, count: 2, timeoutMs: 5000 },
      },
      {
        note: "a new ChannelId whose OtherChannelId is the live ;2 half's Uniqueid (lab-dup-1;2)",
        send: originate("dup-other", {
          Channel: "Local/400@lab",
          Application: "Wait",
          Data: "10",
          Async: "true",
          ChannelId: "lab-dup-2",
          OtherChannelId: "lab-dup-1;2",
        }),
        wait: { pattern: /ActionID: dup-other/, count: 2, timeoutMs: 5000 },
      },
      {
        note: "hang up the first call",
        send: action("Hangup", { ActionID: "dup-hangup", Channel: "/^Local\\/400@lab-/" }),
        wait: { pattern: /Event: Hangup/, count: 2, timeoutMs: 5000 },
      },
    ],
    quietMs: 1000,
    after: [CLEANUP],
  },
  {
    file: "27-queue-member-add-pause-remove",
    title:
      "QueueAdd / QueuePause (on, off) / QueuePenalty / QueueRemove of member Local/712@lab/n (StateInterface Local/710@lab) in labq, errors for a duplicate add and an unknown member, and a QueueSummary",
    steps: [
      {
        send: action("QueueAdd", {
          ActionID: "qm-add",
          Queue: "labq",
          Interface: "Local/712@lab/n",
          MemberName: "Agent 712",
          StateInterface: "Local/710@lab",
          Penalty: "2",
          Paused: "false",
        }),
        wait: { pattern: /Event: QueueMemberAdded/ },
      },
      {
        send: action("QueueAdd", {
          ActionID: "qm-add-dup",
          Queue: "labq",
          Interface: "Local/712@lab/n",
        }),
        wait: { pattern: /ActionID: qm-add-dup/ },
      },
      {
        send: action("QueuePause", {
          ActionID: "qm-pause",
          Queue: "labq",
          Interface: "Local/712@lab/n",
          Paused: "true",
          Reason: "lunch",
        }),
        wait: { pattern: /Event: QueueMemberPause/ },
      },
      {
        send: action("QueueSummary", { ActionID: "qm-summary", Queue: "labq" }),
        wait: { pattern: /Event: QueueSummaryComplete/ },
      },
      {
        send: action("QueuePause", {
          ActionID: "qm-unpause",
          Queue: "labq",
          Interface: "Local/712@lab/n",
          Paused: "false",
        }),
        wait: { pattern: /Event: QueueMemberPause/, count: 2 },
      },
      {
        send: action("QueuePenalty", {
          ActionID: "qm-penalty",
          Queue: "labq",
          Interface: "Local/712@lab/n",
          Penalty: "5",
        }),
        wait: { pattern: /ActionID: qm-penalty/ },
      },
      {
        send: action("QueueRemove", {
          ActionID: "qm-remove",
          Queue: "labq",
          Interface: "Local/712@lab/n",
        }),
        wait: { pattern: /Event: QueueMemberRemoved/ },
      },
      {
        send: action("QueueRemove", {
          ActionID: "qm-remove-again",
          Queue: "labq",
          Interface: "Local/712@lab/n",
        }),
        wait: { pattern: /ActionID: qm-remove-again/ },
      },
      {
        send: action("QueueSummary", { ActionID: "qm-summary-all" }),
        wait: { pattern: /Event: QueueSummaryComplete/, count: 2 },
      },
    ],
    quietMs: 500,
  },
];

/** A TCP connection that keeps everything it received. */
class Conn {
  readonly chunks: { t: number; bytes: Uint8Array }[] = [];
  readonly sends: { t: number; rx: number; data: string; note?: string }[] = [];
  closedByServer = false;
  private socket: Socket;
  private ready: Promise<void>;
  private waiters: (() => void)[] = [];
  lastRx = 0;

  constructor(host: string, port: number, private readonly t0: () => number) {
    this.socket = createConnection({ host, port });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.socket.on("data", (b: Uint8Array) => {
      this.chunks.push({ t: this.t0(), bytes: new Uint8Array(b) });
      this.lastRx = Date.now();
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on("end", () => {
      this.closedByServer = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  opened(): Promise<void> {
    return this.ready;
  }

  get size(): number {
    return this.chunks.reduce((s, c) => s + c.bytes.length, 0);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c.bytes, at);
      at += c.bytes.length;
    }
    return out;
  }

  text(): string {
    return new TextDecoder("latin1").decode(this.bytes());
  }

  send(data: string, note?: string): void {
    this.sends.push({ t: this.t0(), rx: this.size, data, note });
    this.socket.write(new TextEncoder().encode(data));
  }

  /** Resolves on the next data (or end), or after `ms`. */
  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async until(pattern: RegExp, count: number, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    const g = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : pattern.flags + "g");
    for (;;) {
      if ((this.text().match(g) ?? []).length >= count) return true;
      const left = end - Date.now();
      if (left <= 0 || this.closedByServer) return false;
      await this.next(left);
    }
  }

  async quiet(ms: number, maxMs = 30000): Promise<void> {
    const end = Date.now() + maxMs;
    while (Date.now() < end) {
      const idle = Date.now() - this.lastRx;
      if (idle >= ms || this.closedByServer) return;
      await this.next(ms - idle);
    }
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function runSteps(
  steps: Step[],
  rec: Conn | undefined,
  side: Conn,
  log: string[],
): Promise<void> {
  for (const step of steps) {
    if (step.send !== undefined) {
      const conn = step.side || !rec ? side : rec;
      const data = typeof step.send === "string" ? step.send : step.send(rec?.text() ?? "");
      conn.send(data, step.note);
    }
    const w = step.wait;
    if (w?.ms) await sleep(w.ms);
    if (w?.pattern && rec) {
      const ok = await rec.until(w.pattern, w.count ?? 1, w.timeoutMs ?? 15000);
      if (!ok) log.push(`  - wait for ${w.pattern} x${w.count ?? 1} timed out`);
    }
  }
}

/** Python-style escaping as in the existing fixtures' .txt files. */
function escapePy(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === "\r") out += "\\r";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\\") out += "\\\\";
    else if (c < 0x20 || c > 0x7e) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out;
}

/** Counts as INDEX.csv defines them. */
export function countBlocks(raw: Uint8Array): {
  messages: number;
  events: number;
  responses: number;
  eventNames: Map<string, number>;
  responseNames: Map<string, number>;
  repeated: Map<string, number>;
} {
  const text = new TextDecoder("latin1").decode(raw);
  const nl = text.indexOf("\r\n");
  const body = nl >= 0 ? text.slice(nl + 2) : text;
  const blocks = body.split("\r\n\r\n").slice(0, -1);
  const eventNames = new Map<string, number>();
  const responseNames = new Map<string, number>();
  const repeated = new Map<string, number>();
  let events = 0, responses = 0;
  for (const b of blocks) {
    const lines = b.split("\r\n");
    const first = /^([^:]*):\s*(.*)$/.exec(lines[0]);
    if (first?.[1] === "Event") {
      events++;
      eventNames.set(first[2], (eventNames.get(first[2]) ?? 0) + 1);
    } else if (first?.[1] === "Response") {
      responses++;
      responseNames.set(first[2], (responseNames.get(first[2]) ?? 0) + 1);
    }
    const seen = new Map<string, number>();
    for (const l of lines) {
      const k = l.split(":")[0];
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    for (const [k, n] of seen) if (n > 1) repeated.set(k, (repeated.get(k) ?? 0) + 1);
  }
  return { messages: blocks.length, events, responses, eventNames, responseNames, repeated };
}

function dict(m: Map<string, number>): string {
  return `{${[...m].map(([k, v]) => `'${k}': ${v}`).join(", ")}}`;
}

async function record(s: Scenario, host: string, port: number, out: string): Promise<string> {
  const start = Date.now();
  const t0 = () => (Date.now() - start) / 1000;
  const log: string[] = [];
  const side = new Conn(host, port, t0);
  await side.opened();
  side.send(login("ctl-login", "off"), "login as admin");
  await side.until(/Response: Success/, 1, 5000);
  if (s.before) await runSteps(s.before, undefined, side, log);
  const recStart = t0();
  const rec = new Conn(host, port, () => t0() - recStart);
  await rec.opened();
  await rec.until(/\r\n/, 1, 5000);
  rec.send(login(`login-${s.file.slice(0, 2)}`, "on"), "login as admin");
  await rec.until(/Message: Authentication accepted/, 1, 5000);
  await sleep(300);
  await runSteps(s.steps, rec, side, log);
  await rec.quiet(s.quietMs ?? 1500);
  rec.close();
  if (s.after) await runSteps(s.after, undefined, side, log);
  side.close();

  const raw = rec.bytes();
  writeFileSync(`${out}/${s.file}.raw`, raw);
  const c = countBlocks(raw);
  const banner = new TextDecoder("latin1").decode(raw.slice(0, raw.indexOf(10) + 1));
  const sha = createHash("sha256").update(raw).digest("hex");
  const largest = Math.max(...rec.chunks.map((x) => x.bytes.length));
  const recorded = new Date(start).toISOString().replace("T", " ").slice(0, 19);
  const lines = [
    `Capture: ${s.file}.raw`,
    `Scenario: ${s.title}`,
    `Server: Asterisk (lab build from git tag 22.10.1), AMI on ${host}:${port}`,
    `Recorded: ${recorded} (UTC) by scripts/record_fixture.ts`,
    "The .raw file holds exactly the bytes received from Asterisk on the recorded",
    "connection, in order, nothing added or removed.",
    "",
    `Bytes received: ${raw.length}   sha256: ${sha}`,
    `Banner line: ${escapePy(banner)}`,
    `Messages (blocks terminated by \\r\\n\\r\\n, banner excluded): ${c.messages}`,
    `  responses: ${dict(c.responseNames)}`,
    `  events (${c.events}): ${dict(new Map([...c.eventNames].sort()))}`,
    `Header keys repeated within a single message (key: number of messages): ${dict(c.repeated)}`,
    `Connection closed by server: ${rec.closedByServer ? "yes" : "no (client closed it)"}`,
    `Receive timing: ${rec.chunks.length} recv() chunks; first byte at t=${
      rec.chunks[0]?.t.toFixed(3)
    } s, last byte at t=${rec.chunks.at(-1)?.t.toFixed(3)} s after connect; largest chunk ${largest} bytes`,
    "",
    "Observations: see LIVE-NOTES.md.",
    ...(s.notes ?? []).map((n) => `  - ${n}`),
    ...log,
    "",
    "Exact bytes sent by the client on the recorded connection, in order",
    "(t = seconds since connect; rx@ = number of bytes received before this send;",
    "bytes written Python-escape style, \\r\\n shown literally):",
  ];
  for (const x of rec.sends) {
    lines.push(
      `  [t=${x.t.toFixed(3)} rx@${x.rx}] SEND ${x.data.length} bytes${
        x.note ? ` (${x.note})` : ""
      }:`,
    );
    lines.push(`    ${escapePy(x.data)}`);
  }
  lines.push("");
  lines.push(
    "Side connection 'control' (NOT recorded in the .raw; used to drive calls; t relative to the recorded connect):",
  );
  for (const x of side.sends) {
    lines.push(
      `  [t=${(x.t - recStart).toFixed(3)}] SEND ${x.data.length} bytes${
        x.note ? ` (${x.note})` : ""
      }: ${escapePy(x.data)}`,
    );
  }
  writeFileSync(`${out}/${s.file}.txt`, lines.join("\n") + "\n");
  updateIndex(out, `${s.file}.raw`, s.title, raw.length, c);
  return `${s.file}: ${raw.length} bytes, ${c.messages} messages, ${c.events} events, ${c.responses} responses${
    log.length ? "\n" + log.join("\n") : ""
  }`;
}

function csvCell(s: string): string {
  return /[",]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function updateIndex(
  out: string,
  file: string,
  title: string,
  bytes: number,
  c: { messages: number; events: number; responses: number },
): void {
  const path = `${out}/INDEX.csv`;
  const rows = readFileSync(path, "utf8").trim().split("\n");
  const row = [file, csvCell(title), bytes, c.messages, c.events, c.responses].join(",");
  const at = rows.findIndex((r) => r.startsWith(file + ","));
  if (at >= 0) rows[at] = row;
  else rows.push(row);
  const [head, ...body] = rows;
  body.sort();
  writeFileSync(path, [head, ...body].join("\n") + "\n");
}

async function main(args: string[]): Promise<void> {
  let host = "127.0.0.1", port = 5038;
  let out = new URL("../tests/fixtures", import.meta.url).pathname;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--host") host = args[++i];
    else if (args[i] === "--port") port = Number(args[++i]);
    else if (args[i] === "--out") out = args[++i];
    else names.push(args[i]);
  }
  if (names.length === 0) {
    console.log("scenarios:\n" + SCENARIOS.map((s) => `  ${s.file}  ${s.title}`).join("\n"));
    return;
  }
  const chosen = names.includes("all")
    ? SCENARIOS
    : names.map((n) => {
      const s = SCENARIOS.find((x) => x.file === n || x.file.startsWith(n));
      if (!s) throw new Error(`no scenario ${n}`);
      return s;
    });
  for (const s of chosen) console.log(await record(s, host, port, out));
}

if (isMain(import.meta)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
