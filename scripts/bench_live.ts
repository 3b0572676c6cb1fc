/**
 * The live model's costs, side by side in one run:
 *
 * - event throughput of a client with and without a live state, on a
 *   call-event mix (Newchannel, Newstate, Newexten, VarSet, DialBegin/End,
 *   Bridge*, Hangup: 18 events per two-channel call, about 1,000 channels
 *   up), fed from memory in 64 KiB reads, so the parser, dispatch and model
 *   are measured and not a socket (target: with >= 0.5x without), and with
 *   only a consumer that finds each event's Uniqueid and looks it up in a map
 *   (the least a model keyed by Uniqueid that reads the text does: a bound on
 *   what one can reach);
 * - the model's cost per event at 100, 1,000 and 10,000 concurrent channels
 *   (should be flat);
 * - heap per tracked channel (needs `--expose-gc`: skipped otherwise);
 * - time to sync 10,000 channels from the simulator over loopback.
 *
 * Run: `deno run -A --v8-flags=--expose-gc scripts/bench_live.ts`,
 * `bun scripts/bench_live.ts`, `node --expose-gc npm/esm/scripts/bench_live.js`.
 *
 * @module
 */

import { defaultConnector } from "../adapters/mod.ts";
import { Client } from "../client/client.ts";
import type { TransportConnector } from "../client/transport.ts";
import { AmiParser } from "../core/parser.ts";
import type { AmiMessage } from "../core/message.ts";
import { createLiveState } from "../live/mod.ts";
import { LiveModel } from "../live/model.ts";
import { AmiSimulator, answerAndWait } from "../testing/mod.ts";
import { isMain } from "./_main.ts";

/** One figure. */
export interface LiveBenchRow {
  /** What was measured. */
  name: string;
  /** The figure. */
  value: number;
  /** Its unit. */
  unit: string;
}

const enc = new TextEncoder();

function snap(id: string, state: number, prefix = ""): string {
  return `${prefix}Channel: PJSIP/trunk-${id}\r\n${prefix}ChannelState: ${state}\r\n` +
    `${prefix}ChannelStateDesc: ${state === 6 ? "Up" : "Ring"}\r\n` +
    `${prefix}CallerIDNum: 5551234\r\n${prefix}CallerIDName: Bench\r\n` +
    `${prefix}ConnectedLineNum: <unknown>\r\n${prefix}ConnectedLineName: <unknown>\r\n` +
    `${prefix}Language: en\r\n${prefix}AccountCode: \r\n${prefix}Context: from-trunk\r\n` +
    `${prefix}Exten: 100\r\n${prefix}Priority: 1\r\n${prefix}Uniqueid: ${id}\r\n` +
    `${prefix}Linkedid: ${id}\r\n`;
}

function ev(name: string, body: string): string {
  return `Event: ${name}\r\nPrivilege: call,all\r\n${body}\r\n`;
}

/** The events of call `n` starting: two channels dialled and bridged (13 events). */
function callStart(n: number): string {
  const a = `1700000000.${2 * n}`;
  const b = `1700000000.${2 * n + 1}`;
  const br = `bridge-${n}`;
  const bh = `BridgeUniqueid: ${br}\r\nBridgeType: basic\r\nBridgeTechnology: simple_bridge\r\n` +
    `BridgeCreator: <unknown>\r\nBridgeName: <unknown>\r\nBridgeNumChannels: 0\r\n`;
  return ev("Newchannel", snap(a, 4)) +
    ev("Newexten", snap(a, 4) + "Extension: 100\r\nApplication: Set\r\nAppData: X=1\r\n") +
    ev("VarSet", snap(a, 4) + "Variable: CAMPAIGN\r\nValue: spring\r\n") +
    ev("Newexten", snap(a, 4) + "Extension: 100\r\nApplication: Dial\r\nAppData: PJSIP/b\r\n") +
    ev("Newchannel", snap(b, 0)) +
    ev("DialBegin", snap(a, 4) + snap(b, 0, "Dest") + "DialString: b\r\n") +
    ev("Newstate", snap(b, 5)) +
    ev("Newstate", snap(b, 6)) +
    ev("DialEnd", snap(a, 4) + snap(b, 6, "Dest") + "DialStatus: ANSWER\r\n") +
    ev("Newstate", snap(a, 6)) +
    ev("BridgeCreate", bh) +
    ev("BridgeEnter", bh + snap(a, 6)) +
    ev("BridgeEnter", bh + snap(b, 6));
}

/** The events of call `n` ending (5 events). */
function callEnd(n: number): string {
  const a = `1700000000.${2 * n}`;
  const b = `1700000000.${2 * n + 1}`;
  const bh =
    `BridgeUniqueid: bridge-${n}\r\nBridgeType: basic\r\nBridgeTechnology: simple_bridge\r\n`;
  return ev("BridgeLeave", bh + snap(a, 6)) + ev("BridgeLeave", bh + snap(b, 6)) +
    ev("BridgeDestroy", bh) +
    ev("Hangup", snap(a, 6) + "Cause: 16\r\nCause-txt: Normal Clearing\r\n") +
    ev("Hangup", snap(b, 6) + "Cause: 16\r\nCause-txt: Normal Clearing\r\n");
}

const EVENTS_PER_CALL = 18;

/** `calls` calls, `up` of them up at any time, in 64 KiB chunks. */
function callMix(calls: number, up: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let text = "";
  for (let n = 0; n < calls + up; n++) {
    if (n < calls) text += callStart(n);
    if (n >= up) text += callEnd(n - up);
    if (text.length >= 64 * 1024) {
      chunks.push(enc.encode(text));
      text = "";
    }
  }
  if (text !== "") chunks.push(enc.encode(text));
  return chunks;
}

/**
 * An in-memory server: answers Login, an empty CoreShowChannels, refuses the
 * rest; `feed` hands chunks to the client synchronously.
 */
function memoryServer(): { connector: TransportConnector; feed(chunk: Uint8Array): void } {
  let data: ((chunk: Uint8Array) => void) | undefined;
  const connector: TransportConnector = (_options, handlers) => {
    data = (c) => handlers.data(c);
    queueMicrotask(() => handlers.data(enc.encode("Asterisk Call Manager/13.0.0\r\n")));
    return Promise.resolve({
      write(bytes: Uint8Array): boolean {
        const text = new TextDecoder().decode(bytes);
        for (const block of text.split("\r\n\r\n")) {
          const action = /^Action: (.*)$/m.exec(block)?.[1]?.trim();
          const id = /^ActionID: (.*)$/m.exec(block)?.[1]?.trim() ?? "";
          if (action === undefined) continue;
          const reply = action === "Login"
            ? `Response: Success\r\nActionID: ${id}\r\nMessage: ok\r\n\r\n`
            : action === "CoreShowChannels"
            ? `Response: Success\r\nActionID: ${id}\r\nEventList: start\r\n\r\n` +
              `Event: CoreShowChannelsComplete\r\nActionID: ${id}\r\nEventList: Complete\r\nListItems: 0\r\n\r\n`
            : `Response: Error\r\nActionID: ${id}\r\nMessage: Invalid/unknown command\r\n\r\n`;
          queueMicrotask(() => handlers.data(enc.encode(reply)));
        }
        return true;
      },
      end: () => handlers.closed(),
      destroy: () => {},
    });
  };
  return { connector, feed: (c) => data?.(c) };
}

/**
 * The least a model keyed by Uniqueid that reads the event's text does with
 * each event: find the plain `Uniqueid` line, take its value and look it up
 * in a map (added on first sight, removed on Hangup). A client with only this
 * consumer bounds from above what any such model can reach.
 */
function uniqueidLookups(): (e: AmiMessage) => void {
  const seen = new Map<string, number>();
  return (e) => {
    const text = e.rawText;
    let id: string | undefined;
    if (text === undefined) id = e.get("Uniqueid");
    else {
      const at = text.indexOf("\nUniqueid: ");
      if (at >= 0) {
        const end = text.indexOf("\r", at + 11);
        id = text.slice(at + 11, end < 0 ? text.length : end);
      }
    }
    if (id === undefined) return;
    if (e.name === "Hangup") seen.delete(id);
    else if (seen.get(id) === undefined) seen.set(id, seen.size);
  };
}

/**
 * Events per second through a client: alone (`off`), with a live state
 * (`live`), or with only {@link uniqueidLookups} (`floor`).
 */
async function clientRate(
  chunks: readonly Uint8Array[],
  events: number,
  mode: "off" | "live" | "floor",
): Promise<number> {
  const server = memoryServer();
  const client = new Client({
    host: "memory",
    username: "u",
    secret: "s",
    keepaliveIdleMs: 0,
    reconnect: false,
    eventQueueCapacity: 1_000_000,
  }, server.connector);
  let seen = 0;
  client.on("*", (e) => {
    if (e.name.length > 0) seen++;
  });
  if (mode === "floor") client.on("*", uniqueidLookups());
  const state = mode === "live"
    ? createLiveState(client, { variables: ["CAMPAIGN"], tombstones: 4_096 })
    : undefined;
  await client.start();
  await state?.synced({ timeoutMs: 10_000 });
  const t0 = performance.now();
  for (const c of chunks) server.feed(c);
  const s = (performance.now() - t0) / 1000;
  if (seen !== events) throw new Error(`saw ${seen} of ${events} events`);
  if (state !== undefined && state.stats().refused > 0) {
    throw new Error("the model refused records");
  }
  state?.close();
  client.destroy();
  return events / s;
}

/** Parses `chunks`, handing each event to `each` (nothing retained). */
function stream(chunks: readonly Uint8Array[], each: (m: AmiMessage) => void): number {
  const parser = new AmiParser({ expectBanner: false });
  let n = 0;
  for (const c of chunks) {
    parser.push(c, (item) => {
      if (item.type === "event") {
        n++;
        each(item);
      }
    });
  }
  return n;
}

/** Chunks of the text made by `part(n)` for `n` in `from..to-1`, about 64 KiB each. */
function render(from: number, to: number, part: (n: number) => string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let text = "";
  for (let n = from; n < to; n++) {
    text += part(n);
    if (text.length >= 64 * 1024) {
      out.push(enc.encode(text));
      text = "";
    }
  }
  if (text !== "") out.push(enc.encode(text));
  return out;
}

/**
 * The model alone, ns per event: `channels` channels up (two per call), then
 * 6,000 calls starting and ending around that level (108,000 events), parsed
 * as they are applied; the parse alone, timed on the same bytes in the same
 * round, is subtracted. Best of 3.
 *
 * @param channels channels up
 * @returns ns per event
 */
export function modelCost(channels: number): number {
  const up = channels / 2;
  const STEADY = 6_000;
  const prefill = render(0, up, callStart);
  const steady = render(up, up + STEADY, (n) => callStart(n) + callEnd(n - up));
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const model = new LiveModel({ variables: ["CAMPAIGN"], maxChannels: 50_000 });
    stream(prefill, (m) => model.apply(m, 0));
    while (model.pollChange() !== undefined);
    if (model.channels.size !== channels) throw new Error(`${model.channels.size} channels up`);
    let t0 = performance.now();
    let names = 0;
    stream(steady, (m) => names += m.name.length);
    const parseMs = performance.now() - t0;
    t0 = performance.now();
    const n = stream(steady, (m) => {
      model.apply(m, 0);
      while (model.pollChange() !== undefined);
    });
    const applyMs = performance.now() - t0;
    if (model.channels.size !== channels || names === 0) throw new Error("the mix drifted");
    best = Math.min(best, ((applyMs - parseMs) * 1e6) / n);
  }
  return best;
}

/** Bytes of heap per tracked channel (a bridged call: two channels, one bridge), or NaN. */
function heapPerChannel(): number {
  // V8 only: on Bun (JavaScriptCore) heapUsed after a forced collection is not comparable.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return NaN;
  const CALLS = 5_000;
  const chunks: Uint8Array[] = []; // every call starts, none ends
  for (let n = 0; n < CALLS; n += 100) {
    let text = "";
    for (let i = n; i < n + 100; i++) text += callStart(i);
    chunks.push(enc.encode(text));
  }
  gc();
  gc();
  const before = process().memoryUsage().heapUsed;
  const model = new LiveModel({ variables: ["CAMPAIGN"] });
  const parser = new AmiParser({ expectBanner: false });
  for (const c of chunks) {
    parser.push(c, (item) => {
      if (item.type === "event") model.apply(item, 0);
    });
    while (model.pollChange() !== undefined);
  }
  chunks.length = 0;
  gc();
  gc();
  const after = process().memoryUsage().heapUsed;
  if (model.channels.size !== 2 * CALLS) throw new Error(`${model.channels.size} channels`);
  return (after - before) / model.channels.size;
}

function process(): { memoryUsage(): { heapUsed: number } } {
  return (globalThis as unknown as { process: { memoryUsage(): { heapUsed: number } } }).process;
}

/** Seconds from a client's start to a live state synced with `channels` channels. */
async function syncTime(channels: number): Promise<number> {
  const sim = await AmiSimulator.start({ dialplan: { b: { up: answerAndWait(3_600) } } });
  const dialer = new Client({
    host: sim.host,
    port: sim.port,
    username: "admin",
    secret: "amp111",
    keepaliveIdleMs: 0,
  }, defaultConnector());
  try {
    await dialer.start();
    for (let done = 0; done < channels / 2; done += 500) {
      await Promise.all(
        Array.from(
          { length: Math.min(500, channels / 2 - done) },
          () =>
            dialer.action("Originate", {
              Channel: "Local/up@b",
              Application: "Wait",
              Data: "3600",
              Async: "true",
            }, { timeoutMs: 60_000 }),
        ),
      );
    }
    const client = new Client({
      host: sim.host,
      port: sim.port,
      username: "admin",
      secret: "amp111",
      keepaliveIdleMs: 0,
      actionTimeoutMs: 120_000,
    }, defaultConnector());
    const live = createLiveState(client);
    const t0 = performance.now();
    await client.start();
    await live.synced({ timeoutMs: 120_000 });
    const s = (performance.now() - t0) / 1000;
    if (live.channels.size !== channels) throw new Error(`${live.channels.size} channels synced`);
    live.close();
    client.destroy();
    return s;
  } finally {
    dialer.destroy();
    await sim.stop();
  }
}

/**
 * Runs every measure.
 *
 * @returns the figures
 */
export async function benchLive(): Promise<LiveBenchRow[]> {
  const CALLS = 20_000;
  const chunks = callMix(CALLS, 500);
  const events = CALLS * EVENTS_PER_CALL;
  let off = 0;
  let on = 0;
  let floor = 0;
  for (let round = 0; round < 3; round++) { // alternated, best of 3 each
    off = Math.max(off, await clientRate(chunks, events, "off"));
    on = Math.max(on, await clientRate(chunks, events, "live"));
    floor = Math.max(floor, await clientRate(chunks, events, "floor"));
  }
  const ratio = (x: number) => Math.round((x / off) * 100) / 100;
  const rows: LiveBenchRow[] = [
    { name: "client events/s, no live state (call mix)", value: Math.round(off), unit: "events/s" },
    { name: "client events/s, with a live state", value: Math.round(on), unit: "events/s" },
    { name: "with / without", value: ratio(on), unit: "x" },
    {
      name: "client events/s, with only a Uniqueid lookup per event",
      value: Math.round(floor),
      unit: "events/s",
    },
    { name: "Uniqueid lookup only / without", value: ratio(floor), unit: "x" },
  ];
  for (const n of [100, 1_000, 10_000]) {
    rows.push({ name: `model cost per event, ${n} channels up`, value: modelCost(n), unit: "ns" });
  }
  const heap = heapPerChannel();
  if (!Number.isNaN(heap)) {
    rows.push({ name: "heap per tracked channel", value: Math.round(heap), unit: "bytes" });
  }
  rows.push({
    name: "sync 10,000 channels from the simulator",
    value: await syncTime(10_000),
    unit: "s",
  });
  return rows;
}

if (isMain(import.meta)) {
  for (const r of await benchLive()) {
    const v = r.value >= 100 ? Math.round(r.value).toLocaleString("en-US") : r.value.toFixed(2);
    console.log(`${r.name}: ${v} ${r.unit}`);
  }
  (globalThis as unknown as { process: { exit(c: number): void } }).process.exit(0);
}
