import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ClusterNodeOptions, createClusterWith } from "../mod.ts";
import { defaultConnector } from "../adapters/mod.ts";
import type { TransportConnector } from "../client/transport.ts";
import { refusedPort, sleep, until, within, withSim } from "./_client.ts";

describe("cluster over loopback", () => {
  test("invariant 10: 300 nodes, 290 refusing: caps hold, every node gets its turn, live nodes connect", async () => {
    await withSim(async (sim) => {
      const dead = await refusedPort();
      const nodes: Record<string, ClusterNodeOptions> = {};
      for (let i = 0; i < 290; i++) nodes[`dead${i}`] = { port: dead };
      // The live nodes come last: the worst place for a cursor that starts at 0.
      for (let i = 0; i < 10; i++) nodes[`live${i}`] = { port: sim.port };
      const attempts: number[] = [];
      const inner = defaultConnector();
      const counting: TransportConnector = (options, handlers) => {
        attempts.push(performance.now());
        return inner(options, handlers);
      };
      const gate = {
        intervalMs: 100,
        maxPerInterval: 30,
        maxPerNodePerInterval: 1,
        maxConcurrent: 30,
      };
      const t0 = performance.now();
      const cluster = createClusterWith(counting, {
        nodes,
        defaults: {
          host: "127.0.0.1",
          username: "admin",
          secret: "amp111",
          keepaliveIdleMs: 0,
          reconnect: { minDelayMs: 5, maxDelayMs: 20, stableAfterMs: 10_000 },
        },
        gate,
      });
      try {
        // ceil(300 / 30) = 10 rounds of 100 ms: every node has had a turn after ~1 s.
        const rounds = Math.ceil(300 / gate.maxPerInterval);
        await within(
          cluster.ready({ nodes: cluster.nodes.filter((n) => n.startsWith("live")) }),
          (rounds + 5) * gate.intervalMs + 1_000,
          "live nodes ready",
        );
        const readyAfter = performance.now() - t0;
        await sleep(1_000); // keep the dead ones knocking
        const elapsed = performance.now() - t0;
        const health = cluster.health();
        for (const h of health) {
          assert.ok(h.attempts >= 1, `${h.node} never had a turn`);
          // Per node: at most one attempt per 100 ms window.
          assert.ok(
            h.attempts <= Math.ceil(elapsed / gate.intervalMs) + 1,
            `${h.node}: ${h.attempts}`,
          );
          if (h.node.startsWith("live")) assert.equal(h.state, "ready");
          else assert.equal(h.state, "connecting");
        }
        // Globally: the gate grants at most 30 per 100 ms window. A socket is
        // opened a little after its grant (up to `lag` ms here), so any
        // window of 100 - lag ms of socket opens holds at most 30.
        const lag = 30;
        for (let i = 0; i < attempts.length; i++) {
          let n = 0;
          const end = attempts[i] + gate.intervalMs - lag;
          for (let j = i; j < attempts.length && attempts[j] < end; j++) n++;
          assert.ok(n <= gate.maxPerInterval, `${n} attempts in one window`);
        }
        assert.ok(cluster.stats().gate.granted <= attempts.length + 1);
        assert.ok(attempts.length <= (elapsed / gate.intervalMs + 1) * gate.maxPerInterval);
        // The live nodes keep working while the dead ones retry.
        const res = await cluster.action("live9", "Ping");
        assert.equal(res.kind, "response");
        assert.ok(readyAfter < (rounds + 5) * gate.intervalMs + 1_000, `ready after ${readyAfter}`);
      } finally {
        cluster.destroy();
      }
    });
  });

  test("nodes are independent: per-node ActionIDs, merged tagged events, per-node state", async () => {
    await withSim(async (simA) => {
      await withSim(async (simB) => {
        const cluster = createClusterWith(defaultConnector(), {
          nodes: { a: { port: simA.port }, b: { port: simB.port } },
          defaults: {
            host: "127.0.0.1",
            username: "admin",
            secret: "amp111",
            keepaliveIdleMs: 0,
            reconnect: { minDelayMs: 10, maxDelayMs: 50 },
          },
        });
        try {
          await within(cluster.ready(), 3_000, "both ready");
          const tagged: string[] = [];
          cluster.on("UserEvent", (e, node) => {
            tagged.push(`${node}:${e.get("UserEvent")}`);
          });
          const stream = cluster.events({ filter: "UserEvent" });
          simA.emit([["Event", "UserEvent"], ["UserEvent", "fromA"]]);
          simB.emit([["Event", "UserEvent"], ["UserEvent", "fromB"]]);
          await until(() => tagged.length === 2, 2_000, "two events");
          assert.deepEqual(tagged.sort(), ["a:fromA", "b:fromB"]);
          const first = await stream.next();
          assert.ok(first.value && ["a", "b"].includes(first.value.node));
          const ra = await cluster.action("a", "Ping");
          const rb = await cluster.action("b", "Ping");
          const idA = ra.response.actionId ?? "";
          const idB = rb.response.actionId ?? "";
          assert.equal(idA.split(".")[1], "a");
          assert.equal(idB.split(".")[1], "b");
          // One node down does not touch the other.
          simA.refuseConnections(500);
          simA.dropAll();
          await until(() => cluster.state("a") === "reconnecting", 1_000, "a reconnecting");
          assert.equal(cluster.state("b"), "ready");
          assert.equal((await cluster.action("b", "Ping")).kind, "response");
          await within(cluster.ready({ nodes: ["a"] }), 3_000, "a back");
          await assert.rejects(cluster.action("nope", "Ping"), /unknown node/);
        } finally {
          await cluster.close();
        }
        assert.equal(cluster.state("a"), "closed");
      });
    });
  });
});
