// The live model's merge rule: a list merges at the position where it
// completed; events after it win; unlisted old records vanish; the
// tombstones absorb late events.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LiveModel } from "../live/model.ts";
import type { LiveChange, LiveChannelChange } from "../live/types.ts";
import {
  bridgeChannel,
  bridgeEvent,
  bridgeListItem,
  cdr,
  channelEvent,
  coreShowChannel,
  hangup,
  localBridge,
  originateResponse,
  queueCaller,
  queueMember,
  queueStatus,
  rename,
  type TruthChannel,
} from "./_live_wire.ts";

function ch(n: number, over: Partial<TruthChannel> = {}): TruthChannel {
  return {
    uniqueid: `100.${n}`,
    name: `PJSIP/t-${n}`,
    state: 0,
    linkedid: `100.${n}`,
    context: "lab",
    exten: "100",
    ...over,
  };
}

function drain(model: LiveModel): LiveChange[] {
  const out: LiveChange[] = [];
  for (let c = model.pollChange(); c; c = model.pollChange()) out.push(c);
  return out;
}

function channelChanges(changes: LiveChange[]): LiveChannelChange[] {
  return changes.filter((c): c is LiveChannelChange => "kind" in c && c.kind === "channel");
}

test("an event after the list's position wins over the list", () => {
  const model = new LiveModel();
  const a = ch(1);
  model.apply(channelEvent("Newchannel", a), 0);
  const at = model.position; // the list completes here, showing a down
  model.apply(channelEvent("Newstate", { ...a, state: 6 }), 1);
  model.applyList("channels", [coreShowChannel(a)], at, 2);
  assert.equal(model.channels.get(a.uniqueid)?.state, 6);
  // A list at the current position wins.
  model.applyList("channels", [coreShowChannel({ ...a, state: 5 })], model.position, 3);
  assert.equal(model.channels.get(a.uniqueid)?.state, 5);
});

test("an unlisted record created before the list's position vanishes; a later one stays", () => {
  const model = new LiveModel();
  const a = ch(1), b = ch(2), c = ch(3);
  model.apply(channelEvent("Newchannel", a), 0);
  model.apply(channelEvent("Newchannel", b), 0);
  const at = model.position;
  model.apply(channelEvent("Newchannel", c), 1);
  drain(model);
  model.applyList("channels", [coreShowChannel(a)], at, 2);
  assert.deepEqual([...model.channels.keys()].sort(), [a.uniqueid, c.uniqueid]);
  const removed = channelChanges(drain(model)).filter((x) => x.type === "removed");
  assert.deepEqual(removed.map((x) => [x.record.uniqueid, x.reason]), [[b.uniqueid, "vanished"]]);
  // A vanished id is ended: a late event does not bring it back.
  model.apply(channelEvent("Newstate", { ...b, state: 6 }), 3);
  assert.ok(!model.channels.has(b.uniqueid));
});

test("a list inserts what the model missed and keeps the fields it lacks", () => {
  const model = new LiveModel({ variables: ["CAMPAIGN"] });
  const a = ch(1);
  model.apply(channelEvent("Newchannel", a), 0);
  model.apply(
    channelEvent("VarSet", a, [["Variable", "__CAMPAIGN"], ["Value", "spring"]]),
    0,
  );
  const b = ch(2, { bridgeId: "br-1" });
  model.applyList("channels", [coreShowChannel(a), coreShowChannel(b)], model.position, 1);
  assert.equal(model.channels.get(a.uniqueid)?.variables.CAMPAIGN, "spring");
  assert.equal(model.channels.get(b.uniqueid)?.bridgeId, "br-1");
  assert.deepEqual(model.bridges.get("br-1")?.members, [b.uniqueid]);
  // The bridge list then fills in the bridge's fields.
  model.applyList("bridges", [bridgeListItem("br-1", 1)], model.position, 2);
  assert.equal(model.bridges.get("br-1")?.type, "basic");
  assert.deepEqual(model.bridges.get("br-1")?.members, [b.uniqueid]);
});

test("a late OriginateResponse or Cdr after a Hangup resurrects nothing; nor does a list", () => {
  const model = new LiveModel();
  const one = ch(1, { name: "Local/100@lab-00000001;1" });
  const two = ch(2, { name: "Local/100@lab-00000001;2", linkedid: one.uniqueid });
  model.apply(channelEvent("Newchannel", one), 0);
  model.apply(channelEvent("Newchannel", two), 0);
  model.apply(localBridge(one, two), 0);
  const before = model.position;
  model.apply(channelEvent("HangupRequest", one, [["Cause", "16"]]), 1);
  assert.equal(model.channels.size, 2, "HangupRequest is not a hangup");
  model.apply(hangup(two), 1);
  model.apply(hangup(one), 1);
  model.apply(cdr(one), 2);
  model.apply(originateResponse(one), 2);
  model.apply(channelEvent("Newstate", { ...one, state: 6 }), 2); // a reordered snapshot
  model.applyList("channels", [coreShowChannel(one), coreShowChannel(two)], before, 3);
  assert.equal(model.channels.size, 0);
  const changes = channelChanges(drain(model));
  assert.deepEqual(changes.map((c) => c.type), ["added", "added", "removed", "removed"]);
  assert.ok(model.stats.absorbed >= 3);
});

test("purge removes everything as serverRestart and forgets tombstones (ids are reused)", () => {
  const model = new LiveModel();
  const a = ch(1);
  model.apply(channelEvent("Newchannel", a), 0);
  model.apply(hangup(a), 0);
  const b = ch(2);
  model.apply(channelEvent("Newchannel", b), 0);
  model.apply(
    queueMember("QueueMemberAdded", "sales", { iface: "PJSIP/100", status: 1, paused: false }),
    0,
  );
  drain(model);
  model.purge("serverRestart", 1);
  const changes = drain(model);
  assert.deepEqual(
    changes.map((c) => "kind" in c ? `${c.type}:${c.kind}:${c.reason}` : c.type),
    ["removed:channel:serverRestart", "removed:queue:serverRestart"],
  );
  model.apply(channelEvent("Newchannel", a), 2);
  assert.ok(model.channels.has(a.uniqueid), "a reused Uniqueid is a new channel");
});

test("bridges: enter, Linkedid rewrite, leave, destroy; a masquerade moves names with no Rename", () => {
  const model = new LiveModel();
  const a = ch(1), b = ch(2);
  model.apply(channelEvent("Newchannel", a), 0);
  model.apply(channelEvent("Newchannel", b), 0);
  model.apply(bridgeEvent("BridgeCreate", "br", 0), 0);
  model.apply(bridgeChannel("BridgeEnter", "br", 1, a), 0);
  model.apply(bridgeChannel("BridgeEnter", "br", 2, { ...b, linkedid: a.linkedid }), 0);
  assert.deepEqual(model.bridges.get("br")?.members, [a.uniqueid, b.uniqueid]);
  assert.deepEqual(model.calls.get(a.linkedid)?.channels, [a.uniqueid, b.uniqueid]);
  assert.equal(model.calls.has(b.uniqueid), false);
  // Masquerade: the names swap on the next snapshots.
  model.apply(channelEvent("NewCallerid", { ...a, name: b.name }), 1);
  model.apply(channelEvent("NewCallerid", { ...b, name: a.name, linkedid: a.linkedid }), 1);
  assert.equal(model.byName(a.name)?.uniqueid, b.uniqueid);
  assert.equal(model.byName(b.name)?.uniqueid, a.uniqueid);
  model.apply(rename({ ...a, name: b.name }, "PJSIP/renamed"), 1);
  assert.equal(model.byName("PJSIP/renamed")?.uniqueid, a.uniqueid);
  assert.equal(model.byName(b.name), undefined);
  model.apply(bridgeChannel("BridgeLeave", "br", 1, a), 2);
  assert.deepEqual(model.bridges.get("br")?.members, [b.uniqueid]);
  assert.equal(model.channels.get(a.uniqueid)?.bridgeId, undefined);
  model.apply(hangup(b), 2);
  assert.deepEqual(model.bridges.get("br")?.members, []);
  model.apply(bridgeEvent("BridgeDestroy", "br", 0), 2);
  assert.equal(model.bridges.size, 0);
  model.apply(bridgeChannel("BridgeLeave", "br", 0, a), 3); // late: absorbed
  assert.equal(model.bridges.size, 0);
});

test("queues: created on first sight, callers by position, members by interface in several queues", () => {
  const model = new LiveModel();
  const a = ch(1), b = ch(2);
  model.apply(channelEvent("Newchannel", a), 0);
  model.apply(channelEvent("Newchannel", b), 0);
  model.apply(queueCaller("QueueCallerJoin", "sales", a, 1, 1), 0);
  model.apply(queueCaller("QueueCallerJoin", "sales", b, 1, 2), 0);
  assert.deepEqual(model.queues.get("sales")?.callers, [b.uniqueid, a.uniqueid]);
  const m = { iface: "PJSIP/100", status: 1, paused: false };
  model.apply(queueMember("QueueMemberAdded", "sales", m), 0);
  model.apply(queueMember("QueueMemberAdded", "support", m), 0);
  assert.deepEqual(model.freeMembers("sales").map((x) => x.interface), ["PJSIP/100"]);
  model.apply(queueMember("QueueMemberStatus", "sales", { ...m, status: 2 }), 0);
  assert.deepEqual(model.freeMembers("sales"), []);
  assert.equal(model.freeMembers("support").length, 1);
  model.apply(hangup(b), 1);
  assert.deepEqual(model.queues.get("sales")?.callers, [a.uniqueid]);
  // QueueStatus uses Name/Location; a member an event touched later keeps the event's state.
  const at = model.position;
  model.apply(queueMember("QueueMemberPause", "sales", { ...m, status: 2, paused: true }), 2);
  model.applyList("queues", queueStatus("sales", [{ ...m, status: 1 }], [a]), at, 3);
  assert.equal(model.queues.get("sales")?.members.get("PJSIP/100")?.paused, true);
  assert.equal(model.queues.get("sales")?.params.Strategy, "ringall");
  // "support" was not listed and not touched since: it vanished.
  assert.deepEqual([...model.queues.keys()], ["sales"]);
});

test("a list position ahead of the events applied is refused", () => {
  const model = new LiveModel();
  assert.throws(() => model.applyList("channels", [], 1, 0), RangeError);
});

test("variables: only the allow-list, within the count and byte caps", () => {
  const model = new LiveModel({
    variables: ["A", "B", "C"],
    maxVariables: 2,
    maxVariableBytes: 12,
  });
  const a = ch(1);
  model.apply(channelEvent("Newchannel", a), 0);
  const set = (k: string, v: string) =>
    model.apply(channelEvent("VarSet", a, [["Variable", k], ["Value", v]]), 0);
  set("X", "ignored");
  set("A", "1");
  set("B", "2");
  set("C", "3"); // over the count
  set("A", "0123456789ab"); // over the bytes
  assert.deepEqual(model.channels.get(a.uniqueid)?.variables, { A: "1", B: "2" });
  assert.equal(model.stats.droppedVariables, 2);
});

test("the tombstone ring and the pending changes are bounded", () => {
  const model = new LiveModel({ tombstones: 4, maxPendingChanges: 3 });
  for (let i = 0; i < 10; i++) {
    model.apply(channelEvent("Newchannel", ch(i)), 0);
    model.apply(hangup(ch(i)), 0);
  }
  const changes = drain(model);
  assert.equal(changes.length, 4);
  assert.deepEqual(changes[3], { type: "overflow", dropped: 17 });
  // Only the 4 newest ended ids are remembered: an old id's late snapshot is a new channel again.
  model.apply(channelEvent("Newstate", ch(9)), 1);
  model.apply(channelEvent("Newstate", ch(0)), 1);
  assert.deepEqual([...model.channels.keys()], [ch(0).uniqueid]);
});
