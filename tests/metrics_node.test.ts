import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, createCluster } from "../mod.ts";
import { renderMetrics } from "../metrics/mod.ts";
import type { ClientStats } from "../client/mod.ts";
import { nodeMetrics } from "../cli/_metrics.ts";
import { simOptions, until, withSim } from "./_client.ts";

describe("metrics across reconnects", () => {
  test("client totals keep every session's counters; reconnects counted; gauges are current", async () => {
    await withSim(async (sim) => {
      const client = await connect(simOptions(sim));
      try {
        for (let i = 0; i < 3; i++) await client.action("Ping");
        const before = client.stats();
        assert.equal(before.reconnects, 0);
        assert.equal(before.totals.actionsCompleted, before.session?.actionsCompleted);
        assert.ok(before.totals.actionsCompleted >= 3);

        await sim.restart();
        await until(
          () => client.state === "ready" && client.stats().sessions === 2,
          5_000,
          "re-login",
        );
        await client.action("Ping");
        const after: ClientStats = client.stats();
        assert.equal(after.reconnects, 1);
        // The new session's engine counters start again; the totals do not.
        assert.ok((after.session?.actionsCompleted ?? 0) < after.totals.actionsCompleted);
        assert.ok(after.totals.actionsCompleted >= before.totals.actionsCompleted + 1);
        assert.ok(after.totals.bytesIn > before.totals.bytesIn);
        for (const k of ["bytesIn", "bytesOut", "messagesIn", "actionsSent"] as const) {
          assert.ok(after.totals[k] >= before.totals[k], `${k} never goes backwards`);
        }

        const m = nodeMetrics(after);
        assert.equal(m.reconnects, 1);
        assert.equal(m.actionsCompleted, after.totals.actionsCompleted);
        assert.equal(m.bytesIn, after.totals.bytesIn);
        assert.equal(m.actionsPending, after.session?.actionsPending);
        assert.equal(m.state, "ready");
      } finally {
        client.destroy();
      }
      const closed = nodeMetrics(client.stats());
      assert.equal(closed.state, "closed");
      assert.equal(closed.actionsPending, 0, "gauges of a closed client are 0");
      assert.ok(closed.bytesIn > 0, "counters survive the close");
    });
  });

  test("renderMetrics(cluster.stats()): node labels are the node names, values the totals", async () => {
    await withSim(async (sim) => {
      const names = ["pbx.one", "pbx-2", "third"];
      const cluster = createCluster({
        nodes: Object.fromEntries(names.map((n) => [n, simOptions(sim)])),
      });
      try {
        await cluster.ready({ timeoutMs: 5_000 });
        await cluster.action("pbx-2", "Ping");
        const text = renderMetrics(cluster.stats());
        const labels = new Set(
          [...text.matchAll(/^amikit_bytes_received_total\{node="([^"]*)"\}/gm)].map((m) => m[1]),
        );
        assert.deepEqual([...labels], names, text);
        assert.match(text, /^amikit_connection_state\{node="pbx\.one",state="ready"\} 1$/m);
        const stats = cluster.stats().nodes.find((n) => n.node === "pbx-2")!;
        const completed = Number(
          /^amikit_actions_completed_total\{node="pbx-2"\} (\d+)$/m.exec(text)?.[1],
        );
        assert.ok(completed >= 1 && completed <= stats.totals.actionsCompleted, text);
        const bytes = Number(
          /^amikit_bytes_received_total\{node="third"\} (\d+)$/m.exec(text)?.[1],
        );
        assert.ok(bytes > 0, "the totals are read, not zeros");
      } finally {
        cluster.destroy();
      }
    });
  });
});
