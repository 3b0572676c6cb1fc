import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from "../core/prometheus.ts";
import { startMetricsServer } from "../cli/metrics_server.ts";

describe("metrics server", () => {
  test("serves /metrics as Prometheus text and /healthz as JSON, over node:http", async () => {
    let calls = 0;
    let ok = true;
    const server = await startMetricsServer({ host: "127.0.0.1", port: 0 }, {
      metrics: () => {
        calls++;
        return renderMetrics({
          nodes: {
            pbx1: {
              state: "ready",
              bytesIn: 10,
              bytesOut: 5,
              messagesIn: 2,
              messagesOut: 1,
              eventsDelivered: 1,
              eventsDropped: 0,
              eventQueueDepth: 0,
              actionsSent: 1,
              actionsCompleted: 1,
              actionsFailed: 0,
              actionsTimedOut: 0,
              actionsPending: 0,
              orphans: 0,
              writeBufferBytes: 0,
            },
          },
        });
      },
      health: () => ({ ok, detail: { pbx1: ok ? "ready" : "closed" } }),
    });
    try {
      assert.ok(server.port > 0);
      const base = `http://127.0.0.1:${server.port}`;
      const m = await fetch(`${base}/metrics`);
      assert.equal(m.status, 200);
      assert.equal(m.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
      const text = await m.text();
      assert.match(text, /^amikit_bytes_received_total\{node="pbx1"\} 10$/m);
      assert.equal(calls, 1, "rendered per request");
      const h = await fetch(`${base}/healthz`);
      assert.equal(h.status, 200);
      assert.deepEqual(await h.json(), { ok: true, detail: { pbx1: "ready" } });
      ok = false;
      const h2 = await fetch(`${base}/healthz`);
      assert.equal(h2.status, 503);
      await h2.body?.cancel();
      const nf = await fetch(`${base}/nope`);
      assert.equal(nf.status, 404);
      await nf.body?.cancel();
      const post = await fetch(`${base}/metrics`, { method: "POST" });
      assert.equal(post.status, 405);
      await post.body?.cancel();
    } finally {
      await server.close();
    }
  });

  test("a busy port is an error, not a hang", async () => {
    const a = await startMetricsServer({ host: "127.0.0.1", port: 0 }, { metrics: () => "" });
    try {
      await assert.rejects(
        startMetricsServer({ host: "127.0.0.1", port: a.port }, { metrics: () => "" }),
        /EADDRINUSE|in use/i,
      );
    } finally {
      await a.close();
    }
  });
});
