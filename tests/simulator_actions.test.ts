import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AmiSimulator,
  answerAndWait,
  busy,
  hangupWithCause,
  ManualClock,
  noAnswer,
} from "../testing/mod.ts";
import type { SimulatorOptions } from "../testing/mod.ts";
import { RawClient, settle } from "./_simulator_client.ts";

async function withSim(
  options: SimulatorOptions,
  fn: (sim: AmiSimulator, c: RawClient) => Promise<void>,
): Promise<void> {
  const sim = await AmiSimulator.start(options);
  let c: RawClient | undefined;
  try {
    c = await RawClient.login(sim.port);
    await fn(sim, c);
  } finally {
    await c?.close();
    await sim.stop();
  }
}

const ORIG = (id: string, chan: string, extra = "") =>
  `Action: Originate\r\nActionID: ${id}\r\nChannel: ${chan}\r\nApplication: Wait\r\nData: 60\r\n${extra}\r\n`;

describe("simulator actions", () => {
  test("Events mask and Filter decide which events a session gets", async () => {
    const clock = new ManualClock();
    await withSim({ clock }, async (_sim, c) => {
      c.send("Action: Events\r\nActionID: e1\r\nEventMask: user\r\n\r\n");
      assert.equal((await c.response("e1")).get("Events"), "On");
      c.send(ORIG("o1", "Local/300@lab", "Async: true\r\n"));
      await c.response("o1");
      await c.find((m) => m.name === "UserEvent");
      await settle();
      assert.equal(c.events("Newchannel").length, 0);
      c.send("Action: Events\r\nActionID: e2\r\nEventMask: nonsense\r\n\r\n");
      assert.equal((await c.response("e2")).get("Events"), "Off");
      c.send("Action: Events\r\nActionID: e3\r\nEventMask: on\r\n\r\n");
      await c.response("e3");
      c.send(
        "Action: Filter\r\nActionID: f1\r\nOperation: Add\r\nFilter: Event: Newchannel\r\n\r\n",
      );
      assert.equal((await c.response("f1")).get("Message"), "Success");
      c.send(
        "Action: Filter\r\nActionID: f2\r\nOperation: Add\r\nFilter: Event: (unclosed\r\n\r\n",
      );
      assert.equal(
        (await c.response("f2")).get("Message"),
        "Filter did not compile.  Check the syntax of the filter given.",
      );
      c.send("Action: Filter\r\nActionID: f3\r\nOperation: Remove\r\nFilter: x\r\n\r\n");
      assert.equal((await c.response("f3")).get("Message"), "Unknown operation");
      const from = c.messages.length;
      c.send(ORIG("o2", "Local/300@lab", "Async: true\r\n"));
      await c.until(() => c.events("Newchannel").length === 2);
      await settle();
      const names = c.messages.slice(from).filter((m) => m.type === "event").map((m) => m.name);
      assert.deepEqual(names, ["Newchannel", "Newchannel"]);
    });
  });

  test("Getvar/Setvar global and on a channel; UserEvent broadcast with ActionID", async () => {
    const clock = new ManualClock();
    await withSim({ clock, channelVariables: ["LABVAR"] }, async (sim, c) => {
      c.send("Action: Setvar\r\nActionID: s1\r\nVariable: G1\r\nValue: x y z\r\n\r\n");
      assert.equal((await c.response("s1")).get("Message"), "Variable Set");
      const vs = await c.find((m) => m.name === "VarSet");
      assert.equal(vs.get("Channel"), "none");
      c.send("Action: Getvar\r\nActionID: g1\r\nVariable: G1\r\n\r\n");
      assert.equal((await c.response("g1")).get("Value"), "x y z");
      c.send(ORIG("o", "Local/400@lab", "Async: true\r\n"));
      await c.find((m) => m.name === "OriginateResponse");
      const ch = sim.channels[1].name;
      c.send(`Action: Getvar\r\nActionID: g2\r\nChannel: ${ch}\r\nVariable: LABVAR\r\n\r\n`);
      assert.equal((await c.response("g2")).get("Value"), "hello-400");
      c.send(
        `Action: Setvar\r\nActionID: s2\r\nChannel: ${ch}\r\nVariable: LABVAR\r\nValue: v2\r\n\r\n`,
      );
      await c.response("s2");
      assert.equal(sim.channels[1].variables.LABVAR, "v2");
      c.send("Action: Getvar\r\nActionID: g3\r\nChannel: Local/none\r\nVariable: X\r\n\r\n");
      assert.equal((await c.response("g3")).get("Message"), "No such channel");
      c.send("Action: UserEvent\r\nActionID: u1\r\nUserEvent: FromAMI\r\nHeader1: a:b\r\n\r\n");
      assert.equal((await c.response("u1")).get("Message"), "Event Sent");
      const ue = await c.find((m) => m.name === "UserEvent" && m.get("UserEvent") === "FromAMI");
      assert.deepEqual(ue.headers.slice(2), [["UserEvent", "FromAMI"], ["ActionID", "u1"], [
        "Header1",
        "a:b",
      ]]);
    });
  });

  test("CoreShowChannels and Status are event lists; Hangup by name, by /regex/, unknown", async () => {
    const clock = new ManualClock();
    await withSim({ clock }, async (sim, c) => {
      for (const i of [1, 2]) {
        c.send(ORIG(`o${i}`, "Local/400@lab", "Async: true\r\n"));
      }
      await c.until(() => c.events("OriginateResponse").length === 2);
      c.send("Action: CoreShowChannels\r\nActionID: csc\r\n\r\n");
      const r = await c.response("csc");
      assert.equal(r.get("EventList"), "start");
      const done = await c.find((m) => m.name === "CoreShowChannelsComplete");
      assert.equal(done.get("ListItems"), "4");
      assert.equal(c.events("CoreShowChannel").length, 4);
      c.send("Action: Status\r\nActionID: st\r\n\r\n");
      const sc = await c.find((m) => m.name === "StatusComplete");
      assert.equal(sc.get("Items"), "4");
      assert.equal(c.events("Status").at(-1)!.headers.at(-1)![0], "ActionID");
      const one = sim.channels[0].name;
      c.send(`Action: Hangup\r\nActionID: h1\r\nChannel: ${one}\r\n\r\n`);
      assert.equal((await c.response("h1")).get("Message"), "Channel Hungup");
      assert.equal(sim.channels.length, 2);
      c.send("Action: Hangup\r\nActionID: h2\r\nChannel: /^Local/400@lab/\r\n\r\n");
      const hl = await c.find((m) => m.name === "ChannelsHungupListComplete");
      assert.equal(hl.get("ListItems"), "2");
      assert.equal(sim.channels.length, 0);
      c.send("Action: Hangup\r\nActionID: h3\r\nChannel: Local/nope-1;1\r\n\r\n");
      assert.equal((await c.response("h3")).get("Message"), "No such channel");
    });
  });

  test("sync Originate: success after answer, failure for busy and unknown extension", async () => {
    const clock = new ManualClock();
    await withSim({ clock }, async (_sim, c) => {
      c.send(ORIG("ok", "Local/100@lab"));
      assert.equal((await c.response("ok")).get("Message"), "Originate successfully queued");
      assert.equal(c.events("OriginateResponse").length, 0);
      c.send(ORIG("busy", "Local/300@lab"));
      assert.equal((await c.response("busy")).get("Message"), "Originate failed");
      c.send(ORIG("none", "Local/999@lab"));
      assert.equal((await c.response("none")).get("Message"), "Originate failed");
      c.send(ORIG("tech", "PJSIP/nobody"));
      assert.equal((await c.response("tech")).get("Response"), "Error");
      const busyHangup = await c.find((m) => m.name === "Hangup" && m.get("Cause") === "17");
      assert.equal(busyHangup.get("Cause-txt"), "User busy");
    });
  });

  test("declarative dialplan: answerAndWait, busy, noAnswer (times out), hangupWithCause", async () => {
    const clock = new ManualClock();
    const dialplan = {
      d: { a: answerAndWait(3), b: busy(), n: noAnswer(), x: hangupWithCause(21) },
    };
    await withSim({ clock, dialplan }, async (sim, c) => {
      c.send(ORIG("a", "Local/a@d", "Async: true\r\n"));
      c.send(ORIG("b", "Local/b@d", "Async: true\r\n"));
      c.send(ORIG("x", "Local/x@d", "Async: true\r\n"));
      c.send(ORIG("n", "Local/n@d", "Async: true\r\nTimeout: 5000\r\n"));
      await c.until(() => c.events("OriginateResponse").length === 3);
      const byId = (id: string) =>
        c.events("OriginateResponse").find((m) => m.actionId === id)?.get("Response");
      assert.equal(byId("a"), "Success");
      assert.equal(byId("b"), "Failure");
      assert.equal(byId("x"), "Failure");
      assert.equal(sim.channels.length, 4); // a and n are up/ringing
      clock.advance(3000);
      await c.until(() => sim.channels.length === 2);
      clock.advance(2000);
      await c.until(() => c.events("OriginateResponse").length === 4);
      const n = c.events("OriginateResponse").find((m) => m.actionId === "n")!;
      assert.equal(n.get("Reason"), "3");
      assert.equal(sim.channels.length, 0);
      assert.ok(c.events("Hangup").some((m) => m.get("Cause") === "21"));
    });
  });

  test("framing limits and errors as Asterisk: line too long, >128 headers, unknown, before login", async () => {
    await withSim({}, async (_sim, c) => {
      c.send("Action: Ping\r\nActionID: big\r\nX: " + "A".repeat(5000) + "\r\n\r\n");
      assert.equal(
        (await c.response("big")).get("Message"),
        "Failed to parse message: line too long",
      );
      let many = "Action: Ping\r\nActionID: many\r\n";
      for (let i = 0; i < 130; i++) many += `X-${i}: v\r\n`;
      c.send(many + "\r\n");
      assert.equal(
        (await c.response("many")).get("Message"),
        "Too many lines in message or allocation failure",
      );
      c.send("Action: Nope\r\nActionID: u\r\n\r\n");
      assert.match((await c.response("u")).get("Message")!, /^Invalid\/unknown command: Nope\./);
      await c.find((m) => m.name === "RequestBadFormat");
      c.send("Action: Originate\r\nActionID: m\r\nExten: 1\r\n\r\n");
      assert.equal((await c.response("m")).get("Message"), "Channel not specified");
      const pre = await RawClient.connect(_sim.port);
      pre.send("Action: Ping\r\nActionID: p\r\n\r\n");
      assert.equal((await pre.response("p")).get("Message"), "Permission denied");
      pre.send("\x00garbage\r\n\r\n");
      await pre.until(() => pre.messages.length === 3);
      assert.equal(pre.messages[2].get("Message"), "Missing action in request");
      await pre.close();
    });
  });
});
