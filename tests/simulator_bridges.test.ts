// The simulator's Dial and bridges: a bridged Dial's events, BridgeList /
// BridgeInfo / CoreShowChannels consistency, dial statuses, a ChannelId in
// use refused, the faults the live model needs, and a property: after random
// call scripts every BridgeEnter has its BridgeLeave and every channel its
// Hangup.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { AmiMessage } from "../core/message.ts";
import {
  answerAndWait,
  busy,
  dial,
  hangupWithCause,
  LAB_DIALPLAN,
  noAnswer,
} from "../testing/mod.ts";
import { AmiSimulator, ManualClock } from "../testing/mod.ts";
import type { Dialplan } from "../testing/mod.ts";
import { SimHarness } from "./_sim_harness.ts";
import { RawClient, settle } from "./_simulator_client.ts";

const FLOW = new Set([
  "Newchannel",
  "DialBegin",
  "DialEnd",
  "BridgeCreate",
  "BridgeEnter",
  "BridgeLeave",
  "BridgeDestroy",
  "Hangup",
]);
const BRIDGE_KEYS = [
  "BridgeUniqueid",
  "BridgeType",
  "BridgeTechnology",
  "BridgeCreator",
  "BridgeName",
  "BridgeNumChannels",
  "BridgeVideoSourceMode",
];
const keys = (m: AmiMessage) => SimHarness.keys(m);
const one = (h: SimHarness, name: string, from = 0): AmiMessage => {
  const all = h.events(name, from);
  assert.equal(all.length, 1, `one ${name}, got ${all.length}`);
  return all[0];
};
const flow = (h: SimHarness, from = 0) =>
  h.events(undefined, from).filter((m) => FLOW.has(m.name)).map((m) =>
    `${m.name} ${m.get("Channel") ?? m.get("DestChannel") ?? ""}`.trim()
  );

describe("simulator bridges", () => {
  test("a bridged Dial (600 dials 100): the full event flow", () => {
    const h = new SimHarness();
    h.originate("600");
    const a = "Local/600@lab-00000000";
    const b = "Local/100@lab-00000001";
    assert.deepEqual(flow(h), [
      `Newchannel ${a};1`,
      `Newchannel ${a};2`,
      `DialBegin ${a};1`,
      `Newchannel ${b};1`,
      `Newchannel ${b};2`,
      `DialBegin ${a};2`,
      `DialEnd ${a};2`, // 100 answers at once
      `DialEnd ${a};1`, // so Dial answers the caller
      "BridgeCreate",
      `BridgeEnter ${b};1`, // the callee first, as fixture 21
      `BridgeEnter ${a};2`,
    ]);
    const begin = h.events("DialBegin")[1];
    assert.equal(begin.get("DestChannel"), `${b};1`);
    assert.equal(begin.get("DialString"), "100@lab");
    assert.equal(begin.get("DestLinkedid"), begin.get("Linkedid"), "callee takes the Linkedid");
    assert.notEqual(begin.get("DestUniqueid"), begin.get("Uniqueid"));
    assert.deepEqual(h.events("DialEnd").map((m) => m.get("DialStatus")), ["ANSWER", "ANSWER"]);
    const create = h.events("BridgeCreate")[0];
    assert.deepEqual(keys(create), ["Event", "Privilege", ...BRIDGE_KEYS]);
    assert.equal(create.get("BridgeNumChannels"), "0");
    const enter = h.events("BridgeEnter")[0];
    assert.deepEqual(keys(enter).slice(0, 10), ["Event", "Privilege", ...BRIDGE_KEYS, "Channel"]);
    assert.equal(enter.get("BridgeNumChannels"), "1");
    assert.equal(enter.get("Exten"), "", "the callee's ;1 has left the dialplan");
    const peers = h.events("VarSet").filter((m) => m.get("Variable") === "BRIDGEPEER");
    assert.deepEqual(peers.map((m) => [m.get("Channel"), m.get("Value")]), [
      [`${b};1`, `${a};2`],
      [`${a};2`, `${b};1`],
    ]);
    assert.match(
      create.get("BridgeUniqueid") ?? "",
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/,
    );

    const mark = h.messages.length;
    h.advance(2_000); // 100 hangs up after its Wait(2)
    assert.deepEqual(flow(h, mark), [
      `Hangup ${b};2`,
      `BridgeLeave ${b};1`,
      `Hangup ${b};1`,
      `BridgeLeave ${a};2`,
      "BridgeDestroy",
      `Hangup ${a};2`, // Dial (no `g` option) hangs the caller up
      `Hangup ${a};1`,
    ]);
    assert.equal(
      h.events("Newexten", mark).filter((m) => m.get("Channel") === `${a};2`).length,
      0,
      "600's dialplan does not go on",
    );
    const local = h.events("VarSet", mark).find((m) => m.get("Variable") === "CHANLOCALSTATUS");
    assert.deepEqual([local?.get("Channel"), local?.get("Value")], [`${a};1`, "ANSWER"]);
    const leaves = h.events("BridgeLeave");
    assert.deepEqual(leaves.map((m) => m.get("BridgeNumChannels")), ["1", "0"]);
    const dialstatus = h.events("VarSet").findLast((m) => m.get("Variable") === "DIALSTATUS");
    assert.equal(dialstatus?.get("Value"), "ANSWER");
    assert.equal(h.engine.channelList().length, 0);
    assert.equal(h.engine.bridges.size, 0);
  });

  test("BridgeList, BridgeInfo and CoreShowChannels agree on the bridge", () => {
    const h = new SimHarness();
    h.originate("610"); // dials Local/200@lab/n: bridged for 10 s
    h.originate("400"); // not bridged
    const list = h.action("BridgeList");
    assert.deepEqual([list[0].get("EventList"), list[0].get("Message")], [
      "start",
      "Bridge listing will follow",
    ]);
    assert.equal(list.length, 3);
    const item = list[1];
    assert.deepEqual(keys(item), ["Event", "ActionID", ...BRIDGE_KEYS]);
    assert.equal(list[2].name, "BridgeListComplete");
    assert.equal(list[2].get("ListItems"), "1");
    const id = item.get("BridgeUniqueid")!;
    assert.equal(h.action("BridgeList", { BridgeType: "holding" }).at(-1)?.get("ListItems"), "0");

    const info = h.action("BridgeInfo", { BridgeUniqueid: id });
    assert.equal(info[0].get("Message"), "Bridge channel listing will follow");
    const chans = info.filter((m) => m.name === "BridgeInfoChannel");
    assert.deepEqual(keys(chans[0]).slice(0, 3), ["Event", "ActionID", "Channel"]);
    const done = info.at(-1)!;
    assert.equal(done.name, "BridgeInfoComplete");
    assert.deepEqual(keys(done), [
      "Event",
      "ActionID",
      "EventList",
      "ListItems",
      ...BRIDGE_KEYS,
    ]);
    assert.equal(done.get("ListItems"), "2");
    assert.equal(done.get("BridgeNumChannels"), "2");

    const shown = h.action("CoreShowChannels").filter((m) => m.name === "CoreShowChannel");
    assert.equal(shown.length, 6);
    const bridged = shown.filter((m) => m.get("BridgeId") !== "").map((m) => m.get("Channel"));
    assert.deepEqual(bridged.sort(), chans.map((m) => m.get("Channel")!).sort());
    assert.ok(shown.every((m) => ["", id].includes(m.get("BridgeId")!)));
    const status = h.action("Status").filter((m) => m.name === "Status");
    assert.equal(status.filter((m) => m.get("BridgeID") === id).length, 2);
    assert.equal(h.events("BridgeCreate").length, 1);

    assert.deepEqual(
      [
        h.action("BridgeInfo")[0].get("Message"),
        h.action("BridgeInfo", { BridgeUniqueid: "x" })[0].get("Message"),
      ],
      ["BridgeUniqueid must be provided", "Specified BridgeUniqueid not found"],
    );
    h.advance(10_000);
    assert.equal(h.action("BridgeList").at(-1)?.get("ListItems"), "0");
  });

  test("the caller hangs up while bridged: both sides leave, the callee is hung up", () => {
    const h = new SimHarness();
    h.originate("610");
    const mark = h.messages.length;
    h.action("Hangup", { Channel: "Local/610@lab-00000000;1" });
    assert.deepEqual(flow(h, mark), [
      "Hangup Local/610@lab-00000000;1",
      "BridgeLeave Local/610@lab-00000000;2",
      "Hangup Local/610@lab-00000000;2",
      "BridgeLeave Local/200@lab-00000001;1",
      "BridgeDestroy",
      "Hangup Local/200@lab-00000001;1", // Dial hangs up the callee once the caller is gone
      "Hangup Local/200@lab-00000001;2",
    ]);
    assert.equal(h.engine.channelList().length, 0);
    h.advance(30_000);
    assert.equal(flow(h, mark).length, 7, "nothing happens later");
  });

  test("dial statuses: BUSY, CONGESTION, NOANSWER (timeout), CHANUNAVAIL", () => {
    const dialplan: Dialplan = {
      lab: {
        b: busy(),
        c: hangupWithCause(34),
        n: noAnswer(),
        a: answerAndWait(1),
        "1": dial("b@lab"),
        "2": dial("Local/c@lab"),
        "3": dial("Local/n@lab/n", 5),
        "4": dial("Local/missing@lab"),
        "5": dial("a@lab"),
      },
    };
    const h = new SimHarness({ dialplan });
    const statusOf = (exten: string) => {
      const mark = h.messages.length;
      h.originate(exten);
      h.advance(6_000);
      const ends = h.events("DialEnd", mark).filter((m) => m.get("Channel") !== undefined);
      const v = h.events("VarSet", mark).findLast((m) => m.get("Variable") === "DIALSTATUS");
      assert.equal(h.engine.channelList().length, 0, exten);
      return [ends.map((m) => m.get("DialStatus")).join(","), v?.get("Value")];
    };
    assert.deepEqual(statusOf("1"), ["BUSY", "BUSY"]);
    assert.deepEqual(statusOf("2"), ["CONGESTION", "CONGESTION"]);
    assert.deepEqual(statusOf("3"), ["NOANSWER", "NOANSWER"]);
    assert.deepEqual(statusOf("4"), ["", "CHANUNAVAIL"]);
    assert.deepEqual(statusOf("5"), ["ANSWER", "ANSWER"]);
  });

  test("Ringing() on the callee: its ;1 goes Ringing, the dialer reports DialState RINGING", () => {
    const h = new SimHarness({
      dialplan: { lab: { r: [{ app: "Ringing" }, { app: "Ring" }], d: dial("r@lab", 2) } },
    });
    h.originate("r");
    const st = h.events("Newstate");
    assert.deepEqual(st.map((m) => [m.get("Channel"), m.get("ChannelStateDesc")]), [
      ["Local/r@lab-00000000;1", "Ringing"],
    ]);
    const ds = one(h, "DialState");
    assert.equal(ds.get("Channel"), undefined, "an Originate's dial has no caller");
    assert.deepEqual([ds.get("DestChannel"), ds.get("DialStatus")], [
      "Local/r@lab-00000000;1",
      "RINGING",
    ]);
    assert.equal(keys(ds).at(-1), "DialStatus");
    const mark = h.messages.length;
    h.originate("d");
    const states = h.events("DialState", mark);
    assert.deepEqual(states.map((m) => [m.get("Channel"), m.get("DestChannel")]), [
      ["Local/d@lab-00000001;2", "Local/r@lab-00000002;1"], // Dial's callee rings
      [undefined, "Local/d@lab-00000001;1"], // and the caller rings its Originate
    ]);
    h.advance(2_000);
    const dialEnd = h.events("DialEnd", mark).find((m) => m.get("Channel") !== undefined);
    assert.equal(dialEnd?.get("DialStatus"), "NOANSWER");
  });

  test("an Originate with a ChannelId in use is refused (Reason 0, no channels)", () => {
    const h = new SimHarness();
    h.originate("400", { ChannelId: "mine" });
    assert.equal(h.engine.channelByUniqueid("mine;2")?.name, "Local/400@lab-00000000;2");
    const tries: Record<string, string>[] = [
      { ChannelId: "mine" },
      { ChannelId: "x", OtherChannelId: "mine;2" },
    ];
    for (const extra of tries) {
      const mark = h.messages.length;
      const r = h.originate("100", extra);
      assert.equal(r.get("Message"), "Originate successfully queued");
      assert.deepEqual(h.names(mark), ["OriginateResponse"]);
      const resp = h.events("OriginateResponse", mark)[0];
      assert.deepEqual(keys(resp), [
        "Event",
        "Privilege",
        "ActionID",
        "Response",
        "Channel",
        "Application",
        "Data",
        "Reason",
        "Uniqueid",
        "CallerIDNum",
        "CallerIDName",
      ]);
      assert.deepEqual(
        [resp.get("Response"), resp.get("Channel"), resp.get("Reason"), resp.get("Uniqueid")],
        ["Failure", "Local/100@lab", "0", extra.ChannelId],
      );
    }
    const sync = h.action("Originate", {
      Channel: "Local/100@lab",
      Application: "Wait",
      Data: "1",
      ChannelId: "mine",
    });
    assert.deepEqual([sync[0].name, sync[0].get("Message")], ["Error", "Originate failed"]);
    assert.equal(h.engine.channelList().length, 2, "only the first call");
  });

  test("property: after random call scripts every BridgeEnter has a BridgeLeave, every channel a Hangup", () => {
    const extens = [
      "100",
      "200",
      "300",
      "500",
      "600",
      "610",
      "700",
      "720",
      "999",
      "d1",
      "d2",
      "d3",
    ];
    const dialplan: Dialplan = {
      lab: {
        ...LAB_DIALPLAN.lab,
        d1: dial("Local/300@lab"),
        d2: dial("Local/500@lab", 3),
        d3: [{ app: "Answer" }, { app: "Dial", target: "Local/610@lab" }],
      },
    };
    const op = fc.oneof(
      fc.record({
        op: fc.constant("call" as const),
        exten: fc.constantFrom(...extens),
        wait: fc.integer({ min: 1, max: 20 }),
      }),
      fc.record({ op: fc.constant("hangup" as const), pick: fc.nat() }),
      fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 8_000 }) }),
      fc.record({ op: fc.constant("pause" as const), paused: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const h = new SimHarness({ dialplan });
        for (const o of ops) {
          if (o.op === "call") h.originate(o.exten, {}, o.wait);
          else if (o.op === "advance") h.advance(o.ms);
          else if (o.op === "pause") {
            h.action("QueuePause", { Interface: "Local/710@lab/n", Paused: String(o.paused) });
          } else {
            const chans = h.engine.channelList();
            if (chans.length > 0) {
              h.action("Hangup", { Channel: chans[o.pick % chans.length].name });
            }
          }
        }
        h.action("QueuePause", { Interface: "Local/710@lab/n", Paused: "false" });
        h.advance(200_000);
        assert.equal(h.engine.channelList().length, 0);
        assert.equal(h.engine.bridges.size, 0);
        assert.ok(h.engine.queues.infos().every((q) => q.callers.length === 0));
        const open = new Map<string, number>();
        for (const m of h.events()) {
          const k = `${m.get("BridgeUniqueid")} ${m.get("Channel")}`;
          if (m.name === "BridgeEnter") open.set(k, (open.get(k) ?? 0) + 1);
          if (m.name === "BridgeLeave") {
            assert.ok((open.get(k) ?? 0) > 0, `a BridgeLeave without BridgeEnter: ${k}`);
            open.set(k, open.get(k)! - 1);
          }
        }
        assert.ok([...open.values()].every((n) => n === 0), "every BridgeEnter has a BridgeLeave");
        const created = h.events("BridgeCreate").map((m) => m.get("BridgeUniqueid"));
        const destroyed = h.events("BridgeDestroy").map((m) => m.get("BridgeUniqueid"));
        assert.deepEqual(destroyed.sort(), created.sort());
        const born = h.events("Newchannel").map((m) => m.get("Uniqueid")).sort();
        const dead = h.events("Hangup").map((m) => m.get("Uniqueid")).sort();
        assert.deepEqual(dead, born, "every channel hung up exactly once");
        const joined = h.events("QueueCallerJoin").length;
        assert.equal(h.events("QueueCallerLeave").length, joined);
      }),
      { numRuns: 150 },
    );
  });
});

describe("simulator faults for the live model", () => {
  test("dropEvents: the next N events of a session are lost, responses are not", async () => {
    const clock = new ManualClock();
    const sim = await AmiSimulator.start({ clock });
    const c = await RawClient.login(sim.port);
    try {
      const [id] = sim.sessions.map((s) => s.id);
      sim.dropEvents(3, id);
      c.send("Action: UserEvent\r\nActionID: u1\r\nUserEvent: one\r\n\r\n");
      c.send("Action: UserEvent\r\nActionID: u2\r\nUserEvent: two\r\n\r\n");
      c.send("Action: UserEvent\r\nActionID: u3\r\nUserEvent: three\r\n\r\n");
      c.send("Action: UserEvent\r\nActionID: u4\r\nUserEvent: four\r\n\r\n");
      await c.response("u4");
      await c.find((m) => m.name === "UserEvent");
      await settle();
      assert.deepEqual(c.events("UserEvent").map((m) => m.get("UserEvent")), ["four"]);
      assert.ok(["u1", "u2", "u3"].every((x) => c.messages.some((m) => m.actionId === x)));
    } finally {
      await c.close();
      await sim.stop();
    }
  });

  test("restart: calls are gone (FullyBooted, Uptime 0); keepCalls keeps them", async () => {
    const clock = new ManualClock();
    const sim = await AmiSimulator.start({ clock });
    let c = await RawClient.login(sim.port);
    try {
      c.send(
        "Action: Originate\r\nActionID: o1\r\nChannel: Local/610@lab\r\nApplication: Wait\r\nData: 60\r\nAsync: true\r\n\r\n",
      );
      await c.find((m) => m.name === "BridgeEnter" && m.get("BridgeNumChannels") === "2");
      clock.advance(5_000);
      assert.equal(sim.channels.length, 4);
      assert.equal(sim.bridges.length, 1);
      await sim.restart({ keepCalls: true });
      await c.closed;
      c = await RawClient.login(sim.port);
      const booted = await c.find((m) => m.name === "FullyBooted");
      assert.equal(booted.get("Uptime"), "5", "a manager restart keeps the uptime");
      assert.equal(sim.channels.length, 4, "calls survive");
      assert.equal(sim.bridges.length, 1);
      await sim.restart();
      await c.closed;
      assert.equal(sim.channels.length, 0);
      assert.equal(sim.bridges.length, 0);
      c = await RawClient.login(sim.port);
      assert.equal((await c.find((m) => m.name === "FullyBooted")).get("Uptime"), "0");
      c.send("Action: CoreShowChannels\r\nActionID: s\r\n\r\n");
      const done = await c.find((m) => m.name === "CoreShowChannelsComplete");
      assert.equal(done.get("ListItems"), "0");
      clock.advance(100_000);
      await settle();
      assert.equal(c.events("Hangup").length, 0, "nothing of the old calls comes back");
    } finally {
      await c.close();
      await sim.stop();
    }
  });

  test("queue test hooks: add, pause, behaviour, remove", async () => {
    const clock = new ManualClock();
    const sim = await AmiSimulator.start({
      clock,
      dialplan: { lab: { q: [{ app: "Answer" }, { app: "Queue", queue: "sales" }] } },
      queues: [{ name: "sales", members: [] }],
    });
    try {
      assert.equal(sim.addQueueMember("sales", { interface: "Local/1@x", name: "One" }), true);
      assert.equal(sim.addQueueMember("sales", { interface: "Local/1@x" }), false);
      assert.equal(sim.addQueueMember("nope", { interface: "Local/1@x" }), false);
      assert.equal(sim.pauseQueueMember("sales", "Local/1@x", true, "break"), true);
      assert.equal(sim.queues[0].members[0].paused, true);
      assert.equal(sim.pauseQueueMember("sales", "Local/1@x", false), true);
      assert.equal(
        sim.setQueueMemberBehaviour("sales", "Local/1@x", {
          answerAfterSeconds: 2,
          talkSeconds: 3,
        }),
        true,
      );
      const c = await RawClient.login(sim.port);
      try {
        c.send(
          "Action: Originate\r\nActionID: o\r\nChannel: Local/q@lab\r\nApplication: Wait\r\nData: 60\r\nAsync: true\r\n\r\n",
        );
        await c.find((m) => m.name === "AgentCalled");
        assert.deepEqual(sim.queues[0].callers.length, 1);
        clock.advance(2_000);
        await c.find((m) => m.name === "AgentConnect");
        assert.equal(sim.queues[0].members[0].inCall, true);
        clock.advance(3_000);
        await c.find((m) => m.name === "AgentComplete");
        assert.equal(sim.queues[0].members[0].callsTaken, 1);
        assert.equal(sim.removeQueueMember("sales", "Local/1@x"), true);
        assert.equal(sim.queues[0].members.length, 0);
      } finally {
        await c.close();
      }
    } finally {
      await sim.stop();
    }
  });
});
