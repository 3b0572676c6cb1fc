// The simulator's queues (app_queue): an answered call, a ring-no-answer,
// an abandon, QueueStatus/QueueSummary lists and member status, all on a
// ManualClock through a socket-free session.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { AmiMessage } from "../core/message.ts";
import type { Dialplan } from "../testing/_dialplan.ts";
import { queueCall } from "../testing/_dialplan.ts";
import type { QueueOptions } from "../testing/_queues.ts";
import { defaultConnector } from "../adapters/mod.ts";
import { Client } from "../client/mod.ts";
import { createLiveState } from "../live/mod.ts";
import { AmiSimulator, ManualClock } from "../testing/mod.ts";
import { simOptions, until, within } from "./_client.ts";
import { SimHarness } from "./_sim_harness.ts";

const FLOW = new Set([
  "QueueCallerJoin",
  "QueueCallerLeave",
  "QueueCallerAbandon",
  "AgentCalled",
  "AgentRingNoAnswer",
  "AgentConnect",
  "AgentComplete",
  "DialBegin",
  "DialEnd",
  "BridgeCreate",
  "BridgeEnter",
  "BridgeLeave",
  "BridgeDestroy",
]);

const SNAPSHOT = [
  "Channel",
  "ChannelState",
  "ChannelStateDesc",
  "CallerIDNum",
  "CallerIDName",
  "ConnectedLineNum",
  "ConnectedLineName",
  "Language",
  "AccountCode",
  "Context",
  "Exten",
  "Priority",
  "Uniqueid",
  "Linkedid",
];
const DEST = SNAPSHOT.map((k) => "Dest" + k);
const MEMBER_KEYS = [
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
];

const keys = (m: AmiMessage) => SimHarness.keys(m);
const one = (h: SimHarness, name: string, from = 0): AmiMessage => {
  const all = h.events(name, from);
  assert.equal(all.length, 1, `one ${name}, got ${all.length}`);
  return all[0];
};
/** QueueMemberStatus values of `iface` in `queue`, as "Status/InCall/CallsTaken". */
const statuses = (h: SimHarness, queue: string, iface: string, from = 0) =>
  h.events("QueueMemberStatus", from).filter((m) =>
    m.get("Queue") === queue && m.get("Interface") === iface
  ).map((m) => `${m.get("Status")}/${m.get("InCall")}/${m.get("CallsTaken")}`);

function custom(queues: QueueOptions[], dialplan: Dialplan = {}): SimHarness {
  return new SimHarness({
    dialplan: { lab: { "800": queueCall("q", 20), "801": queueCall("q"), ...dialplan.lab } },
    queues,
  });
}

describe("simulator queues", () => {
  test("an answered queue call: events in order, with Asterisk's fields", () => {
    const h = new SimHarness();
    h.originate("700");
    h.advance(10_000);
    assert.deepEqual(h.names(0, FLOW), [
      "DialBegin", // the Originate's own dial of 700;1
      "DialEnd",
      "QueueCallerJoin",
      "AgentCalled",
      "DialBegin",
      "AgentCalled",
      "DialBegin",
      "DialEnd", // 710 answers after 1 s
      "DialEnd", // 711 cancelled
      "QueueCallerLeave",
      "AgentConnect",
      "BridgeCreate",
      "BridgeEnter",
      "BridgeEnter",
      "BridgeLeave", // 710 hangs up after 4 s
      "BridgeLeave",
      "BridgeDestroy",
      "AgentComplete",
    ]);
    const join = one(h, "QueueCallerJoin");
    assert.deepEqual(keys(join), ["Event", "Privilege", ...SNAPSHOT, "Queue", "Position", "Count"]);
    assert.equal(join.get("Privilege"), "agent,all");
    assert.equal(join.get("Channel"), "Local/700@lab-00000000;2");
    assert.deepEqual([join.get("Position"), join.get("Count")], ["1", "1"]);
    const called = h.events("AgentCalled");
    assert.deepEqual(called.map((m) => m.get("MemberName")), ["Agent 710", "Agent 711"]);
    assert.deepEqual(keys(called[0]), [
      "Event",
      "Privilege",
      ...SNAPSHOT,
      ...DEST,
      "Queue",
      "Interface",
      "MemberName",
    ]);
    assert.equal(called[0].get("Interface"), "Local/710@lab/n");
    assert.equal(called[0].get("DestLinkedid"), join.get("Linkedid"), "the agent leg shares it");
    assert.notEqual(called[0].get("DestUniqueid"), join.get("Uniqueid"));
    const ends = h.events("DialEnd").slice(1);
    assert.deepEqual(ends.map((m) => m.get("DialStatus")), ["ANSWER", "CANCEL"]);
    const leave = one(h, "QueueCallerLeave");
    assert.deepEqual([leave.get("Position"), leave.get("Count")], ["1", "0"]);
    const connect = one(h, "AgentConnect");
    assert.deepEqual(keys(connect).slice(-5), [
      "Queue",
      "Interface",
      "MemberName",
      "HoldTime",
      "RingTime",
    ]);
    assert.deepEqual([connect.get("HoldTime"), connect.get("RingTime")], ["1", "1"]);
    const complete = one(h, "AgentComplete");
    assert.deepEqual(keys(complete).slice(-6), [
      "Queue",
      "Interface",
      "MemberName",
      "HoldTime",
      "TalkTime",
      "Reason",
    ]);
    assert.deepEqual(
      [complete.get("HoldTime"), complete.get("TalkTime"), complete.get("Reason")],
      ["1", "4", "agent"],
    );
    const enters = h.events("BridgeEnter");
    assert.deepEqual(enters.map((m) => m.get("Channel")), [
      "Local/710@lab-00000001;1",
      "Local/700@lab-00000000;2",
    ]);
    assert.equal(h.engine.channelList().length, 0, "the caller hung up after the queue");
    const apps = h.events("Newexten").filter((m) => m.get("Channel") === join.get("Channel"));
    assert.equal(apps.at(-1)?.get("Application"), "Queue", "no `c` option: its dialplan ends");
    assert.equal(h.engine.bridges.size, 0);
    const params = h.action("QueueStatus", { Queue: "labq" })[1];
    assert.deepEqual(
      [params.get("Completed"), params.get("Abandoned"), params.get("Calls")],
      ["1", "0", "0"],
    );
  });

  test("member status: ringing 6, in use 2 (InCall 1), then 1 with CallsTaken 1", () => {
    const h = new SimHarness();
    h.originate("700");
    h.advance(10_000);
    assert.deepEqual(statuses(h, "labq", "Local/710@lab/n"), ["6/0/0", "2/1/0", "1/0/1"]);
    assert.deepEqual(statuses(h, "labq", "Local/711@lab/n"), ["6/0/0", "1/0/0"]);
    assert.deepEqual(statuses(h, "labslow", "Local/711@lab/n"), ["6/0/0", "1/0/0"]);
    const st = h.events("QueueMemberStatus")[0];
    assert.deepEqual(keys(st), MEMBER_KEYS);
    const member = h.action("QueueStatus", { Queue: "labq", Member: "Local/710@lab/n" })[2];
    assert.equal(member.name, "QueueMember");
    assert.deepEqual([member.get("CallsTaken"), member.get("Status")], ["1", "1"]);
    assert.notEqual(member.get("LastCall"), "0");
  });

  test("ring-no-answer: AgentRingNoAnswer and DialEnd NOANSWER each round, then the queue times out", () => {
    const h = custom([{
      name: "q",
      memberTimeoutSeconds: 3,
      retrySeconds: 1,
      members: [{ interface: "Local/711@lab/n", name: "Never", neverAnswers: true }],
    }]);
    h.originate("800");
    h.advance(3_000);
    const rna = one(h, "AgentRingNoAnswer");
    assert.equal(rna.get("RingTime"), "3000", "milliseconds");
    assert.deepEqual(keys(rna).slice(-4), ["Queue", "Interface", "MemberName", "RingTime"]);
    assert.deepEqual(
      h.events("DialEnd").slice(1).map((m) => m.get("DialStatus")),
      ["NOANSWER"],
    );
    assert.deepEqual(statuses(h, "q", "Local/711@lab/n"), ["6/0/0", "1/0/0"]);
    h.advance(1_000); // retry: rings again
    assert.equal(h.events("AgentCalled").length, 2);
    h.advance(16_000); // the caller's 20 s are over
    const names = h.names(0, FLOW);
    assert.equal(names.filter((n) => n === "AgentRingNoAnswer").length, 5);
    assert.deepEqual(names.slice(-2), ["DialEnd", "QueueCallerLeave"]);
    assert.equal(h.events("DialEnd").at(-1)?.get("DialStatus"), "NOANSWER", "between rounds");
    const status = h.events("VarSet").find((m) => m.get("Variable") === "QUEUESTATUS");
    assert.equal(status?.get("Value"), "TIMEOUT");
    assert.equal(h.events("AgentConnect").length, 0);
    assert.equal(h.engine.channelList().length, 0);
  });

  test("abandon: the caller hangs up while waiting (QueueCallerAbandon, then Leave)", () => {
    const h = new SimHarness();
    h.originate("720", {}, 3); // ;1 runs Wait(3), then hangs up
    h.advance(5_000);
    const names = h.names(0, FLOW);
    assert.deepEqual(names.slice(-3), ["DialEnd", "QueueCallerAbandon", "QueueCallerLeave"]);
    const ab = one(h, "QueueCallerAbandon");
    assert.deepEqual(keys(ab).slice(-4), ["Queue", "Position", "OriginalPosition", "HoldTime"]);
    assert.deepEqual(
      [ab.get("Queue"), ab.get("Position"), ab.get("OriginalPosition"), ab.get("HoldTime")],
      ["labslow", "1", "1", "3"],
    );
    assert.equal(h.events("DialEnd").at(-1)?.get("DialStatus"), "CANCEL");
    assert.equal(h.engine.channelList().length, 0);
    const params = h.action("QueueStatus", { Queue: "labslow" })[1];
    assert.deepEqual([params.get("Abandoned"), params.get("Calls")], ["1", "0"]);
  });

  test("QueueStatus and QueueSummary: ListItems counts the items; entries by position", () => {
    const h = custom([{
      name: "q",
      members: [
        { interface: "Local/1@x", name: "A", neverAnswers: true },
        { interface: "Local/2@x", name: "B", paused: true },
      ],
    }, { name: "other" }]);
    h.originate("801", { CallerID: '"Ann" <555>' });
    h.originate("801");
    h.advance(2_000);
    const list = h.action("QueueStatus");
    assert.equal(list[0].get("EventList"), "start");
    assert.equal(list[0].get("Message"), "Queue status will follow");
    const items = list.slice(1, -1);
    const done = list.at(-1)!;
    assert.equal(done.name, "QueueStatusComplete");
    assert.equal(done.get("ListItems"), String(items.length));
    assert.deepEqual(items.map((m) => m.name), [
      "QueueParams",
      "QueueMember",
      "QueueMember",
      "QueueEntry",
      "QueueEntry",
      "QueueParams",
    ]);
    assert.equal(keys(items[0]).at(-1), "ActionID", "app_queue puts the ActionID last");
    assert.equal(items[0].get("Calls"), "2");
    assert.deepEqual(items.slice(3, 5).map((m) => m.get("Position")), ["1", "2"]);
    assert.deepEqual(items.slice(3, 5).map((m) => m.get("Wait")), ["2", "2"]);
    assert.equal(items[3].get("CallerIDNum"), "555");
    assert.equal(items[2].get("Paused"), "1");
    assert.deepEqual(
      h.events("AgentCalled").map((m) => m.get("MemberName")),
      ["A"],
      "only the first caller rings the one free member; the paused one is skipped",
    );
    const summary = h.action("QueueSummary", { Queue: "q" });
    assert.equal(summary.at(-1)?.get("ListItems"), "1");
    assert.deepEqual(
      [summary[1].get("LoggedIn"), summary[1].get("Available"), summary[1].get("Callers")],
      ["2", "0", "2"],
    );
    assert.equal(h.action("QueueStatus", { Queue: "none" }).at(-1)?.get("ListItems"), "0");
  });

  test("a member in a call is not offered another; the next caller gets it afterwards", () => {
    const h = custom([{
      name: "q",
      members: [{ interface: "Local/1@x", name: "A", answerAfterSeconds: 1, talkSeconds: 5 }],
    }]);
    h.originate("801");
    h.originate("801");
    h.advance(2_000);
    assert.equal(h.events("AgentConnect").length, 1);
    assert.equal(h.events("AgentCalled").length, 1, "the busy member is not rung again");
    h.advance(4_000); // the first call ends after 5 s of talk
    assert.equal(h.events("AgentComplete").length, 1);
    assert.equal(h.events("AgentCalled").length, 2, "now the second caller rings it");
    h.advance(1_000);
    const connects = h.events("AgentConnect");
    assert.equal(connects.length, 2);
    assert.equal(connects[1].get("HoldTime"), "7");
  });

  test("QueueAdd, QueuePause, QueueRemove: responses and member events", () => {
    const h = custom([{ name: "q" }]);
    const ok = (r: AmiMessage[]) => [r[0].name, r[0].get("Message")];
    assert.deepEqual(ok(h.action("QueueAdd", { Queue: "q", Interface: "Local/9@x" })), [
      "Success",
      "Added interface to queue",
    ]);
    assert.deepEqual(ok(h.action("QueueAdd", { Queue: "q", Interface: "Local/9@x" })), [
      "Error",
      "Unable to add interface: Already there",
    ]);
    assert.deepEqual(ok(h.action("QueueAdd", { Queue: "nope", Interface: "Local/9@x" })), [
      "Error",
      "Unable to add interface to queue: No such queue",
    ]);
    assert.deepEqual(ok(h.action("QueueAdd", { Queue: "q" })), [
      "Error",
      "'Interface' not specified.",
    ]);
    const added = one(h, "QueueMemberAdded");
    assert.deepEqual(keys(added), MEMBER_KEYS);
    assert.deepEqual([added.get("Membership"), added.get("MemberName")], ["dynamic", "Local/9@x"]);
    assert.deepEqual(
      ok(h.action("QueuePause", { Interface: "Local/9@x", Paused: "true", Reason: "lunch" })),
      ["Success", "Interface paused successfully"],
    );
    const paused = one(h, "QueueMemberPause");
    assert.deepEqual([paused.get("Paused"), paused.get("PausedReason")], ["1", "lunch"]);
    assert.deepEqual(ok(h.action("QueuePause", { Interface: "Local/0@x", Paused: "no" })), [
      "Error",
      "Interface not found",
    ]);
    h.originate("801");
    assert.equal(h.events("AgentCalled").length, 0, "a paused member is not rung");
    h.action("QueuePause", { Queue: "q", Interface: "Local/9@x", Paused: "false" });
    assert.equal(h.events("AgentCalled").length, 1, "unpaused: rung at once");
    assert.deepEqual(ok(h.action("QueueRemove", { Queue: "q", Interface: "Local/9@x" })), [
      "Success",
      "Removed interface from queue",
    ]);
    assert.equal(h.events("DialEnd").at(-1)?.get("DialStatus"), "CANCEL");
    assert.equal(one(h, "QueueMemberRemoved").get("Interface"), "Local/9@x");
    assert.deepEqual(ok(h.action("QueueRemove", { Queue: "q", Interface: "Local/9@x" })), [
      "Error",
      "Unable to remove interface: Not there",
    ]);
    assert.deepEqual(ok(h.action("QueueRemove", { Queue: "q" })), [
      "Error",
      "Need 'Queue' and 'Interface' parameters.",
    ]);
  });
});

describe("simulator queues: members that answer or fail at once", () => {
  test("a member answering without delay is connected; a busy member's ring ends at once", () => {
    const h = custom([{
      name: "q",
      members: [
        { interface: "Local/busy@lab", name: "Busy" },
        { interface: "Local/1@x", name: "Quick", answerAfterSeconds: 0, talkSeconds: 2 },
      ],
    }], { lab: { busy: [{ app: "Hangup", cause: 17 }] } });
    h.originate("801");
    const rna = one(h, "AgentRingNoAnswer");
    assert.equal(rna.get("MemberName"), "Busy");
    assert.equal(h.events("DialEnd")[1].get("DialStatus"), "BUSY");
    assert.deepEqual(statuses(h, "q", "Local/busy@lab"), ["6/0/0", "1/0/0"]);
    assert.equal(one(h, "AgentConnect").get("MemberName"), "Quick");
    h.advance(2_000);
    assert.equal(one(h, "AgentComplete").get("TalkTime"), "2");
    assert.deepEqual(statuses(h, "q", "Local/1@x"), ["6/0/0", "2/1/0", "1/0/1"]);
  });
});

describe("simulator queues feed the live model", () => {
  test("a queue call seen by createLiveState: bridge, caller, member status; a resync agrees", async () => {
    const clock = new ManualClock();
    const sim = await AmiSimulator.start({ clock });
    const client = new Client(simOptions(sim, { clock }), defaultConnector());
    const live = createLiveState(client);
    try {
      await client.start();
      await within(live.synced({ timeoutMs: 10_000 }), 5_000, "synced");
      const labq = () => live.queues.get("labq");
      assert.equal(labq()?.members.get("Local/710@lab/n")?.status, 1, "QueueStatus merged");
      await client.action("Originate", {
        Channel: "Local/700@lab",
        Application: "Wait",
        Data: "60",
        Async: "true",
      });
      await until(() => labq()?.callers.length === 1, 5_000, "caller queued");
      await until(() => labq()?.members.get("Local/710@lab/n")?.status === 6, 5_000, "ringing");
      clock.advance(1_000); // 710 answers
      const bridged = () => [...live.bridges.values()].find((b) => b.members.length === 2);
      await until(() => bridged() !== undefined, 5_000, "bridged");
      const bridge = bridged()!;
      assert.equal(live.bridges.size, 1);
      await until(() => labq()?.callers.length === 0, 5_000, "caller left the queue");
      const agent = () => labq()?.members.get("Local/710@lab/n");
      await until(() => agent()?.inCall === true && agent()?.status === 2, 5_000, "in call");
      for (const id of bridge.members) assert.equal(live.channels.get(id)?.bridgeId, bridge.id);
      clock.advance(4_000); // 710 hangs up
      await until(() => live.bridges.size === 0 && live.channels.size === 0, 5_000, "ended");
      await until(() => agent()?.callsTaken === 1, 5_000, "completed");
      const before = JSON.stringify([...labq()!.members.values()]);
      live.resync();
      await within(live.synced({ timeoutMs: 10_000 }), 5_000, "resynced");
      assert.equal(JSON.stringify([...labq()!.members.values()]), before);
    } finally {
      live.close();
      client.destroy();
      await sim.stop();
    }
  });
});
