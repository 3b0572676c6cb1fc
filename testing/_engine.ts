/**
 * The simulated Asterisk behind every session: users, permission classes,
 * event broadcast, channels and global variables. No sockets here.
 *
 * @module
 */

import type { Header } from "../core/message.ts";
import { messageText } from "../core/serializer.ts";
import { BridgeTable } from "./_bridges.ts";
import { parseLocal, SimCall } from "./_channels.ts";
import type { LegHooks, LegOptions, SimChannel } from "./_channels.ts";
import type { CallHost, ChannelInfo, OriginateRequest } from "./_channels.ts";
import type { Dialplan } from "./_dialplan.ts";
import { QueueTable } from "./_queues.ts";
import type { QueueOptions } from "./_queues.ts";
import type { Emitter } from "./_emitter.ts";
import type { SimClock, TimerHandle } from "./clock.ts";

/** An AMI user as in manager.conf. */
export interface SimUser {
  /** Login name. */
  username: string;
  /** Plain secret (also used for the MD5 challenge). */
  secret: string;
  /** Read classes, e.g. `"all"`, `"call,user"`, `""` for none. */
  read: string;
  /** Write classes, e.g. `"all"`, `"call,originate"`. */
  write: string;
}

/** AMI permission classes and their bits, as in Asterisk's manager.h. */
export const CLASS_BITS: Readonly<Record<string, number>> = {
  system: 1 << 0,
  call: 1 << 1,
  log: 1 << 2,
  verbose: 1 << 3,
  command: 1 << 4,
  agent: 1 << 5,
  user: 1 << 6,
  config: 1 << 7,
  dtmf: 1 << 8,
  reporting: 1 << 9,
  cdr: 1 << 10,
  dialplan: 1 << 11,
  originate: 1 << 12,
  agi: 1 << 13,
  cc: 1 << 14,
  aoc: 1 << 15,
  test: 1 << 16,
  security: 1 << 17,
  message: 1 << 18,
};

/** Every class. */
export const ALL_CLASSES = (1 << 19) - 1;

/** Parses `"call,user"` / `"all"` into a mask (unknown words count as nothing). */
export function parseClasses(text: string): number {
  let mask = 0;
  for (const w of text.split(",")) {
    const k = w.trim().toLowerCase();
    if (k === "all") mask |= ALL_CLASSES;
    else mask |= CLASS_BITS[k] ?? 0;
  }
  return mask;
}

/** What a session must implement to receive broadcast events. */
export interface EventTarget {
  /** Whether the session takes this event (logged in, read class, mask, filters). */
  wantsEvent(clsBit: number, name: string, text: string): boolean;
  /** Writes an event. */
  deliverEvent(text: string): void;
}

/** Counters the simulator keeps (see `AmiSimulator.stats`). */
export interface SimulatorStats {
  /** TCP/TLS connections accepted. */
  connections: number;
  /** Connections refused or closed at once by `refuseConnections`. */
  refused: number;
  /** Successful logins. */
  logins: number;
  /** Failed logins. */
  loginFailures: number;
  /** Actions received (complete messages). */
  actions: number;
  /** Events written to sessions (one per session). */
  eventsSent: number;
  /** Bytes written to sockets. */
  bytesSent: number;
  /** Reads taken from client sockets. */
  socketReads: number;
  /** Socket writes (the answers to one read go out in one write). */
  socketWrites: number;
  /** Sessions closed because they did not read (writetimeout). */
  writeTimeouts: number;
  /** Calls originated that created channels. */
  callsStarted: number;
  /** Calls that ended. */
  callsEnded: number;
}

/** Options of a {@link SimEngine}. */
export interface EngineOptions {
  users: SimUser[];
  dialplan: Dialplan;
  clock: SimClock;
  channelVars: readonly string[];
  asteriskVersion: string;
  amiVersion: string;
  loginFailureDelayMs: number;
  queues: readonly QueueOptions[];
}

/** The shared state of one simulator. */
export class SimEngine implements CallHost {
  readonly users: Map<string, SimUser>;
  readonly dialplan: Dialplan;
  readonly clock: SimClock;
  readonly channelVars: readonly string[];
  readonly asteriskVersion: string;
  readonly amiVersion: string;
  readonly loginFailureDelayMs: number;
  readonly sessions: Set<EventTarget> = new Set();
  readonly globals: Map<string, string> = new Map([
    ["ASTETCDIR", "/etc/asterisk"],
    ["ASTMODDIR", "/usr/lib/asterisk/modules"],
  ]);
  readonly #channels = new Map<string, SimChannel>();
  readonly stats: SimulatorStats = {
    connections: 0,
    refused: 0,
    logins: 0,
    loginFailures: 0,
    actions: 0,
    eventsSent: 0,
    bytesSent: 0,
    socketReads: 0,
    socketWrites: 0,
    writeTimeouts: 0,
    callsStarted: 0,
    callsEnded: 0,
  };
  startedAt: number;
  startedWall: number;
  callsProcessed = 0;
  #uniq = 0;
  #local = 0;
  readonly emitter: Emitter;
  #batch: Array<() => void> | undefined;
  readonly #timers = new Set<TimerHandle>();
  #front: Array<() => void> = [];
  #deferred: Array<() => void> = [];
  readonly bridges: BridgeTable;
  readonly queues: QueueTable;

  constructor(options: EngineOptions) {
    this.users = new Map(options.users.map((u) => [u.username, u]));
    this.dialplan = options.dialplan;
    this.clock = options.clock;
    this.channelVars = options.channelVars;
    this.asteriskVersion = options.asteriskVersion;
    this.amiVersion = options.amiVersion;
    this.loginFailureDelayMs = options.loginFailureDelayMs;
    this.startedAt = this.clock.now();
    this.startedWall = this.clock.wallNow();
    this.emitter = {
      event: (name, cls, headers) => this.broadcast(name, cls, headers),
      batch: (fn) => this.batch(fn),
      priority: (send) => {
        if (this.#batch) this.#front.push(send);
        else send();
      },
    };
    this.bridges = new BridgeTable(this);
    this.queues = new QueueTable(this, options.queues);
  }

  /** Runs `fn` once the current simulated step is over, inside the same batch. */
  defer(fn: () => void): void {
    if (this.#batch) this.#deferred.push(fn);
    else fn();
  }

  /** Runs `fn` and delivers what it emitted, priority responses first. */
  batch(fn: () => void): void {
    if (this.#batch) {
      fn();
      return;
    }
    const items: Array<() => void> = [];
    this.#batch = items;
    try {
      fn();
      // Deferred work may defer more; a bound keeps a bug from looping forever.
      for (let n = 0; this.#deferred.length > 0; n++) {
        if (n > 100_000) throw new Error("simulator: deferred work does not settle");
        this.#deferred.shift()!();
      }
    } finally {
      this.#deferred = [];
      this.#batch = undefined;
      const front = this.#front;
      this.#front = [];
      for (const f of front) f();
      for (const f of items) f();
    }
  }

  /**
   * Broadcasts an event to every session that takes it.
   *
   * @param name event name
   * @param cls class name (`call`, `dialplan`, ...), or `""` for a raw event
   *   that already carries its `Privilege` (or has none)
   * @param headers headers after `Event` and `Privilege`
   */
  broadcast(name: string, cls: string, headers: readonly Header[]): void {
    const send = () => {
      const all: Header[] = [["Event", name]];
      if (cls !== "") all.push(["Privilege", `${cls},all`]);
      all.push(...headers);
      const text = messageText(all);
      const bit = cls === "" ? ALL_CLASSES : parseClasses(cls);
      for (const s of this.sessions) {
        if (s.wantsEvent(bit, name, text)) s.deliverEvent(text);
      }
    };
    if (this.#batch) this.#batch.push(send);
    else send();
  }

  /** Monotonic now of the simulator clock. */
  now(): number {
    return this.clock.now();
  }

  /** Wall-clock now of the simulator clock. */
  wallNow(): number {
    return this.clock.wallNow();
  }

  /** Timer on the simulator clock (cancelled by {@link SimEngine.clearAllTimers}). */
  setTimer(ms: number, fn: () => void): TimerHandle {
    const h = this.clock.setTimer(ms, () => {
      this.#timers.delete(h);
      fn();
    });
    this.#timers.add(h);
    return h;
  }

  /** Cancels a timer. */
  clearTimer(h: TimerHandle): void {
    this.#timers.delete(h);
    this.clock.clearTimer(h);
  }

  /** Cancels every timer this engine set (on stop). */
  clearAllTimers(): void {
    for (const h of this.#timers) this.clock.clearTimer(h);
    this.#timers.clear();
  }

  /**
   * Broadcasts a message given whole (`Event` first); its `Privilege`
   * header, if any, gives the classes that receive it.
   */
  broadcastRaw(headers: readonly Header[]): void {
    const name = headers.find(([k]) => k.toLowerCase() === "event")?.[1] ?? "";
    const priv = headers.find(([k]) => k.toLowerCase() === "privilege")?.[1];
    const bit = priv === undefined ? ALL_CLASSES : parseClasses(priv) || ALL_CLASSES;
    const text = messageText(headers);
    const send = () => {
      for (const s of this.sessions) if (s.wantsEvent(bit, name, text)) s.deliverEvent(text);
    };
    if (this.#batch) this.#batch.push(send);
    else send();
  }

  /** `<epoch seconds>.<sequence>`. */
  nextUniqueid(): string {
    return `${Math.floor(this.wallNow() / 1000)}.${this.#uniq++}`;
  }

  /** The 8-hex-digit suffix of a Local channel pair. */
  nextLocalId(): string {
    return (this.#local++).toString(16).padStart(8, "0");
  }

  /** Registers a live channel. */
  addChannel(c: SimChannel): void {
    this.#channels.set(c.name, c);
  }

  /** Forgets a channel that hung up. */
  removeChannel(c: SimChannel): void {
    this.#channels.delete(c.name);
  }

  /** Counts an ended call. */
  callEnded(_answered: boolean): void {
    this.stats.callsEnded++;
    this.callsProcessed++;
  }

  /** The live channels, in creation order. */
  channelList(): SimChannel[] {
    return [...this.#channels.values()];
  }

  /** A live channel by exact name (case-insensitive, as Asterisk). */
  channel(name: string): SimChannel | undefined {
    const exact = this.#channels.get(name);
    if (exact) return exact;
    const lower = name.toLowerCase();
    for (const c of this.#channels.values()) if (c.name.toLowerCase() === lower) return c;
    return undefined;
  }

  /** Read-only views of the live channels. */
  channelInfos(): ChannelInfo[] {
    return this.channelList().map((c) => c.info());
  }

  /** A live channel by Uniqueid. */
  channelByUniqueid(uniqueid: string): SimChannel | undefined {
    for (const c of this.#channels.values()) if (c.uniqueid === uniqueid) return c;
    return undefined;
  }

  /** Starts a leg for a Dial or a Queue (call inside a batch). */
  startLeg(
    caller: SimChannel,
    iface: string,
    hooks: LegHooks,
    options: LegOptions,
  ): SimCall | undefined {
    const local = parseLocal(iface);
    if (!local) return undefined;
    let run = options.steps ?? this.dialplan[local.context]?.[local.exten];
    // A queue member whose extension does not exist rings until the round ends.
    if (run === undefined && options.app === "AppQueue") {
      run = [{ app: "Ringing" }, { app: "Ring" }];
    }
    if (run === undefined) return undefined;
    const req: OriginateRequest = {
      channel: iface,
      actionId: undefined,
      async: true,
      application: undefined,
      data: "",
      context: local.context,
      exten: local.exten,
      priority: "1",
      callerIdNum: undefined,
      callerIdName: undefined,
      timeoutMs: 0,
      variables: [],
      respond: () => {},
    };
    const call = new SimCall(this, req, local.exten, local.context, {
      ...options,
      caller,
      hooks,
      steps: run,
    });
    this.stats.callsStarted++;
    call.startLeg();
    return call;
  }

  /** Starts an Originate (call inside a batch). Returns false when the technology is unknown. */
  originate(req: OriginateRequest): void {
    const local = parseLocal(req.channel);
    const inUse = (id: string | undefined) =>
      id !== undefined && this.channelByUniqueid(id) !== undefined;
    const conflict = local !== undefined && req.channelId !== undefined &&
      (inUse(req.channelId) || inUse(req.otherChannelId ?? `${req.channelId};2`));
    if (!local || conflict) {
      // Unknown technology: nothing is created.
      if (req.async) {
        const h: Header[] = [];
        if (req.actionId !== undefined) h.push(["ActionID", req.actionId]);
        h.push(["Response", "Failure"], ["Channel", req.channel]);
        if (req.application !== undefined) {
          h.push(["Application", req.application], ["Data", req.data]);
        } else h.push(["Context", req.context ?? ""], ["Exten", req.exten ?? ""]);
        h.push(
          ["Reason", "0"],
          ["Uniqueid", req.channelId ?? "<unknown>"],
          ["CallerIDNum", req.callerIdNum ?? "<unknown>"],
          ["CallerIDName", req.callerIdName ?? "<unknown>"],
        );
        this.broadcast("OriginateResponse", "call", h);
      } else {
        req.respond([["Response", "Error"], ["Message", "Originate failed"]]);
      }
      return;
    }
    const exists = this.dialplan[local.context]?.[local.exten] !== undefined;
    if (!req.async && !exists) {
      req.respond([["Response", "Error"], ["Message", "Originate failed"]]);
    }
    const call = new SimCall(this, req, local.exten, local.context);
    if (exists) this.stats.callsStarted++;
    call.start(exists);
  }

  /** Hangs up every channel silently and forgets them (restart). */
  reset(): void {
    for (const c of this.#channels.values()) c.call?.discard();
    this.#channels.clear();
    this.bridges.clear();
    this.queues.reset();
    this.clearAllTimers();
    this.startedAt = this.clock.now();
    this.startedWall = this.clock.wallNow();
  }
}

/** Epoch seconds with 6 decimals, as Ping's `Timestamp`. */
export function timestamp(wallMs: number): string {
  return (wallMs / 1000).toFixed(6);
}

/** `2026-11-27T12:23:30.967+0000`, as `EventTV`. */
export function eventTv(wallMs: number): string {
  return new Date(wallMs).toISOString().replace("Z", "+0000");
}
