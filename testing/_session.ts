/**
 * One simulated AMI session, sans-IO: bytes in through
 * {@link SimSession.receive}, text out through its {@link SessionSink}.
 * Framing follows Asterisk's manager.c: a 1024-byte input line buffer, at
 * most 128 header lines, a line starting with NUL ends a message.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { AmiParser } from "../core/parser.ts";
import type { ParsedItem } from "../core/parser.ts";
import { AmiMessage } from "../core/message.ts";
import type { Header } from "../core/message.ts";
import { messageText } from "../core/serializer.ts";
import { fmtDuration, parseCallerId } from "./_channels.ts";
import type { SimChannel } from "./_channels.ts";
import { ALL_CLASSES, CLASS_BITS, eventTv, parseClasses, timestamp } from "./_engine.ts";
import type { EventTarget, SimEngine, SimUser } from "./_engine.ts";

/** Where a session's output goes (the socket glue implements it). */
export interface SessionSink {
  /** Writes text; `kind` lets the glue delay or reorder responses. */
  write(text: string, kind: "response" | "event"): void;
  /** Closes the connection once what was written is flushed. */
  close(): void;
}

/** Addresses for security events. */
export interface SessionAddresses {
  /** e.g. `IPV4/TCP/127.0.0.1/5038`. */
  local: string;
  /** e.g. `IPV4/TCP/127.0.0.1/40458`. */
  remote: string;
}

const MAX_LINE = 1024; // Asterisk's inbuf[1025], minus the terminator
const MAX_HEADERS = 128; // AST_MAX_MANHEADERS
const LF = 10;
const NO_AUTH_ACTIONS = new Set(["login", "challenge", "logoff"]);

/** Write classes each action needs (any one of them), as registered in Asterisk. */
const ACTION_CLASSES: Record<string, string> = {
  ping: "",
  logoff: "",
  login: "",
  challenge: "",
  events: "",
  listcommands: "",
  filter: "system",
  command: "command",
  coreshowchannels: "system,reporting",
  status: "system,call,reporting",
  getvar: "call,reporting",
  setvar: "call",
  hangup: "system,call",
  userevent: "user",
  originate: "originate",
  corestatus: "system,reporting",
  coresettings: "system,reporting",
  bridgelist: "",
  bridgeinfo: "",
  queuestatus: "",
  queuesummary: "",
  queueadd: "agent",
  queueremove: "agent",
  queuepause: "agent",
};

interface Filter {
  include: boolean;
  test: (name: string, text: string) => boolean;
}

let sessionSerial = 0x7f0000001000;

/** One AMI session. */
export class SimSession implements EventTarget {
  /** The session's number (1, 2, ...). */
  readonly id: number;
  readonly #engine: SimEngine;
  readonly #sink: SessionSink;
  readonly #addr: SessionAddresses;
  readonly #sessionId: string;
  readonly #sessionWall: number;
  #line = new Uint8Array(MAX_LINE); // Asterisk's input line buffer
  #lineLen = 0;
  #tooLong = false;
  #msg = new Uint8Array(1024); // the kept lines of the message being read, CRLF-ended
  #msgLen = 0;
  #lineCount = 0;
  #headerLoss = false;
  #parser = newParser();
  #parsed: AmiMessage | undefined;
  readonly #onParsed = (item: ParsedItem): void => {
    if (item.type !== "banner") this.#parsed = item;
  };
  #closed = false;
  #held = false; // waiting for the failed-login delay
  #authenticated = false;
  #user: SimUser | undefined;
  #readPerm = 0;
  #writePerm = 0;
  #eventMask = ALL_CLASSES;
  #filters: Filter[] = [];
  #challenge: string | undefined;

  constructor(engine: SimEngine, id: number, sink: SessionSink, addr: SessionAddresses) {
    this.#engine = engine;
    this.id = id;
    this.#sink = sink;
    this.#addr = addr;
    this.#sessionId = "0x" + (sessionSerial += 0x1230).toString(16);
    this.#sessionWall = engine.wallNow();
  }

  /** Whether the user logged in. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** The logged-in user's name, if any. */
  get username(): string | undefined {
    return this.#user?.username;
  }

  /** Whether the session is closed (Logoff, failed login, or {@link SimSession.closed}). */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** The session's read mask (for flood targeting). */
  get readMask(): number {
    return this.#authenticated ? this.#readPerm & this.#eventMask : 0;
  }

  /** Sends the banner; call once when the connection opens. */
  open(banner: string): void {
    this.#sink.write(banner + "\r\n", "response");
  }

  /** Marks the session closed (the socket went away). */
  closed(): void {
    this.#closed = true;
    this.#engine.sessions.delete(this);
  }

  /** Feeds bytes read from the client. */
  receive(bytes: Uint8Array): void {
    const n = bytes.length;
    let i = 0;
    while (i < n && !this.#closed && !this.#held) {
      const lf = bytes.indexOf(LF, i);
      const end = lf < 0 ? n : lf;
      // A line that reaches MAX_LINE bytes is dropped, and reading goes on
      // with the bytes after it (Asterisk: "Discarding message ... Line too long").
      while (end - i >= MAX_LINE - this.#lineLen) {
        i += MAX_LINE - this.#lineLen;
        this.#lineLen = 0;
        this.#tooLong = true;
      }
      this.#line.set(bytes.subarray(i, end), this.#lineLen);
      this.#lineLen += end - i;
      if (lf < 0) return;
      i = lf + 1;
      let len = this.#lineLen;
      if (len > 0 && this.#line[len - 1] === 13) len--;
      len = nulCut(this.#line, len);
      this.#lineLen = 0;
      this.#onLine(len);
    }
  }

  /** Takes the first `len` bytes of the line buffer as one line. */
  #onLine(len: number): void {
    if (len > 0) {
      if (this.#lineCount < MAX_HEADERS) this.#keepLine(len);
      else this.#headerLoss = true;
      return;
    }
    const tooLong = this.#tooLong;
    const loss = this.#headerLoss;
    this.#tooLong = this.#headerLoss = false;
    const msg = this.#message();
    this.#engine.stats.actions++;
    if (loss) {
      this.#respond(msg, [["Response", "Error"], [
        "Message",
        "Too many lines in message or allocation failure",
      ]]);
    } else if (tooLong) {
      this.#respond(msg, [["Response", "Error"], [
        "Message",
        "Failed to parse message: line too long",
      ]]);
    } else {
      this.#engine.batch(() => this.#process(msg));
    }
  }

  /** Appends a header line (with CRLF) to the message being read. */
  #keepLine(len: number): void {
    const need = this.#msgLen + len + 4; // the line, its CRLF, the final CRLF
    if (need > this.#msg.length) {
      const grown = new Uint8Array(Math.max(need, this.#msg.length * 2));
      grown.set(this.#msg.subarray(0, this.#msgLen));
      this.#msg = grown;
    }
    this.#msg.set(this.#line.subarray(0, len), this.#msgLen);
    this.#msgLen += len;
    this.#msg[this.#msgLen++] = 13;
    this.#msg[this.#msgLen++] = LF;
    this.#lineCount++;
  }

  /** Turns the kept lines into a message with the core parser, and starts the next. */
  #message(): AmiMessage {
    const len = this.#msgLen;
    const lines = this.#lineCount;
    this.#msgLen = this.#lineCount = 0;
    if (lines === 0) return new AmiMessage([]);
    this.#msg[len] = 13;
    this.#msg[len + 1] = LF;
    this.#parsed = undefined;
    this.#parser.push(this.#msg.subarray(0, len + 2), this.#onParsed);
    // A "Response: Follows" without "--END COMMAND--" is still open: drop it.
    if (this.#parser.hasPartial) this.#parser = newParser();
    return this.#parsed ?? new AmiMessage([]);
  }

  /** Whether this session takes a broadcast event. */
  wantsEvent(clsBit: number, name: string, text: string): boolean {
    if (!this.#authenticated || this.#closed) return false;
    if ((this.#readPerm & clsBit) === 0 || (this.#eventMask & clsBit) === 0) return false;
    if (this.#filters.length === 0) return true;
    let included = !this.#filters.some((f) => f.include);
    for (const f of this.#filters) {
      if (f.include && !included && f.test(name, text)) included = true;
    }
    if (!included) return false;
    for (const f of this.#filters) if (!f.include && f.test(name, text)) return false;
    return true;
  }

  /** Writes a broadcast event. */
  deliverEvent(text: string): void {
    this.#engine.stats.eventsSent++;
    this.#sink.write(text, "event");
  }

  #respond(msg: AmiMessage, headers: Header[], extra = ""): void {
    if (this.#closed) return;
    const id = msg.actionId;
    const out: Header[] = [headers[0]];
    if (id !== undefined && id !== "") out.push(["ActionID", id]);
    out.push(...headers.slice(1));
    this.#sink.write(messageText(out) + extra, "response");
  }

  #error(msg: AmiMessage, message: string): void {
    this.#respond(msg, [["Response", "Error"], ["Message", message]]);
  }

  #success(msg: AmiMessage, headers: Header[] = []): void {
    this.#respond(msg, [["Response", "Success"], ...headers]);
  }

  #security(name: string, severity: string, extra: Header[], accountFirst: boolean): void {
    const e = this.#engine;
    const h: Header[] = [
      ["EventTV", eventTv(e.wallNow())],
      ["Severity", severity],
      ["Service", "AMI"],
      ["EventVersion", "1"],
    ];
    if (accountFirst) h.push(["AccountID", this.#user?.username ?? ""]);
    h.push(
      ["SessionID", this.#sessionId],
      ["LocalAddress", this.#addr.local],
      ["RemoteAddress", this.#addr.remote],
      ...extra,
    );
    e.broadcast(name, "security", h);
  }

  #badFormat(requestType: string): void {
    this.#security("RequestBadFormat", "Error", [
      ["RequestType", `Action: ${requestType}`],
      ["SessionTV", eventTv(this.#sessionWall)],
      ["AccountID", this.#user?.username ?? ""],
    ], false);
  }

  #process(msg: AmiMessage): void {
    const action = msg.get("Action")?.trim() ?? "";
    if (action === "") {
      this.#error(msg, "Missing action in request");
      if (this.#authenticated) this.#badFormat("NONE");
      return;
    }
    const key = action.toLowerCase();
    if (!this.#authenticated && !NO_AUTH_ACTIONS.has(key)) {
      this.#error(msg, "Permission denied");
      return;
    }
    const classes = ACTION_CLASSES[key];
    if (classes === undefined) {
      this.#error(
        msg,
        `Invalid/unknown command: ${action}. Use Action: ListCommands to show available commands.`,
      );
      this.#badFormat(action);
      return;
    }
    if (classes !== "" && (this.#writePerm & parseClasses(classes)) === 0) {
      this.#error(msg, "Permission denied");
      return;
    }
    const handler = HANDLERS[key];
    handler(this, msg);
  }

  // ---- handlers (called through HANDLERS) ----

  /** @internal */
  login(msg: AmiMessage): void {
    if (this.#authenticated) {
      this.#success(msg, [["Message", "Already authenticated"]]);
      return;
    }
    const e = this.#engine;
    const user = e.users.get(msg.get("Username") ?? "");
    let ok = false;
    if (user) {
      if ((msg.get("AuthType") ?? "").toLowerCase() === "md5") {
        const key = msg.get("Key") ?? "";
        ok = this.#challenge !== undefined &&
          createHash("md5").update(this.#challenge + user.secret).digest("hex") ===
            key.toLowerCase();
      } else {
        ok = msg.get("Secret") === user.secret;
      }
    }
    if (!ok) {
      e.stats.loginFailures++;
      this.#held = true;
      e.setTimer(e.loginFailureDelayMs, () => {
        this.#error(msg, "Authentication failed");
        this.#closed = true;
        this.#sink.close();
      });
      return;
    }
    e.stats.logins++;
    this.#authenticated = true;
    this.#user = user!;
    this.#readPerm = parseClasses(user!.read);
    this.#writePerm = parseClasses(user!.write);
    const ev = msg.get("Events");
    if (ev !== undefined) this.#eventMask = eventMask(ev);
    this.#success(msg, [["Message", "Authentication accepted"]]);
    e.sessions.add(this);
    const sys = CLASS_BITS.system;
    if ((this.#readPerm & sys) && (this.#eventMask & sys)) {
      const up = String(Math.floor((e.now() - e.startedAt) / 1000));
      this.#sink.write(
        messageText([
          ["Event", "FullyBooted"],
          ["Privilege", "system,all"],
          ["Uptime", up],
          ["LastReload", up],
          ["Status", "Fully Booted"],
        ]),
        "event",
      );
    }
    this.#security("SuccessfulAuth", "Informational", [
      ["UsingPassword", "0"],
      ["SessionTV", eventTv(this.#sessionWall)],
    ], true);
  }

  /** @internal */
  challenge(msg: AmiMessage): void {
    if ((msg.get("AuthType") ?? "").toLowerCase() !== "md5") {
      this.#error(msg, "Must specify AuthType");
      return;
    }
    this.#challenge ??= String(100_000_000 + Math.floor(Math.random() * 900_000_000));
    this.#success(msg, [["Challenge", this.#challenge]]);
  }

  /** @internal */
  logoff(msg: AmiMessage): void {
    this.#respond(msg, [["Response", "Goodbye"], ["Message", "Thanks for all the fish."]]);
    this.#closed = true;
    this.#engine.sessions.delete(this);
    this.#sink.close();
  }

  /** @internal */
  ping(msg: AmiMessage): void {
    this.#success(msg, [["Ping", "Pong"], ["Timestamp", timestamp(this.#engine.wallNow())]]);
  }

  /** @internal */
  events(msg: AmiMessage): void {
    this.#eventMask = eventMask(msg.get("EventMask") ?? "");
    this.#success(msg, [["Events", this.#eventMask ? "On" : "Off"]]);
  }

  /** @internal */
  filter(msg: AmiMessage): void {
    if ((msg.get("Operation") ?? "").toLowerCase() !== "add") {
      this.#error(msg, "Unknown operation");
      return;
    }
    const criteria = msg.get("MatchCriteria");
    let filter: string = msg.get("Filter") ?? "";
    let include = true;
    let name: string | undefined;
    if (criteria !== undefined) {
      for (const m of criteria.matchAll(/(\w+)\(([^)]*)\)/g)) {
        if (m[1] === "action") include = m[2] !== "exclude";
        if (m[1] === "name") name = m[2];
      }
    } else if (filter.startsWith("!")) {
      include = false;
      filter = filter.slice(1);
    }
    let re: RegExp | undefined;
    try {
      re = filter === "" ? undefined : new RegExp(filter);
    } catch {
      this.#error(msg, "Filter did not compile.  Check the syntax of the filter given.");
      return;
    }
    this.#filters.push({
      include,
      test: (n, text) =>
        (name === undefined || n.toLowerCase() === name.toLowerCase()) &&
        (re === undefined || re.test(text)),
    });
    this.#success(msg, [["Message", "Success"]]);
  }

  /** @internal */
  command(msg: AmiMessage): void {
    const cmd = msg.get("Command");
    if (cmd === undefined || cmd.trim() === "") {
      this.#error(msg, "No command provided");
      return;
    }
    const out = cliCommand(this.#engine, cmd.trim());
    const headers: Header[] = [
      ["Response", out ? "Success" : "Error"],
      ["Message", "Command output follows"],
    ];
    const lines = out ?? [
      `No such command '${cmd.trim()}' (type 'core show help ${
        cmd.trim().split(/\s+/).slice(0, 2).join(" ")
      }' for other possible commands)`,
    ];
    for (const l of lines) headers.push(["Output", l]);
    this.#respond(msg, headers);
  }

  #listResponse(
    msg: AmiMessage,
    message: string,
    items: Header[][],
    complete: string,
    extra: Header[] = [],
  ): void {
    const id = msg.actionId;
    let text = "";
    for (const item of items) text += messageText(item);
    const done: Header[] = [["Event", complete]];
    if (id !== undefined) done.push(["ActionID", id]);
    done.push(["EventList", "Complete"], ["ListItems", String(items.length)], ...extra);
    text += messageText(done);
    this.#respond(
      msg,
      [["Response", "Success"], ["EventList", "start"], ["Message", message]],
      text,
    );
  }

  /** @internal */
  coreshowchannels(msg: AmiMessage): void {
    const e = this.#engine;
    const id = msg.actionId;
    const items = e.channelList().map((c) => {
      const h: Header[] = [["Event", "CoreShowChannel"]];
      if (id !== undefined) h.push(["ActionID", id]);
      h.push(
        ...c.snapshot("", e.channelVars),
        ["Application", c.application],
        ["ApplicationData", c.appData],
        ["Duration", fmtDuration(e.now() - c.createdAt)],
        ["BridgeId", c.bridge?.id ?? ""],
      );
      return h;
    });
    this.#listResponse(msg, "Channels will follow", items, "CoreShowChannelsComplete");
  }

  /** @internal */
  status(msg: AmiMessage): void {
    const e = this.#engine;
    const id = msg.actionId;
    const name = msg.get("Channel");
    let chans = e.channelList();
    if (name !== undefined && name !== "") {
      const c = e.channel(name);
      if (!c) {
        this.#error(msg, "No such channel");
        return;
      }
      chans = [c];
    }
    const items = chans.map((c) => {
      const h: Header[] = [["Event", "Status"], ["Privilege", "Call"]];
      h.push(
        ...c.snapshot("", e.channelVars),
        ["Type", "Local"],
        ["DNID", ""],
        ["EffectiveConnectedLineNum", c.connectedNum],
        ["EffectiveConnectedLineName", c.connectedName],
        ["TimeToHangup", "0"],
        ["BridgeID", c.bridge?.id ?? ""],
        ["Application", c.application],
        ["Data", c.appData],
        ["Nativeformats", "(slin)"],
        ["Readformat", "slin"],
        ["Readtrans", ""],
        ["Writeformat", "slin"],
        ["Writetrans", ""],
        ["Callgroup", "0"],
        ["Pickupgroup", "0"],
        ["Seconds", String(Math.floor((e.now() - c.createdAt) / 1000))],
      );
      if (id !== undefined) h.push(["ActionID", id]);
      return h;
    });
    this.#listResponse(msg, "Channel status will follow", items, "StatusComplete", [
      ["Items", String(items.length)],
    ]);
  }

  /** @internal */
  getvar(msg: AmiMessage): void {
    const e = this.#engine;
    const variable = msg.get("Variable");
    if (variable === undefined || variable === "") {
      this.#error(msg, "No variable specified");
      return;
    }
    const chan = msg.get("Channel");
    let value: string;
    if (chan !== undefined && chan !== "") {
      const c = e.channel(chan);
      if (!c) {
        this.#error(msg, "No such channel");
        return;
      }
      value = c.vars.get(variable.replace(/^_{1,2}/, "")) ?? "";
    } else {
      value = e.globals.get(variable) ?? "";
    }
    this.#success(msg, [["Variable", variable], ["Value", value]]);
  }

  /** @internal */
  setvar(msg: AmiMessage): void {
    const e = this.#engine;
    const variable = msg.get("Variable");
    if (variable === undefined || variable === "") {
      this.#error(msg, "No variable specified");
      return;
    }
    const value = msg.get("Value") ?? "";
    const chan = msg.get("Channel");
    if (chan !== undefined && chan !== "") {
      const c = e.channel(chan);
      if (!c) {
        this.#error(msg, "No such channel");
        return;
      }
      c.setVar(variable, value);
      this.#success(msg, [["Message", "Variable Set"]]);
      e.broadcast("VarSet", "dialplan", [
        ...c.snapshot("", e.channelVars),
        ["Variable", variable],
        ["Value", value],
      ]);
      return;
    }
    e.globals.set(variable, value);
    this.#success(msg, [["Message", "Variable Set"]]);
    e.broadcast("VarSet", "dialplan", [
      ["Channel", "none"],
      ["Uniqueid", "none"],
      ["Variable", variable],
      ["Value", value],
    ]);
  }

  /** @internal */
  userevent(msg: AmiMessage): void {
    const name = msg.get("UserEvent");
    if (name === undefined || name === "") {
      this.#error(msg, "UserEvent header missing");
      return;
    }
    this.#success(msg, [["Message", "Event Sent"]]);
    const rest = msg.headers.filter(([k]) => {
      const l = k.toLowerCase();
      return l !== "action" && l !== "userevent";
    });
    this.#engine.broadcast("UserEvent", "user", [["UserEvent", name], ...rest]);
  }

  /** @internal */
  hangup(msg: AmiMessage): void {
    const e = this.#engine;
    const name = msg.get("Channel");
    if (name === undefined || name === "") {
      this.#error(msg, "No channel specified");
      return;
    }
    const cause = Number(msg.get("Cause") ?? "16") || 16;
    if (name.length > 2 && name.startsWith("/") && name.endsWith("/")) {
      let re: RegExp;
      try {
        re = new RegExp(name.slice(1, -1));
      } catch {
        this.#error(msg, "Regex compile failed on: " + name);
        return;
      }
      const hit = e.channelList().filter((c) => re.test(c.name));
      const id = msg.actionId;
      const items = hit.map((c) => {
        const h: Header[] = [["Event", "ChannelHungup"], ["Channel", c.name]];
        if (id !== undefined) h.push(["ActionID", id]);
        return h;
      });
      this.#listResponse(msg, "Channels hung up will follow", items, "ChannelsHungupListComplete");
      for (const c of hit) c.call?.hangup(c, cause, "ami");
      return;
    }
    const c = e.channel(name);
    if (!c) {
      this.#error(msg, "No such channel");
      return;
    }
    this.#success(msg, [["Message", "Channel Hungup"]]);
    c.call?.hangup(c, cause, "ami");
  }

  /** @internal */
  originate(msg: AmiMessage): void {
    const e = this.#engine;
    const channel = msg.get("Channel");
    if (channel === undefined || channel === "") {
      this.#error(msg, "Channel not specified");
      return;
    }
    const application = msg.get("Application");
    const exten = msg.get("Exten");
    if (
      (application === undefined || application === "") && (exten === undefined || exten === "")
    ) {
      this.#error(msg, "Exten not specified");
      return;
    }
    const isAsync = /^(yes|true|y|t|1|on)$/i.test(msg.get("Async") ?? "");
    const cid = parseCallerId(msg.get("CallerID"));
    const variables: Array<[string, string]> = [];
    for (const v of msg.getAll("Variable")) {
      for (const part of v.split(",")) {
        const eq = part.indexOf("=");
        if (eq > 0) variables.push([part.slice(0, eq).trim(), part.slice(eq + 1)]);
      }
    }
    const timeout = Number(msg.get("Timeout") ?? "30000");
    if (isAsync) this.#success(msg, [["Message", "Originate successfully queued"]]);
    e.originate({
      channel,
      actionId: msg.actionId,
      async: isAsync,
      application: application === "" ? undefined : application,
      data: msg.get("Data") ?? "",
      context: msg.get("Context"),
      exten,
      priority: msg.get("Priority"),
      callerIdNum: cid.num,
      callerIdName: cid.name,
      timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 30000,
      variables,
      channelId: msg.get("ChannelId") || undefined,
      otherChannelId: msg.get("OtherChannelId") || undefined,
      respond: (headers) => e.emitter.priority(() => this.#respond(msg, headers)),
    });
  }

  /** @internal */
  corestatus(msg: AmiMessage): void {
    const e = this.#engine;
    const d = new Date(e.startedWall).toISOString();
    this.#success(msg, [
      ["CoreStartupDate", d.slice(0, 10)],
      ["CoreStartupTime", d.slice(11, 19)],
      ["CoreReloadDate", d.slice(0, 10)],
      ["CoreReloadTime", d.slice(11, 19)],
      ["CoreCurrentCalls", String(Math.ceil(e.channelList().length / 2))],
      ["CoreProcessedCalls", String(e.callsProcessed)],
    ]);
  }

  /** @internal */
  coresettings(msg: AmiMessage): void {
    const e = this.#engine;
    this.#success(msg, [
      ["AMIversion", e.amiVersion],
      ["AsteriskVersion", e.asteriskVersion],
      ["SystemName", ""],
      ["CoreMaxCalls", "500"],
      ["CoreMaxLoadAvg", "0.000000"],
      ["CoreRunUser", ""],
      ["CoreRunGroup", ""],
      ["CoreMaxFilehandles", "0"],
      ["CoreRealTimeEnabled", "No"],
      ["CoreCDRenabled", "Yes"],
      ["CoreHTTPenabled", "No"],
      ["SoundsSearchCustomDir", "No"],
    ]);
  }

  /** @internal */
  bridgelist(msg: AmiMessage): void {
    const e = this.#engine;
    const id = msg.actionId;
    const type = msg.get("BridgeType") ?? "";
    const items = e.bridges.list().filter((b) => type === "" || b.technology === type).map((b) => {
      const h: Header[] = [["Event", "BridgeListItem"]];
      if (id !== undefined && id !== "") h.push(["ActionID", id]);
      h.push(...b.headers());
      return h;
    });
    this.#listResponse(msg, "Bridge listing will follow", items, "BridgeListComplete");
  }

  /** @internal */
  bridgeinfo(msg: AmiMessage): void {
    const e = this.#engine;
    const id = msg.actionId;
    const bridgeId = msg.get("BridgeUniqueid") ?? "";
    if (bridgeId === "") {
      this.#error(msg, "BridgeUniqueid must be provided");
      return;
    }
    const b = e.bridges.get(bridgeId);
    if (b === undefined) {
      this.#error(msg, "Specified BridgeUniqueid not found");
      return;
    }
    const items = b.channels.map((c) => {
      const h: Header[] = [["Event", "BridgeInfoChannel"]];
      if (id !== undefined && id !== "") h.push(["ActionID", id]);
      h.push(...c.snapshot("", e.channelVars));
      return h;
    });
    this.#listResponse(
      msg,
      "Bridge channel listing will follow",
      items,
      "BridgeInfoComplete",
      b.headers(),
    );
  }

  /** An ActionID header at the end of each item, as app_queue writes its lists. */
  #withTrailingId(msg: AmiMessage, items: Header[][]): Header[][] {
    const id = msg.actionId;
    if (id === undefined || id === "") return items;
    return items.map((h) => [...h, ["ActionID", id]]);
  }

  /** @internal */
  queuestatus(msg: AmiMessage): void {
    const items = this.#engine.queues.statusItems(msg.get("Queue") ?? "", msg.get("Member") ?? "");
    this.#listResponse(
      msg,
      "Queue status will follow",
      this.#withTrailingId(msg, items),
      "QueueStatusComplete",
    );
  }

  /** @internal */
  queuesummary(msg: AmiMessage): void {
    const items = this.#engine.queues.summaryItems(msg.get("Queue") ?? "");
    this.#listResponse(
      msg,
      "Queue summary will follow",
      this.#withTrailingId(msg, items),
      "QueueSummaryComplete",
    );
  }

  /** @internal */
  queueadd(msg: AmiMessage): void {
    const queue = msg.get("Queue") ?? "";
    const iface = msg.get("Interface") ?? "";
    if (queue === "") return this.#error(msg, "'Queue' not specified.");
    if (iface === "") return this.#error(msg, "'Interface' not specified.");
    const penalty = Number(msg.get("Penalty") ?? "0");
    const r = this.#engine.queues.add(queue, {
      interface: iface,
      name: msg.get("MemberName") || undefined,
      stateInterface: msg.get("StateInterface") || undefined,
      penalty: Number.isInteger(penalty) && penalty > 0 ? penalty : 0,
      paused: /^(yes|true|y|t|1|on)$/i.test(msg.get("Paused") ?? ""),
    });
    if (r === "ok") this.#success(msg, [["Message", "Added interface to queue"]]);
    else if (r === "exists") this.#error(msg, "Unable to add interface: Already there");
    else this.#error(msg, "Unable to add interface to queue: No such queue");
  }

  /** @internal */
  queueremove(msg: AmiMessage): void {
    const queue = msg.get("Queue") ?? "";
    const iface = msg.get("Interface") ?? "";
    if (queue === "" || iface === "") {
      return this.#error(msg, "Need 'Queue' and 'Interface' parameters.");
    }
    const r = this.#engine.queues.remove(queue, iface);
    if (r === "ok") this.#success(msg, [["Message", "Removed interface from queue"]]);
    else if (r === "notThere") this.#error(msg, "Unable to remove interface: Not there");
    else if (r === "notDynamic") this.#error(msg, "Member not dynamic");
    else this.#error(msg, "Unable to remove interface from queue: No such queue");
  }

  /** @internal */
  queuepause(msg: AmiMessage): void {
    const iface = msg.get("Interface") ?? "";
    const pausedText = msg.get("Paused") ?? "";
    if (iface === "" || pausedText === "") {
      return this.#error(msg, "Need 'Interface' and 'Paused' parameters.");
    }
    const paused = /^(yes|true|y|t|1|on)$/i.test(pausedText);
    const found = this.#engine.queues.pause(
      msg.get("Queue") ?? "",
      iface,
      paused,
      msg.get("Reason") ?? "",
    );
    if (!found) this.#error(msg, "Interface not found");
    else {
      this.#success(msg, [[
        "Message",
        paused ? "Interface paused successfully" : "Interface unpaused successfully",
      ]]);
    }
  }

  /** @internal */
  listcommands(msg: AmiMessage): void {
    const h: Header[] = [];
    for (const [k, cls] of Object.entries(ACTION_CLASSES)) {
      h.push([ACTION_NAMES[k], `${ACTION_NAMES[k]}.  (Priv: ${cls === "" ? "<none>" : cls})`]);
    }
    this.#success(msg, h);
  }
}

const ACTION_NAMES: Record<string, string> = {
  ping: "Ping",
  logoff: "Logoff",
  login: "Login",
  challenge: "Challenge",
  events: "Events",
  listcommands: "ListCommands",
  filter: "Filter",
  command: "Command",
  coreshowchannels: "CoreShowChannels",
  status: "Status",
  getvar: "Getvar",
  setvar: "Setvar",
  hangup: "Hangup",
  userevent: "UserEvent",
  originate: "Originate",
  corestatus: "CoreStatus",
  coresettings: "CoreSettings",
  bridgelist: "BridgeList",
  bridgeinfo: "BridgeInfo",
  queuestatus: "QueueStatus",
  queuesummary: "QueueSummary",
  queueadd: "QueueAdd",
  queueremove: "QueueRemove",
  queuepause: "QueuePause",
};

type Handler = (s: SimSession, m: AmiMessage) => void;
const HANDLERS: Record<string, Handler> = {
  ping: (s, m) => s.ping(m),
  logoff: (s, m) => s.logoff(m),
  login: (s, m) => s.login(m),
  challenge: (s, m) => s.challenge(m),
  events: (s, m) => s.events(m),
  listcommands: (s, m) => s.listcommands(m),
  filter: (s, m) => s.filter(m),
  command: (s, m) => s.command(m),
  coreshowchannels: (s, m) => s.coreshowchannels(m),
  status: (s, m) => s.status(m),
  getvar: (s, m) => s.getvar(m),
  setvar: (s, m) => s.setvar(m),
  hangup: (s, m) => s.hangup(m),
  userevent: (s, m) => s.userevent(m),
  originate: (s, m) => s.originate(m),
  corestatus: (s, m) => s.corestatus(m),
  coresettings: (s, m) => s.coresettings(m),
  bridgelist: (s, m) => s.bridgelist(m),
  bridgeinfo: (s, m) => s.bridgeinfo(m),
  queuestatus: (s, m) => s.queuestatus(m),
  queuesummary: (s, m) => s.queuesummary(m),
  queueadd: (s, m) => s.queueadd(m),
  queueremove: (s, m) => s.queueremove(m),
  queuepause: (s, m) => s.queuepause(m),
};

/** Asterisk's `Events`/`EventMask` parsing: on/off words, or a class list. */
export function eventMask(value: string): number {
  const v = value.trim().toLowerCase();
  if (/^(on|yes|true|y|t|1)$/.test(v)) return ALL_CLASSES;
  if (/^(off|no|false|n|f|0)$/.test(v)) return 0;
  if (/^\d+$/.test(v)) return Number(v) & ALL_CLASSES;
  return parseClasses(v);
}

/** A line ends at its first NUL byte, as a C string. */
function nulCut(line: Uint8Array, len: number): number {
  for (let i = 0; i < len; i++) if (line[i] === 0) return i;
  return len;
}

/** A parser for what a client sends: complete messages of at most MAX_HEADERS lines. */
function newParser(): AmiParser {
  return new AmiParser({ expectBanner: false, maxHeaders: MAX_HEADERS + 1 });
}

/** Output lines of a CLI command, or undefined when the command is unknown. */
function cliCommand(e: SimEngine, cmd: string): string[] | undefined {
  const words = cmd.toLowerCase().split(/\s+/);
  const c = words.join(" ");
  const chans = e.channelList();
  if (c === "core show version") {
    return [
      `Asterisk ${e.asteriskVersion} built by amikit-simulator @ localhost on a x86_64 running Linux`,
    ];
  }
  if (c === "core show channels" || c === "core show channels verbose") {
    const pad = (s: string, n: number) => s.slice(0, n).padEnd(n);
    const row = (a: string, b: string, st: string, app: string) =>
      `${pad(a, 64)} ${pad(b, 32)} ${pad(st, 7)} ${pad(app, 30)}`;
    const calls = Math.ceil(chans.length / 2);
    return [
      row("Channel", "Location", "State", "Application(Data)"),
      ...chans.map((ch) =>
        row(
          ch.name,
          `${ch.exten}@${ch.context}:${ch.priority}`,
          ch.stateDesc,
          `${ch.application}(${ch.appData})`,
        )
      ),
      `${chans.length} active channel${chans.length === 1 ? "" : "s"}`,
      `${calls} of 500 max active call${calls === 1 ? "" : "s"} (${
        (calls / 5).toFixed(2).padStart(5)
      }% of capacity)`,
      `${e.callsProcessed} call${e.callsProcessed === 1 ? "" : "s"} processed`,
    ];
  }
  if (c === "core show channels concise") {
    if (chans.length === 0) return [""];
    return chans.map((ch: SimChannel) =>
      [
        ch.name,
        ch.context,
        ch.exten,
        ch.priority,
        ch.stateDesc,
        ch.application,
        ch.appData,
        ch.callerIdNum === "<unknown>" ? "" : ch.callerIdNum,
        "",
        "",
        "3",
        Math.floor((e.now() - ch.createdAt) / 1000),
        "",
        ch.uniqueid,
      ].join("!")
    );
  }
  if (c === "core show channels count") {
    const calls = Math.ceil(chans.length / 2);
    return [
      `${chans.length} active channel${chans.length === 1 ? "" : "s"}`,
      `${calls} active call${calls === 1 ? "" : "s"}`,
      `${e.callsProcessed} call${e.callsProcessed === 1 ? "" : "s"} processed`,
    ];
  }
  if (c === "core show uptime" || c === "core show uptime seconds") {
    const s = Math.floor((e.now() - e.startedAt) / 1000);
    return words.length === 4
      ? [`System uptime: ${s}`, `Last reload: ${s}`]
      : [`System uptime: ${s} seconds`, `Last reload: ${s} seconds`];
  }
  if (c === "dialplan reload") return ["Dialplan reloaded."];
  if (c === "core show help" || c.startsWith("core show help ")) {
    return [
      "core show channels [concise|verbose|count] -- Display information on channels",
      "core show uptime [seconds]     -- Show uptime information",
      "core show version              -- Display version info",
    ];
  }
  return undefined;
}
