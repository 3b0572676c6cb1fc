/**
 * Bridges in the live state's sync: `BridgeList` merged at its position
 * after `CoreShowChannels` (whose items carry each channel's `BridgeId`).
 * The real capture 25 (lists with calls up on Asterisk 22) through the
 * model, and bridged calls up before connect on the simulator.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defaultConnector } from "../adapters/mod.ts";
import { Client } from "../client/mod.ts";
import { AmiMessage } from "../core/message.ts";
import { createLiveState } from "../live/mod.ts";
import { LiveModel } from "../live/model.ts";
import { AmiSimulator, answerAndWait, dial, ManualClock } from "../testing/mod.ts";
import { simOptions, until, within } from "./_client.ts";
import { fixture } from "./_fixtures.ts";
import { parseStream } from "./_fidelity.ts";

describe("BridgeList merged with the channels", () => {
  test("capture 25: three bridges with their type and technology, members from CoreShowChannel's BridgeId", () => {
    const model = new LiveModel();
    const lists: Record<string, AmiMessage[]> = {};
    const bridgeInfo: AmiMessage[] = [];
    for (const m of parseStream(fixture("25-lists-with-calls-up.raw"))) {
      if (m.type !== "event") continue;
      const id = m.actionId ?? "";
      if (m.name === "CoreShowChannelsComplete") {
        model.applyList("channels", lists[id] ?? [], model.position, 0);
      } else if (m.name === "BridgeListComplete") {
        model.applyList("bridges", lists[id] ?? [], model.position, 0);
      } else if (m.name === "CoreShowChannel" || m.name === "BridgeListItem") {
        (lists[id] ??= []).push(m);
      } else if (m.name === "BridgeInfoChannel") bridgeInfo.push(m);
      else model.apply(m, 0);
    }
    assert.equal(model.channels.size, 16);
    assert.equal(model.bridges.size, 3);
    for (const b of model.bridges.values()) {
      assert.equal(b.type, "basic");
      assert.equal(b.technology, "simple_bridge");
      assert.equal(b.members.length, 2);
      for (const id of b.members) assert.equal(model.channels.get(id)?.bridgeId, b.id);
    }
    const inBridges = [...model.channels.values()].filter((c) => c.bridgeId !== undefined);
    assert.equal(inBridges.length, 6);
    // BridgeInfo of the last bridge names the same two channels.
    const last = model.bridges.get("70b83776-fb61-4344-a61f-c77daf038184");
    assert.deepEqual(
      [...(last?.members ?? [])].sort(),
      bridgeInfo.map((m) => m.get("Uniqueid")).sort(),
    );
  });

  test("a BridgeList that no longer lists a bridge removes it (vanished) and frees its members", () => {
    const model = new LiveModel();
    const item = (name: string, id: string, bridge: string): AmiMessage =>
      new AmiMessage([
        ["Event", name],
        ...(id === "" ? [] : [
          ["Channel", `PJSIP/${id}`],
          ["ChannelState", "6"],
          ["Uniqueid", id],
          ["Linkedid", id],
          ["BridgeId", bridge],
        ] as [string, string][]),
        ...(id === ""
          ? [["BridgeUniqueid", bridge], ["BridgeType", "basic"]] as [string, string][]
          : []),
      ]);
    model.applyList("channels", [item("CoreShowChannel", "a", "b1")], 0, 0);
    assert.equal(model.bridges.get("b1")?.type, "", "a placeholder until BridgeList");
    model.applyList("bridges", [item("BridgeListItem", "", "b1")], 0, 0);
    assert.equal(model.bridges.get("b1")?.type, "basic");
    const removed: string[] = [];
    model.applyList("bridges", [], 0, 0);
    for (let c = model.pollChange(); c; c = model.pollChange()) {
      if (c.type === "removed" && c.kind === "bridge") removed.push(`${c.record.id} ${c.reason}`);
    }
    assert.deepEqual(removed, ["b1 vanished"]);
    assert.equal(model.channels.get("a")?.bridgeId, undefined);
  });
});

describe("bridges on the simulator", () => {
  test("bridged calls up before connect: every bridge with its fields and members after synced()", async () => {
    const clock = new ManualClock();
    const dialplan = { t: { a: dial("Local/b@t"), b: answerAndWait(600) } };
    const sim = await AmiSimulator.start({ clock, dialplan });
    const dialer = new Client(simOptions(sim, { clock }), defaultConnector());
    const client = new Client(simOptions(sim, { clock }), defaultConnector());
    const live = createLiveState(client);
    try {
      await dialer.start();
      for (let i = 0; i < 3; i++) {
        await dialer.action("Originate", {
          Channel: "Local/a@t",
          Application: "Wait",
          Data: "600",
          Async: "true",
        });
      }
      clock.advance(1_000);
      await until(() => sim.bridges.length === 3, 5_000, "three bridges");
      await client.start();
      await within(live.synced({ timeoutMs: 10_000 }), 5_000, "synced");
      assert.deepEqual([...live.bridges.keys()].sort(), sim.bridges.map((b) => b.id).sort());
      for (const b of sim.bridges) {
        const rec = live.bridges.get(b.id)!;
        assert.equal(rec.type, b.type);
        assert.equal(rec.technology, b.technology);
        assert.deepEqual(
          rec.members.map((id) => live.channels.get(id)?.name).sort(),
          [...b.channels].sort(),
        );
      }
      assert.equal(live.stats().unsupported.includes("BridgeList"), false);
    } finally {
      live.close();
      client.destroy();
      dialer.destroy();
      await sim.stop();
    }
  });
});
