/**
 * The client benchmark: events per second through the full client API (the
 * simulator's flood of realistic `Newexten` events; the event name and one
 * late header, `AppData`, read from every event), actions per second with
 * 100 Pings in flight, and peak RSS, for amikit on Node, Deno and Bun, the
 * npm clients `asterisk-manager`, `asterisk.io` and `yana`, and a bare
 * `node:net` reader, side by side in one run. Each contender runs in its own
 * child process.
 *
 * The flood comes from the simulator (`testing/`) in this process. The
 * actions go, on a second connection, to a dedicated Ping responder
 * (`scripts/_ping_responder.ts`: banner, Login, and Asterisk's answer to
 * every Ping, all actions of one read answered in one write), in a Node
 * process of its own. Why: the simulator is a faithful AMI emulation, not a
 * load generator; at about 4-5 µs per action it was the ceiling for every
 * contender, the bare reader included, so the phase measured the server.
 * The responder costs under 1 µs per action (Node, Deno and Bun alike within
 * noise), and the bare reader (which batches its Pings per microtask, as
 * amikit does) shows the ceiling: it must stay well above every client. The
 * simulator's own speed is reported by `scripts/bench_simulator.ts`.
 *
 * Run: `deno run -A scripts/bench_client.ts` (builds `npm/` first if it is
 * missing; amikit on Node runs from the build). `BENCH_EVENTS` and
 * `BENCH_ACTIONS` change the timed counts (200,000 and 100,000);
 * `BENCH_RESPONDER` (`node`, `deno`, `bun` or `parent`) the responder's host.
 *
 * Warm-up: every contender first handles `BENCH_WARMUP_EVENTS` events
 * (50,000) of the same flood and `BENCH_WARMUP_ACTIONS` actions (100,000)
 * untimed, so that the figures are the steady rate of a long-running
 * process, not its first second: in a fresh Node process the first 20,000
 * actions run at about a third of the steady rate, and Node's own stream
 * functions (called once per read or write, not per action) are only
 * optimised after about 100,000 actions. Set both to 0 to time a cold
 * process.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { AmiSimulator } from "../testing/mod.ts";
import { startPingResponder } from "./_ping_responder.ts";
import { isMain } from "./_main.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const ACTIONS = Number(process.env.BENCH_ACTIONS ?? 100_000);
const IN_FLIGHT = 100;
const WARMUP_EVENTS = Number(process.env.BENCH_WARMUP_EVENTS ?? 50_000);
const WARMUP_ACTIONS = Number(process.env.BENCH_WARMUP_ACTIONS ?? 100_000);
const RESPONDER_HOST = (process.env.BENCH_RESPONDER ?? "node") as Contender["runtime"] | "parent";

/** One contender: a name, the runtime that runs it, and the module it imports. */
interface Contender {
  readonly name: string;
  readonly runtime: "node" | "deno" | "bun";
  readonly kind: "amikit" | "bare" | "asterisk-manager" | "asterisk.io" | "yana";
  readonly peer?: boolean;
}

const CONTENDERS: readonly Contender[] = [
  { name: "bare@node", runtime: "node", kind: "bare" },
  { name: "amikit@node", runtime: "node", kind: "amikit" },
  { name: "asterisk-manager@node", runtime: "node", kind: "asterisk-manager", peer: true },
  { name: "asterisk.io@node", runtime: "node", kind: "asterisk.io", peer: true },
  { name: "yana@node", runtime: "node", kind: "yana", peer: true },
  { name: "amikit@deno", runtime: "deno", kind: "amikit" },
  { name: "amikit@bun", runtime: "bun", kind: "amikit" },
];

/** What one child reports. */
interface ChildResult {
  eventsPerSec?: number;
  eventsPerCpuSec?: number;
  actionsPerCpuSec?: number;
  eventsSeen?: number;
  actionsPerSec?: number;
  actionsDone?: number;
  peakRssMb?: number;
  error?: string;
}

// The child: plain JavaScript, so that Node runs it as is. It connects,
// prints {"ready":true}, counts the flood, runs the actions, prints results.
const CHILD = String.raw`
import process from "node:process";
import { createRequire } from "node:module";
import * as net from "node:net";
import { readFileSync } from "node:fs";
const [kind, modPath, portText, actionsPortText, eventsText, actionsText, inflightText, root, warmEventsText, warmActionsText] = process.argv.slice(2);
const port = Number(portText), actionsPort = Number(actionsPortText), N = Number(eventsText), A = Number(actionsText), F = Number(inflightText);
// Warm-up: the first W events and WA actions are handled but not timed.
const W = Number(warmEventsText), WA = Number(warmActionsText);
const require = createRequire(root + "package.json");
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
let peak = 0;
const sample = () => { const r = process.memoryUsage().rss; if (r > peak) peak = r; };
const sampler = setInterval(sample, 5);
// Peak RSS of this address space (Linux VmHWM). Not getrusage's maxRSS: it
// survives fork + exec, so a child would report its parent's peak.
function hwm() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch { return 0; }
}
const now = () => performance.now();
let seen = 0, t0 = 0, t1 = 0, c0, c1, checksum = 0, onDone;
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const finished = new Promise((r) => (onDone = r));
function count(name, late) {
  if (name !== "Newexten") return;
  if (late !== undefined) checksum += late.length;
  if (seen++ === W) { t0 = now(); c0 = cpu(); }
  if (seen === W + N) { t1 = now(); c1 = cpu(); onDone(); }
}
function inFlight(send, count) {
  let sent = 0, done = 0;
  return new Promise((resolve, reject) => {
    if (count === 0) return resolve();
    const next = () => {
      while (sent < count && sent - done < F) {
        sent++;
        send().then(() => { done++; if (done === count) resolve(); else next(); }, reject);
      }
    };
    next();
  });
}
async function runActions(send) {
  await inFlight(send, WA);
  const start = now(), cpuStart = cpu();
  await inFlight(send, A);
  result.actionsPerCpuSec = A / ((cpu() - cpuStart) / 1000);
  return A / ((now() - start) / 1000);
}
const result = {};
const LOGIN = "Action: Login\r\nActionID: L\r\nUsername: admin\r\nSecret: amp111\r\n\r\n";
async function setup(port) {
  switch (kind) {
    case "amikit": {
      const m = await import(modPath);
      const c = await m.connect({ host: "127.0.0.1", port, username: "admin", secret: "amp111", keepaliveIdleMs: 0 });
      c.on("*", (e) => count(e.name, e.get("AppData")));
      return { send: () => c.action("Ping"), close: () => c.destroy() };
    }
    case "bare": {
      const s = net.connect({ host: "127.0.0.1", port });
      s.setNoDelay(true);
      const pat = Buffer.from("Event: Newexten\r\n"), pong = Buffer.from("Ping: Pong");
      let tail = Buffer.alloc(0), logged, pongs = 0, pongWaiters = [];
      const ready = new Promise((r) => (logged = r));
      let authed = false;
      s.on("data", (chunk) => {
        const buf = tail.length ? Buffer.concat([tail, chunk]) : chunk;
        if (!authed && buf.includes("Authentication accepted")) { authed = true; logged(); }
        for (let i = buf.indexOf(pat); i >= 0; i = buf.indexOf(pat, i + pat.length)) count("Newexten", undefined);
        for (let i = buf.indexOf(pong); i >= 0; i = buf.indexOf(pong, i + pong.length)) { pongs++; pongWaiters.shift()?.(); }
        tail = buf.subarray(Math.max(0, buf.length - 16));
      });
      s.write(LOGIN);
      await ready;
      // Pings sent in one burst leave in one write, as amikit's do.
      let id = 0, queued = "";
      const flush = () => { s.write(queued); queued = ""; };
      return {
        send: () => new Promise((r) => {
          pongWaiters.push(r);
          if (queued === "") queueMicrotask(flush);
          queued += "Action: Ping\r\nActionID: p" + (id++) + "\r\n\r\n";
        }),
        close: () => s.destroy(),
      };
    }
    case "asterisk-manager": {
      const AM = require("asterisk-manager");
      const ami = new AM(port, "127.0.0.1", "admin", "amp111", true);
      await new Promise((r, j) => ami.action({ action: "ping" }, (err) => (err ? j(err) : r())));
      ami.on("managerevent", (e) => count(e.event, e.appdata));
      return {
        send: () => new Promise((r, j) => ami.action({ action: "ping" }, (err, res) => (err ? j(err) : r(res)))),
        close: () => ami.disconnect(),
      };
    }
    case "asterisk.io": {
      const aio = require("asterisk.io");
      const ami = aio.ami("127.0.0.1", port, "admin", "amp111");
      ami.on("error", () => {});
      await new Promise((r) => ami.on("ready", r));
      ami.on("eventAny", (e) => count(e.Event, e.AppData));
      return {
        send: () => new Promise((r) => ami.action("Ping", {}, r)),
        close: () => ami.disconnect?.(),
      };
    }
    case "yana": {
      const AMI = require("yana");
      const ami = new AMI({ port, host: "127.0.0.1", login: "admin", password: "amp111", events: true });
      ami.on("error", () => {});
      await new Promise((r) => ami.connect(r));
      ami.on("event", (e) => count(e.Event, e.AppData));
      // yana draws ActionIDs at random below 10^8: with 100 in flight, about
      // one run in ten reused a pending one, whose callback then never came
      // and the phase timed out. Unique IDs from the harness avoid that.
      let seq = 0;
      return {
        send: () => new Promise((r) => ami.send({ Action: "Ping", ActionID: "y" + (++seq) }, r)),
        close: () => ami.disconnect(),
      };
    }
  }
  throw new Error("unknown kind " + kind);
}
try {
  const c = await setup(port);
  out({ ready: true });
  // The parent floods; give up 20 s after the last progress.
  let last = -1;
  while (seen < W + N) {
    const r = await Promise.race([finished.then(() => true), new Promise((r) => setTimeout(() => r(false), 20000))]);
    if (r) break;
    if (seen === last) break;
    last = seen;
  }
  const timed = seen - W; // events after the warm-up
  result.eventsSeen = Math.max(0, timed);
  result.eventsPerSec = timed > 1 ? (timed - 1) / (((t1 || now()) - t0) / 1000) : 0;
  result.eventsPerCpuSec = timed > 1 ? (timed - 1) / (((c1 ?? cpu()) - c0) / 1000) : 0;
  out({ flooded: true });
  try { c.close(); } catch {}
  // The actions run on a second connection, to the Ping responder.
  const a = await setup(actionsPort);
  result.actionsPerSec = await Promise.race([
    runActions(a.send),
    new Promise((_, j) => setTimeout(() => j(new Error("actions timed out")), 60000)),
  ]);
  result.actionsDone = A;
  sample();
  result.peakRssMb = Math.max(peak, hwm()) / 1e6;
  result.checksum = checksum;
  try { a.close(); } catch {}
} catch (e) {
  sample();
  result.error = String(e && e.message || e);
  result.peakRssMb = peak / 1e6;
}
clearInterval(sampler);
out({ result });
process.exit(0);
`;

/**
 * Starts the Ping responder: in this process (`parent`) or in a child of
 * its own under a runtime; resolves with its port.
 */
async function startResponder(
  host: Contender["runtime"] | "parent",
): Promise<{ port: number; close(): Promise<void> }> {
  if (host === "parent") return await startPingResponder();
  const script = host === "node"
    ? `${ROOT}npm/esm/scripts/_ping_responder.js`
    : `${ROOT}scripts/_ping_responder.ts`;
  const argv = host === "deno" ? ["run", "-A", script] : [script];
  const child = spawn(binary(host), argv, { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = "";
    child.stdout.on("data", (d: Uint8Array) => {
      buf += new TextDecoder().decode(d);
      const m = /\{"port":(\d+)\}/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`the Ping responder exited (${code})`)));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        child.on("exit", () => resolve());
        child.stdin.end();
      }),
  };
}

/** The figures reported per contender: row name, unit, and the child's field. */
const FIGURES = [
  ["events_per_sec", "events/s"],
  ["events_per_cpu_sec", "events/CPU-s"],
  ["actions_per_sec", "actions/s"],
  ["actions_per_cpu_sec", "actions/CPU-s"],
  ["peak_rss", "MB"],
] as const;
const FIELD = {
  events_per_sec: "eventsPerSec",
  events_per_cpu_sec: "eventsPerCpuSec",
  actions_per_sec: "actionsPerSec",
  actions_per_cpu_sec: "actionsPerCpuSec",
  peak_rss: "peakRssMb",
} as const satisfies Record<(typeof FIGURES)[number][0], keyof ChildResult>;

function binary(runtime: Contender["runtime"]): string {
  if (runtime === "node") return "node";
  return `${ROOT}node_modules/.bin/${runtime}`;
}

/** Runs one contender against the simulator; resolves with its report. */
function runChild(
  sim: AmiSimulator,
  c: Contender,
  options: { childPath: string; actionsPort: number },
): Promise<ChildResult> {
  const modPath = c.runtime === "node" ? `${ROOT}npm/esm/mod.js` : `${ROOT}mod.ts`;
  const args = [
    options.childPath,
    c.kind,
    modPath,
    String(sim.port),
    String(options.actionsPort),
    String(EVENTS),
    String(ACTIONS),
    String(IN_FLIGHT),
    ROOT,
    String(WARMUP_EVENTS),
    String(WARMUP_ACTIONS),
  ];
  const argv = c.runtime === "deno" ? ["run", "-A", ...args] : args;
  return new Promise<ChildResult>((resolve) => {
    const child = spawn(binary(c.runtime), argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let buf = "";
    let err = "";
    let result: ChildResult | undefined;
    const killer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.stderr.on("data", (d: Uint8Array) => {
      if (err.length < 4_000) err += new TextDecoder().decode(d);
    });
    child.stdout.on("data", (d: Uint8Array) => {
      buf += new TextDecoder().decode(d);
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: { ready?: boolean; result?: ChildResult };
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if (msg.ready) sim.flood({ count: WARMUP_EVENTS + EVENTS }).catch(() => {});
        if (msg.result) result = msg.result;
      }
    });
    child.on("exit", () => {
      clearTimeout(killer);
      resolve(result ?? { error: `no result (stderr: ${err.trim().slice(0, 500)})` });
    });
  });
}

/**
 * Runs every contender and reports events/s, actions/s and peak RSS for
 * each, and amikit-on-Node's ratios against the fastest peer and the bare
 * reader.
 *
 * @returns one row per figure
 */
export async function benchClient(): Promise<Array<{ name: string; value: number; unit: string }>> {
  const built = (): boolean =>
    existsSync(`${ROOT}npm/esm/mod.js`) && existsSync(`${ROOT}npm/esm/scripts/_ping_responder.js`);
  if (!built()) {
    const b = spawnSync(binary("deno"), ["run", "-A", "scripts/build_npm.ts"], {
      cwd: ROOT,
      stdio: "inherit",
    });
    if (b.status !== 0 && !built()) {
      throw new Error("bench_client: the npm build failed");
    }
  }
  mkdirSync(`${ROOT}.bench`, { recursive: true });
  const childPath = `${ROOT}.bench/bench_client_child.mjs`;
  writeFileSync(childPath, CHILD);
  const rows: Array<{ name: string; value: number; unit: string }> = [];
  const results = new Map<string, ChildResult>();
  // writetimeout off: a slow peer would otherwise be cut off mid-flood (as
  // Asterisk would do) and report nothing comparable.
  const sim = await AmiSimulator.start({ writeTimeoutMs: 0 });
  const responder = await startResponder(RESPONDER_HOST);
  try {
    for (const c of CONTENDERS) {
      const r = await runChild(sim, c, { childPath, actionsPort: responder.port });
      results.set(c.name, r);
      if (r.error) console.error(`bench_client: ${c.name}: ${r.error}`);
      if (r.eventsSeen !== undefined && r.eventsSeen < EVENTS) {
        console.error(`bench_client: ${c.name} saw ${r.eventsSeen} of ${EVENTS} events`);
      }
      for (const [figure, unit] of FIGURES) {
        rows.push({ name: `client.${figure}[${c.name}]`, value: r[FIELD[figure]] ?? 0, unit });
      }
    }
  } finally {
    await sim.stop();
    await responder.close();
  }
  const peers = CONTENDERS.filter((c) => c.peer).map((c) => results.get(c.name)!);
  const bestPeerEvents = Math.max(
    ...peers.map((p) => (p.eventsSeen === EVENTS ? p.eventsPerSec ?? 0 : 0)),
  );
  const bestPeerActions = Math.max(...peers.map((p) => p.actionsPerSec ?? 0));
  // A peer that failed a phase is left out of that phase's best: say so.
  const failed = CONTENDERS.filter((c) => c.peer && results.get(c.name)?.error).map((c) => c.name);
  const caveat = failed.length === 0 ? "" : `; without ${failed.join(", ")}: failed`;
  const ours = results.get("amikit@node")!;
  const bare = results.get("bare@node")!;
  rows.push({
    name: "client.node.events_vs_best_peer",
    value: (ours.eventsPerSec ?? 0) / bestPeerEvents,
    unit: `x (target >= 2.8${caveat})`,
  });
  rows.push({
    name: "client.node.actions_vs_best_peer",
    value: (ours.actionsPerSec ?? 0) / bestPeerActions,
    unit: `x (target >= 2${caveat})`,
  });
  const bestPeerEventsCpu = Math.max(
    ...peers.map((p) => (p.eventsSeen === EVENTS ? p.eventsPerCpuSec ?? 0 : 0)),
  );
  const bestPeerActionsCpu = Math.max(...peers.map((p) => p.actionsPerCpuSec ?? 0));
  rows.push({
    name: "client.node.events_per_cpu_vs_best_peer",
    value: (ours.eventsPerCpuSec ?? 0) / bestPeerEventsCpu,
    unit: "x",
  });
  rows.push({
    name: "client.node.actions_per_cpu_vs_best_peer",
    value: (ours.actionsPerCpuSec ?? 0) / bestPeerActionsCpu,
    unit: "x",
  });
  rows.push({
    name: "client.node.rss_above_bare",
    value: (ours.peakRssMb ?? 0) - (bare.peakRssMb ?? 0),
    unit: "MB (target <= 15)",
  });
  return rows;
}

if (isMain(import.meta)) {
  const rows = await benchClient();
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    const v = r.value >= 100 ? Math.round(r.value).toLocaleString("en-US") : r.value.toFixed(2);
    console.log(`${r.name.padEnd(w)}  ${v.padStart(12)} ${r.unit}`);
  }
}
