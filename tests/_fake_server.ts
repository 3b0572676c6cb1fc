/**
 * A scripted, sans-IO fake server for engine tests: drives an
 * {@link AmiConnection} with a simulated clock, records everything it
 * outputs, builds server messages, and replays recorded fixtures (mapping
 * the fixture's ActionIDs onto the ones the engine assigned).
 *
 * @module
 */

import { readFileSync } from "node:fs";
import {
  AmiConnection,
  AmiMessage,
  AmiParser,
  type ConnectionNotice,
  type ConnectionOptions,
  type Header,
  LocalProtocolError,
  type SettledNotice,
} from "../core/mod.ts";
import { messageText } from "../core/serializer.ts";
import { fixture } from "./_fixtures.ts";
import { seeded } from "./_codec.ts";

/** The ActionID parts used by tests. */
export const TEST_IDS = { instance: "inst0001", node: "pbx1", session: 1 } as const;

/** Options with test credentials; keepalive off unless overridden. */
export function testOptions(over: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return {
    username: "admin",
    secret: "labsecret",
    keepaliveIdleMs: 0,
    ids: TEST_IDS,
    ...over,
  };
}

/** A harness already logged in (state `ready`). */
export function readyHarness(over: Partial<ConnectionOptions> = {}): Harness {
  const h = new Harness(testOptions(over), 0);
  h.login();
  if (h.conn.state !== "ready") throw new Error(`expected ready, got ${h.conn.state}`);
  return h;
}

/** How a byte string is cut before it is fed. */
export type Chunking = "whole" | "bytes" | { seed: number };

/** All the chunkings the fixture tests use. */
export const CHUNKINGS: readonly Chunking[] = ["whole", "bytes", { seed: 1 }, { seed: 7 }];

/** A label for a chunking. */
export function chunkingName(c: Chunking): string {
  return typeof c === "string" ? c : `random chunks (seed ${c.seed})`;
}

const encoder = new TextEncoder();

/** Text to bytes. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A server message's bytes. */
export function serverMessage(headers: readonly Header[]): Uint8Array {
  return encoder.encode(messageText(headers));
}

/** The engine plus a simulated clock and everything it produced, drained in the documented order. */
export class Harness {
  /** The engine under test. */
  readonly conn: AmiConnection;
  /** The simulated monotonic clock, ms. */
  now: number;
  /** Every byte chunk the engine transmitted. */
  readonly transmitted: Uint8Array[] = [];
  /** The actions the engine transmitted, parsed. */
  readonly actions: AmiMessage[] = [];
  /** Every notice, in order. */
  readonly notices: ConnectionNotice[] = [];
  /** Every event pulled, in order. */
  readonly events: AmiMessage[] = [];
  readonly #actionParser = new AmiParser({ expectBanner: false });
  /** Settled notices by ActionID (a second settle for one ID is recorded in `doubleSettles`). */
  readonly settled: Map<string, SettledNotice> = new Map();
  /** ActionIDs that settled more than once (must stay empty). */
  readonly doubleSettles: string[] = [];
  /** Errors `send` threw in a replay (the action was skipped). */
  readonly refused: LocalProtocolError[] = [];

  /** @param options engine options (defaults from {@link testOptions}) @param now start time */
  constructor(options: ConnectionOptions = testOptions(), now = 0) {
    this.now = now;
    this.conn = new AmiConnection(options, now);
    this.drain();
  }

  /** Drains the outputs in the documented order: transmit, notices, events. */
  drain(): void {
    for (let b = this.conn.pollTransmit(); b !== undefined; b = this.conn.pollTransmit()) {
      this.transmitted.push(b);
      this.#actionParser.push(b, (item) => this.actions.push(item as AmiMessage));
    }
    for (let n = this.conn.poll(); n !== undefined; n = this.conn.poll()) {
      this.notices.push(n);
      if (n.type === "settled") {
        if (this.settled.has(n.actionId)) this.doubleSettles.push(n.actionId);
        this.settled.set(n.actionId, n);
      }
    }
    for (let e = this.conn.pollEvent(); e !== undefined; e = this.conn.pollEvent()) {
      this.events.push(e);
    }
  }

  /** Feeds bytes cut as asked, draining after every chunk. */
  feed(data: Uint8Array | string, chunking: Chunking = "whole"): void {
    const b = typeof data === "string" ? bytes(data) : data;
    if (chunking === "whole") {
      this.conn.receive(b, this.now);
      this.drain();
      return;
    }
    const rnd = chunking === "bytes" ? undefined : seeded(chunking.seed);
    for (let pos = 0; pos < b.length;) {
      const size = rnd === undefined ? 1 : 1 + Math.floor(rnd() * 64);
      this.conn.receive(b.subarray(pos, pos + size), this.now);
      this.drain();
      pos += size;
    }
  }

  /** Feeds one server message. */
  say(headers: readonly Header[]): void {
    this.feed(serverMessage(headers));
  }

  /** Feeds the banner, answers the Login with success, and checks the state is ready. */
  login(): void {
    this.feed("Asterisk Call Manager/13.0.0\r\n");
    const login = this.lastAction();
    this.say([["Response", "Success"], ["ActionID", login.actionId ?? ""], [
      "Message",
      "Authentication accepted",
    ]]);
  }

  /** The last action the engine transmitted. */
  lastAction(): AmiMessage {
    const a = this.actions[this.actions.length - 1];
    if (a === undefined) throw new Error("nothing transmitted");
    return a;
  }

  /** Sends an action through the engine and drains; returns the ActionID. */
  send(
    name: string,
    fields?: Record<string, string> | [string, string][],
    options?: Parameters<AmiConnection["send"]>[1],
  ): string {
    const h = this.conn.send({ name, fields }, options, this.now);
    this.drain();
    return h.actionId;
  }

  /** Moves the clock to `t` and fires the timer if it is due. */
  advanceTo(t: number): void {
    this.now = t;
    const due = this.conn.pollTimeout();
    if (due !== undefined && due <= t) {
      this.conn.handleTimeout(t);
    }
    this.drain();
  }

  /** Jumps from timeout to timeout until `t` (the quinn `Pair` way). */
  runUntil(t: number): void {
    for (let i = 0; i < 100_000; i++) {
      const due = this.conn.pollTimeout();
      if (due === undefined || due > t) break;
      this.now = Math.max(this.now, due);
      this.conn.handleTimeout(this.now);
      this.drain();
    }
    this.now = Math.max(this.now, t);
  }

  /** The state notices in order, as `state` or `state:reason`. */
  states(): string[] {
    return this.notices.flatMap((n) =>
      n.type === "state" ? [n.reason ? `${n.state}:${n.reason}` : n.state] : []
    );
  }

  /** Every byte transmitted, as one latin-1 string. */
  transmittedText(): string {
    return this.transmitted.map((b) => binary(b)).join("");
  }
}

/** Bytes as a byte-transparent string (one char per byte). */
export function binary(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode(...b.subarray(i, i + 8192));
  }
  return s;
}

function unbinary(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** One client send recorded in a fixture's `.txt`. */
export interface RecordedSend {
  /** Seconds since connect. */
  readonly t: number;
  /** Bytes received before this send. */
  readonly rx: number;
  /** The exact text sent (escapes decoded, one char per byte). */
  readonly text: string;
  /** The (first) action parsed from it, if it is one. */
  readonly action: AmiMessage | undefined;
  /** Every action in it (a burst is several in one write). */
  readonly actions: AmiMessage[];
  /** The ActionID sent, if any. */
  readonly actionId: string | undefined;
}

/** A fixture's recorded client sends (the recorded connection only) and whether the server closed. */
export function recordedSends(name: string): { sends: RecordedSend[]; eof: boolean } {
  const txt = readFileSync(new URL(`./fixtures/${name}.txt`, import.meta.url), "utf8");
  const lines = txt.split("\n");
  const sends: RecordedSend[] = [];
  let eof = false;
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s+\[t=([\d.]+) rx@(\d+)\] (SEND|EOF)/.exec(lines[i]);
    if (!m) continue;
    if (m[3] === "EOF") {
      eof = true;
      continue;
    }
    const text = unescapePython(lines[i + 1].trim());
    const parsed: AmiMessage[] = [];
    if (/^action\s*:/i.test(text) && !text.includes("...[")) {
      new AmiParser({ expectBanner: false }).push(
        unbinary(text),
        (item) => parsed.push(item as AmiMessage),
      );
    }
    const action = parsed[0];
    sends.push({
      t: Number(m[1]),
      rx: Number(m[2]),
      text,
      action,
      actions: parsed,
      actionId: action?.actionId,
    });
  }
  return { sends, eof };
}

function unescapePython(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|r|n|t|\\|'|")/g, (_, e: string) => {
    if (e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
    return e === "r" ? "\r" : e === "n" ? "\n" : e === "t" ? "\t" : e;
  });
}

/**
 * What a replay does at each recorded send: send the actions (return their
 * ActionIDs, aligned with `send.actions`; `undefined` where not sent) or skip.
 */
export type SendHook = (send: RecordedSend, h: Harness) => (string | undefined)[];

/**
 * Sends each recorded action through the engine (its fields, minus Action
 * and ActionID); one the engine refuses (LocalProtocolError) is skipped.
 */
export const sendRecorded: SendHook = (send, h) =>
  send.actions.map((a) => {
    const fields = a.headers.slice(1).filter(([k]) => k.toLowerCase() !== "actionid")
      .map(([k, v]) => [k, v] as [string, string]);
    try {
      return h.send(a.name, fields);
    } catch (err) {
      if (err instanceof LocalProtocolError) {
        h.refused.push(err);
        return undefined;
      }
      throw err;
    }
  });

/** Options of {@link replayFixture}. */
export interface ReplayOptions {
  /** How to cut each segment of the capture. */
  readonly chunking?: Chunking;
  /** What to do at each non-login send (default {@link sendRecorded}). */
  readonly onSend?: SendHook;
  /** Engine options (default {@link testOptions}). */
  readonly options?: ConnectionOptions;
}

/** What a replay produced. */
export interface Replay {
  /** The harness, after the whole capture (and EOF, if recorded) was fed. */
  readonly h: Harness;
  /** Fixture ActionID to engine ActionID. */
  readonly idMap: Map<string, string>;
  /** The recorded sends. */
  readonly sends: RecordedSend[];
}

/**
 * Replays a capture against a fresh engine: feeds the bytes the server sent
 * up to each recorded client send (clock at the recorded time), lets the
 * engine's own Login/Challenge stand for the recorded ones, calls `onSend`
 * for the others, and rewrites the fixture's ActionIDs into the engine's in
 * what follows. Ends with EOF when the server closed.
 */
export function replayFixture(name: string, options: ReplayOptions = {}): Replay {
  const raw = binary(fixture(`${name}.raw`));
  const { sends, eof } = recordedSends(name);
  const h = new Harness(options.options ?? testOptions(), 0);
  const idMap = new Map<string, string>();
  const chunking = options.chunking ?? "whole";
  const onSend = options.onSend ?? sendRecorded;
  const rewrite = (text: string): string => {
    for (const [from, to] of idMap) {
      text = text.split(`ActionID: ${from}\r\n`).join(`ActionID: ${to}\r\n`);
    }
    return text;
  };
  let pos = 0;
  for (const s of sends) {
    if (s.rx > pos) {
      h.feed(unbinary(rewrite(raw.slice(pos, s.rx))), chunking);
      pos = s.rx;
    }
    h.now = Math.max(h.now, Math.round(s.t * 1000));
    const lname = s.action?.name.toLowerCase();
    if (lname === "login" || lname === "challenge") {
      const mine = h.actions.filter((a) => a.name.toLowerCase() === lname).pop();
      if (mine?.actionId !== undefined && s.actionId !== undefined) {
        idMap.set(s.actionId, mine.actionId);
      }
    } else {
      const ids = onSend(s, h);
      s.actions.forEach((a, i) => {
        const id = ids[i];
        if (id !== undefined && a.actionId !== undefined) idMap.set(a.actionId, id);
      });
    }
  }
  if (pos < raw.length) h.feed(unbinary(rewrite(raw.slice(pos))), chunking);
  if (eof) {
    h.conn.receiveEof(h.now);
    h.drain();
  }
  return { h, idMap, sends };
}

export { AmiMessage };
