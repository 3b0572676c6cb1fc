/**
 * The simulator's sockets: a `node:net` (or `node:tls`) server, one
 * {@link SimSession} per connection, and the fault injection.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import { Buffer } from "node:buffer";
import type { Header } from "../core/message.ts";
import { messageText } from "../core/serializer.ts";
import type { BridgeInfo } from "./_bridges.ts";
import type { ChannelInfo } from "./_channels.ts";
import { LAB_QUEUES } from "./_queues.ts";
import type { QueueInfo, QueueMemberOptions, QueueOptions } from "./_queues.ts";
import { LAB_DIALPLAN } from "./_dialplan.ts";
import type { Dialplan } from "./_dialplan.ts";
import { CLASS_BITS, parseClasses, SimEngine } from "./_engine.ts";
import type { SimulatorStats, SimUser } from "./_engine.ts";
import { SimSession } from "./_session.ts";
import { RealClock } from "./clock.ts";
import type { SimClock } from "./clock.ts";

/** Options of {@link AmiSimulator.start}. */
export interface SimulatorOptions {
  /** Listen address. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Banner line. Default `Asterisk Call Manager/13.0.0`. */
  banner?: string;
  /** Users. Default `[{ username: "admin", secret: "amp111", read: "all", write: "all" }]`. */
  users?: SimUser[];
  /** What each `Local/<exten>@<context>` does. Default {@link LAB_DIALPLAN}. */
  dialplan?: Dialplan;
  /** manager.conf `channelvars`: variables shown as `ChanVariable` headers. Default none. */
  channelVariables?: string[];
  /** Time source. Default real time. */
  clock?: SimClock;
  /** Delay before a failed login is answered (and the connection closed). Default 1000 ms. */
  loginFailureDelayMs?: number;
  /**
   * Asterisk's `writetimeout`: a session whose socket makes no write
   * progress for this long is disconnected. Default 100 ms; 0 disables.
   */
  writeTimeoutMs?: number;
  /** PEM certificate and key: serve AMI over TLS. */
  tls?: { cert: string; key: string };
  /** `AsteriskVersion` in CoreSettings and `core show version`. */
  asteriskVersion?: string;
  /**
   * The queues (queues.conf) the dialplan's `Queue` step waits in. Default
   * {@link LAB_QUEUES} with the default dialplan, none with a dialplan of your own.
   */
  queues?: QueueOptions[];
}

/** Options of {@link AmiSimulator.flood}. */
export interface FloodOptions {
  /** Number of events per session. */
  count: number;
  /** Events per second; omitted: as fast as each socket takes them. */
  ratePerSec?: number;
  /** The event to send (headers, `Event` first); default a realistic `Newexten`. */
  event?: Header[];
}

/** Options of {@link AmiSimulator.restart}. */
export interface RestartOptions {
  /** Connections are refused for this long after the restart. Default 0. */
  downMs?: number;
  /**
   * Keep the calls, bridges and queues (only the AMI sessions go away, as
   * when the manager module reloads). Default false: like a real Asterisk
   * restart, every call is gone and the uptime starts over.
   */
  keepCalls?: boolean;
}

/** How a queue member answers, for {@link AmiSimulator.setQueueMemberBehaviour}. */
export type QueueMemberBehaviour = Pick<
  QueueMemberOptions,
  "answerAfterSeconds" | "talkSeconds" | "neverAnswers"
>;

/** A connection as seen by tests. */
export interface SessionInfo {
  /** Session number. */
  readonly id: number;
  /** Logged-in user, if any. */
  readonly username: string | undefined;
  /** Whether the session logged in. */
  readonly authenticated: boolean;
}

/** Which sessions a fault applies to: all, one id, or a predicate. */
export type SessionFilter = number | ((session: SessionInfo) => boolean);

const DEFAULT_USERS: SimUser[] = [{
  username: "admin",
  secret: "amp111",
  read: "all",
  write: "all",
}];

class Conn {
  readonly session: SimSession;
  stalled = false;
  ended = false;
  destroyed = false;
  #stallQueue: string[] = [];
  #held: string[] = [];
  #heldTimer: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  /** Bytes handed to the socket so far, and how many had left its buffer at the last check. */
  #handed = 0;
  #lastDrained = 0;
  #closeAfterFlush = false;
  #reading = false; // inside receive(): text is collected in #out
  #out = "";
  /** Events still to be dropped silently (a fault). */
  dropEvents = 0;

  constructor(
    readonly sim: AmiSimulator,
    readonly socket: net.Socket,
    id: number,
    engine: SimEngine,
  ) {
    const addr = (a: string | undefined, p: number | undefined) =>
      `IPV4/TCP/${(a ?? "").replace(/^::ffff:/, "")}/${p ?? 0}`;
    this.session = new SimSession(engine, id, {
      write: (text, kind) => this.write(text, kind),
      close: () => this.closeGracefully(),
    }, {
      local: addr(socket.localAddress, socket.localPort),
      remote: addr(socket.remoteAddress, socket.remotePort),
    });
  }

  /**
   * Feeds one read to the session. What it answers is collected and written
   * in one socket write once the whole read is processed.
   */
  receive(chunk: Uint8Array): void {
    if (this.destroyed) return;
    this.sim.engine.stats.socketReads++;
    this.#reading = true;
    try {
      this.session.receive(chunk);
    } finally {
      this.#reading = false;
      this.#flush();
    }
  }

  info(): SessionInfo {
    return {
      id: this.session.id,
      username: this.session.username,
      authenticated: this.session.authenticated,
    };
  }

  write(text: string, kind: "response" | "event"): void {
    if (this.destroyed || this.ended) return;
    if (kind === "event" && this.dropEvents > 0) {
      this.dropEvents--;
      return;
    }
    const sim = this.sim;
    if (kind === "response" && sim.responseDelayMs > 0) {
      sim.engine.setTimer(sim.responseDelayMs, () => this.#emit(text, kind));
      return;
    }
    this.#emit(text, kind);
  }

  #emit(text: string, kind: "response" | "event"): void {
    if (kind === "response" && this.sim.reordering) {
      this.#held.push(text);
      this.#heldTimer ??= setTimeout(() => this.#releaseHeld(), 10);
      return;
    }
    this.raw(text);
    if (kind === "event" && this.#held.length > 0) this.#releaseHeld();
  }

  #releaseHeld(): void {
    if (this.#heldTimer !== undefined) clearTimeout(this.#heldTimer);
    this.#heldTimer = undefined;
    const held = this.#held;
    this.#held = [];
    for (const t of held) this.raw(t);
    if (this.#closeAfterFlush) this.closeGracefully();
  }

  /**
   * Writes to the socket (held while stalled), watching for a reader that
   * does not read. Text written while a read is processed is collected and
   * written with the rest of the answers to that read.
   */
  raw(data: string | Uint8Array): boolean {
    if (this.destroyed || this.ended) return false;
    if (this.stalled) {
      this.#stallQueue.push(typeof data === "string" ? data : Buffer.from(data).toString("latin1"));
      return true;
    }
    if (typeof data === "string" && this.#reading) {
      this.#out += data;
      return true;
    }
    this.#flush();
    return this.#write(data);
  }

  #flush(): void {
    if (this.#out === "") return;
    const text = this.#out;
    this.#out = "";
    if (!this.destroyed && !this.ended) this.#write(text);
  }

  #write(data: string | Uint8Array): boolean {
    const stats = this.sim.engine.stats;
    stats.socketWrites++;
    const bytes = typeof data === "string" ? Buffer.byteLength(data) : data.length;
    stats.bytesSent += bytes;
    this.#handed += bytes;
    const ok = this.socket.write(data);
    if (!ok) this.#startWatchdog();
    return ok;
  }

  #startWatchdog(): void {
    const limit = this.sim.writeTimeoutMs;
    if (limit <= 0 || this.#watchdog !== undefined) return;
    // Progress is what left the socket's buffer (handed over minus still
    // pending): new writes refill the buffer while the client reads, so the
    // buffer's size alone says nothing.
    this.#lastDrained = this.#handed - this.socket.writableLength;
    this.#watchdog = setInterval(() => {
      const pending = this.socket.writableLength;
      const drained = this.#handed - pending;
      if (this.destroyed || pending === 0) {
        this.#stopWatchdog();
      } else if (!this.stalled && drained <= this.#lastDrained) {
        this.sim.engine.stats.writeTimeouts++;
        this.destroy();
      } else {
        this.#lastDrained = drained;
      }
    }, limit);
  }

  #stopWatchdog(): void {
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }

  setStall(on: boolean): void {
    this.stalled = on;
    if (on) {
      this.socket.pause();
      return;
    }
    const q = this.#stallQueue;
    this.#stallQueue = [];
    for (const t of q) this.raw(t);
    this.socket.resume();
  }

  closeGracefully(): void {
    if (this.#held.length > 0) {
      this.#closeAfterFlush = true;
      return;
    }
    if (this.destroyed || this.ended) return;
    this.#flush();
    this.ended = true;
    this.socket.end();
  }

  halfClose(): void {
    if (this.destroyed || this.ended) return;
    this.#flush();
    this.ended = true;
    this.socket.end();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#out = "";
    this.#stopWatchdog();
    if (this.#heldTimer !== undefined) clearTimeout(this.#heldTimer);
    this.session.closed();
    this.socket.destroy();
  }

  /** Waits until the socket can take more, or is gone. */
  drained(): Promise<void> {
    if (this.destroyed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }
}

/**
 * An AMI server that behaves like Asterisk, for tests and demos: logins,
 * actions, simulated channels and their events, and faults on demand.
 *
 * @example
 * const sim = await AmiSimulator.start();
 * // connect a client to sim.host:sim.port, log in as admin/amp111
 * await sim.stop();
 */
export class AmiSimulator {
  /** @internal */
  readonly engine: SimEngine;
  /** @internal */
  responseDelayMs = 0;
  /** @internal */
  reordering = false;
  /** @internal */
  readonly writeTimeoutMs: number;
  readonly #server: net.Server;
  readonly #conns = new Map<number, Conn>();
  readonly #banner: string;
  readonly #ownClock: RealClock | undefined;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #nextId = 1;
  #refuseUntil = 0;
  #host = "127.0.0.1";
  #port = 0;
  #stopped = false;
  #stalledAll = false;

  private constructor(options: SimulatorOptions) {
    const clock = options.clock ?? (this.#ownClock = new RealClock());
    this.engine = new SimEngine({
      users: options.users ?? DEFAULT_USERS,
      dialplan: options.dialplan ?? LAB_DIALPLAN,
      clock,
      channelVars: options.channelVariables ?? [],
      asteriskVersion: options.asteriskVersion ?? "20.0.0-amikit-sim",
      amiVersion: (options.banner ?? "Asterisk Call Manager/13.0.0").split("/").pop() ?? "13.0.0",
      loginFailureDelayMs: options.loginFailureDelayMs ?? 1000,
      queues: options.queues ?? (options.dialplan === undefined ? LAB_QUEUES : []),
    });
    this.#banner = options.banner ?? "Asterisk Call Manager/13.0.0";
    this.writeTimeoutMs = options.writeTimeoutMs ?? 100;
    const onConn = (socket: net.Socket) => this.#accept(socket);
    this.#server = options.tls
      ? tls.createServer({ cert: options.tls.cert, key: options.tls.key }, onConn)
      : net.createServer(onConn);
  }

  /**
   * Starts a simulator listening on loopback.
   *
   * @param options address, users, dialplan, clock, faults defaults, TLS
   * @returns the running simulator
   */
  static async start(options: SimulatorOptions = {}): Promise<AmiSimulator> {
    const sim = new AmiSimulator(options);
    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      sim.#server.once("error", reject);
      sim.#server.listen(options.port ?? 0, host, () => {
        sim.#server.off("error", reject);
        resolve();
      });
    });
    const addr = sim.#server.address() as net.AddressInfo;
    sim.#host = host;
    sim.#port = addr.port;
    return sim;
  }

  #accept(socket: net.Socket): void {
    socket.on("error", () => {});
    if (this.#stopped || performance.now() < this.#refuseUntil) {
      this.engine.stats.refused++;
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.engine.stats.connections++;
    const id = this.#nextId++;
    const conn = new Conn(this, socket, id, this.engine);
    this.#conns.set(id, conn);
    if (this.#stalledAll) conn.setStall(true);
    socket.on("data", (chunk: Uint8Array) => conn.receive(chunk));
    socket.on("close", () => {
      conn.destroyed = true;
      conn.session.closed();
      this.#conns.delete(id);
    });
    conn.session.open(this.#banner);
  }

  /** Listen address. */
  get host(): string {
    return this.#host;
  }

  /** Listen port. */
  get port(): number {
    return this.#port;
  }

  /** Open connections. */
  get sessionCount(): number {
    return this.#conns.size;
  }

  /** The open connections. */
  get sessions(): SessionInfo[] {
    return [...this.#conns.values()].map((c) => c.info());
  }

  /** Counters (a live object). */
  get stats(): Readonly<SimulatorStats> {
    return this.engine.stats;
  }

  /** The live simulated channels. */
  get channels(): ChannelInfo[] {
    return this.engine.channelInfos();
  }

  /** The live bridges. */
  get bridges(): BridgeInfo[] {
    return this.engine.bridges.list().map((b) => b.info());
  }

  /** The queues, their members and waiting callers. */
  get queues(): QueueInfo[] {
    return this.engine.queues.infos();
  }

  /**
   * Adds a dynamic member to a queue, as the QueueAdd action
   * (QueueMemberAdded). False when the queue does not exist or has it.
   *
   * @param queue the queue's name
   * @param member interface, name and how it answers
   * @returns whether it was added
   */
  addQueueMember(queue: string, member: QueueMemberOptions): boolean {
    let ok = false;
    this.engine.batch(() => ok = this.engine.queues.add(queue, member) === "ok");
    return ok;
  }

  /**
   * Removes a member from a queue, static ones too (QueueMemberRemoved).
   *
   * @param queue the queue's name
   * @param iface the member's interface
   * @returns whether it was there
   */
  removeQueueMember(queue: string, iface: string): boolean {
    let ok = false;
    this.engine.batch(() => ok = this.engine.queues.remove(queue, iface, true) === "ok");
    return ok;
  }

  /**
   * Pauses or unpauses a member, as the QueuePause action (QueueMemberPause).
   *
   * @param queue the queue's name, or `""` for every queue it is in
   * @param iface the member's interface
   * @param paused pause or unpause
   * @param reason `PausedReason`
   * @returns whether the member was found
   */
  pauseQueueMember(queue: string, iface: string, paused: boolean, reason = ""): boolean {
    let ok = false;
    this.engine.batch(() => ok = this.engine.queues.pause(queue, iface, paused, reason));
    return ok;
  }

  /**
   * Changes how a member answers the calls it is offered from now on.
   *
   * @param queue the queue's name
   * @param iface the member's interface
   * @param behaviour answer after a delay (and talk), or never answer
   * @returns whether the member was found
   */
  setQueueMemberBehaviour(queue: string, iface: string, behaviour: QueueMemberBehaviour): boolean {
    return this.engine.queues.setBehaviour(queue, iface, behaviour);
  }

  /**
   * Drops the next `count` events meant for the selected sessions without a
   * trace, so that their clients miss them (responses still go out).
   *
   * @param count how many events per session
   * @param filter which sessions (default all open ones)
   */
  dropEvents(count: number, filter?: SessionFilter): void {
    for (const c of this.#select(filter)) c.dropEvents += Math.max(0, Math.floor(count));
  }

  /** Closes every socket and the server; pending simulator timers are cancelled. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const c of [...this.#conns.values()]) c.destroy();
    this.#conns.clear();
    this.engine.reset();
    this.engine.clearAllTimers();
    this.#ownClock?.clearAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #select(filter?: SessionFilter): Conn[] {
    const all = [...this.#conns.values()];
    if (filter === undefined) return all;
    if (typeof filter === "number") return all.filter((c) => c.session.id === filter);
    return all.filter((c) => filter(c.info()));
  }

  /** Closes every connection at once (no Goodbye). */
  dropAll(): void {
    for (const c of this.#select()) c.destroy();
  }

  /**
   * Closes one connection (or the most recent when `id` is omitted).
   *
   * @param id session number
   */
  dropSession(id?: number): void {
    const target = id ?? Math.max(0, ...this.#conns.keys());
    this.#conns.get(target)?.destroy();
  }

  /**
   * Stops (or resumes) reading and writing on every open connection without
   * closing them; output is held until resumed. A stalled simulator still
   * accepts new connections (they stall too).
   *
   * @param on stall or resume
   */
  stall(on: boolean): void {
    this.#stalledAll = on;
    for (const c of this.#select()) c.setStall(on);
  }

  /** Sends FIN on every connection (half-close); what clients send is still read. */
  halfClose(): void {
    for (const c of this.#select()) c.halfClose();
  }

  /**
   * Writes raw bytes (garbage, a cut message, an oversized message).
   *
   * @param data bytes or text
   * @param filter which sessions (default all)
   */
  sendRaw(data: Uint8Array | string, filter?: SessionFilter): void {
    for (const c of this.#select(filter)) c.raw(data);
  }

  /**
   * Delays every response by `ms` on the simulator clock (0 turns it off).
   *
   * @param ms delay
   */
  delayResponses(ms: number): void {
    this.responseDelayMs = Math.max(0, ms);
  }

  /**
   * Lets events overtake responses, as under load: each response is held
   * until the next event of its session has been written (or 10 ms).
   *
   * @param on reorder or not
   */
  reorder(on: boolean): void {
    this.reordering = on;
  }

  /**
   * Broadcasts an arbitrary event (headers, `Event` first) to the logged-in
   * sessions whose read classes match its `Privilege` (all when absent).
   *
   * @param headers the event
   */
  emit(headers: Header[]): void {
    this.engine.broadcastRaw(headers);
  }

  /**
   * Refuses new connections for `ms` milliseconds (accepted and closed at once).
   *
   * @param ms how long
   */
  refuseConnections(ms: number): void {
    this.#refuseUntil = performance.now() + ms;
  }

  /**
   * Simulates an Asterisk restart: every session is dropped and every channel
   * is gone (unless `keepCalls`); new connections are accepted on the same
   * port (after `downMs`) and see `FullyBooted` with the new uptime.
   *
   * @param options downtime, whether calls survive
   */
  restart(options: RestartOptions = {}): Promise<void> {
    if (options.downMs) this.refuseConnections(options.downMs);
    this.dropAll();
    if (!options.keepCalls) this.engine.reset();
    return Promise.resolve();
  }

  /**
   * Sends `count` events to every logged-in session that reads the event's
   * class: pre-serialised, written in large chunks, waiting for each
   * socket's drain. Resolves when everything was handed to the sockets.
   *
   * @param options count, rate and event
   * @returns the number of bytes written per session
   */
  async flood(options: FloodOptions): Promise<number> {
    const { chunks, bytes, classBit } = floodChunks(options);
    const targets = this.#select().filter((c) =>
      c.session.authenticated && (c.session.readMask & classBit) !== 0
    );
    const perChunk = options.count / chunks.length;
    const intervalMs = options.ratePerSec ? (perChunk / options.ratePerSec) * 1000 : 0;
    await Promise.all(targets.map(async (c) => {
      let next = performance.now();
      for (const chunk of chunks) {
        if (c.destroyed || this.#stopped) return;
        while (c.stalled && !c.destroyed && !this.#stopped) await this.#sleep(10);
        if (intervalMs > 0) {
          const wait = next - performance.now();
          if (wait > 0) await this.#sleep(wait);
          next += intervalMs;
        }
        if (!c.raw(chunk)) await c.drained();
      }
      this.engine.stats.eventsSent += options.count;
    }));
    return bytes;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }
}

/**
 * The default flood event: a `Newexten` as a busy dialer sees thousands of,
 * with a 10-digit sequence number (`SEQ=` in AppData, and the Uniqueid).
 */
const FLOOD_TEMPLATE = "Event: Newexten\r\nPrivilege: dialplan,all\r\n" +
  "Channel: Local/100@lab-00000001;2\r\nChannelState: 6\r\nChannelStateDesc: Up\r\n" +
  "CallerIDNum: 5551000\r\nCallerIDName: Lab Orig\r\nConnectedLineNum: 5551000\r\n" +
  "ConnectedLineName: Lab Orig\r\nLanguage: en\r\nAccountCode: \r\nContext: lab\r\nExten: 100\r\n" +
  "Priority: 2\r\nUniqueid: 1795782235.##########\r\nLinkedid: 1795782235.0000000000\r\n" +
  "Extension: 100\r\nApplication: Set\r\nAppData: SEQ=##########\r\n\r\n";

const FLOOD_CHUNK = 256 * 1024;

/**
 * Pre-serialises a flood into large chunks (the default event is copied
 * from one encoded template and only its sequence digits are patched).
 *
 * @param options count, rate and event
 * @returns the chunks, their total size and the event's class bit
 */
export function floodChunks(
  options: FloodOptions,
): { chunks: Uint8Array[]; bytes: number; classBit: number } {
  let classBit = CLASS_BITS.dialplan;
  let template: Uint8Array;
  let holes: number[] = [];
  if (options.event) {
    template = Buffer.from(messageText(options.event), "utf8");
    const priv = options.event.find(([k]) => k.toLowerCase() === "privilege")?.[1];
    classBit = priv ? parseClasses(priv) || CLASS_BITS.call : CLASS_BITS.call;
  } else {
    template = Buffer.from(FLOOD_TEMPLATE, "latin1");
    const text = FLOOD_TEMPLATE;
    for (let i = text.indexOf("##########"); i >= 0; i = text.indexOf("##########", i + 10)) {
      holes.push(i);
    }
  }
  if (holes.length === 0) holes = [];
  const size = template.length;
  const perChunk = options.ratePerSec
    ? Math.max(1, Math.floor(options.ratePerSec / 100))
    : Math.max(1, Math.floor(FLOOD_CHUNK / size));
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (let first = 0; first < options.count; first += perChunk) {
    const n = Math.min(perChunk, options.count - first);
    const chunk = new Uint8Array(n * size);
    for (let k = 0; k < n; k++) {
      const off = k * size;
      chunk.set(template, off);
      let seq = first + k;
      for (let d = 9; d >= 0; d--) {
        const digit = 48 + (seq % 10);
        seq = Math.floor(seq / 10);
        for (const h of holes) chunk[off + h + d] = digit;
      }
    }
    chunks.push(chunk);
    bytes += chunk.length;
  }
  return { chunks, bytes, classBit };
}
