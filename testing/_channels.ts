/**
 * Simulated channels: the Local channel pair an Originate creates, their
 * snapshots as Asterisk prints them, and the life a call goes through.
 *
 * @module
 */

import type { Header } from "../core/message.ts";
import type { BridgeTable, SimBridge } from "./_bridges.ts";
import { causeText, stepAppData } from "./_dialplan.ts";
import { dialStatusOf } from "./_queues.ts";
import type { QueueTable } from "./_queues.ts";
import type { Dialplan, DialplanStep } from "./_dialplan.ts";
import type { TimerHandle } from "./clock.ts";
import type { Emitter } from "./_emitter.ts";

/** A read-only view of one simulated channel. */
export interface ChannelInfo {
  /** e.g. `Local/100@lab-00000001;2`. */
  readonly name: string;
  /** 0 Down, 4 Ring, 6 Up. */
  readonly state: number;
  /** `Down`, `Ring`, `Up`. */
  readonly stateDesc: string;
  /** Asterisk's Uniqueid. */
  readonly uniqueid: string;
  /** Uniqueid of the first channel of the call. */
  readonly linkedid: string;
  /** Dialplan location. */
  readonly context: string;
  /** Dialplan location. */
  readonly exten: string;
  /** Dialplan location. */
  readonly priority: number;
  /** Caller ID number (`<unknown>` when unset). */
  readonly callerIdNum: string;
  /** Caller ID name (`<unknown>` when unset). */
  readonly callerIdName: string;
  /** Application now running. */
  readonly application: string;
  /** Its argument. */
  readonly applicationData: string;
  /** Channel variables. */
  readonly variables: Readonly<Record<string, string>>;
  /** The bridge it is in (`BridgeId`), or `""`. */
  readonly bridgeId: string;
}

const STATE_DESC: Record<number, string> = { 0: "Down", 4: "Ring", 5: "Ringing", 6: "Up" };

/** A live simulated channel. */
export class SimChannel {
  state: number;
  callerIdNum = "<unknown>";
  callerIdName = "<unknown>";
  connectedNum = "<unknown>";
  connectedName = "<unknown>";
  priority = 1;
  application = "";
  appData = "";
  readonly vars: Map<string, string> = new Map();
  answeredAt: number | undefined;
  peer: SimChannel | undefined;
  call: SimCall | undefined;
  bridge: SimBridge | undefined;
  /** The party it was bridged with, for its Cdr's `DestinationChannel`. */
  cdrDestination = "";

  constructor(
    readonly name: string,
    state: number,
    public context: string,
    public exten: string,
    readonly uniqueid: string,
    readonly linkedid: string,
    readonly createdAt: number,
    readonly createdWall: number,
  ) {
    this.state = state;
  }

  /** The state's description. */
  get stateDesc(): string {
    return STATE_DESC[this.state] ?? "Unknown";
  }

  /** Sets a variable; `_X`/`__X` are stored as X (inheritance is not simulated further). */
  setVar(name: string, value: string): void {
    this.vars.set(name.replace(/^_{1,2}/, ""), value);
  }

  /** The snapshot headers with a key prefix (`""`, `Dest`, `LocalOne`, ...). */
  snapshot(prefix: string, channelVars: readonly string[]): Header[] {
    const h: Header[] = [
      [prefix + "Channel", this.name],
      [prefix + "ChannelState", String(this.state)],
      [prefix + "ChannelStateDesc", this.stateDesc],
      [prefix + "CallerIDNum", this.callerIdNum],
      [prefix + "CallerIDName", this.callerIdName],
      [prefix + "ConnectedLineNum", this.connectedNum],
      [prefix + "ConnectedLineName", this.connectedName],
      [prefix + "Language", "en"],
      [prefix + "AccountCode", ""],
      [prefix + "Context", this.context],
      [prefix + "Exten", this.exten],
      [prefix + "Priority", String(this.priority)],
      [prefix + "Uniqueid", this.uniqueid],
      [prefix + "Linkedid", this.linkedid],
    ];
    for (const v of channelVars) {
      h.push([prefix + "ChanVariable", `${v}=${this.vars.get(v) ?? ""}`]);
    }
    return h;
  }

  /** A read-only copy. */
  info(): ChannelInfo {
    return {
      name: this.name,
      state: this.state,
      stateDesc: this.stateDesc,
      uniqueid: this.uniqueid,
      linkedid: this.linkedid,
      context: this.context,
      exten: this.exten,
      priority: this.priority,
      callerIdNum: this.callerIdNum,
      callerIdName: this.callerIdName,
      application: this.application,
      applicationData: this.appData,
      variables: Object.fromEntries(this.vars),
      bridgeId: this.bridge?.id ?? "",
    };
  }
}

/** What an Originate asked for. */
export interface OriginateRequest {
  channel: string;
  actionId: string | undefined;
  async: boolean;
  application: string | undefined;
  data: string;
  context: string | undefined;
  exten: string | undefined;
  priority: string | undefined;
  callerIdNum: string | undefined;
  callerIdName: string | undefined;
  timeoutMs: number;
  variables: Array<[string, string]>;
  /** `ChannelId`: the Uniqueid of `;1` (else a new one). */
  channelId?: string;
  /** `OtherChannelId`: the Uniqueid of `;2` (else `<ChannelId>;2` when a ChannelId is given). */
  otherChannelId?: string;
  /** Sends the sync Originate's response to the originating session. */
  respond: (headers: Header[]) => void;
}

/** The channel running a blocking application (Dial, Queue), as the application sees it. */
export interface AppCaller {
  /** The channel (`;2` of its Local pair). */
  readonly channel: SimChannel;
  /** Answers it if it is not up yet. */
  answer(): void;
  /** Sets a channel variable (VarSet). */
  setVar(name: string, value: string): void;
  /** The application is over: the dialplan goes on (unless the channel is gone). */
  resume(): void;
  /** The application is over and hangs the channel up (Dial, Queue after a bridged call). */
  hangup(): void;
}

/** How the dialing side follows a leg (a Local pair it called). */
export interface LegHooks {
  /** After the pair exists and before its dialplan runs (AgentCalled, DialBegin). */
  announce(leg: SimCall): void;
  /** The called side indicated ringing (its `;1` is now Ringing). */
  ringing?(leg: SimCall): void;
  /** The called side answered. */
  answered(leg: SimCall): void;
  /** The leg ended by itself (not by {@link SimCall.cancel}); `answered` tells whether it was up. */
  ended(leg: SimCall, cause: number, answered: boolean): void;
}

/** How a leg is made: `;1`'s application, what `;2` runs, Dial's details. */
export interface LegOptions {
  /** `;1`'s application (`AppDial`, `AppQueue`). */
  readonly app: string;
  /** Steps instead of the dialplan's. */
  readonly steps?: readonly DialplanStep[];
  /** Dial's `DIALEDPEERNUMBER`, set on both halves (Dial only). */
  readonly dialString?: string;
  /** Announce after `;2`'s first `Newexten` (Dial), not before it runs (Queue). */
  readonly announceAfterFirstStep?: boolean;
}

/** What makes a call a leg: who called it and what its `;2` runs. */
export interface LegSpec {
  readonly caller: SimChannel;
  readonly hooks: LegHooks;
  /** Steps instead of the dialplan's. */
  readonly steps?: readonly DialplanStep[];
  /** `;1`'s application (`AppDial`, `AppQueue`). */
  readonly app: string;
  /** Dial's `DIALEDPEERNUMBER`, set on both halves (Dial only). */
  readonly dialString?: string;
  /** Announce after `;2`'s first `Newexten` (Dial), not before it runs (Queue). */
  readonly announceAfterFirstStep?: boolean;
}

/** The engine services a call needs. */
export interface CallHost {
  readonly emitter: Emitter;
  readonly bridges: BridgeTable;
  readonly queues: QueueTable;
  /** Runs `fn` once the current simulated step is over (same batch). */
  defer(fn: () => void): void;
  /** Starts a leg to `iface` (a Local channel); undefined when it cannot be created. */
  startLeg(
    caller: SimChannel,
    iface: string,
    hooks: LegHooks,
    options: LegOptions,
  ): SimCall | undefined;
  readonly dialplan: Dialplan;
  readonly channelVars: readonly string[];
  now(): number;
  wallNow(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(h: TimerHandle): void;
  nextUniqueid(): string;
  nextLocalId(): string;
  addChannel(c: SimChannel): void;
  removeChannel(c: SimChannel): void;
  callEnded(answered: boolean): void;
}

/** Parses `Local/<exten>@<context>[/n]`; undefined for other technologies. */
export function parseLocal(channel: string): { exten: string; context: string } | undefined {
  const m = /^local\/([^@/]+)(?:@([^/]+))?(?:\/.*)?$/i.exec(channel);
  if (!m) return undefined;
  return { exten: m[1], context: m[2] ?? "default" };
}

/** Parses a CallerID header value (`"Name" <num>`, `Name <num>`, `num`). */
export function parseCallerId(v: string | undefined): { num?: string; name?: string } {
  if (v === undefined || v === "") return {};
  const m = /^\s*(?:"([^"]*)"|([^<]*?))\s*<([^>]*)>\s*$/.exec(v);
  if (m) return { name: m[1] ?? (m[2] || undefined), num: m[3] };
  return /^[0-9+*#]+$/.test(v.trim()) ? { num: v.trim() } : { name: v.trim() };
}

function dialStatus(cause: number): string {
  return cause === 16 ? "CONGESTION" : dialStatusOf(cause);
}

function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}`;
}

function fmtCdrTime(wall: number | undefined): string {
  if (wall === undefined) return "";
  return new Date(wall).toISOString().slice(0, 19).replace("T", " ");
}

export { fmtDuration };

/** One originated call: the Local pair and its dialplan run. */
export class SimCall {
  readonly one: SimChannel;
  readonly two: SimChannel;
  readonly #host: CallHost;
  readonly #req: OriginateRequest;
  readonly #leg: LegSpec | undefined;
  readonly #steps: readonly DialplanStep[];
  readonly device: string;
  /** The blocking application `;2` runs (Dial, Queue): aborted when the call ends. */
  #app: { abort(): void } | undefined;
  /** The rest of an answer made by an application: the Originate's response, after the bridge. */
  #answerTail: () => void = () => {};
  /** Runs once, right after the first `Newexten` of `;2` (a Dial's DialBegin). */
  #afterFirstNewexten: (() => void) | undefined;
  #timer: TimerHandle | undefined;
  #appTimer: TimerHandle | undefined;
  #timeoutTimer: TimerHandle | undefined;
  #answered = false;
  #ended = false;
  #answerWall: number | undefined;

  constructor(
    host: CallHost,
    req: OriginateRequest,
    exten: string,
    context: string,
    leg?: LegSpec,
  ) {
    this.#host = host;
    this.#req = req;
    this.#leg = leg;
    this.#steps = leg?.steps ?? host.dialplan[context]?.[exten] ?? [];
    this.device = `Local/${exten}@${context}`;
    const id = host.nextLocalId();
    const now = host.now();
    const wall = host.wallNow();
    // Asterisk: ChannelId names ;1, OtherChannelId ;2 (default `<ChannelId>;2`).
    const u1 = req.channelId ?? host.nextUniqueid();
    const u2 = req.otherChannelId ??
      (req.channelId !== undefined ? `${req.channelId};2` : host.nextUniqueid());
    // A leg belongs to its caller's call: it takes the caller's Linkedid.
    const linked = leg?.caller.linkedid ?? u1;
    this.one = new SimChannel(`${this.device}-${id};1`, 0, context, exten, u1, linked, now, wall);
    this.two = new SimChannel(`${this.device}-${id};2`, 4, context, exten, u2, linked, now, wall);
    this.one.peer = this.two;
    this.two.peer = this.one;
    this.one.call = this.two.call = this;
    this.one.application = leg?.app ?? "AppDial2";
    this.one.appData = "(Outgoing Line)";
  }

  /** Whether the call is over. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether `;2` answered. */
  get answered(): boolean {
    return this.#answered;
  }

  /** Runs a leg (a Local pair a Dial or Queue called) from its creation on. */
  startLeg(): void {
    const h = this.#host;
    const leg = this.#leg!;
    h.addChannel(this.one);
    h.addChannel(this.two);
    this.#chanEvent("Newchannel", "call", this.one);
    this.#chanEvent("Newchannel", "call", this.two);
    // As app_dial (fixture 21): `;1` takes the caller's location and caller
    // ID (its number the caller's extension), `;2` the caller's caller ID.
    const caller = leg.caller;
    const one = this.one;
    const two = this.two;
    if (leg.dialString !== undefined) this.#setVarOn(one, "DIALEDPEERNUMBER", leg.dialString);
    one.context = caller.context;
    one.exten = caller.exten;
    one.callerIdNum = caller.exten;
    one.callerIdName = caller.callerIdName;
    one.connectedNum = caller.callerIdNum;
    one.connectedName = caller.callerIdName;
    this.#chanEvent("Newexten", "dialplan", one, [
      ["Extension", one.exten],
      ["Application", one.application],
      ["AppData", one.appData],
    ]);
    this.#chanEvent("NewCallerid", "call", one, [
      ["CID-CallingPres", "0 (Presentation Allowed, Not Screened)"],
    ]);
    this.#chanEvent("NewConnectedLine", "call", one);
    if (leg.dialString !== undefined) this.#setVarOn(two, "DIALEDPEERNUMBER", leg.dialString);
    two.callerIdNum = caller.callerIdNum;
    two.callerIdName = caller.callerIdName;
    two.connectedNum = caller.exten;
    two.connectedName = caller.callerIdName;
    this.#chanEvent("NewCallerid", "call", two, [
      ["CID-CallingPres", "0 (Presentation Allowed, Not Screened)"],
    ]);
    this.#chanEvent("NewConnectedLine", "call", two);
    this.#ev("LocalBridge", "call", [
      ...this.one.snapshot("LocalOne", h.channelVars),
      ...this.two.snapshot("LocalTwo", h.channelVars),
      ["Context", this.two.context],
      ["Exten", this.two.exten],
      ["LocalOptimization", /\/[a-z]*n[a-z]*$/i.test(this.#req.channel) ? "No" : "Yes"],
    ]);
    if (leg.announceAfterFirstStep) this.#afterFirstNewexten = () => leg.hooks.announce(this);
    else leg.hooks.announce(this);
    this.#run(0);
  }

  #setVarOn(c: SimChannel, name: string, value: string): void {
    c.setVar(name, value);
    this.#chanEvent("VarSet", "dialplan", c, [["Variable", name], ["Value", value]]);
  }

  /**
   * Ends a leg on its caller's behalf (ring timeout, answered elsewhere, the
   * caller gone): both halves hang up; the leg's hooks are not called.
   */
  cancel(cause: number): void {
    if (this.#ended) return;
    const h = this.#host;
    this.#ended = true;
    this.#clearTimers();
    this.#abortApp();
    this.#chanEvent("HangupRequest", "call", this.one, [["Cause", String(cause)]]);
    this.#hangupChannel(this.one, cause);
    this.#hangupChannel(this.two, cause);
    if (this.#answered) this.#cdr(this.two, h.wallNow());
    this.#deviceState("NOT_INUSE");
    this.#deviceState("NOT_INUSE");
    h.callEnded(this.#answered);
  }

  /**
   * Ringing indicated on `;2`: as core_unreal.c, passed to `;1` (Newstate
   * Ringing) only while `;2` is in state Ring; the dialing side then reports
   * `DialState` RINGING (the Originate's dial, or the leg's caller).
   */
  indicateRinging(): void {
    if (this.#ended || this.two.state !== 4 || this.one.state === 5) return;
    this.one.state = 5;
    this.#chanEvent("Newstate", "call", this.one);
    if (this.#leg !== undefined) this.#leg.hooks.ringing?.(this);
    else this.#dialEvent("DialState", ["DialStatus", "RINGING"]);
  }

  #abortApp(): void {
    const app = this.#app;
    this.#app = undefined;
    app?.abort();
  }

  /** Takes `c` out of its bridge, then reports its Hangup and forgets it. */
  #hangupChannel(c: SimChannel, cause: number): void {
    this.#host.bridges.leave(c);
    this.#chanEvent("Hangup", "call", c, [["Cause", String(cause)], [
      "Cause-txt",
      causeText(cause),
    ]]);
    this.#host.removeChannel(c);
  }

  /** Goes on with `;2`'s dialplan at step `next`, once the current step is over. */
  #resume(next: number): void {
    this.#app = undefined;
    this.#host.defer(() => {
      if (!this.#ended) this.#run(next);
    });
  }

  #setVarEvent(name: string, value: string): void {
    if (this.#ended) return;
    this.two.setVar(name, value);
    this.#chanEvent("VarSet", "dialplan", this.two, [["Variable", name], ["Value", value]]);
  }

  #caller(next: number): AppCaller {
    return {
      channel: this.two,
      answer: () => this.#answer(),
      setVar: (name, value) => this.#setVarEvent(name, value),
      resume: () => this.#resume(next),
      hangup: () => {
        this.#app = undefined;
        if (!this.#ended) this.#hangupFromDialplan(16);
      },
    };
  }

  /**
   * The Dial application: a leg to `target`, bridged with `;2` once it
   * answers. Its variables and event order follow app_dial (fixture 21):
   * without the `g` option the caller is hung up when the bridge ends.
   */
  #dial(step: Extract<DialplanStep, { app: "Dial" }>, next: number): void {
    const h = this.#host;
    const caller = this.two;
    const target = /^local\//i.test(step.target) ? step.target : `Local/${step.target}`;
    const dialString = target.slice(6);
    const started = h.now();
    let done = false;
    let bridged = false;
    let timer: TimerHandle | undefined;
    for (const v of DIAL_VARIABLES) this.#setVarEvent(v, "");
    const dialEvent = (name: string, leg: SimCall, last: Header) =>
      this.#ev(name, "call", [
        ...caller.snapshot("", h.channelVars),
        ...leg.one.snapshot("Dest", h.channelVars),
        last,
      ]);
    const times = (answeredAt?: number) => {
      const now = h.now();
      if (answeredAt !== undefined) {
        this.#setVarEvent("ANSWEREDTIME", String(Math.floor((now - answeredAt) / 1000)));
        this.#setVarEvent("ANSWEREDTIME_MS", String(now - answeredAt));
      }
      this.#setVarEvent("DIALEDTIME", String(Math.floor((now - started) / 1000)));
      this.#setVarEvent("DIALEDTIME_MS", String(now - started));
    };
    const fail = (status: string) => {
      if (done) return;
      done = true;
      if (timer !== undefined) h.clearTimer(timer);
      timer = undefined;
      times();
      this.#setVarEvent("DIALSTATUS", status);
      this.#resume(next);
    };
    const leg = h.startLeg(caller, target, {
      announce: (l) => dialEvent("DialBegin", l, ["DialString", dialString]),
      ringing: (l) => {
        if (done) return;
        dialEvent("DialState", l, ["DialStatus", "RINGING"]);
        this.indicateRinging();
      },
      answered: (l) => {
        if (done) {
          l.cancel(16);
          return;
        }
        if (timer !== undefined) h.clearTimer(timer);
        timer = undefined;
        bridged = true;
        const answeredAt = h.now();
        this.#setVarEvent("DIALSTATUS", "ANSWER");
        this.#setVarEvent("DIALEDPEERNAME", l.one.name);
        this.#setVarEvent("DIALEDPEERNUMBER", dialString);
        l.one.exten = ""; // cleared once answered (fixture 21)
        dialEvent("DialEnd", l, ["DialStatus", "ANSWER"]);
        this.#answer(true);
        caller.cdrDestination = l.one.name;
        h.bridges.connect(caller, l.one, () => {
          done = true;
          l.cancel(16);
          if (this.#ended) return;
          times(answeredAt);
          this.#setVarEvent("DIALSTATUS", "ANSWER");
          this.#app = undefined;
          this.#hangupFromDialplan(16);
        });
        this.#answerTail();
      },
      ended: (l, cause, answered) => {
        if (answered || done) return;
        dialEvent("DialEnd", l, ["DialStatus", dialStatusOf(cause)]);
        fail(dialStatusOf(cause));
      },
    }, { app: "AppDial", dialString, announceAfterFirstStep: true });
    if (leg === undefined) {
      fail("CHANUNAVAIL");
      return;
    }
    if (done || this.#ended) return;
    this.#app = {
      abort: () => {
        if (done || bridged) return;
        done = true;
        if (timer !== undefined) h.clearTimer(timer);
        dialEvent("DialEnd", leg, ["DialStatus", "CANCEL"]);
        leg.cancel(16);
      },
    };
    if (step.timeoutSeconds !== undefined && step.timeoutSeconds > 0 && !bridged) {
      timer = h.setTimer(step.timeoutSeconds * 1000, () => {
        timer = undefined;
        this.#batch(() => {
          if (done || bridged) return;
          dialEvent("DialEnd", leg, ["DialStatus", "NOANSWER"]);
          leg.cancel(16);
          fail("NOANSWER");
        });
      });
    }
  }

  #ev(name: string, cls: string, headers: Header[]): void {
    this.#host.emitter.event(name, cls, headers);
  }

  #chanEvent(name: string, cls: string, c: SimChannel, extra: Header[] = []): void {
    this.#ev(name, cls, [...c.snapshot("", this.#host.channelVars), ...extra]);
  }

  /** Runs the call from the Originate on (call inside an emitter batch). */
  start(exists: boolean): void {
    const h = this.#host;
    const req = this.#req;
    h.addChannel(this.one);
    h.addChannel(this.two);
    this.#chanEvent("Newchannel", "call", this.one);
    this.#chanEvent("Newchannel", "call", this.two);
    this.#chanEvent("Newexten", "dialplan", this.one, [
      ["Extension", this.one.exten],
      ["Application", "AppDial2"],
      ["AppData", "(Outgoing Line)"],
    ]);
    if (!exists) {
      this.#ended = true;
      this.#chanEvent("Hangup", "call", this.two, [["Cause", "0"], ["Cause-txt", causeText(0)]]);
      this.#chanEvent("Hangup", "call", this.one, [["Cause", "0"], ["Cause-txt", causeText(0)]]);
      h.removeChannel(this.two);
      h.removeChannel(this.one);
      if (req.async) this.#originateFailure(0);
      this.#deviceState("INVALID");
      this.#deviceState("INVALID");
      h.callEnded(false);
      return;
    }
    for (const [k, v] of [...req.variables].reverse()) {
      this.one.setVar(k, v);
      this.#chanEvent("VarSet", "dialplan", this.one, [["Variable", k], ["Value", v]]);
    }
    const hasCid = req.callerIdNum !== undefined || req.callerIdName !== undefined;
    const num = req.callerIdNum ?? "";
    const name = req.callerIdName ?? "";
    if (hasCid) {
      this.one.callerIdNum = num;
      this.one.callerIdName = name;
      this.#chanEvent("NewCallerid", "call", this.one, [
        ["CID-CallingPres", "0 (Presentation Allowed, Not Screened)"],
      ]);
      this.one.connectedNum = num;
      this.one.connectedName = name;
      this.#chanEvent("NewConnectedLine", "call", this.one);
    }
    for (const [k, v] of req.variables) {
      this.two.setVar(k, v);
      this.#chanEvent("VarSet", "dialplan", this.two, [["Variable", k], ["Value", v]]);
    }
    if (hasCid) {
      this.two.callerIdNum = this.two.connectedNum = num;
      this.two.callerIdName = this.two.connectedName = name;
      this.#chanEvent("NewCallerid", "call", this.two, [
        ["CID-CallingPres", "0 (Presentation Allowed, Not Screened)"],
      ]);
      this.#chanEvent("NewConnectedLine", "call", this.two);
    }
    this.#ev("LocalBridge", "call", [
      ...this.one.snapshot("LocalOne", h.channelVars),
      ...this.two.snapshot("LocalTwo", h.channelVars),
      ["Context", this.two.context],
      ["Exten", this.two.exten],
      ["LocalOptimization", "Yes"],
    ]);
    this.#dialEvent("DialBegin", ["DialString", `${this.one.exten}@${this.one.context}`]);
    this.#timeoutTimer = h.setTimer(req.timeoutMs, () => this.#batch(() => this.#ringTimeout()));
    this.#run(0);
  }

  #batch(fn: () => void): void {
    this.#host.emitter.batch(fn);
  }

  #dialEvent(name: string, last: Header): void {
    this.#ev(name, "call", [...this.one.snapshot("Dest", this.#host.channelVars), last]);
  }

  #deviceState(state: string): void {
    this.#ev("DeviceStateChange", "call", [["Device", this.device], ["State", state]]);
  }

  #originateFailure(reason: number): void {
    const req = this.#req;
    const h: Header[] = [];
    if (req.actionId !== undefined) h.push(["ActionID", req.actionId]);
    h.push(["Response", "Failure"], ["Channel", req.channel]);
    pushTarget(h, req);
    h.push(
      ["Reason", String(reason)],
      ["Uniqueid", "<unknown>"],
      ["CallerIDNum", req.callerIdNum ?? "<unknown>"],
      ["CallerIDName", req.callerIdName ?? "<unknown>"],
    );
    this.#ev("OriginateResponse", "call", h);
  }

  /** Runs ;2's dialplan from step index `i`. */
  #run(i: number): void {
    const h = this.#host;
    const two = this.two;
    for (; i < this.#steps.length; i++) {
      if (this.#ended) return;
      const step = this.#steps[i];
      two.priority = i + 1;
      const [app, data] = stepAppData(step);
      two.application = app;
      two.appData = data;
      this.#chanEvent("Newexten", "dialplan", two, [
        ["Extension", two.exten],
        ["Application", app],
        ["AppData", data],
      ]);
      const first = this.#afterFirstNewexten;
      this.#afterFirstNewexten = undefined;
      first?.();
      if (this.#ended) return;
      switch (step.app) {
        case "Answer":
          this.#answer();
          break;
        case "Set":
          two.setVar(step.name, step.value);
          this.#chanEvent("VarSet", "dialplan", two, [["Variable", step.name], [
            "Value",
            step.value,
          ]]);
          break;
        case "UserEvent":
          this.#chanEvent("UserEvent", "user", two, [
            ["UserEvent", step.name],
            ...Object.entries(step.fields ?? {}),
          ]);
          break;
        case "Wait": {
          const next = i + 1;
          this.#timer = h.setTimer(step.seconds * 1000, () => {
            this.#timer = undefined;
            this.#batch(() => this.#run(next));
          });
          return;
        }
        case "Ring":
          return; // until the originate times out or someone hangs up
        case "Ringing":
          this.indicateRinging();
          break;
        case "Dial":
          this.#dial(step, i + 1);
          return;
        case "Queue": {
          const app = h.queues.join(this.#caller(i + 1), step.queue, step.timeoutSeconds);
          if (app === undefined) {
            this.#setVarEvent("QUEUESTATUS", "UNKNOWN");
            break;
          }
          if (this.#app === undefined && !this.#ended) this.#app = app;
          return;
        }
        case "Hangup":
          this.#hangupFromDialplan(step.cause ?? 16);
          return;
      }
    }
    if (!this.#ended) this.#hangupFromDialplan(16);
  }

  /**
   * `;2` answers. `byApp`: a Dial on `;2` answers it once its callee did;
   * then (as fixture 21 shows) `;1` goes up first and the Originate's
   * response follows the bridge.
   */
  #answer(byApp = false): void {
    if (this.#answered) return;
    const h = this.#host;
    this.#answered = true;
    this.#answerWall = h.wallNow();
    this.one.answeredAt = this.two.answeredAt = h.now();
    if (this.#timeoutTimer !== undefined) h.clearTimer(this.#timeoutTimer);
    if (this.#leg !== undefined) {
      this.two.state = 6;
      this.#chanEvent("Newstate", "call", this.two);
      this.#deviceState("INUSE");
      this.one.state = 6;
      this.#chanEvent("Newstate", "call", this.one);
      this.#deviceState("INUSE");
      this.#leg.hooks.answered(this);
      return;
    }
    if (byApp) {
      this.one.state = 6;
      this.#chanEvent("Newstate", "call", this.one);
      this.#dialEvent("DialEnd", ["DialStatus", "ANSWER"]);
      this.two.state = 6;
      this.#chanEvent("Newstate", "call", this.two);
      this.#deviceState("INUSE");
      this.#deviceState("INUSE");
      this.#answerTail = () => {
        this.#answerTail = () => {};
        if (!this.#ended) this.#originateAnswered(false);
      };
      return;
    }
    this.two.state = 6;
    this.#chanEvent("Newstate", "call", this.two);
    this.one.state = 6;
    this.#chanEvent("Newstate", "call", this.one);
    this.#dialEvent("DialEnd", ["DialStatus", "ANSWER"]);
    this.#originateAnswered(true);
  }

  /** The Originate's answer (response, device state) and `;1`'s application starting. */
  #originateAnswered(deviceState: boolean): void {
    const h = this.#host;
    const req = this.#req;
    if (req.async) {
      const r: Header[] = [];
      if (req.actionId !== undefined) r.push(["ActionID", req.actionId]);
      r.push(["Response", "Success"], ["Channel", this.one.name]);
      pushTarget(r, req);
      r.push(
        ["Reason", "4"],
        ["Uniqueid", this.one.uniqueid],
        ["CallerIDNum", this.one.callerIdNum],
        ["CallerIDName", this.one.callerIdName],
      );
      for (const v of h.channelVars) {
        r.push([`ChanVariable(${this.one.name})`, `${v}=${this.one.vars.get(v) ?? ""}`]);
      }
      this.#ev("OriginateResponse", "call", r);
    } else {
      req.respond([["Response", "Success"], ["Message", "Originate successfully queued"]]);
    }
    if (deviceState) {
      this.#deviceState("INUSE");
      this.#deviceState("INUSE");
    }
    // ;1 now runs the Originate's application (or enters the given extension).
    if (req.application !== undefined) {
      this.one.application = req.application;
      this.one.appData = req.data;
      if (/^wait$/i.test(req.application)) {
        const secs = Number(req.data) || 0;
        this.#appTimer = h.setTimer(secs * 1000, () => {
          this.#appTimer = undefined;
          this.#batch(() => this.hangup(this.one, 16, "app"));
        });
      }
    } else {
      this.one.application = "";
      this.one.appData = "";
    }
  }

  /** `;2` hangs up (the Hangup step, the end of its dialplan, or its Dial's end). */
  #hangupFromDialplan(cause: number): void {
    const two = this.two;
    this.#chanEvent("SoftHangupRequest", "call", two, [["Cause", "16"]]);
    // core_unreal.c: a `;2` that ran Dial passes its DIALSTATUS to `;1`.
    const status = two.vars.get("DIALSTATUS");
    if (status !== undefined) this.#setVarOn(this.one, "CHANLOCALSTATUS", status);
    this.#chanEvent("HangupRequest", "call", this.one, [["Cause", String(cause)]]);
    if (this.#answered) {
      this.#finishAnswered(two, this.one, cause);
    } else {
      this.#finishUnanswered(cause, true);
    }
  }

  #finishLegUnanswered(cause: number): void {
    const h = this.#host;
    this.#ended = true;
    this.#clearTimers();
    this.#abortApp();
    this.#hangupChannel(this.two, cause);
    this.#hangupChannel(this.one, cause);
    this.#deviceState("NOT_INUSE");
    this.#deviceState("NOT_INUSE");
    h.callEnded(false);
    this.#leg!.hooks.ended(this, cause, false);
  }

  #ringTimeout(): void {
    if (this.#ended || this.#answered) return;
    this.#chanEvent("HangupRequest", "call", this.two, [["Cause", "16"]]);
    this.#finishUnanswered(19, false);
  }

  /** Ends an unanswered call: `busyOrder` follows fixture 11/13 (;2 hangs up first). */
  #finishUnanswered(cause: number, twoFirst: boolean): void {
    if (this.#leg !== undefined) {
      this.#finishLegUnanswered(cause);
      return;
    }
    const h = this.#host;
    const req = this.#req;
    this.#ended = true;
    this.#clearTimers();
    this.#abortApp();
    const hangupEv = (c: SimChannel, cs: number) => this.#hangupChannel(c, cs);
    const status = twoFirst ? dialStatus(cause) : "NOANSWER";
    const reason = twoFirst ? 0 : 3;
    if (twoFirst) {
      hangupEv(this.two, cause);
      if (req.async) {
        this.#dialEvent("DialEnd", ["DialStatus", status]);
        this.#deviceState("NOT_INUSE");
        this.#originateFailure(reason);
      } else {
        this.#deviceState("NOT_INUSE");
        this.#dialEvent("DialEnd", ["DialStatus", status]);
        this.#failSync();
      }
      hangupEv(this.one, cause);
    } else {
      hangupEv(this.one, 16);
      hangupEv(this.two, 16);
      this.#dialEvent("DialEnd", ["DialStatus", status]);
      if (req.async) this.#originateFailure(reason);
      else this.#failSync();
      this.#deviceState("NOT_INUSE");
    }
    this.#deviceState("NOT_INUSE");
    h.callEnded(false);
  }

  #failSync(): void {
    this.#req.respond([["Response", "Error"], ["Message", "Originate failed"]]);
  }

  #clearTimers(): void {
    const h = this.#host;
    for (const t of [this.#timer, this.#appTimer, this.#timeoutTimer]) {
      if (t !== undefined) h.clearTimer(t);
    }
    this.#timer = this.#appTimer = this.#timeoutTimer = undefined;
  }

  /** Ends an answered call: `first` hangs up first. */
  #finishAnswered(first: SimChannel, second: SimChannel, cause: number): void {
    const h = this.#host;
    this.#ended = true;
    this.#clearTimers();
    this.#abortApp();
    for (const c of [first, second]) this.#hangupChannel(c, cause);
    const end = h.wallNow();
    // A leg's `;1` is the B party of its caller's Cdr: no record of its own.
    for (const c of this.#leg ? [this.two] : [this.two, this.one]) this.#cdr(c, end);
    this.#deviceState("NOT_INUSE");
    this.#deviceState("NOT_INUSE");
    h.callEnded(true);
    this.#leg?.hooks.ended(this, cause, true);
  }

  #cdr(c: SimChannel, endWall: number): void {
    const start = c.createdWall;
    const answer = this.#answerWall;
    const num = c.callerIdNum === "<unknown>" ? "" : c.callerIdNum;
    const name = c.callerIdName === "<unknown>" ? "" : c.callerIdName;
    const cid = num || name ? `"${name}" <${num}>` : "";
    this.#ev("Cdr", "cdr", [
      ["AccountCode", ""],
      ["Source", num],
      ["Destination", c.exten],
      ["DestinationContext", c.context],
      ["CallerID", cid],
      ["Channel", c.name],
      ["DestinationChannel", c.cdrDestination],
      ["LastApplication", c.application],
      ["LastData", c.appData],
      ["StartTime", fmtCdrTime(start)],
      ["AnswerTime", fmtCdrTime(answer)],
      ["EndTime", fmtCdrTime(endWall)],
      ["Duration", String(Math.floor((endWall - start) / 1000))],
      ["BillableSeconds", String(answer === undefined ? 0 : Math.floor((endWall - answer) / 1000))],
      ["Disposition", "ANSWERED"],
      ["AMAFlags", "DOCUMENTATION"],
      ["UniqueID", c.uniqueid],
      ["UserField", ""],
    ]);
  }

  /**
   * Hangs up channel `c` of this call (AMI Hangup, or ;1's application
   * ending). Call inside an emitter batch.
   */
  hangup(c: SimChannel, cause: number, why: "ami" | "app"): void {
    if (this.#ended) return;
    const other = c === this.one ? this.two : this.one;
    if (why === "ami") this.#chanEvent("HangupRequest", "call", c, [["Cause", String(cause)]]);
    this.#chanEvent("HangupRequest", "call", other, [["Cause", String(cause)]]);
    if (this.#answered) {
      this.#finishAnswered(c, other, cause);
    } else {
      this.#finishUnanswered(cause, c === this.two);
    }
  }

  /** Ends the call silently (simulator restart). */
  discard(): void {
    this.#ended = true;
    this.#app = undefined;
    this.#clearTimers();
  }
}

/** The variables Dial clears when it starts, in app_dial's order. */
const DIAL_VARIABLES = [
  "DIALSTATUS",
  "DIALEDPEERNUMBER",
  "DIALEDPEERNAME",
  "ANSWEREDTIME",
  "ANSWEREDTIME_MS",
  "DIALEDTIME",
  "DIALEDTIME_MS",
  "RINGTIME",
  "RINGTIME_MS",
  "PROGRESSTIME",
  "PROGRESSTIME_MS",
];

function pushTarget(h: Header[], req: OriginateRequest): void {
  if (req.application !== undefined) {
    h.push(["Application", req.application], ["Data", req.data]);
  } else {
    h.push(["Context", req.context ?? ""], ["Exten", req.exten ?? ""]);
  }
}
