// The live model's scan of an event (live/_scan.ts): it reads what
// readChannel and get() read, from the raw text or from split headers, and
// the model never splits a message parsed from text; events it has no use
// for are skipped unread.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AmiMessage, splitText } from "../core/message.ts";
import { LiveModel } from "../live/model.ts";
import {
  EXTRA,
  S_ACCOUNT,
  S_CHANNEL,
  S_CID_NAME,
  S_CID_NUM,
  S_CL_NAME,
  S_CL_NUM,
  S_CONTEXT,
  S_EXTEN,
  S_LINKEDID,
  S_PRIORITY,
  S_STATE,
  S_STATE_DESC,
  S_UNIQUEID,
  SnapshotScan,
  X_APPDATA,
  X_APPLICATION,
  X_BRIDGE_CREATOR,
  X_BRIDGE_ID,
  X_BRIDGE_NAME,
  X_BRIDGE_TECH,
  X_BRIDGE_TYPE,
  X_UNIQUEID,
  X_VALUE,
  X_VARIABLE,
} from "../live/_scan.ts";
import { CHANNEL_PREFIXES, readChannel, unknownToEmpty } from "../live/_snapshot.ts";

/** A message that counts how often its headers are split and its text read. */
class Counted extends AmiMessage {
  static splits = 0;
  static texts = 0;
  override get headers() {
    Counted.splits++;
    return super.headers;
  }
  override get rawText() {
    Counted.texts++;
    return super.rawText;
  }
}

function counted(lines: string[]): AmiMessage {
  return new Counted(lines.map((l) => l + "\r\n").join(""), { hasActionId: false });
}

function snapshot(id: string, state: number, prefix = ""): string[] {
  return [
    `${prefix}Channel: PJSIP/a-${id}`,
    `${prefix}ChannelState: ${state}`,
    `${prefix}ChannelStateDesc: Up`,
    `${prefix}CallerIDNum: 100`,
    `${prefix}CallerIDName: <unknown>`,
    `${prefix}ConnectedLineNum: <unknown>`,
    `${prefix}ConnectedLineName: <unknown>`,
    `${prefix}AccountCode: `,
    `${prefix}Context: default`,
    `${prefix}Exten: 100`,
    `${prefix}Priority: 1`,
    `${prefix}Uniqueid: ${id}`,
    `${prefix}Linkedid: ${id}`,
  ];
}

test("live scan: events the model has no use for are skipped unread", () => {
  const model = new LiveModel();
  Counted.splits = Counted.texts = 0;
  const N = 1_000;
  for (let i = 0; i < N; i++) {
    model.apply(counted(["Event: Cdr", "Uniqueid: 1.1", "Channel: PJSIP/a-1"]), 0);
    model.apply(counted(["Event: DeviceStateChange", "Device: PJSIP/a", "State: INUSE"]), 0);
    model.apply(counted(["Event: CoreShowChannel", ...snapshot(`1.${i}`, 6)]), 0);
  }
  assert.equal(model.position, 3 * N, "every event still counts for the position");
  assert.equal(model.channels.size, 0);
  assert.equal(Counted.splits, 0, "no header split");
  assert.equal(Counted.texts, 0, "no text read");
});

test("live scan: a call's events parsed from text are read once each and never split", () => {
  const model = new LiveModel({ variables: ["X"] });
  Counted.splits = Counted.texts = 0;
  const bridge = ["BridgeUniqueid: b-1", "BridgeType: basic", "BridgeTechnology: simple_bridge"];
  const events = [
    ["Event: Newchannel", ...snapshot("1.1", 4)],
    ["Event: Newexten", ...snapshot("1.1", 4), "Application: Dial", "AppData: PJSIP/b"],
    ["Event: VarSet", ...snapshot("1.1", 4), "Variable: X", "Value: 1"],
    ["Event: DialBegin", ...snapshot("1.1", 4), ...snapshot("1.2", 0, "Dest")],
    ["Event: Newstate", ...snapshot("1.2", 6)],
    ["Event: BridgeCreate", ...bridge],
    ["Event: BridgeEnter", ...bridge, ...snapshot("1.1", 6)],
    ["Event: BridgeEnter", ...bridge, ...snapshot("1.2", 6)],
  ];
  for (const e of events) model.apply(counted(e), 0);
  assert.equal(Counted.splits, 0, "no header split");
  assert.equal(Counted.texts, events.length, "one read of the text per event");
  const a = model.channels.get("1.1");
  assert.equal(a?.application, "Dial");
  assert.equal(a?.appData, "PJSIP/b");
  assert.deepEqual(a?.variables, { X: "1" });
  assert.equal(a?.bridgeId, "b-1");
  assert.equal(model.channels.get("1.2")?.state, 6);
  assert.deepEqual([...(model.bridges.get("b-1")?.members ?? [])].sort(), ["1.1", "1.2"]);
  assert.equal(model.bridges.get("b-1")?.technology, "simple_bridge");
  model.apply(counted(["Event: Hangup", ...snapshot("1.2", 6), "Cause: 16"]), 0);
  assert.equal(model.channels.has("1.2"), false);
  assert.equal(Counted.splits, 0);
});

test("live scan: an unchanged snapshot makes no change and keeps the record", () => {
  const model = new LiveModel();
  model.apply(new AmiMessage(["Event: Newchannel", ...snapshot("1.1", 4)].join("\r\n")), 0);
  while (model.pollChange() !== undefined);
  const before = model.channels.get("1.1");
  model.apply(new AmiMessage(["Event: DialBegin", ...snapshot("1.1", 4)].join("\r\n")), 1);
  assert.equal(model.pollChange(), undefined);
  assert.equal(model.channels.get("1.1"), before, "the same record object");
  model.apply(new AmiMessage(["Event: Newstate", ...snapshot("1.1", 6)].join("\r\n")), 2);
  const c = model.pollChange();
  assert.ok(c?.type === "updated" && c.kind === "channel");
  assert.equal(c.previous, before);
  assert.equal(c.record.state, 6);
  assert.equal(c.record.context, before?.context, "unchanged values are the old record's");
});

// ---- the scan reads what readChannel and get() read ----

const FIELD_SLOTS: [string, number][] = [
  ["Uniqueid", S_UNIQUEID],
  ["ChannelState", S_STATE],
  ["Channel", S_CHANNEL],
  ["ChannelStateDesc", S_STATE_DESC],
  ["Linkedid", S_LINKEDID],
  ["CallerIDNum", S_CID_NUM],
  ["CallerIDName", S_CID_NAME],
  ["ConnectedLineNum", S_CL_NUM],
  ["ConnectedLineName", S_CL_NAME],
  ["AccountCode", S_ACCOUNT],
  ["Context", S_CONTEXT],
  ["Exten", S_EXTEN],
  ["Priority", S_PRIORITY],
];
const EXTRA_SLOTS: [string, number][] = [
  ["BridgeUniqueid", X_BRIDGE_ID],
  ["BridgeType", X_BRIDGE_TYPE],
  ["BridgeTechnology", X_BRIDGE_TECH],
  ["BridgeName", X_BRIDGE_NAME],
  ["BridgeCreator", X_BRIDGE_CREATOR],
  ["Application", X_APPLICATION],
  ["AppData", X_APPDATA],
  ["Variable", X_VARIABLE],
  ["Value", X_VALUE],
  ["Uniqueid", X_UNIQUEID],
];

/** What readChannel makes, rebuilt from the scan (the store does the same). */
function fromScan(scan: SnapshotScan, g: number) {
  const id = scan.value(g, S_UNIQUEID);
  if (id === undefined || id === "" || id === "<unknown>" || !scan.has(g, S_STATE)) {
    return undefined;
  }
  const str = (f: number) => scan.value(g, f) ?? "";
  const variables: [string, string][] = [];
  scan.variables(g, variables);
  return {
    uniqueid: id,
    name: str(S_CHANNEL),
    state: scan.number(g, S_STATE),
    stateDesc: str(S_STATE_DESC),
    linkedid: scan.value(g, S_LINKEDID) ?? id,
    callerId: {
      num: unknownToEmpty(scan.value(g, S_CID_NUM)),
      name: unknownToEmpty(scan.value(g, S_CID_NAME)),
    },
    connectedLine: {
      num: unknownToEmpty(scan.value(g, S_CL_NUM)),
      name: unknownToEmpty(scan.value(g, S_CL_NAME)),
    },
    accountCode: str(S_ACCOUNT),
    context: str(S_CONTEXT),
    exten: str(S_EXTEN),
    priority: scan.number(g, S_PRIORITY),
    variables,
  };
}

/** The prefixes with a Uniqueid in header order, one per prefix whatever its case. */
function prefixOrder(m: AmiMessage): number[] {
  const lower = CHANNEL_PREFIXES.map((p) => p.toLowerCase());
  const out: number[] = [];
  for (const [k] of m.headers) {
    const kl = k.toLowerCase();
    if (!kl.endsWith("uniqueid")) continue;
    const g = lower.indexOf(kl.slice(0, kl.length - 8));
    if (g >= 0 && !out.includes(g)) out.push(g);
  }
  return out;
}

const anyCase = (s: string) =>
  fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) =>
    [...s].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join("")
  );
const key = fc.oneof(
  fc.tuple(
    fc.constantFrom(...CHANNEL_PREFIXES, "Bogus"),
    fc.constantFrom(...FIELD_SLOTS.map(([n]) => n), "ChanVariable", "Language"),
  ).chain(([p, f]) => fc.oneof(fc.constant(p + f), anyCase(p + f))),
  fc.constantFrom(...EXTRA_SLOTS.map(([n]) => n)).chain((n) =>
    fc.oneof(fc.constant(n), anyCase(n))
  ),
  fc.constantFrom(
    "Event",
    "Privilege",
    "Priority",
    "Uniqueid",
    "ChannelState",
    "K\u212Aey",
    "Lin\u212Aedid",
    "Dest\u212Aey",
  ),
);
const value = fc.oneof(
  fc.constantFrom(
    "",
    "<unknown>",
    "6",
    " 6",
    "0x10",
    "12345678901",
    "1.5",
    "a=b",
    "=x",
    "a-much-longer-value",
  ),
  fc.string({ maxLength: 6 }).filter((s) => !/[\r\n]/.test(s)),
);
const line = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.tuple(key, value, fc.constantFrom(": ", ":")).map(([k, v, sep]) => k + sep + v),
  },
  { weight: 1, arbitrary: fc.constantFrom("no colon here", "") },
);

test("live scan: reads what readChannel and get() read, from text and from split headers", () => {
  const text = new SnapshotScan();
  const split = new SnapshotScan();
  fc.assert(
    fc.property(
      fc.array(line, { maxLength: 40 }),
      fc.constantFrom("\r\n", "\n"),
      (lines, eol) => {
        const raw = ["Event: Newstate", ...lines].map((l) => l + eol).join("");
        const m = new AmiMessage(raw, { hasActionId: false });
        text.read(m);
        const h = new AmiMessage(splitText(raw).headers);
        split.read(h);
        assert.equal(m.rawText, raw, "the scan did not split the text");
        for (const scan of [text, split]) {
          const order: number[] = [];
          for (let i = 0; i < scan.groups; i++) order.push(scan.group(i));
          assert.deepEqual(order, prefixOrder(h));
          for (let g = 0; g < CHANNEL_PREFIXES.length; g++) {
            assert.deepEqual(fromScan(scan, g), readChannel(h, CHANNEL_PREFIXES[g]));
          }
          for (const [name, x] of EXTRA_SLOTS) {
            assert.equal(scan.value(EXTRA, x), h.get(name), name);
            const v = h.get(name);
            if (v !== undefined) assert.ok(scan.equals(EXTRA, x, v));
          }
        }
      },
    ),
    { numRuns: 2_000 },
  );
});

test("AmiMessage.rawText: the parser's text until the headers are split, never for headers", () => {
  const m = new AmiMessage("Event: Newstate\r\nUniqueid: 1.1\r\n", { hasActionId: false });
  assert.equal(m.rawText, "Event: Newstate\r\nUniqueid: 1.1\r\n");
  assert.equal(m.get("Uniqueid"), "1.1");
  assert.equal(m.rawText, "Event: Newstate\r\nUniqueid: 1.1\r\n", "get() does not split");
  assert.equal(m.headers.length, 2);
  assert.equal(m.rawText, undefined, "split: the headers are the message now");
  assert.equal(new AmiMessage([["Event", "Newstate"]]).rawText, undefined);
});
