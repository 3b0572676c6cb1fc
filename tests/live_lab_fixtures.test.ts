/**
 * The facts tests/fixtures/LIVE-NOTES.md states about fixtures 21-28
 * (recorded from an Asterisk 22.10.1 lab), checked against the raw bytes as
 * amikit's parser reads them.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AmiParser, type Banner } from "../core/parser.ts";
import type { AmiMessage } from "../core/message.ts";
import { fixture } from "./_fixtures.ts";
import { fixtureSends } from "./_fidelity.ts";
import { readFileSync } from "node:fs";

interface Capture {
  banner: Banner;
  messages: AmiMessage[];
}

function load(name: string): Capture {
  let banner: Banner | undefined;
  const messages: AmiMessage[] = [];
  new AmiParser({ maxHeaders: 100_000 }).push(fixture(`${name}.raw`), (item) => {
    if (item.type === "banner") banner = item;
    else messages.push(item);
  });
  assert.ok(banner, `${name}: no banner`);
  return { banner, messages };
}

const NEW = [
  "21-dial-bridge-local-600",
  "22-local-optimization",
  "23-queue-answered",
  "24-queue-abandon",
  "25-lists-with-calls-up",
  "26-originate-channelid-in-use",
  "27-queue-member-add-pause-remove",
  "28-queue-ring-no-answer",
];

const LIST_ITEMS = new Set([
  "CoreShowChannel",
  "CoreShowChannelsComplete",
  "BridgeListItem",
  "BridgeListComplete",
  "BridgeInfoChannel",
  "BridgeInfoComplete",
  "QueueParams",
  "QueueMember",
  "QueueEntry",
  "QueueStatusComplete",
  "QueueSummary",
  "QueueSummaryComplete",
  "ChannelHungup",
  "ChannelsHungupListComplete",
]);

/** Items whose ActionID is the last header rather than the second. */
const ACTIONID_LAST = new Set(["QueueParams", "QueueMember", "QueueEntry", "QueueSummary"]);

function events(c: Capture, name?: string): AmiMessage[] {
  return c.messages.filter((m) => m.type === "event" && (name === undefined || m.name === name));
}

function byAction(c: Capture, id: string): AmiMessage[] {
  return c.messages.filter((m) => m.actionId === id);
}

function keys(m: AmiMessage): string[] {
  return m.headers.map(([k]) => k);
}

/** Index of the first event named `name` (and matching `where`), asserting it exists. */
function at(c: Capture, name: string, where: (m: AmiMessage) => boolean = () => true): number {
  const i = c.messages.findIndex((m) => m.type === "event" && m.name === name && where(m));
  assert.ok(i >= 0, `no ${name}`);
  return i;
}

function assertIncreasing(positions: number[], what: string): void {
  for (let i = 1; i < positions.length; i++) {
    assert.ok(positions[i - 1] < positions[i], `${what}: ${positions.join(" ")}`);
  }
}

/** Every value of headers named `*Linkedid`. */
function linkedids(c: Capture): Set<string> {
  const out = new Set<string>();
  for (const m of c.messages) {
    for (const [k, v] of m.headers) if (/linkedid$/i.test(k)) out.add(v);
  }
  return out;
}

describe("live-lab fixtures: common facts", () => {
  for (const name of NEW) {
    test(`${name}: banner 11.0.0, Privilege and ActionID placement`, () => {
      const c = load(name);
      assert.equal(c.banner.protocolVersion, "11.0.0");
      for (const e of events(c)) {
        const k = keys(e);
        if (LIST_ITEMS.has(e.name)) {
          assert.ok(!k.includes("Privilege"), `${e.name} has Privilege`);
          if (ACTIONID_LAST.has(e.name)) assert.equal(k.at(-1), "ActionID", e.name);
          else if (e.name === "ChannelHungup") assert.equal(k[2], "ActionID", e.name);
          else assert.equal(k[1], "ActionID", e.name);
        } else {
          assert.equal(k[1], "Privilege", e.name);
          assert.match(e.get("Privilege") ?? "", /^[a-z]+,all$/, e.name);
        }
      }
    });
  }

  for (const name of NEW) {
    test(`${name}: the .txt lists every send in a form tests/_fidelity.ts reads`, () => {
      const txt = readFileSync(new URL(`./fixtures/${name}.txt`, import.meta.url), "utf8");
      const listed = txt.match(/ SEND \d+ bytes/g) ?? [];
      const sends = fixtureSends(name);
      assert.equal(sends.length, listed.length);
      assert.ok(sends.some((s) => s.side) && sends.some((s) => !s.side));
      for (const s of sends) assert.match(s.data, /^Action: [A-Za-z]+\r\n[^]*\r\n\r\n$/);
    });
  }

  for (const name of NEW.filter((n) => /^2[1348]/.test(n))) {
    test(`${name}: every channel has the originate's first Uniqueid as Linkedid`, () => {
      const c = load(name);
      const first = events(c, "Newchannel")[0];
      assert.deepEqual([...linkedids(c)], [first.get("Uniqueid")]);
      assert.ok(first.get("Channel")?.endsWith(";1"));
    });
  }
});

describe("21 Dial bridging two calls", () => {
  const c = load("21-dial-bridge-local-600");

  test("bridge events in order with BridgeNumChannels after each change", () => {
    const bridge = events(c).filter((e) => e.name.startsWith("Bridge"));
    assert.deepEqual(bridge.map((e) => e.name), [
      "BridgeCreate",
      "BridgeEnter",
      "BridgeEnter",
      "BridgeLeave",
      "BridgeLeave",
      "BridgeDestroy",
    ]);
    assert.deepEqual(bridge.map((e) => e.get("BridgeNumChannels")), ["0", "1", "2", "1", "0", "0"]);
    assert.equal(new Set(bridge.map((e) => e.get("BridgeUniqueid"))).size, 1);
    assert.deepEqual(keys(bridge[0]), [
      "Event",
      "Privilege",
      "BridgeUniqueid",
      "BridgeType",
      "BridgeTechnology",
      "BridgeCreator",
      "BridgeName",
      "BridgeNumChannels",
      "BridgeVideoSourceMode",
    ]);
    assert.equal(bridge[0].get("BridgeType"), "basic");
    assert.equal(bridge[0].get("BridgeTechnology"), "simple_bridge");
  });

  test("the originate's DialBegin has only Dest headers; Dial's names the caller", () => {
    const [orig, dial] = events(c, "DialBegin");
    assert.ok(!orig.has("Channel"));
    assert.equal(orig.get("DestChannel"), "Local/600@lab-00000000;1");
    assert.equal(orig.get("DialString"), "600@lab");
    assert.equal(dial.get("Channel"), "Local/600@lab-00000000;2");
    assert.equal(dial.get("DestChannel"), "Local/100@lab-00000001;1");
    assert.equal(dial.get("DialString"), "100@lab");
    assert.deepEqual(events(c, "DialEnd").map((e) => e.get("DialStatus")), ["ANSWER", "ANSWER"]);
  });

  test("four Hangups with cause 16, no Local optimisation", () => {
    const hangups = events(c, "Hangup");
    assert.equal(hangups.length, 4);
    for (const h of hangups) {
      assert.equal(h.get("Cause"), "16");
      assert.equal(h.get("Cause-txt"), "Normal Clearing");
    }
    assert.equal(events(c, "LocalOptimizationBegin").length, 0);
    assert.deepEqual(events(c, "LocalBridge").map((e) => e.get("LocalOptimization")), [
      "Yes",
      "Yes",
    ]);
  });
});

describe("22 Local optimisation", () => {
  const c = load("22-local-optimization");

  test("the Bridge action's answer", () => {
    const [r] = byAction(c, "optim-bridge");
    assert.equal(r.type, "response");
    assert.equal(r.name, "Success");
    assert.equal(r.get("Message"), "Channels have been bridged");
  });

  test("Begin, the swap BridgeEnter, End, then the Local pair hangs up", () => {
    const begin = at(c, "LocalOptimizationBegin");
    const swap = at(c, "BridgeEnter", (m) => m.has("SwapUniqueid"));
    const end = at(c, "LocalOptimizationEnd");
    const b = c.messages[begin];
    const e = c.messages[end];
    const l1 = b.get("LocalOneChannel") ?? "";
    const l2 = b.get("LocalTwoChannel") ?? "";
    assert.match(l1, /^Local\/610@lab-[0-9a-f]{8};1$/);
    const hang1 = at(c, "Hangup", (m) => m.get("Channel") === l1);
    const hang2 = at(c, "Hangup", (m) => m.get("Channel") === l2);
    assertIncreasing([begin, swap, end, Math.min(hang1, hang2)], "order");
    assert.equal(c.messages[swap].get("SwapUniqueid"), b.get("LocalTwoUniqueid"));
    assert.equal(c.messages[swap].get("Channel"), b.get("SourceChannel"));
    assert.ok(keys(b).includes("DestUniqueId"));
    assert.equal(b.get("DestUniqueId"), b.get("LocalTwoUniqueid"));
    assert.equal(e.get("Success"), "No");
    assert.equal(e.get("Id"), b.get("Id"));
    for (const n of ["Masquerade", "Rename"]) assert.equal(events(c, n).length, 0);
  });

  test("L1 takes the older call's Linkedid once bridged with it", () => {
    const begin = events(c, "LocalOptimizationBegin")[0];
    const l1 = begin.get("LocalOneChannel");
    const enter = events(c, "BridgeEnter").find((m) => m.get("Channel") === l1)!;
    const leave = events(c, "BridgeLeave").find((m) => m.get("Channel") === l1)!;
    assert.equal(enter.get("Linkedid"), enter.get("Uniqueid"));
    assert.equal(leave.get("Linkedid"), begin.get("SourceLinkedid"));
    assert.notEqual(leave.get("Linkedid"), enter.get("Linkedid"));
  });
});

describe("23 queue call answered", () => {
  const c = load("23-queue-answered");

  test("Join, Called, Leave, Connect, Complete in order; no RingNoAnswer", () => {
    assertIncreasing(
      [
        at(c, "QueueCallerJoin"),
        at(c, "AgentCalled"),
        at(c, "QueueCallerLeave"),
        at(c, "AgentConnect"),
        at(c, "AgentComplete"),
      ],
      "queue order",
    );
    assert.equal(events(c, "AgentRingNoAnswer").length, 0);
    const done = events(c, "AgentComplete")[0];
    assert.equal(done.get("Reason"), "agent");
    assert.equal(done.get("MemberName"), "Agent 710");
    assert.equal(done.get("Interface"), "Local/710@lab/n");
    assert.equal(done.get("DestExten"), "700");
    assert.equal(events(c, "QueueCallerLeave")[0].get("Count"), "0");
  });

  test("711 is cancelled with cause 26 when 710 answers", () => {
    const h = events(c, "Hangup").filter((m) => m.get("Channel")?.startsWith("Local/711@"));
    assert.deepEqual(h.map((m) => m.get("Cause")), ["26", "26"]);
  });

  test("QueueMemberStatus headers, and Status only 1 or 2 for Local members", () => {
    const s = events(c, "QueueMemberStatus");
    assert.ok(s.length >= 4);
    assert.deepEqual(keys(s[0]), [
      "Event",
      "Privilege",
      "Queue",
      "MemberName",
      "Interface",
      "StateInterface",
      "Membership",
      "Penalty",
      "CallsTaken",
      "LastCall",
      "LastPause",
      "LoginTime",
      "InCall",
      "Status",
      "Paused",
      "PausedReason",
      "Ringinuse",
      "Wrapuptime",
    ]);
    assert.deepEqual([...new Set(s.map((m) => m.get("Status")))].sort(), ["1", "2"]);
    assert.deepEqual(
      [...new Set(s.filter((m) => m.get("MemberName") !== "Agent 710").map((m) => m.get("Queue")))]
        .sort(),
      ["labq", "labslow"],
    );
  });
});

describe("24 queue caller abandons", () => {
  const c = load("24-queue-abandon");

  test("QueueCallerAbandon then QueueCallerLeave, same caller", () => {
    const abandon = at(c, "QueueCallerAbandon");
    const leave = at(c, "QueueCallerLeave");
    assert.ok(abandon < leave);
    const a = c.messages[abandon];
    assert.equal(a.get("Uniqueid"), c.messages[leave].get("Uniqueid"));
    assert.equal(a.get("Queue"), "labslow");
    assert.equal(a.get("Position"), "1");
    assert.equal(a.get("OriginalPosition"), "1");
    assert.equal(a.get("HoldTime"), "3");
    const caller = events(c, "Hangup").find((m) => m.get("Uniqueid") === a.get("Uniqueid"))!;
    assert.equal(caller.get("Cause"), "0");
    assert.equal(events(c, "AgentConnect").length, 0);
  });
});

describe("25 lists with calls up", () => {
  const c = load("25-lists-with-calls-up");

  function list(id: string): { start: AmiMessage; items: AmiMessage[]; done: AmiMessage } {
    const all = byAction(c, id);
    const start = all[0];
    assert.equal(start.type, "response");
    assert.equal(start.get("EventList"), "start");
    const done = all.at(-1)!;
    assert.equal(done.get("EventList"), "Complete");
    assert.equal(Number(done.get("ListItems")), all.length - 2, `${id} ListItems`);
    return { start, items: all.slice(1, -1), done };
  }

  test("CoreShowChannels: 16 items with BridgeId, empty when not bridged", () => {
    const { start, items, done } = list("lists-csc");
    assert.equal(start.get("Message"), "Channels will follow");
    assert.equal(done.name, "CoreShowChannelsComplete");
    assert.equal(items.length, 16);
    for (const m of items) {
      assert.equal(m.name, "CoreShowChannel");
      assert.deepEqual(keys(m).slice(-4), [
        "Application",
        "ApplicationData",
        "Duration",
        "BridgeId",
      ]);
      assert.match(m.get("Duration") ?? "", /^\d\d:\d\d:\d\d$/);
    }
    assert.ok(items.some((m) => m.get("BridgeId") === ""));
  });

  test("BridgeList: ListItems equals the items, and matches CoreShowChannel's BridgeIds", () => {
    const { start, items, done } = list("lists-bl");
    assert.equal(start.get("Message"), "Bridge listing will follow");
    assert.equal(done.name, "BridgeListComplete");
    assert.equal(items.length, 3);
    const listed = new Set(items.map((m) => m.get("BridgeUniqueid")));
    const used = new Set(
      list("lists-csc").items.map((m) => m.get("BridgeId")).filter((v) => v !== ""),
    );
    assert.deepEqual([...used].sort(), [...listed].sort());
  });

  test("BridgeInfo: channel items, then Complete carrying the bridge's fields", () => {
    const { start, items, done } = list("lists-bi");
    assert.equal(start.get("Message"), "Bridge channel listing will follow");
    assert.equal(done.name, "BridgeInfoComplete");
    assert.deepEqual(items.map((m) => m.name), ["BridgeInfoChannel", "BridgeInfoChannel"]);
    assert.ok(!items[0].has("BridgeId") && !items[0].has("Application"));
    assert.deepEqual(keys(done).slice(0, 5), [
      "Event",
      "ActionID",
      "EventList",
      "ListItems",
      "BridgeUniqueid",
    ]);
    const last = list("lists-bl").items.at(-1)!;
    assert.equal(done.get("BridgeUniqueid"), last.get("BridgeUniqueid"));
    const [bad] = byAction(c, "lists-bi-bad");
    assert.equal(bad.name, "Error");
    assert.equal(bad.get("Message"), "Specified BridgeUniqueid not found");
  });

  test("QueueStatus: params, members and entries all count in ListItems", () => {
    const { start, items, done } = list("lists-qs");
    assert.equal(start.get("Message"), "Queue status will follow");
    assert.equal(done.name, "QueueStatusComplete");
    assert.deepEqual(items.map((m) => `${m.name} ${m.get("Queue")}`), [
      "QueueParams labq",
      "QueueMember labq",
      "QueueMember labq",
      "QueueParams labslow",
      "QueueMember labslow",
      "QueueEntry labslow",
    ]);
    const params = items[0];
    assert.ok(keys(params).includes("ServicelevelPerf"));
    assert.ok(keys(params).includes("ServicelevelPerf2"));
    assert.equal(params.get("Calls"), "0");
    assert.equal(items[3].get("Calls"), "1");
    const member = items.find((m) => m.get("Name") === "Agent 710")!;
    assert.ok(keys(member).includes("Location") && !member.has("Interface"));
    assert.ok(!member.has("MemberName") && !member.has("Ringinuse"));
    assert.equal(member.get("InCall"), "1");
    assert.equal(member.get("Status"), "2");
    assert.equal(items[5].get("Position"), "1");
    assert.equal(list("lists-qs-labq").items.length, 3);
  });
});

describe("26 Originate with a ChannelId in use", () => {
  const c = load("26-originate-channelid-in-use");

  test("sync: Error 'Originate failed'", () => {
    const r = byAction(c, "dup-sync");
    assert.equal(r.length, 1);
    assert.equal(r[0].name, "Error");
    assert.equal(r[0].get("Message"), "Originate failed");
  });

  test("async: queued, then OriginateResponse Failure naming the live call's Uniqueid", () => {
    const [queued, resp] = byAction(c, "dup-async");
    assert.equal(queued.get("Message"), "Originate successfully queued");
    assert.equal(resp.name, "OriginateResponse");
    assert.equal(resp.get("Response"), "Failure");
    assert.equal(resp.get("Reason"), "0");
    assert.equal(resp.get("Channel"), "Local/400@lab");
    assert.equal(resp.get("Uniqueid"), "lab-dup-1");
    const live = events(c, "Newchannel").filter((m) => m.get("Uniqueid")?.startsWith("lab-dup-1"));
    assert.deepEqual(live.map((m) => m.get("Uniqueid")), ["lab-dup-1", "lab-dup-1;2"]);
  });

  test("OtherChannelId in use: Failure first, then the ;1 half's Newchannel and Hangup", () => {
    const resp = c.messages.findIndex((m) =>
      m.name === "OriginateResponse" && m.actionId === "dup-other"
    );
    assert.equal(c.messages[resp].get("Response"), "Failure");
    assert.equal(c.messages[resp].get("Uniqueid"), "lab-dup-2");
    const born = at(c, "Newchannel", (m) => m.get("Uniqueid") === "lab-dup-2");
    const gone = at(c, "Hangup", (m) => m.get("Uniqueid") === "lab-dup-2");
    assertIncreasing([resp, born, gone], "dup-other");
    assert.equal(c.messages[gone].get("Cause"), "0");
    assert.ok(!c.messages.some((m) => m.get("Uniqueid") === "lab-dup-2;2"));
  });
});

describe("27 queue member add, pause, penalty, remove", () => {
  const c = load("27-queue-member-add-pause-remove");

  test("each action's answer and event", () => {
    const table: [string, string, string, string | undefined][] = [
      ["qm-add", "Success", "Added interface to queue", "QueueMemberAdded"],
      ["qm-add-dup", "Error", "Unable to add interface: Already there", undefined],
      ["qm-pause", "Success", "Interface paused successfully", "QueueMemberPause"],
      ["qm-unpause", "Success", "Interface unpaused successfully", "QueueMemberPause"],
      ["qm-penalty", "Success", "Interface penalty set successfully", "QueueMemberPenalty"],
      ["qm-remove", "Success", "Removed interface from queue", "QueueMemberRemoved"],
      ["qm-remove-again", "Error", "Unable to remove interface: Not there", undefined],
    ];
    for (const [id, status, message, event] of table) {
      const i = c.messages.findIndex((m) => m.type === "response" && m.actionId === id);
      assert.equal(c.messages[i].name, status, id);
      assert.equal(c.messages[i].get("Message"), message, id);
      if (event) {
        const next = c.messages.slice(i + 1).find((m) => m.name.startsWith("QueueMember"));
        assert.equal(next?.name, event, id);
        assert.equal(next?.get("Interface"), "Local/712@lab/n");
      }
    }
    const [paused, unpaused] = events(c, "QueueMemberPause");
    assert.deepEqual([paused.get("Paused"), paused.get("PausedReason")], ["1", "lunch"]);
    assert.deepEqual([unpaused.get("Paused"), unpaused.get("PausedReason")], ["0", ""]);
    assert.equal(events(c, "QueueMemberAdded")[0].get("Membership"), "dynamic");
    assert.equal(events(c, "QueueMemberRemoved")[0].get("Penalty"), "5");
  });

  test("QueueSummary: paused members are logged in but not available", () => {
    const one = byAction(c, "qm-summary");
    assert.deepEqual(one.map((m) => m.name), ["Success", "QueueSummary", "QueueSummaryComplete"]);
    assert.equal(one[1].get("LoggedIn"), "3");
    assert.equal(one[1].get("Available"), "2");
    assert.equal(keys(one[1]).at(-1), "ActionID");
    const all = byAction(c, "qm-summary-all");
    assert.deepEqual(all.slice(1, -1).map((m) => m.get("Queue")), ["labq", "labslow"]);
    assert.equal(all.at(-1)?.get("ListItems"), "2");
  });
});

describe("28 queue ring no answer", () => {
  const c = load("28-queue-ring-no-answer");

  test("RingNoAnswer in ms, then a retry answered; the caller stays queued", () => {
    const rna = at(c, "AgentRingNoAnswer");
    const connect = at(c, "AgentConnect");
    const complete = at(c, "AgentComplete");
    assertIncreasing([at(c, "QueueCallerJoin"), rna, at(c, "QueueCallerLeave"), connect], "order");
    assert.equal(c.messages[rna].get("RingTime"), "15000");
    assert.equal(c.messages[rna].get("MemberName"), "Agent 711");
    assert.equal(c.messages[connect].get("RingTime"), "1");
    assert.equal(events(c, "QueueCallerJoin").length, 1);
    assert.equal(events(c, "QueueCallerLeave").length, 1);
    const talking = c.messages.slice(connect, complete).filter((m) =>
      m.name === "QueueMemberStatus" && m.get("MemberName") === "Agent 710"
    );
    assert.deepEqual(talking.map((m) => [m.get("InCall"), m.get("Status")]), [["1", "2"]]);
  });
});
