import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../mod.ts";
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
});
