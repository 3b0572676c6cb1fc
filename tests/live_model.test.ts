// A model test of the live model: random call scripts rendered into wire
// events, with random drops, lists merged late, server restarts; after a
// final resync the model equals the script's truth. A twin model fed the same
// events as parsed text (the scan of the raw text) makes the same changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AmiMessage } from "../core/message.ts";
import { AmiParser } from "../core/parser.ts";
import { messageText } from "../core/serializer.ts";
import { LiveModel } from "../live/model.ts";
import type { LiveChange } from "../live/types.ts";
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
  type TruthMember,
} from "./_live_wire.ts";

const OPS = [
  "originate",
  "originate",
  "answer",
  "bridge",
  "leave",
  "masquerade",
  "rename",
  "join",
  "abandon",
  "member",
  "memberRemove",
  "hangup",
  "hangup",
  "resync",
  "lateResync",
  "restart",
] as const;

interface Step {
  op: typeof OPS[number];
  a: number;
  b: number;
  /** Which of the step's events are lost (bit i drops event i), or none. */
  drop: number | null;
}

const QUEUES = ["sales", "support"];

/** The server's truth, and the events each step puts on the wire. */
class World {
  channels = new Map<string, TruthChannel>();
  bridges = new Map<string, string[]>();
  queues = new Map<string, { members: Map<string, TruthMember>; callers: string[] }>();
  #counter = 0;
  #bridgeCounter = 0;

  #pick(n: number): TruthChannel | undefined {
    const ids = [...this.channels.keys()];
    return ids.length === 0 ? undefined : this.channels.get(ids[n % ids.length]);
  }

  #queue(name: string) {
    let q = this.queues.get(name);
    if (q === undefined) this.queues.set(name, q = { members: new Map(), callers: [] });
    return q;
  }

  #leaveBridge(ch: TruthChannel, out: AmiMessage[]): void {
    const id = ch.bridgeId;
    if (id === undefined) return;
    const members = (this.bridges.get(id) ?? []).filter((m) => m !== ch.uniqueid);
    this.bridges.set(id, members);
    delete ch.bridgeId;
    out.push(bridgeChannel("BridgeLeave", id, members.length, ch));
    if (members.length === 0) {
      this.bridges.delete(id);
      out.push(bridgeEvent("BridgeDestroy", id, 0));
    }
  }

  step(s: Step): AmiMessage[] {
    const out: AmiMessage[] = [];
    switch (s.op) {
      case "originate": {
        const n = this.#counter++;
        const u1 = `1700000000.${this.#counter++}`;
        const u2 = `1700000000.${this.#counter++}`;
        const base = `Local/100@lab-${n.toString(16).padStart(8, "0")}`;
        const one = {
          uniqueid: u1,
          name: `${base};1`,
          state: 0,
          linkedid: u1,
          context: "lab",
          exten: "100",
        };
        const two = { ...one, uniqueid: u2, name: `${base};2`, state: 4 };
        this.channels.set(u1, one);
        this.channels.set(u2, two);
        out.push(
          channelEvent("Newchannel", one),
          channelEvent("Newchannel", two),
          localBridge(one, two),
        );
        break;
      }
      case "answer": {
        const ch = this.#pick(s.a);
        if (ch === undefined) break;
        ch.state = 6;
        out.push(channelEvent("Newstate", ch));
        break;
      }
      case "bridge": {
        const a = this.#pick(s.a), b = this.#pick(s.b);
        if (a === undefined || b === undefined || a === b || b.bridgeId !== undefined) break;
        let id = a.bridgeId;
        if (id === undefined) {
          id = `br-${this.#bridgeCounter++}`;
          this.bridges.set(id, []);
          out.push(bridgeEvent("BridgeCreate", id, 0));
          a.bridgeId = id;
          this.bridges.set(id, [a.uniqueid]);
          out.push(bridgeChannel("BridgeEnter", id, 1, a));
        }
        const members = this.bridges.get(id) as string[];
        const linkedid = (this.channels.get(members[0]) as TruthChannel).linkedid;
        b.bridgeId = id;
        b.linkedid = linkedid;
        members.push(b.uniqueid);
        out.push(bridgeChannel("BridgeEnter", id, members.length, b));
        // Joining rewrites every member's Linkedid: visible on their next snapshot.
        for (const m of members) {
          const ch = this.channels.get(m) as TruthChannel;
          if (ch.linkedid !== linkedid) {
            ch.linkedid = linkedid;
            out.push(channelEvent("NewConnectedLine", ch));
          }
        }
        break;
      }
      case "leave": {
        const ch = this.#pick(s.a);
        if (ch !== undefined) this.#leaveBridge(ch, out);
        break;
      }
      case "masquerade": {
        const a = this.#pick(s.a), b = this.#pick(s.b);
        if (a === undefined || b === undefined || a === b) break;
        [a.name, b.name] = [b.name, a.name];
        out.push(channelEvent("NewCallerid", a), channelEvent("NewCallerid", b));
        break;
      }
      case "rename": {
        const ch = this.#pick(s.a);
        if (ch === undefined) break;
        const name = `PJSIP/r-${this.#counter++}`;
        out.push(rename(ch, name));
        ch.name = name;
        break;
      }
      case "join": {
        const ch = this.#pick(s.a);
        const name = QUEUES[s.b % 2];
        const q = this.#queue(name);
        if (ch === undefined || q.callers.includes(ch.uniqueid)) break;
        q.callers.push(ch.uniqueid);
        out.push(queueCaller("QueueCallerJoin", name, ch, q.callers.length, q.callers.length));
        break;
      }
      case "abandon": {
        const ch = this.#pick(s.a);
        const name = QUEUES[s.b % 2];
        const q = this.queues.get(name);
        if (ch === undefined || q === undefined) break;
        const pos = q.callers.indexOf(ch.uniqueid);
        if (pos < 0) break;
        q.callers.splice(pos, 1);
        out.push(queueCaller("QueueCallerLeave", name, ch, pos + 1, q.callers.length));
        break;
      }
      case "member": {
        const name = QUEUES[s.b % 2];
        const q = this.#queue(name);
        const iface = `PJSIP/${s.a % 4}`;
        const m = { iface, status: [1, 2, 6][s.b % 3], paused: s.a % 5 === 0 };
        const isNew = !q.members.has(iface);
        q.members.set(iface, m);
        out.push(queueMember(isNew ? "QueueMemberAdded" : "QueueMemberStatus", name, m));
        break;
      }
      case "memberRemove": {
        const name = QUEUES[s.b % 2];
        const q = this.queues.get(name);
        const m = q?.members.get(`PJSIP/${s.a % 4}`);
        if (q === undefined || m === undefined) break;
        q.members.delete(m.iface);
        out.push(queueMember("QueueMemberRemoved", name, m));
        break;
      }
      case "hangup": {
        const ch = this.#pick(s.a);
        if (ch === undefined) break;
        this.#leaveBridge(ch, out);
        for (const [name, q] of this.queues) {
          const pos = q.callers.indexOf(ch.uniqueid);
          if (pos < 0) continue;
          q.callers.splice(pos, 1);
          out.push(queueCaller("QueueCallerLeave", name, ch, pos + 1, q.callers.length));
        }
        this.channels.delete(ch.uniqueid);
        out.push(channelEvent("HangupRequest", ch, [["Cause", "16"]]));
        out.push(hangup(ch), cdr(ch), originateResponse(ch));
        break;
      }
    }
    return out;
  }

  /** The server restarted: calls and bridges are gone, and Uniqueids start over. */
  restart(): void {
    this.channels.clear();
    this.bridges.clear();
    this.queues.clear();
    this.#counter = 0;
  }

  /** The lists a resync would read now. */
  lists(): { channels: AmiMessage[]; bridges: AmiMessage[]; queues: AmiMessage[] } {
    return {
      channels: [...this.channels.values()].map(coreShowChannel),
      bridges: [...this.bridges].map(([id, m]) => bridgeListItem(id, m.length)),
      queues: [...this.queues].flatMap(([name, q]) =>
        queueStatus(
          name,
          [...q.members.values()],
          q.callers.map((id) => this.channels.get(id) as TruthChannel),
        )
      ),
    };
  }
}

type Lists = ReturnType<World["lists"]>;

function merge(model: LiveModel, lists: Lists, at: number, now: number): void {
  model.applyList("channels", lists.channels, at, now);
  model.applyList("bridges", lists.bridges, at, now);
  model.applyList("queues", lists.queues, at, now);
}

/** Checks that adds and removes pair up, and returns the keys alive after the changes. */
function track(alive: Set<string>, c: LiveChange): void {
  if (c.type === "status") return;
  assert.notEqual(c.type, "overflow");
  if (c.type === "overflow") return;
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

const parser = new AmiParser({ expectBanner: false });
const encoder = new TextEncoder();

/** The event as the client receives it: parsed from its text, headers not split. */
function onWire(e: AmiMessage): AmiMessage {
  let out: AmiMessage | undefined;
  parser.push(encoder.encode(messageText(e.headers)), (item) => {
    if (item instanceof AmiMessage) out = item;
  });
  assert.ok(out !== undefined && out.rawText !== undefined);
  return out;
}

function drainAll(model: LiveModel): LiveChange[] {
  const out: LiveChange[] = [];
  for (let c = model.pollChange(); c; c = model.pollChange()) out.push(c);
  return out;
}

function run(steps: Step[], maxChannels: number): void {
  const world = new World();
  const model = new LiveModel({ maxChannels });
  // A twin fed every event as parsed text (the scan reads the raw text, the
  // model above reads split headers): both must make the same changes.
  const twin = new LiveModel({ maxChannels });
  const alive = new Set<string>();
  const hungUp = new Set<string>();
  let now = 0;
  let late: { lists: Lists; at: number; due: number } | undefined;
  const merge2 = (lists: Lists, at: number, now: number) => {
    merge(model, lists, at, now);
    merge(twin, lists, at, now);
  };
  const drain = () => {
    const changes = drainAll(model);
    assert.deepEqual(drainAll(twin), changes, "text and split headers make the same changes");
    for (const c of changes) track(alive, c);
  };
  steps.forEach((s, i) => {
    now += 10;
    if (s.op === "restart") {
      world.restart();
      model.purge("serverRestart", now);
      twin.purge("serverRestart", now);
      hungUp.clear();
      late = undefined; // a list from the old session is discarded
    } else if (s.op === "resync") {
      // Lists merge in the order they completed: a pending one goes first.
      if (late !== undefined) merge2(late.lists, late.at, now);
      late = undefined;
      merge2(world.lists(), model.position, now);
    } else if (s.op === "lateResync") {
      // The list completes here; the caller merges it a few events later.
      late ??= { lists: world.lists(), at: model.position, due: i + 1 + (s.a % 4) };
    } else {
      world.step(s).forEach((e, j) => {
        if (s.drop !== null && (s.drop >> (j % 16)) & 1) return;
        model.apply(e, now);
        twin.apply(onWire(e), now);
        if (e.name === "Hangup") hungUp.add(e.get("Uniqueid") ?? "");
      });
    }
    if (late !== undefined && late.due <= i) {
      merge2(late.lists, late.at, now);
      late = undefined;
    }
    drain();
    for (const id of hungUp) assert.ok(!model.channels.has(id), `hung up but present: ${id}`);
    assert.ok(model.channels.size <= maxChannels);
  });
  // The final resync: no drops, merged where it completed (after any pending list).
  if (late !== undefined) merge2(late.lists, late.at, now);
  merge2(world.lists(), model.position, now + 10);
  drain();
  assert.equal(twin.position, model.position);
  const keys = new Set([
    ...[...model.channels.keys()].map((k) => `channel:${k}`),
    ...[...model.bridges.keys()].map((k) => `bridge:${k}`),
    ...[...model.queues.keys()].map((k) => `queue:${k}`),
  ]);
  assert.deepEqual([...alive].sort(), [...keys].sort(), "changes replay to the views");
  if (world.channels.size > maxChannels) {
    assert.equal(model.status, "degraded");
    return;
  }
  assert.equal(model.status, "ok");
  const got = [...model.channels.values()].map((c) => ({
    uniqueid: c.uniqueid,
    name: c.name,
    state: c.state,
    linkedid: c.linkedid,
    bridgeId: c.bridgeId,
  })).sort((a, b) => a.uniqueid.localeCompare(b.uniqueid));
  const want = [...world.channels.values()].map((c) => ({
    uniqueid: c.uniqueid,
    name: c.name,
    state: c.state,
    linkedid: c.linkedid,
    bridgeId: c.bridgeId,
  })).sort((a, b) => a.uniqueid.localeCompare(b.uniqueid));
  assert.deepEqual(got, want);
  for (const c of world.channels.values()) assert.equal(model.byName(c.name)?.uniqueid, c.uniqueid);
  assert.deepEqual(
    new Map([...model.bridges].map(([id, b]) => [id, [...b.members].sort()])),
    new Map([...world.bridges].map(([id, m]) => [id, [...m].sort()])),
  );
  assert.deepEqual(
    new Map(
      [...model.queues].map(([name, q]) => [name, {
        members: new Map(
          [...q.members].map(([k, m]) => [k, { iface: k, status: m.status, paused: m.paused }]),
        ),
        callers: [...q.callers],
      }]),
    ),
    new Map(world.queues),
  );
  const calls = new Map<string, string[]>();
  for (const c of world.channels.values()) {
    calls.set(c.linkedid, [...calls.get(c.linkedid) ?? [], c.uniqueid]);
  }
  assert.deepEqual(
    new Map([...model.calls].map(([k, c]) => [k, [...c.channels].sort()])),
    new Map([...calls].map(([k, v]) => [k, v.sort()])),
  );
}

const step: fc.Arbitrary<Step> = fc.record({
  op: fc.constantFrom(...OPS),
  a: fc.nat(63),
  b: fc.nat(63),
  drop: fc.option(fc.nat(0xffff), { freq: 4 }),
});

test("live model: after drops, late lists and restarts, a final resync equals the truth", () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 80, size: "max" }), (steps) => run(steps, 10_000)),
    { numRuns: 500 },
  );
});

test("live model: with a small maxChannels the cap holds, pairs hold, the status says degraded", () => {
  fc.assert(
    fc.property(
      fc.array(step, { maxLength: 80, size: "max" }),
      fc.integer({ min: 2, max: 8 }),
      run,
    ),
    { numRuns: 300 },
  );
});
