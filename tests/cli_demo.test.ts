import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { connect } from "../mod.ts";
import { runScript, RUNTIME, startScript, waitFor } from "./_spawn.ts";

describe(`amikit demo and simulate (${RUNTIME})`, () => {
  test(
    "demo: runs by itself, shows calls and round trips, summary with metrics, exit 0 within 30 s",
    { timeout: 60_000 },
    async () => {
      const t0 = performance.now();
      const r = await runScript("cli/main", ["demo"], { timeoutMs: 30_000 });
      const seconds = (performance.now() - t0) / 1000;
      console.log(`amikit demo (${RUNTIME}): exit ${r.code} in ${seconds.toFixed(1)} s`);
      assert.equal(r.timedOut, false, "the demo ended by itself within 30 s");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /simulator listening on 127\.0\.0\.1:\d+/);
      assert.match(r.stdout, /→ Ping → Pong in/);
      assert.match(r.stdout, /call 1 answered/);
      assert.match(r.stdout, /call 2 busy/);
      assert.match(r.stdout, /call 4 no answer/);
      assert.match(r.stdout, /CoreShowChannels → event list of \d+ channels/);
      assert.match(r.stdout, /Summary \(/);
      assert.match(r.stdout, /6 originated: 4 answered, 1 busy, 1 no answer \(as planned\)/);
      assert.match(r.stdout, /amikit_events_delivered_total\{node="demo"\} \d+/);
      assert.match(r.stdout, /0 events dropped, 0 orphan responses, 0 reconnects/);
      // The summary and the metrics excerpt are one snapshot: the same numbers.
      const summaryEvents = Number(
        /events\s+([\d,]+) received/.exec(r.stdout)?.[1].replace(/,/g, ""),
      );
      const metricEvents = Number(
        /amikit_events_delivered_total\{node="demo"\} (\d+)/.exec(r.stdout)?.[1],
      );
      assert.ok(summaryEvents > 0, r.stdout);
      assert.equal(summaryEvents, metricEvents, r.stdout);
      const summaryActions = Number(
        /actions\s+(\d+) completed: (\d+) ok, (\d+) failed/.exec(r.stdout)?.[2],
      );
      const metricCompleted = Number(
        /amikit_actions_completed_total\{node="demo"\} (\d+)/.exec(r.stdout)?.[1],
      );
      assert.equal(summaryActions, metricCompleted, r.stdout);
      assert.ok(!r.stdout.includes("\u001b["), "no colour codes when stdout is not a terminal");
      assert.ok(
        !/demo-[0-9a-f]{8}-/.test(r.stdout + r.stderr),
        "the demo's secret is never printed",
      );
    },
  );

  test("simulate: serves AMI on the port it names, SIGTERM stops it with exit 0", async () => {
    const secret = "Sim-S3cret-42";
    const run = startScript("cli/main", ["simulate", "--port", "0"], {
      env: { AMI_USERNAME: "tester", AMI_SECRET: secret },
      timeoutMs: 20_000,
    });
    await waitFor(
      () => /listening on 127\.0\.0\.1:\d+/.test(run.stderr()),
      15_000,
      "simulate to start",
    );
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(run.stderr())![1]);
    const client = await connect({
      host: "127.0.0.1",
      port,
      username: "tester",
      secret,
      reconnect: false,
    });
    try {
      const res = await client.action("Ping");
      assert.equal(res.kind, "response");
      assert.equal(res.response.get("Ping"), "Pong");
    } finally {
      await client.close();
    }
    process.kill(run.child.pid!, "SIGTERM");
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret));
  });

  test("simulate --tls-cert/--tls-key serves TLS; a client trusting the CA gets in", async () => {
    const dir = new URL("./fixtures/client_tls/", import.meta.url);
    const file = (name: string) => fileURLToPath(new URL(name, dir));
    const secret = "Sim-TLS-S3cret-7";
    const run = startScript("cli/main", [
      "simulate",
      "--port",
      "0",
      "--tls-cert",
      file("cert.pem"),
      "--tls-key",
      file("key.pem"),
    ], { env: { AMI_USERNAME: "tester", AMI_SECRET: secret }, timeoutMs: 20_000 });
    await waitFor(() => /with TLS/.test(run.stderr()), 15_000, "simulate to start");
    const port = Number(/listening on 127\.0\.0\.1:(\d+) with TLS/.exec(run.stderr())![1]);
    const client = await connect({
      host: "127.0.0.1",
      port,
      username: "tester",
      secret,
      reconnect: false,
      tls: { ca: readFileSync(file("ca.pem"), "utf8") },
    });
    try {
      assert.equal((await client.action("Ping")).kind, "response");
    } finally {
      await client.close();
    }
    process.kill(run.child.pid!, "SIGTERM");
    assert.equal((await run.done).code, 0);
    const half = await runScript("cli/main", ["simulate", "--tls-cert", file("cert.pem")], {
      env: { AMI_USERNAME: "tester", AMI_SECRET: secret },
    });
    assert.equal(half.code, 2);
    assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  });

  test("--version prints deno.json's version; bare amikit prints usage to stderr, exit 2", async () => {
    // deno.json in the source tree; the built package.json (made from it) under Node.
    const manifest = [
      new URL("../deno.json", import.meta.url),
      new URL("../../package.json", import.meta.url),
    ]
      .find((u) => existsSync(u))!;
    const { version } = JSON.parse(readFileSync(manifest, "utf8"));
    const v = await runScript("cli/main", ["--version"], {});
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `amikit ${version}\n`);
    const bare = await runScript("cli/main", [], {});
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, "");
    assert.match(bare.stderr, /Usage: amikit <command>/);
    const help = await runScript("cli/main", ["--help"], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--version/);
  });

  test("simulate without users accepts admin/amp111 and says so on stderr and in --help", async () => {
    const run = startScript("cli/main", ["simulate", "--port", "0"], { timeoutMs: 20_000 });
    await waitFor(() => /listening on 127\.0\.0\.1:\d+/.test(run.stderr()), 15_000, "start");
    assert.match(run.stderr(), /default user admin with secret amp111/);
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(run.stderr())![1]);
    const client = await connect({
      host: "127.0.0.1",
      port,
      username: "admin",
      secret: "amp111",
      reconnect: false,
    });
    try {
      assert.equal((await client.action("Ping")).response.get("Ping"), "Pong");
    } finally {
      await client.close();
    }
    process.kill(run.child.pid!, "SIGTERM");
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    const help = await runScript("cli/main", ["simulate", "--help"], {});
    assert.match(help.stdout, /admin.*amp111/);
  });
});
