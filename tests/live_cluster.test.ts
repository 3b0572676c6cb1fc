/**
 * `createLiveState(cluster)`: one call gives every node's live state; records
 * carry their node, `node(name)` is one node's view, `synced()` waits for
 * every ready node, per-node status. Two simulators over loopback on a manual
 * clock.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defaultConnector } from "../adapters/mod.ts";
import { type Cluster, createClusterWith } from "../client/mod.ts";
import { ConnectError, LocalProtocolError, NotReadyError } from "../core/mod.ts";
import { createLiveState, type LiveClusterState } from "../live/mod.ts";
import { AmiSimulator, answerAndWait, ManualClock } from "../testing/mod.ts";
import { until, within } from "./_client.ts";

const DIALPLAN = { t: { long: answerAndWait(600) } };

/** Two simulators, a cluster over both and its live state; everything closed after. */
async function withPair(
  fn: (lab: {
    a: AmiSimulator;
    b: AmiSimulator;
    clock: ManualClock;
    cluster: Cluster;
    live: LiveClusterState;
  }) => Promise<void>,
): Promise<void> {
  const clock = new ManualClock();
  const a = await AmiSimulator.start({ clock, dialplan: DIALPLAN });
  const b = await AmiSimulator.start({ clock, dialplan: DIALPLAN });
  const cluster = createClusterWith(defaultConnector(), {
    clock,
    defaults: {
      username: "admin",
      secret: "amp111",
      keepaliveIdleMs: 0,
      reconnect: { minDelayMs: 20, maxDelayMs: 20, stableAfterMs: 1_000 },
    },
    nodes: {
      a: { host: "127.0.0.1", port: a.port },
      b: { host: "127.0.0.1", port: b.port },
    },
  });
  const live = createLiveState(cluster);
  try {
    await fn({ a, b, clock, cluster, live });
  } finally {
    live.close();
    await cluster.close();
    await a.stop();
    await b.stop();
  }
}

/** Starts `n` Local calls (two channels each) on one node and waits for their responses. */
async function originate(cluster: Cluster, node: string, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, () =>
      cluster.node(node).action("Originate", {
        Channel: "Local/long@t",
        Application: "Wait",
        Data: "600",
        Async: "true",
      })),
  );
}

function ids(sim: AmiSimulator): string[] {
  return sim.channels.map((c) => c.uniqueid).sort();
}

describe("createLiveState(cluster)", () => {
  test("one call: every node's records, tagged with their node, under <node>/<id>; node(name) is that node's view", async () => {
    await withPair(async ({ a, b, cluster, live }) => {
      await within(cluster.ready({ timeoutMs: 10_000 }), 5_000, "both ready");
      await originate(cluster, "a", 2);
      await originate(cluster, "b", 1);
      await within(live.synced({ timeoutMs: 10_000 }), 5_000, "synced");
      live.resync(); // the calls started after the first sync are there by events, and by the lists
      await within(live.synced({ timeoutMs: 10_000 }), 5_000, "synced again");
      await until(() => live.channels.size === 6, 5_000, "six channels");

      assert.deepEqual(live.nodes, ["a", "b"]);
      assert.equal(live.status, "live");
      assert.deepEqual(live.nodeStatus().map((s) => [s.node, s.status]), [["a", "live"], [
        "b",
        "live",
      ]]);
      assert.deepEqual([...live.node("a").channels.keys()].sort(), ids(a));
      assert.deepEqual([...live.node("b").channels.keys()].sort(), ids(b));
      // Both simulators count Uniqueids alike: the same id on two servers is two records.
      const shared = ids(b)[0];
      assert.ok(ids(a).includes(shared));
      assert.equal(live.channels.get(`a/${shared}`)?.node, "a");
      assert.equal(live.channels.get(`b/${shared}`)?.node, "b");
      assert.equal(live.channels.get(shared), undefined);
      assert.equal(live.channels.has(`c/${shared}`), false);
      const keys = [...live.channels.keys()];
      assert.equal(keys.length, 6);
      for (const [key, ch] of live.channels) assert.equal(key, `${ch.node}/${ch.uniqueid}`);
      assert.equal(live.calls.size, 3);
      for (const [key, call] of live.calls) assert.equal(key, `${call.node}/${call.linkedid}`);
      assert.equal(live.byName(b.channels[0].name)?.node !== undefined, true);
      assert.equal(live.stats().a.syncs, 2);
      assert.throws(() => live.node("c"), LocalProtocolError);
    });
  });

  test("listeners get every node's changes; a node that goes down is stale alone; synced() waits for ready nodes only", async () => {
    await withPair(async ({ b, cluster, live }) => {
      const added: string[] = [];
      const off = live.on("channel", (c) => {
        if (c.type === "added") added.push(c.record.node);
      });
      await within(live.synced({ timeoutMs: 10_000 }), 5_000, "synced");
      await originate(cluster, "a", 1);
      await originate(cluster, "b", 1);
      await until(() => added.length === 4, 5_000, "four channels added");
      assert.deepEqual(added.sort(), ["a", "a", "b", "b"]);
      off();

      await cluster.node("b").close(); // only a is ready now
      await until(() => live.node("b").status === "stale", 5_000, "b stale");
      assert.equal(live.status, "live");
      assert.deepEqual(live.nodeStatus().map((s) => s.status), ["live", "stale"]);
      await within(live.synced({ timeoutMs: 1_000 }), 5_000, "synced on a alone");
      assert.equal(b.channels.length, 2); // b's calls are kept in its stale view
      assert.equal(live.node("b").channels.size, 2);

      await cluster.node("a").close(); // every client closed: synced() cannot succeed
      assert.equal(live.status, "stale");
      await assert.rejects(live.synced({ timeoutMs: 1_000 }), ConnectError);
    });
  });

  test("close() removes every listener from every node and rejects waiters; closed clients reject synced()", async () => {
    const clock = new ManualClock();
    const cluster = createClusterWith(defaultConnector(), {
      clock,
      defaults: { username: "u", secret: "s", keepaliveIdleMs: 0 },
      nodes: { a: { host: "127.0.0.1", port: 1 }, b: { host: "127.0.0.1", port: 1 } },
    });
    const before = cluster.stats().nodes.map((n) => n.listeners);
    const live = createLiveState(cluster);
    assert.equal(live.status, "stale");
    // No node ready: synced() times out on the cluster's clock, naming every node.
    const timingOut = live.synced({ timeoutMs: 1_000 });
    clock.advance(1_000);
    await assert.rejects(timingOut, (e: unknown) => {
      assert.ok(e instanceof NotReadyError);
      assert.deepEqual(e.nodes, ["a", "b"]);
      return true;
    });
    const waiting = live.synced({ timeoutMs: Infinity });
    live.close();
    await assert.rejects(waiting, ConnectError);
    assert.deepEqual(cluster.stats().nodes.map((n) => n.listeners), before);
    await assert.rejects(live.synced(), ConnectError);

    const again = createLiveState(cluster);
    const pending = again.synced({ timeoutMs: Infinity });
    await cluster.close();
    await assert.rejects(
      pending,
      (e: unknown) => e instanceof ConnectError && e.reason === "closed",
    );
    again.close();
  });
});
