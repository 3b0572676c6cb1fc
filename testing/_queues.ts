/**
 * Simulated call queues (app_queue): members, callers waiting, ring-all
 * rounds, and the events and list items Asterisk's app_queue.c writes.
 *
 * @module
 */

import type { Header } from "../core/message.ts";
import type { AppCaller, LegHooks, LegOptions, SimCall, SimChannel } from "./_channels.ts";
import type { BridgeTable } from "./_bridges.ts";
import type { DialplanStep } from "./_dialplan.ts";
import type { Emitter } from "./_emitter.ts";
import type { TimerHandle } from "./clock.ts";

/** A queue member as configured (`member =>` in queues.conf, or QueueAdd). */
export interface QueueMemberOptions {
  /** The interface called, e.g. `Local/710@lab/n`. */
  interface: string;
  /** `MemberName`. Default the interface. */
  name?: string;
  /** `StateInterface`. Default the interface. */
  stateInterface?: string;
  /** Penalty (shown only). Default 0. */
  penalty?: number;
  /** Starts paused. */
  paused?: boolean;
  /**
   * Answers this many seconds after it starts ringing. When neither this nor
   * `neverAnswers` is given, the member's Local extension runs its dialplan
   * (or rings forever when the dialplan has no such extension).
   */
  answerAfterSeconds?: number;
  /** Hangs up this long after answering (default: stays until the caller hangs up). */
  talkSeconds?: number;
  /** Rings and never answers. */
  neverAnswers?: boolean;
}

/** A queue as configured (queues.conf). */
export interface QueueOptions {
  /** The queue's name. */
  name: string;
  /** `Strategy` shown by QueueStatus; only ring-all is simulated. Default `ringall`. */
  strategy?: string;
  /** How long each round rings the members (queues.conf `timeout`). Default 15 s. */
  memberTimeoutSeconds?: number;
  /** Pause between rounds (queues.conf `retry`). Default 5 s. */
  retrySeconds?: number;
  /** The static members. */
  members?: QueueMemberOptions[];
}

/** A read-only view of one member. */
export interface QueueMemberInfo {
  /** Interface called. */
  readonly interface: string;
  /** `MemberName`. */
  readonly name: string;
  /** Device status: 1 not in use, 2 in use, 6 ringing. */
  readonly status: number;
  /** Paused or not. */
  readonly paused: boolean;
  /** In a queue call. */
  readonly inCall: boolean;
  /** Calls taken. */
  readonly callsTaken: number;
}

/** A read-only view of one queue. */
export interface QueueInfo {
  /** The queue's name. */
  readonly name: string;
  /** Members in configuration order. */
  readonly members: readonly QueueMemberInfo[];
  /** Uniqueids of the callers waiting, by position. */
  readonly callers: readonly string[];
  /** Calls answered by a member and finished. */
  readonly completed: number;
  /** Callers that hung up while waiting. */
  readonly abandoned: number;
}

/** The lab's queues (queues.conf of the lab Asterisk): `labq` and `labslow`. */
export const LAB_QUEUES: readonly QueueOptions[] = [
  {
    name: "labq",
    strategy: "ringall",
    memberTimeoutSeconds: 15,
    retrySeconds: 1,
    members: [
      { interface: "Local/710@lab/n", name: "Agent 710", stateInterface: "Local/710@lab" },
      { interface: "Local/711@lab/n", name: "Agent 711", stateInterface: "Local/711@lab" },
    ],
  },
  {
    name: "labslow",
    strategy: "ringall",
    memberTimeoutSeconds: 30,
    retrySeconds: 1,
    members: [{
      interface: "Local/711@lab/n",
      name: "Slow agent",
      stateInterface: "Local/711@lab",
    }],
  },
];

/** What the queues need from the engine. */
export interface QueueHost {
  readonly emitter: Emitter;
  readonly channelVars: readonly string[];
  readonly bridges: BridgeTable;
  now(): number;
  wallNow(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(h: TimerHandle): void;
  defer(fn: () => void): void;
  /** Starts a Local pair to `iface` for `caller`; undefined when it cannot exist. */
  startLeg(
    caller: SimChannel,
    iface: string,
    hooks: LegHooks,
    options: LegOptions,
  ): SimCall | undefined;
}

/** One member of one queue. */
class Member {
  readonly iface: string;
  readonly name: string;
  readonly stateInterface: string;
  readonly penalty: number;
  readonly dynamic: boolean;
  paused: boolean;
  pausedReason = "";
  calls = 0;
  lastCall = 0;
  lastPause = 0;
  loginTime: number;
  inCall = false;
  answerAfterSeconds: number | undefined;
  talkSeconds: number | undefined;
  neverAnswers: boolean;

  constructor(o: QueueMemberOptions, dynamic: boolean, wallSeconds: number) {
    this.iface = o.interface;
    this.name = o.name ?? o.interface;
    this.stateInterface = o.stateInterface ?? o.interface;
    this.penalty = o.penalty ?? 0;
    this.paused = o.paused ?? false;
    this.dynamic = dynamic;
    this.loginTime = wallSeconds;
    this.answerAfterSeconds = o.answerAfterSeconds;
    this.talkSeconds = o.talkSeconds;
    this.neverAnswers = o.neverAnswers ?? false;
  }

  /** The steps its leg runs, or undefined for the dialplan's. */
  steps(): DialplanStep[] | undefined {
    if (this.neverAnswers) return [{ app: "Ringing" }, { app: "Ring" }];
    if (this.answerAfterSeconds === undefined) return undefined;
    const s: DialplanStep[] = [{ app: "Ringing" }];
    if (this.answerAfterSeconds > 0) s.push({ app: "Wait", seconds: this.answerAfterSeconds });
    s.push({ app: "Answer" });
    if (this.talkSeconds === undefined) s.push({ app: "Ring" });
    else s.push({ app: "Wait", seconds: this.talkSeconds }, { app: "Hangup", cause: 16 });
    return s;
  }
}

/** A caller waiting in (or served by) a queue. */
class Entry {
  readonly ringing = new Map<Member, { leg: SimCall; startedAt: number; timer: TimerHandle }>();
  retryTimer: TimerHandle | undefined;
  timeoutTimer: TimerHandle | undefined;
  connected: { member: Member; leg: SimCall; at: number } | undefined;
  done = false;

  constructor(
    readonly caller: AppCaller,
    readonly joinedAt: number,
    readonly originalPosition: number,
  ) {}
}

class Queue {
  readonly name: string;
  readonly strategy: string;
  readonly ringMs: number;
  readonly retryMs: number;
  readonly members: Member[] = [];
  readonly entries: Entry[] = [];
  completed = 0;
  abandoned = 0;
  holdTime = 0;
  talkTime = 0;

  constructor(o: QueueOptions, wallSeconds: number) {
    this.name = o.name;
    this.strategy = o.strategy ?? "ringall";
    this.ringMs = (o.memberTimeoutSeconds ?? 15) * 1000;
    this.retryMs = (o.retrySeconds ?? 5) * 1000;
    for (const m of o.members ?? []) this.members.push(new Member(m, false, wallSeconds));
  }

  member(iface: string): Member | undefined {
    const l = iface.toLowerCase();
    return this.members.find((m) => m.iface.toLowerCase() === l);
  }
}

/** Results of the queue member actions. */
export type MemberChange = "ok" | "noQueue" | "exists" | "notThere" | "notDynamic";

/** The queues of one simulator. */
export class QueueTable {
  readonly #host: QueueHost;
  readonly #queues = new Map<string, Queue>();
  readonly #configured: readonly QueueOptions[];
  /** Device state per state interface (lower case): 2 in use, 6 ringing; absent: 1. */
  readonly #devices = new Map<string, number>();

  constructor(host: QueueHost, queues: readonly QueueOptions[]) {
    this.#host = host;
    this.#configured = queues;
    this.#load();
  }

  #load(): void {
    this.#queues.clear();
    this.#devices.clear();
    const wall = this.#wallSeconds();
    for (const q of this.#configured) this.#queues.set(q.name.toLowerCase(), new Queue(q, wall));
  }

  #wallSeconds(): number {
    return Math.floor(this.#host.wallNow() / 1000);
  }

  #ev(name: string, headers: Header[]): void {
    this.#host.emitter.event(name, "agent", headers);
  }

  #queue(name: string): Queue | undefined {
    return this.#queues.get(name.toLowerCase());
  }

  #status(m: Member): number {
    return this.#devices.get(m.stateInterface.toLowerCase()) ?? 1;
  }

  /** Sets a device's state and reports it for every membership (QueueMemberStatus). */
  #setDevice(stateInterface: string, status: number): void {
    const key = stateInterface.toLowerCase();
    if ((this.#devices.get(key) ?? 1) === status) return;
    if (status === 1) this.#devices.delete(key);
    else this.#devices.set(key, status);
    for (const q of this.#queues.values()) {
      for (const m of q.members) {
        if (m.stateInterface.toLowerCase() === key) this.#memberEvent("QueueMemberStatus", q, m);
      }
    }
  }

  /** The member blob (`queue_member_blob_create`), in its key order. */
  #memberHeaders(q: Queue, m: Member): Header[] {
    return [
      ["Queue", q.name],
      ["MemberName", m.name],
      ["Interface", m.iface],
      ["StateInterface", m.stateInterface],
      ["Membership", m.dynamic ? "dynamic" : "static"],
      ["Penalty", String(m.penalty)],
      ["CallsTaken", String(m.calls)],
      ["LastCall", String(m.lastCall)],
      ["LastPause", String(m.lastPause)],
      ["LoginTime", String(m.loginTime)],
      ["InCall", m.inCall ? "1" : "0"],
      ["Status", String(this.#status(m))],
      ["Paused", m.paused ? "1" : "0"],
      ["PausedReason", m.pausedReason],
      ["Ringinuse", "0"],
      ["Wrapuptime", "0"],
    ];
  }

  #memberEvent(name: string, q: Queue, m: Member): void {
    this.#ev(name, this.#memberHeaders(q, m));
  }

  #snap(c: SimChannel, prefix = ""): Header[] {
    return c.snapshot(prefix, this.#host.channelVars);
  }

  #multi(name: string, e: Entry, leg: SimCall, m: Member, q: Queue, extra: Header[]): void {
    this.#ev(name, [
      ...this.#snap(e.caller.channel),
      ...this.#snap(leg.one, "Dest"),
      ["Queue", q.name],
      ["Interface", m.iface],
      ["MemberName", m.name],
      ...extra,
    ]);
  }

  #dialEnd(e: Entry, leg: SimCall, status: string): void {
    this.#host.emitter.event("DialEnd", "call", [
      ...this.#snap(e.caller.channel),
      ...this.#snap(leg.one, "Dest"),
      ["DialStatus", status],
    ]);
  }

  // ---- the Queue application ----

  /**
   * Runs the Queue application for `caller`; returns what aborts it (the
   * caller hanging up), or undefined when the queue does not exist.
   */
  join(
    caller: AppCaller,
    queueName: string,
    timeoutSeconds?: number,
  ): { abort(): void } | undefined {
    const q = this.#queue(queueName);
    if (q === undefined) return undefined;
    const e = new Entry(caller, this.#host.now(), q.entries.length + 1);
    q.entries.push(e);
    this.#ev("QueueCallerJoin", [
      ...this.#snap(caller.channel),
      ["Queue", q.name],
      ["Position", String(q.entries.length)],
      ["Count", String(q.entries.length)],
    ]);
    if (timeoutSeconds !== undefined && timeoutSeconds > 0) {
      e.timeoutTimer = this.#host.setTimer(timeoutSeconds * 1000, () => {
        e.timeoutTimer = undefined;
        this.#host.emitter.batch(() => this.#timeout(q, e));
      });
    }
    this.#dispatch(q);
    return { abort: () => this.#abandon(q, e) };
  }

  /** Rings the free members for the waiting callers, in order. */
  #dispatch(q: Queue): void {
    for (const e of q.entries) {
      if (e.done || e.connected || e.ringing.size > 0 || e.retryTimer !== undefined) continue;
      this.#ring(q, e);
    }
  }

  #free(m: Member): boolean {
    return !m.paused && !m.inCall && this.#status(m) === 1;
  }

  #ring(q: Queue, e: Entry): void {
    for (const m of q.members) {
      if (!this.#free(m)) continue;
      const leg = this.#host.startLeg(e.caller.channel, m.iface, {
        announce: (l) => {
          this.#multi("AgentCalled", e, l, m, q, []);
          this.#host.emitter.event("DialBegin", "call", [
            ...this.#snap(e.caller.channel),
            ...this.#snap(l.one, "Dest"),
            ["DialString", m.iface],
          ]);
          this.#setDevice(m.stateInterface, 6);
          // Registered before the member's dialplan runs: it may answer or fail at once.
          const timer = this.#host.setTimer(q.ringMs, () => {
            this.#host.emitter.batch(() => this.#ringTimeout(q, e, m));
          });
          e.ringing.set(m, { leg: l, startedAt: this.#host.now(), timer });
        },
        ringing: (l) => {
          if (e.ringing.get(m)?.leg !== l) return;
          this.#host.emitter.event("DialState", "call", [
            ...this.#snap(e.caller.channel),
            ...this.#snap(l.one, "Dest"),
            ["DialStatus", "RINGING"],
          ]);
        },
        answered: (l) => this.#answered(q, e, m, l),
        ended: (l, cause) => this.#legFailed(q, e, m, l, cause),
      }, { app: "AppQueue", steps: m.steps() });
      if (leg === undefined) continue;
      if (e.connected || e.done) return;
    }
  }

  #stopRinging(e: Entry, m: Member, status: string, cause: number): void {
    const r = e.ringing.get(m);
    if (r === undefined) return;
    e.ringing.delete(m);
    this.#host.clearTimer(r.timer);
    this.#dialEnd(e, r.leg, status);
    r.leg.cancel(cause);
    this.#setDevice(m.stateInterface, 1);
  }

  #ringTimeout(q: Queue, e: Entry, m: Member): void {
    const r = e.ringing.get(m);
    if (r === undefined || e.done) return;
    this.#multi("AgentRingNoAnswer", e, r.leg, m, q, [
      ["RingTime", String(this.#host.now() - r.startedAt)],
    ]);
    this.#stopRinging(e, m, "NOANSWER", 16);
    this.#afterRound(q, e);
  }

  #legFailed(q: Queue, e: Entry, m: Member, leg: SimCall, cause: number): void {
    const r = e.ringing.get(m);
    if (r === undefined || r.leg !== leg || e.done) return;
    e.ringing.delete(m);
    this.#host.clearTimer(r.timer);
    this.#multi("AgentRingNoAnswer", e, leg, m, q, [
      ["RingTime", String(this.#host.now() - r.startedAt)],
    ]);
    this.#dialEnd(e, leg, dialStatusOf(cause));
    this.#setDevice(m.stateInterface, 1);
    this.#afterRound(q, e);
  }

  /** Once nobody rings any more, waits `retry` and rings again. */
  #afterRound(q: Queue, e: Entry): void {
    if (e.done || e.connected || e.ringing.size > 0) {
      this.#dispatch(q);
      return;
    }
    e.retryTimer = this.#host.setTimer(q.retryMs, () => {
      e.retryTimer = undefined;
      this.#host.emitter.batch(() => {
        if (!e.done) this.#dispatch(q);
      });
    });
    this.#dispatch(q);
  }

  #leave(q: Queue, e: Entry): void {
    const i = q.entries.indexOf(e);
    if (i < 0) return;
    q.entries.splice(i, 1);
    this.#ev("QueueCallerLeave", [
      ...this.#snap(e.caller.channel),
      ["Queue", q.name],
      ["Position", String(i + 1)],
      ["Count", String(q.entries.length)],
    ]);
  }

  #clearEntryTimers(e: Entry): void {
    if (e.retryTimer !== undefined) this.#host.clearTimer(e.retryTimer);
    if (e.timeoutTimer !== undefined) this.#host.clearTimer(e.timeoutTimer);
    e.retryTimer = e.timeoutTimer = undefined;
  }

  #answered(q: Queue, e: Entry, m: Member, leg: SimCall): void {
    const r = e.ringing.get(m);
    if (r === undefined || r.leg !== leg || e.done) {
      leg.cancel(16);
      return;
    }
    e.ringing.delete(m);
    this.#host.clearTimer(r.timer);
    this.#clearEntryTimers(e);
    this.#dialEnd(e, leg, "ANSWER");
    for (const other of [...e.ringing.keys()]) this.#stopRinging(e, other, "CANCEL", 26);
    this.#leave(q, e);
    const now = this.#host.now();
    this.#multi("AgentConnect", e, leg, m, q, [
      ["HoldTime", String(Math.floor((now - e.joinedAt) / 1000))],
      ["RingTime", String(Math.floor((now - r.startedAt) / 1000))],
    ]);
    e.connected = { member: m, leg, at: now };
    m.inCall = true;
    e.caller.answer();
    this.#setDevice(m.stateInterface, 2);
    const holdS = Math.floor((now - e.joinedAt) / 1000);
    this.#host.bridges.connect(e.caller.channel, leg.one, (first) => {
      const end = this.#host.now();
      const talkS = Math.floor((end - now) / 1000);
      leg.cancel(16);
      this.#multi("AgentComplete", e, leg, m, q, [
        ["HoldTime", String(holdS)],
        ["TalkTime", String(talkS)],
        ["Reason", first === e.caller.channel ? "caller" : "agent"],
      ]);
      e.done = true;
      q.completed++;
      q.holdTime = Math.round((q.holdTime * (q.completed - 1) + holdS) / q.completed);
      q.talkTime = Math.round((q.talkTime * (q.completed - 1) + talkS) / q.completed);
      m.inCall = false;
      m.calls++;
      m.lastCall = this.#wallSeconds();
      const key = m.stateInterface.toLowerCase();
      if (this.#devices.get(key) === undefined) {
        for (const qq of this.#queues.values()) {
          for (const mm of qq.members) {
            if (mm.stateInterface.toLowerCase() === key) {
              this.#memberEvent("QueueMemberStatus", qq, mm);
            }
          }
        }
      } else this.#setDevice(m.stateInterface, 1);
      e.caller.hangup(); // Queue without the `c` option

      for (const qq of this.#queues.values()) this.#dispatch(qq);
    });
    for (const qq of this.#queues.values()) if (qq !== q) this.#dispatch(qq);
  }

  #timeout(q: Queue, e: Entry): void {
    if (e.done || e.connected) return;
    e.done = true;
    this.#clearEntryTimers(e);
    for (const m of [...e.ringing.keys()]) this.#stopRinging(e, m, "CANCEL", 16);
    this.#leave(q, e);
    e.caller.setVar("QUEUESTATUS", "TIMEOUT");
    e.caller.resume();
    this.#dispatch(q);
  }

  #abandon(q: Queue, e: Entry): void {
    if (e.done || e.connected) return;
    e.done = true;
    this.#clearEntryTimers(e);
    for (const m of [...e.ringing.keys()]) this.#stopRinging(e, m, "CANCEL", 16);
    const i = q.entries.indexOf(e);
    this.#ev("QueueCallerAbandon", [
      ...this.#snap(e.caller.channel),
      ["Queue", q.name],
      ["Position", String(i + 1)],
      ["OriginalPosition", String(e.originalPosition)],
      ["HoldTime", String(Math.floor((this.#host.now() - e.joinedAt) / 1000))],
    ]);
    q.abandoned++;
    this.#leave(q, e);
    this.#host.defer(() => this.#dispatch(q));
  }

  // ---- members (actions and test hooks) ----

  /** Adds a dynamic member (QueueMemberAdded). */
  add(queue: string, o: QueueMemberOptions): MemberChange {
    const q = this.#queue(queue);
    if (q === undefined) return "noQueue";
    if (q.member(o.interface)) return "exists";
    const m = new Member(o, true, this.#wallSeconds());
    if (m.paused) m.lastPause = this.#wallSeconds();
    q.members.push(m);
    this.#memberEvent("QueueMemberAdded", q, m);
    this.#host.defer(() => this.#dispatch(q));
    return "ok";
  }

  /** Removes a member (QueueMemberRemoved); only dynamic ones, unless `force`. */
  remove(queue: string, iface: string, force = false): MemberChange {
    const q = this.#queue(queue);
    if (q === undefined) return "noQueue";
    const m = q.member(iface);
    if (m === undefined) return "notThere";
    if (!m.dynamic && !force) return "notDynamic";
    for (const e of q.entries) if (e.ringing.has(m)) this.#stopRinging(e, m, "CANCEL", 16);
    q.members.splice(q.members.indexOf(m), 1);
    this.#memberEvent("QueueMemberRemoved", q, m);
    return "ok";
  }

  /**
   * Pauses or unpauses `iface` in `queue` (or in every queue when `queue` is
   * empty): QueueMemberPause per membership. False when it is nowhere.
   */
  pause(queue: string, iface: string, paused: boolean, reason = ""): boolean {
    let found = false;
    for (const q of this.#queues.values()) {
      if (queue !== "" && q.name.toLowerCase() !== queue.toLowerCase()) continue;
      const m = q.member(iface);
      if (m === undefined) continue;
      found = true;
      m.paused = paused;
      m.pausedReason = paused ? reason : "";
      m.lastPause = this.#wallSeconds();
      this.#memberEvent("QueueMemberPause", q, m);
      if (paused) {
        for (const e of q.entries) if (e.ringing.has(m)) this.#stopRinging(e, m, "CANCEL", 16);
      }
      this.#host.defer(() => this.#dispatch(q));
    }
    return found;
  }

  /** Changes how a member answers from now on (test hook). False when it is not there. */
  setBehaviour(
    queue: string,
    iface: string,
    b: Pick<QueueMemberOptions, "answerAfterSeconds" | "talkSeconds" | "neverAnswers">,
  ): boolean {
    const m = this.#queue(queue)?.member(iface);
    if (m === undefined) return false;
    m.answerAfterSeconds = b.answerAfterSeconds;
    m.talkSeconds = b.talkSeconds;
    m.neverAnswers = b.neverAnswers ?? false;
    return true;
  }

  // ---- lists ----

  /** QueueParams, QueueMember and QueueEntry items (without ActionID), as QueueStatus. */
  statusItems(queueFilter: string, memberFilter: string): Header[][] {
    const items: Header[][] = [];
    const now = this.#host.now();
    for (const q of this.#queues.values()) {
      if (queueFilter !== "" && q.name.toLowerCase() !== queueFilter.toLowerCase()) continue;
      items.push([
        ["Event", "QueueParams"],
        ["Queue", q.name],
        ["Max", "0"],
        ["Strategy", q.strategy],
        ["Calls", String(q.entries.length)],
        ["Holdtime", String(q.holdTime)],
        ["TalkTime", String(q.talkTime)],
        ["Completed", String(q.completed)],
        ["Abandoned", String(q.abandoned)],
        ["ServiceLevel", "0"],
        ["ServicelevelPerf", "0.0"],
        ["ServicelevelPerf2", "0.0"],
        ["Weight", "0"],
      ]);
      for (const m of q.members) {
        if (memberFilter !== "" && m.iface !== memberFilter && m.name !== memberFilter) continue;
        items.push([
          ["Event", "QueueMember"],
          ["Queue", q.name],
          ["Name", m.name],
          ["Location", m.iface],
          ["StateInterface", m.stateInterface],
          ["Membership", m.dynamic ? "dynamic" : "static"],
          ["Penalty", String(m.penalty)],
          ["CallsTaken", String(m.calls)],
          ["LastCall", String(m.lastCall)],
          ["LastPause", String(m.lastPause)],
          ["LoginTime", String(m.loginTime)],
          ["InCall", m.inCall ? "1" : "0"],
          ["Status", String(this.#status(m))],
          ["Paused", m.paused ? "1" : "0"],
          ["PausedReason", m.pausedReason],
          ["Wrapuptime", "0"],
        ]);
      }
      q.entries.forEach((e, i) => {
        const c = e.caller.channel;
        const known = (v: string) => (v === "<unknown>" || v === "" ? "unknown" : v);
        items.push([
          ["Event", "QueueEntry"],
          ["Queue", q.name],
          ["Position", String(i + 1)],
          ["Channel", c.name],
          ["Uniqueid", c.uniqueid],
          ["CallerIDNum", known(c.callerIdNum)],
          ["CallerIDName", known(c.callerIdName)],
          ["ConnectedLineNum", known(c.connectedNum)],
          ["ConnectedLineName", known(c.connectedName)],
          ["Wait", String(Math.floor((now - e.joinedAt) / 1000))],
          ["Priority", "0"],
        ]);
      });
    }
    return items;
  }

  /** QueueSummary items (without ActionID). */
  summaryItems(queueFilter: string): Header[][] {
    const items: Header[][] = [];
    const now = this.#host.now();
    for (const q of this.#queues.values()) {
      if (queueFilter !== "" && q.name.toLowerCase() !== queueFilter.toLowerCase()) continue;
      const available = q.members.filter((m) => this.#free(m)).length;
      const longest = q.entries.reduce((a, e) => Math.max(a, now - e.joinedAt), 0);
      items.push([
        ["Event", "QueueSummary"],
        ["Queue", q.name],
        ["LoggedIn", String(q.members.length)],
        ["Available", String(available)],
        ["Callers", String(q.entries.length)],
        ["HoldTime", String(q.holdTime)],
        ["TalkTime", String(q.talkTime)],
        ["LongestHoldTime", String(Math.floor(longest / 1000))],
      ]);
    }
    return items;
  }

  /** Read-only views. */
  infos(): QueueInfo[] {
    return [...this.#queues.values()].map((q) => ({
      name: q.name,
      members: q.members.map((m) => ({
        interface: m.iface,
        name: m.name,
        status: this.#status(m),
        paused: m.paused,
        inCall: m.inCall,
        callsTaken: m.calls,
      })),
      callers: q.entries.map((e) => e.caller.channel.uniqueid),
      completed: q.completed,
      abandoned: q.abandoned,
    }));
  }

  /** Forgets callers, counters and dynamic members (restart). */
  reset(): void {
    for (const q of this.#queues.values()) {
      for (const e of q.entries) {
        e.done = true;
        this.#clearEntryTimers(e);
        for (const r of e.ringing.values()) this.#host.clearTimer(r.timer);
      }
    }
    this.#load();
  }
}

/** DIALSTATUS for a hangup cause of a channel that never answered. */
export function dialStatusOf(cause: number): string {
  if (cause === 17) return "BUSY";
  if (cause === 18 || cause === 19 || cause === 16) return "NOANSWER";
  if (cause === 1 || cause === 3 || cause === 0) return "CHANUNAVAIL";
  return "CONGESTION";
}
