/**
 * The live model bound to a client (`live/live_state.ts`): against the
 * simulator over loopback sockets on a manual clock (calls up before connect,
 * hangups, a server restart, a reconnect with calls starting and ending in the
 * gap, close), and the list position on a scripted transport.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defaultConnector } from "../adapters/mod.ts";
import { Client, type ClientOptions, createClusterWith } from "../client/mod.ts";
import { ConnectError, NotReadyError } from "../core/mod.ts";
import { createLiveState, type LiveChannelChange, type LiveState } from "../live/mod.ts";
import { AmiSimulator, answerAndWait, ManualClock } from "../testing/mod.ts";
import { simOptions, until, within } from "./_client.ts";
import { chan, msg, ScriptedServer } from "./_live_scripted.ts";

const DIALPLAN = { t: { long: answerAndWait(600), short: answerAndWait(5) } };
const USERS = [
  { username: "admin", secret: "amp111", read: "all", write: "all" },
  { username: "dialer", secret: "d", read: "all", write: "all" },
];

function options(sim: AmiSimulator, clock: ManualClock, username = "admin"): ClientOptions {
  return simOptions(sim, {
    username,
    secret: username === "admin" ? "amp111" : "d",
    clock,
    reconnect: { minDelayMs: 20, maxDelayMs: 20, stableAfterMs: 1_000 },
  });
}

/** Starts `n` Local calls to `exten` (two channels each) and waits until they answered. */
async function originate(dialer: Client, exten: "long" | "short", n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, () =>
      dialer.action("Originate", {
        Channel: `Local/${exten}@t`,
        Application: "Wait",
        Data: "600",
        Async: "true",
      })),
  );
}

/** The Uniqueids the simulator has now, sorted. */
function simIds(sim: AmiSimulator): string[] {
  return sim.channels.map((c) => c.uniqueid).sort();
}

function liveIds(live: LiveState): string[] {
  return [...live.channels.keys()].sort();
}

/** A simulator, a dialer client (user `dialer`) and a manual clock; everything closed after. */
async function withLab(
  fn: (lab: { sim: AmiSimulator; clock: ManualClock; dialer: Client }) => Promise<void>,
): Promise<void> {
  const clock = new ManualClock();
  const sim = await AmiSimulator.start({ clock, dialplan: DIALPLAN, users: USERS });
  const dialer = new Client(options(sim, clock, "dialer"), defaultConnector());
  try {
    await dialer.start();
    await fn({ sim, clock, dialer });
  } finally {
    dialer.destroy();
    await sim.stop();
  }
}

/** Advances the manual clock in small steps until `predicate` holds (reconnect backoff). */
async function advanceUntil(
  clock: ManualClock,
  predicate: () => boolean,
  what: string,
): Promise<void> {
  await until(
    () => {
      if (!predicate()) clock.advance(25);
      return predicate();
    },
    5_000,
    what,
  );
}

describe("live state on the simulator", () => {
  test("200 calls up before connect are all there and paired after synced(); hangups while connected are `hangup`", async () => {
    await withLab(async ({ sim, clock, dialer }) => {
      await originate(dialer, "long", 200);
      await originate(dialer, "short", 3);
      assert.equal(sim.channels.length, 406);
      const client = new Client(options(sim, clock), defaultConnector());
      const live = createLiveState(client);
      const removed: LiveChannelChange[] = [];
      live.on("channel", (c) => {
        if (c.type === "removed") removed.push(c);
      });
      try {
        await client.start();
        await within(live.synced({ timeoutMs: 10_000 }), 5_000, "synced");
        assert.equal(live.status, "live");
        assert.deepEqual(liveIds(live), simIds(sim));
        assert.equal(live.calls.size, 203);
        for (const call of live.calls.values()) {
          // Each call is its Local pair: ;1 and ;2 of one name, sharing the Linkedid.
          const names = call.channels.map((id) => live.channels.get(id)?.name ?? "").sort();
          assert.equal(names.length, 2, call.linkedid);
          assert.equal(names[0].replace(/;1$/, ""), names[1].replace(/;2$/, ""));
        }
        const one = sim.channels[0];
        assert.equal(live.byName(one.name)?.uniqueid, one.uniqueid);

        clock.advance(6_000); // the short calls hang up
        await until(() => live.channels.size === 400, 5_000, "the short calls gone");
        assert.deepEqual(liveIds(live), simIds(sim));
        assert.equal(removed.length, 6);
        assert.ok(removed.every((c) => c.reason === "hangup" && c.cause === 16));
        assert.equal(live.stats().syncs, 1);
      } finally {
        live.close();
        await client.close();
      }
    });
  });

  test("a server restart with calls up purges the model (serverRestart); it comes back live", async () => {
    await withLab(async ({ sim, clock, dialer }) => {
      const client = new Client(options(sim, clock), defaultConnector());
      const live = createLiveState(client); // before start: it sees the first FullyBooted
      const reasons: string[] = [];
      live.on("channel", (c) => {
        if (c.type === "removed") reasons.push(c.reason ?? "");
      });
      const statuses: string[] = [];
      live.on("status", (s) => statuses.push(s.status));
      try {
        await client.start();
        await originate(dialer, "long", 5);
        await live.synced({ timeoutMs: 10_000 });
        await until(() => live.channels.size === 10, 5_000, "10 channels");
        clock.advance(10_000); // Uptime 10 s: a restart now reads Uptime 0
        await sim.restart();
        await until(() => client.state !== "ready", 5_000, "the session dropped");
        assert.equal(live.status, "stale");
        assert.equal(live.channels.size, 10, "a stale model is kept");
        await advanceUntil(clock, () => live.status === "live", "live again");
        assert.equal(live.channels.size, 0);
        assert.deepEqual(reasons, Array(10).fill("serverRestart"));
        assert.equal(live.stats().restarts, 1);
        assert.deepEqual(statuses.slice(-3), ["stale", "syncing", "live"]);
        await advanceUntil(clock, () => dialer.state === "ready", "dialer back");
        await originate(dialer, "long", 2);
        await until(() => live.channels.size === 4, 5_000, "new calls after the restart");
        assert.deepEqual(liveIds(live), simIds(sim));
      } finally {
        live.close();
        await client.close();
      }
    });
  });

  test("made after connect (first FullyBooted missed), a restart is still told by CoreStatus's startup time", async () => {
    await withLab(async ({ sim, clock, dialer }) => {
      const client = new Client(options(sim, clock), defaultConnector());
      await client.start();
      const live = createLiveState(client);
      const reasons: string[] = [];
      live.on("channel", (c) => {
        if (c.type === "removed") reasons.push(c.reason ?? "");
      });
      try {
        await originate(dialer, "long", 3);
        await live.synced({ timeoutMs: 10_000 });
        await until(() => live.channels.size === 6, 5_000, "6 channels");
        clock.advance(10_000);
        await sim.restart();
        await until(() => client.state !== "ready", 5_000, "the session dropped");
        await advanceUntil(clock, () => live.status === "live", "live again");
        assert.deepEqual(reasons, Array(6).fill("serverRestart"));
        assert.equal(live.stats().restarts, 1);
        assert.equal(live.channels.size, 0);
      } finally {
        live.close();
        await client.close();
      }
    });
  });

  test("a reconnect while calls start and end leaves no ghost after the resync", async () => {
    await withLab(async ({ sim, clock, dialer }) => {
      const client = new Client(options(sim, clock), defaultConnector());
      const live = createLiveState(client);
      const reasons = new Map<string, string>();
      live.on("channel", (c) => {
        if (c.type === "removed") reasons.set(c.record.uniqueid, c.reason ?? "");
      });
      try {
        await client.start();
        await originate(dialer, "long", 4);
        await originate(dialer, "short", 4);
        await live.synced({ timeoutMs: 10_000 });
        await until(() => live.channels.size === 16, 5_000, "16 channels");
        const shortIds = sim.channels.filter((c) => c.name.includes("short")).map((c) =>
          c.uniqueid
        );
        assert.equal(shortIds.length, 8);
        const mine = sim.sessions.find((s) => s.username === "admin");
        assert.ok(mine);
        sim.dropSession(mine.id);
        await until(() => client.state === "reconnecting", 5_000, "reconnecting");
        await originate(dialer, "long", 3); // start while disconnected
        // The short calls end during the gap; the backoff timer fires in the same advance.
        clock.advance(6_000);
        await advanceUntil(clock, () => live.status === "live", "live again");
        assert.equal(client.stats().reconnects, 1);
        assert.deepEqual(liveIds(live), simIds(sim));
        assert.equal(live.channels.size, 14);
        for (const id of shortIds) assert.equal(reasons.get(id), "vanished", id);
        assert.equal(live.stats().restarts, 0);
      } finally {
        live.close();
        await client.close();
      }
    });
  });

  test("a 5-second outage with 100 calls up, while 50 end and 50 start, leaves no ghost", async () => {
    await withLab(async ({ sim, clock, dialer }) => {
      const client = new Client(options(sim, clock), defaultConnector());
      const live = createLiveState(client);
      const removed = new Map<string, string>();
      let added = 0;
      live.on("channel", (c) => {
        if (c.type === "added") added++;
        if (c.type === "removed") {
          assert.ok(!removed.has(c.record.uniqueid), `removed twice: ${c.record.uniqueid}`);
          removed.set(c.record.uniqueid, c.reason ?? "");
        }
      });
      try {
        await client.start();
        await originate(dialer, "long", 50);
        await originate(dialer, "short", 50);
        await live.synced({ timeoutMs: 10_000 });
        await until(() => live.channels.size === 200, 5_000, "200 channels");
        const shortIds = sim.channels.filter((c) => c.name.includes("short")).map((c) =>
          c.uniqueid
        );
        assert.equal(shortIds.length, 100);
        const mine = sim.sessions.find((s) => s.username === "admin");
        assert.ok(mine);
        sim.dropSession(mine.id);
        await until(() => client.state === "reconnecting", 5_000, "reconnecting");
        assert.equal(live.status, "stale");
        assert.equal(live.channels.size, 200); // kept while stale
        await originate(dialer, "long", 50); // 100 channels start while disconnected
        clock.advance(5_000); // the short calls end during the outage
        await advanceUntil(clock, () => live.status === "live", "live again");
        assert.equal(client.stats().reconnects, 1);
        assert.deepEqual(liveIds(live), simIds(sim));
        assert.equal(live.channels.size, 200);
        for (const id of shortIds) assert.equal(removed.get(id), "vanished", id);
        assert.equal(removed.size, 100);
        assert.equal(added, 300); // 200 before, 100 listed after the outage; each added once
        assert.equal(live.calls.size, 100);
        for (const call of live.calls.values()) assert.equal(call.channels.length, 2);
      } finally {
        live.close();
        await client.close();
      }
    });
  });

  test("close() leaves no listener on the client; synced() then rejects", async () => {
    await withLab(async ({ sim, clock }) => {
      const client = new Client(options(sim, clock), defaultConnector());
      const before = client.stats().listeners;
      const live = createLiveState(client);
      live.on("channel", () => {
        throw new Error("a broken listener");
      });
      assert.equal(client.stats().listeners, before + 3); // events, states, drops
      try {
        await client.start();
        await live.synced({ timeoutMs: 10_000 });
        live.close();
        live.close();
        assert.equal(client.stats().listeners, before);
        await assert.rejects(live.synced({ timeoutMs: 1 }).then(() => live.resync()), () => true);
      } finally {
        await client.close();
      }
    });
  });

  test("a throwing listener is counted and breaks nothing", async () => {
    await withLab(async ({ sim, clock, dialer }) => {
      await originate(dialer, "long", 2);
      const client = new Client(options(sim, clock), defaultConnector());
      const live = createLiveState(client);
      let seen = 0;
      live.on("channel", () => {
        throw new Error("boom");
      });
      live.on("channel", () => seen++);
      try {
        await client.start();
        await live.synced({ timeoutMs: 10_000 });
        assert.equal(seen, 4);
        assert.equal(live.stats().listenerErrors, 4);
        assert.equal(client.stats().listenerErrors, 0);
      } finally {
        live.close();
        await client.close();
      }
    });
  });
});

describe("live state per node of a Cluster", () => {
  test("each node's client gets its own live state, with its own server's calls", async () => {
    await withLab(async ({ sim, clock, dialer }) => {
      const other = await AmiSimulator.start({ clock, dialplan: DIALPLAN, users: USERS });
      const cluster = createClusterWith(defaultConnector(), {
        clock,
        defaults: { username: "admin", secret: "amp111", keepaliveIdleMs: 0 },
        nodes: {
          a: { host: "127.0.0.1", port: sim.port },
          b: { host: "127.0.0.1", port: other.port },
        },
      });
      const lives = new Map(cluster.nodes.map((n) => [n, createLiveState(cluster.node(n))]));
      try {
        await originate(dialer, "long", 2);
        await advanceUntil(
          clock,
          () => cluster.state("a") === "ready" && cluster.state("b") === "ready",
          "both nodes",
        );
        await Promise.all([...lives.values()].map((l) => l.synced({ timeoutMs: 10_000 })));
        assert.deepEqual(liveIds(lives.get("a")!), simIds(sim));
        assert.equal(lives.get("a")!.channels.size, 4);
        assert.equal(lives.get("b")!.channels.size, 0);
      } finally {
        for (const l of lives.values()) l.close();
        await cluster.close();
        await other.stop();
      }
    });
  });
});

describe("synced()", () => {
  test("times out with NotReadyError on the client's clock; rejects with ConnectError when the client closes", async () => {
    const clock = new ManualClock();
    const client = new Client({
      host: "127.0.0.1",
      port: 1,
      username: "u",
      secret: "s",
      clock,
      keepaliveIdleMs: 0,
    }, () => new Promise(() => {})); // never connects
    const live = createLiveState(client);
    assert.equal(live.status, "stale");
    const late = live.synced({ timeoutMs: 1_000 });
    clock.advance(1_000);
    await assert.rejects(late, (e) => e instanceof NotReadyError && e.timeoutMs === 1_000);
    const waiting = live.synced({ timeoutMs: 60_000 });
    client.start().catch(() => {});
    client.destroy();
    await assert.rejects(waiting, (e) => e instanceof ConnectError && e.reason === "closed");
    live.close();
    assert.equal(clock.pending, 0);
  });
});

// ---- the list position, on a scripted transport ----

describe("the list position", () => {
  test("a list merges where it completed: an event after it in the same read wins, one before it does not", async () => {
    const server = new ScriptedServer({
      afterLogin: msg([["Event", "Newchannel"], ...chan("b", 0)]), // read before the list
      reply: (action, id) =>
        action !== "CoreShowChannels"
          ? undefined
          : msg([["Event", "Newchannel"], ...chan("d", 4)]) + // before the list, same read, not listed: gone
            msg([["Response", "Success"], ["ActionID", id], ["EventList", "start"]]) +
            msg([["Event", "CoreShowChannel"], ["ActionID", id], ...chan("a", 4)]) +
            msg([["Event", "CoreShowChannel"], ["ActionID", id], ...chan("b", 4)]) +
            msg([
              ["Event", "CoreShowChannelsComplete"],
              ["ActionID", id],
              ["EventList", "Complete"],
              [
                "ListItems",
                "2",
              ],
            ]) +
            msg([["Event", "Newstate"], ...chan("a", 6)]) + // after the list: wins over its Ring
            msg([["Event", "Newchannel"], ...chan("c", 4)]), // after the list, not listed: stays
    });
    const clock = new ManualClock();
    const client = new Client(
      { host: "x", username: "u", secret: "s", clock, keepaliveIdleMs: 0, reconnect: false },
      server.connector,
    );
    const live = createLiveState(client);
    try {
      await client.start();
      await live.synced({ timeoutMs: 1_000 });
      assert.deepEqual(liveIds(live), ["a", "b", "c"]);
      assert.equal(live.channels.get("a")?.state, 6);
      assert.equal(live.channels.get("b")?.state, 4);
      assert.deepEqual(live.stats().unsupported, ["CoreStatus", "BridgeList", "QueueStatus"]);
      assert.equal(live.stats().clampedLists, 0);
    } finally {
      live.close();
      client.destroy();
    }
  });
});
