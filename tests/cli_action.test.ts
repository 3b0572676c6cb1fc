import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";
import { AmiSimulator } from "../testing/mod.ts";
import { runScript, RUNTIME, startScript, waitFor } from "./_spawn.ts";

const SECRET = "Act10n-S3cret-91ab";

describe(`amikit action (${RUNTIME})`, () => {
  let sim: AmiSimulator;
  before(async () => {
    sim = await AmiSimulator.start({
      port: 0,
      users: [{ username: "admin", secret: SECRET, read: "all", write: "all" }],
      loginFailureDelayMs: 50,
    });
  });
  after(async () => {
    await sim.stop();
  });

  const action = (args: string[], env: Record<string, string> = { AMI_SECRET: SECRET }) =>
    runScript("cli/main", [
      "action",
      ...args,
      "--port",
      String(sim.port),
    ], {
      env: { AMI_HOST: "127.0.0.1", AMI_USERNAME: "admin", ...env },
      timeoutMs: 20_000,
    });

  function noSecret(r: { stdout: string; stderr: string }, secret = SECRET): void {
    assert.ok(!r.stdout.includes(secret), "secret in stdout");
    assert.ok(!r.stderr.includes(secret), "secret in stderr");
  }

  test("Ping prints JSON and exits 0", async () => {
    const r = await action(["Ping"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, true);
    assert.equal(out.kind, "response");
    assert.equal(out.action, "Ping");
    assert.equal(out.node, "127.0.0.1", "the node's name as given (the host), not rewritten");
    assert.deepEqual(out.response[0], ["Response", "Success"]);
    assert.ok(out.response.some(([k, v]: [string, string]) => k === "Ping" && v === "Pong"));
    noSecret(r);
  });

  test("--headers object prints the response as an object", async () => {
    const r = await action(["Ping", "--headers", "object"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.response.Response, "Success");
    assert.equal(out.response.Ping, "Pong");
  });

  test("an async Originate waits for its OriginateResponse (call events on) and prints it", async () => {
    const r = await action([
      "Originate",
      "Channel=Local/100@lab",
      "Application=Wait",
      "Data=1",
      "Async=true",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.kind, "originate");
    assert.ok(
      out.event.some(([k, v]: [string, string]) => k === "Response" && v === "Success"),
      r.stdout,
    );
  });

  test("Command output and an event list", async () => {
    const cmd = await action(["Command", "Command=core show version"]);
    // An empty secret file is no secret: falls back to AMI_SECRET.
    assert.equal(cmd.code, 0, cmd.stderr);
    const c = JSON.parse(cmd.stdout);
    assert.equal(c.kind, "command");
    assert.match(c.output.join("\n"), /Asterisk/);
    const list = await action(["CoreShowChannels"]);
    assert.equal(list.code, 0, list.stderr);
    const l = JSON.parse(list.stdout);
    assert.equal(l.kind, "eventList");
    assert.ok(Array.isArray(l.events));
    assert.equal(l.complete[0][1], "CoreShowChannelsComplete");
  });

  test("a failing action prints ok:false and exits 1", async () => {
    const r = await action(["NoSuchAction"]);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, false);
    assert.equal(out.error.code, "ERR_ACTION");
    assert.match(r.stderr, /NoSuchAction failed/);
    noSecret(r);
  });

  test("a refused login exits 1 with a clear message and no secret", async () => {
    const wrong = "wr0ng-Secret-xyz";
    const r = await action(["Ping", "--log-level", "debug"], { AMI_SECRET: wrong });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /login refused for admin on 127\.0\.0\.1:\d+: Authentication failed/,
    );
    assert.equal(r.stdout, "");
    noSecret(r, wrong);
  });

  test("nothing listening: exits 1, says it cannot connect", async () => {
    const server: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port))
    );
    await new Promise<void>((r) => server.close(() => r()));
    const r = await runScript("cli/main", ["action", "Ping", "--port", String(port)], {
      env: { AMI_USERNAME: "admin", AMI_SECRET: SECRET },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot connect to 127\.0\.0\.1:\d+ \(refused\): /);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /caused by|ConnectError/, "the cause chain once, no class names");
    noSecret(r);
  });

  test("--tls with --tls-ca reaches a TLS server; without the CA it fails with a TLS message", async () => {
    const dir = new URL("./fixtures/client_tls/", import.meta.url);
    const read = (name: string) => readFileSync(new URL(name, dir), "utf8");
    const tlsSim = await AmiSimulator.start({
      port: 0,
      users: [{ username: "admin", secret: SECRET, read: "all", write: "all" }],
      tls: { cert: read("cert.pem"), key: read("key.pem") },
    });
    try {
      const run = (args: string[]) =>
        runScript("cli/main", ["action", "Ping", "--port", String(tlsSim.port), ...args], {
          env: { AMI_HOST: "127.0.0.1", AMI_USERNAME: "admin", AMI_SECRET: SECRET },
          timeoutMs: 20_000,
        });
      const ok = await run(["--tls-ca", fileURLToPath(new URL("ca.pem", dir))]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(JSON.parse(ok.stdout).kind, "response");
      noSecret(ok);
      const untrusted = await run(["--tls"]);
      assert.equal(untrusted.code, 1);
      assert.match(untrusted.stderr, /tls/i);
      noSecret(untrusted);
    } finally {
      await tlsSim.stop();
    }
  });

  test("a bad key or action name exits 2 before connecting, with the reason", async () => {
    const before = sim.stats.actions;
    for (
      const [args, pattern] of [
        [["Ping", "Bad Key: x=1"], /field key "Bad Key: x" contains ":"/],
        [["Ping:"], /action name "Ping:" contains ":"/],
      ] as const
    ) {
      const r = await action([...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.match(r.stderr, /amikit action --help/);
      assert.equal(r.stdout, "");
    }
    assert.equal(sim.stats.actions, before, "nothing reached the server (no Login)");
  });

  test("usage errors exit 2 and point at --help; help has examples", async () => {
    const r = await runScript("cli/main", ["action"], {});
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the action's name is missing/);
    assert.match(r.stderr, /amikit action --help/);
    const noUser = await runScript("cli/main", ["action", "Ping"], { env: { AMI_SECRET: SECRET } });
    assert.equal(noUser.code, 2);
    assert.match(noUser.stderr, /no username/);
    noSecret(noUser);
    const empty = await runScript("cli/main", ["action", "Ping", "--secret-file", "/dev/null"], {
      env: { AMI_USERNAME: "admin" },
    });
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /the secret file \/dev\/null is empty/);
    const help = await runScript("cli/main", ["action", "--help"], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: amikit action/);
    assert.match(help.stdout, /Examples:/);
  });

  test("the help's local examples (Originate included) work against amikit simulate", {
    timeout: 90_000,
  }, async () => {
    const help = (await runScript("cli/main", ["action", "--help"], {})).stdout;
    const examples = help.slice(help.indexOf("Examples")).split("\n").map((l) => l.trim());
    // `export A=b C=d` lines set the environment of the commands after them.
    const env: Record<string, string> = {};
    for (const l of examples.filter((l) => l.startsWith("export "))) {
      for (const [k, v] of words(l.slice(7)).map((w) => w.split("="))) env[k] = v;
    }
    const local = examples.filter((l) =>
      l.startsWith("amikit action ") && !/--host|-c |--config/.test(l)
    );
    assert.ok(local.some((l) => l.includes("Originate")), help);
    const simulator = startScript("cli/main", ["simulate", "--port", "0"], { timeoutMs: 80_000 });
    try {
      await waitFor(
        () => /listening on 127\.0\.0\.1:\d+/.test(simulator.stderr()),
        15_000,
        "start",
      );
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(simulator.stderr())![1];
      for (const line of local) {
        const r = await runScript("cli/main", [...words(line).slice(1), "--port", port], {
          env,
          timeoutMs: 20_000,
        });
        assert.equal(r.code, 0, `${line}\n${r.stdout}\n${r.stderr}`);
        const out = JSON.parse(r.stdout);
        assert.equal(out.ok, true, line);
        if (line.includes("Originate")) assert.equal(out.kind, "originate", r.stdout);
      }
    } finally {
      simulator.child.kill("SIGTERM");
      await simulator.done;
    }
  });
});

/** Splits a shell line into words (double quotes group, and are removed). */
function words(line: string): string[] {
  return (line.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []).map((w) => w.replace(/"/g, ""));
}
