/**
 * `amikit gateway` as a command: `--check-config` prints the nodes, the
 * subjects and the effective policy without connecting anywhere; a bad
 * policy file is a usage error (exit 2) naming the path; with `--metrics`
 * it serves Prometheus text and health while holding a node.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { AmiSimulator } from "../testing/mod.ts";
import { runScript, startScript } from "./_spawn.ts";
import { freePort, startNatsServer } from "./_nats_server.ts";
import { until } from "./_client.ts";
import { gatewayFiles } from "./_gateway.ts";

describe("amikit gateway (the command)", () => {
  test("--check-config prints nodes, subjects and the policy, and connects nowhere", async () => {
    const dir = gatewayFiles(5038, {
      identities: { "DIAL/*": { nodes: ["pbx1"], actions: ["Originate"], classes: ["originate"] } },
    });
    const r = await runScript("cli/main", [
      "gateway",
      "-c",
      join(dir, "nodes.json"),
      "--policy",
      join(dir, "policy.json"),
      "--check-config",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nodes: pbx1 \(127\.0\.0\.1:5038\)/);
    assert.match(r.stdout, /amikit\.<node>\.action\.<Action>/);
    assert.match(r.stdout, /DIAL\/\* \(glob\)/);
    assert.ok(!r.stdout.includes("amp111") && !r.stderr.includes("amp111"));
  });

  test("a bad policy file is a usage error that names the path", async () => {
    const dir = gatewayFiles(5038, { identities: { x: { nodes: "pbx1" } } });
    const r = await runScript("cli/main", [
      "gateway",
      "-c",
      join(dir, "nodes.json"),
      "--policy",
      join(dir, "policy.json"),
      "--check-config",
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /policy file .*identities/);
  });

  test("--metrics serves the gateway's figures while it holds a node", async () => {
    const nats = await startNatsServer();
    const sim = await AmiSimulator.start({});
    const dir = gatewayFiles(sim.port, {
      identities: { "*": { nodes: ["*"], actions: ["*"], classes: ["all"] } },
    });
    const port = await freePort();
    const g = startScript("cli/main", [
      "gateway",
      "-c",
      join(dir, "nodes.json"),
      "--nats",
      nats.url,
      "--metrics",
      `127.0.0.1:${port}`,
      "--log-level",
      "warning",
    ], { timeoutMs: 30_000 });
    try {
      await until(() => sim.sessions.some((s) => s.username !== undefined), 15_000, "holding pbx1");
      let text = "";
      const end = performance.now() + 10_000;
      while (!text.includes("amikit_gateway_nodes_held 1")) {
        if (performance.now() > end) {
          throw new Error(`no metrics: ${text.slice(0, 300)} ${g.stderr()}`);
        }
        text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => "");
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(text, /amikit_gateway_events_published_total\{node="pbx1"\} \d+/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual((await health.json()).detail, { pbx1: "ready" });
    } finally {
      g.child.kill("SIGTERM");
      await g.done;
      await sim.stop();
      await nats.stop();
    }
  });
});
