// The live model fed real Asterisk captures (tests/fixtures): events in wire
// order, list items merged as lists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fixture } from "./_fixtures.ts";
import { parseStream } from "./_fidelity.ts";
import type { AmiMessage } from "../core/message.ts";
import { LiveModel } from "../live/model.ts";
import type { LiveChange, LiveChannelChange } from "../live/types.ts";

const CAPTURES = [
  "09-coreshowchannels-3-calls.raw",
  "10-originate-async-local-100.raw",
  "11-originate-failures.raw",
  "12-originate-burst-50.raw",
  "13-events-off-and-filter.raw",
];

function channelChanges(changes: LiveChange[], type: LiveChange["type"]): LiveChannelChange[] {
  return changes.filter((c): c is LiveChannelChange =>
    c.type === type && "kind" in c && c.kind === "channel"
  );
}

interface Run {
  model: LiveModel;
  changes: LiveChange[];
  hungUp: Set<string>;
}

/** Feeds a capture: events to apply(), a CoreShowChannels list to applyList() when it completes. */
function feed(name: string, model = new LiveModel({ variables: ["LABVAR", "LABINHERIT"] })): Run {
  const changes: LiveChange[] = [];
  const hungUp = new Set<string>();
  let list: AmiMessage[] | undefined;
  let now = 0;
  for (const m of parseStream(fixture(name))) {
    now += 1;
    if (m.type !== "event") {
      if (m.get("EventList") === "start" && /channels will follow/i.test(m.get("Message") ?? "")) {
        list = [];
      }
      continue;
    }
    if (m.name === "CoreShowChannel" && list !== undefined) list.push(m);
    else if (m.name === "CoreShowChannelsComplete" && list !== undefined) {
      model.applyList("channels", list, model.position, now);
      list = undefined;
    } else {
      model.apply(m, now);
      if (m.name === "Hangup") hungUp.add(m.get("Uniqueid") ?? "");
    }
    for (let c = model.pollChange(); c; c = model.pollChange()) changes.push(c);
  }
  return { model, changes, hungUp };
}

/** Every added record has exactly one removal after it, and nothing changes while absent. */
function assertPairs(changes: LiveChange[], live: ReadonlySet<string>): void {
  const alive = new Set<string>();
  for (const c of changes) {
    if (c.type === "status" || c.type === "overflow") continue;
    const key = `${c.kind}:${
      c.kind === "channel" ? c.record.uniqueid : c.kind === "bridge" ? c.record.id : c.record.name
    }`;
    if (c.type === "added") {
      assert.ok(!alive.has(key), `added twice: ${key}`);
      alive.add(key);
    } else {
      assert.ok(alive.has(key), `${c.type} while absent: ${key}`);
      if (c.type === "removed") alive.delete(key);
    }
  }
  assert.deepEqual([...alive].sort(), [...live].sort());
}

function liveKeys(model: LiveModel): Set<string> {
  return new Set([
    ...[...model.channels.keys()].map((k) => `channel:${k}`),
    ...[...model.bridges.keys()].map((k) => `bridge:${k}`),
    ...[...model.queues.keys()].map((k) => `queue:${k}`),
  ]);
}

for (const name of CAPTURES) {
  test(`live model over ${name}: no hung-up channel remains, adds and removes pair`, () => {
    const { model, changes, hungUp } = feed(name);
    for (const id of hungUp) assert.ok(!model.channels.has(id), `${id} hung up but remains`);
    assertPairs(changes, liveKeys(model));
    assert.equal(model.status, "ok");
  });
}

test("fixture 09: the CoreShowChannels items merge as a list of three Local pairs", () => {
  const { model, changes } = feed("09-coreshowchannels-3-calls.raw");
  assert.equal(model.channels.size, 6);
  assert.equal(changes.filter((c) => c.type === "added").length, 6);
  assert.equal(model.calls.size, 3);
  for (const call of model.calls.values()) {
    assert.equal(call.channels.length, 2);
    const names = call.channels.map((id) => model.channels.get(id)?.name ?? "").sort();
    assert.match(names[0], /;1$/);
    assert.equal(names[1], names[0].replace(/;1$/, ";2"));
  }
  const two = model.byName("Local/400@lab-000000ad;2");
  assert.ok(two);
  assert.equal(two.uniqueid, "1795782341.346");
  assert.equal(two.linkedid, "1795782341.344");
  assert.equal(two.state, 6);
  assert.equal(two.application, "Wait");
  assert.equal(two.appData, "30");
  assert.equal(two.bridgeId, undefined);
  assert.deepEqual(two.variables, { LABVAR: "hello-400", LABINHERIT: "" });
  assert.deepEqual(two.callerId, { num: "555002", name: "Lab Caller 2" });
});

test("fixture 10: the Local pair appears, runs its dialplan and goes with cause 16", () => {
  const { model, changes } = feed("10-originate-async-local-100.raw");
  const added = channelChanges(changes, "added");
  assert.deepEqual(added.map((c) => c.record.name), [
    "Local/100@lab-00000058;1",
    "Local/100@lab-00000058;2",
  ]);
  const removed = channelChanges(changes, "removed");
  assert.equal(removed.length, 2);
  for (const c of removed) {
    assert.equal(c.reason, "hangup");
    assert.equal(c.cause, 16);
    assert.equal(c.causeText, "Normal Clearing");
  }
  // The ;2 half ran Set(__LABINHERIT) and Set(LABVAR=done-100) before it ended.
  const last = removed.find((c) => c.record.name.endsWith(";2"));
  assert.ok(last);
  assert.equal(last.record.variables.LABVAR, "done-100");
  assert.equal(last.record.variables.LABINHERIT, "inherited");
  assert.equal(model.channels.size, 0);
  // The Cdr after each Hangup has no snapshot; nothing came back.
  assert.equal(changes.filter((c) => c.type === "added").length, 2);
});

test("fixture 12: fifty Local pairs appear and all go", () => {
  const { model, changes } = feed("12-originate-burst-50.raw");
  assert.equal(channelChanges(changes, "added").length, 100);
  assert.equal(channelChanges(changes, "removed").length, 100);
  assert.equal(model.channels.size, 0);
  assert.equal(model.calls.size, 0);
});

test("fixture 12 with maxChannels 10: the model degrades, stays under the cap, pairs hold", () => {
  const model = new LiveModel({ maxChannels: 10 });
  const changes: LiveChange[] = [];
  for (const m of parseStream(fixture("12-originate-burst-50.raw"))) {
    if (m.type !== "event") continue;
    model.apply(m, 0);
    assert.ok(model.channels.size <= 10);
    for (let c = model.pollChange(); c; c = model.pollChange()) changes.push(c);
  }
  const statuses = changes.filter((c) => c.type === "status");
  assert.ok(model.stats.refused > 0);
  assert.equal(model.status, "degraded");
  assert.deepEqual(statuses.map((c) => c.type === "status" && c.status), ["degraded"]);
  assertPairs(changes, liveKeys(model));
});
