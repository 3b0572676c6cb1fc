import { after, before, describe, test } from "node:test";
import { createServer } from "node:net";
import assert from "node:assert/strict";
import { AmiSimulator } from "../testing/mod.ts";
import { processCpuMs, RUNTIME, startScript, waitFor } from "./_spawn.ts";

const SECRET = "Listen-S3cret-6d1f";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Line {
  node: string;
  event: string;
  headers: [string, string][];
}

function lines(stdout: string): Line[] {
  return stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

describe(`amikit listen (${RUNTIME})`, () => {
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

  function listen(args: string[], env: Record<string, string> = { AMI_SECRET: SECRET }) {
    return startScript("cli/main", [
      "listen",
      "--host",
      "127.0.0.1",
      "--port",
      String(sim.port),
      "-u",
      "admin",
      "--name",
      "pbx1",
      ...args,
    ], { env, timeoutMs: 30_000 });
  }

  test("events as JSON lines with filters; metrics over HTTP; idle uses no CPU; SIGINT logs off, exit 0; no secret anywhere", async () => {
    const run = listen([
      "-e",
      "Test*,Hangup",
      "-H",
      "Channel~^PJSIP/",
      "--metrics",
      "127.0.0.1:0",
      "--log-level",
      "debug",
    ]);
    await waitFor(() => /node pbx1: ready/.test(run.stderr()), 15_000, "listen to log in");
    const port = Number(/metrics at http:\/\/[^:]+:(\d+)\/metrics/.exec(run.stderr())?.[1]);
    assert.ok(port > 0, run.stderr());

    // Idle: no events, no actions (keepalive is 20 s away). CPU time over 3 s.
    const pid = run.child.pid!;
    const cpu0 = processCpuMs(pid);
    await sleep(3_000);
    const cpu1 = processCpuMs(pid);
    if (cpu0 !== undefined && cpu1 !== undefined) {
      console.log(`idle amikit listen (${RUNTIME}): ${cpu1 - cpu0} ms CPU in 3 s`);
      assert.ok(cpu1 - cpu0 <= 60, `idle listener used ${cpu1 - cpu0} ms CPU in 3 s`);
    }

    sim.emit([["Event", "TestEvent"], ["Channel", "PJSIP/100-00000001"], ["Variable", "a=1"], [
      "Variable",
      "b=2",
    ]]);
    sim.emit([["Event", "TestEvent"], ["Channel", "Local/100@default-00000001;1"]]); // header filter
    sim.emit([["Event", "Newchannel"], ["Channel", "PJSIP/100-00000002"]]); // name filter
    sim.emit([["Event", "Hangup"], ["Channel", "PJSIP/100-00000003"], ["Cause", "16"]]);
    await waitFor(() => lines(run.stdout()).length >= 2, 5_000, "two event lines");
    await sleep(100);
    const got = lines(run.stdout());
    assert.equal(got.length, 2, run.stdout());
    assert.deepEqual(got[0], {
      node: "pbx1",
      event: "TestEvent",
      headers: [["Event", "TestEvent"], ["Channel", "PJSIP/100-00000001"], ["Variable", "a=1"], [
        "Variable",
        "b=2",
      ]],
    });
    assert.equal(got[1].event, "Hangup");

    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.match(text, /^amikit_connection_state\{node="pbx1",state="ready"\} 1$/m);
    const delivered = Number(
      /^amikit_events_delivered_total\{node="pbx1"\} (\d+)$/m.exec(text)?.[1],
    );
    assert.ok(delivered >= 4, text);
    assert.match(text, /^amikit_output_lines_dropped_total 0$/m);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();

    const actionsBefore = sim.stats.actions;
    process.kill(run.child.pid!, "SIGINT");
    const result = await run.done;
    assert.equal(result.timedOut, false);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(sim.stats.actions - actionsBefore, 1, "one action on SIGINT: the Logoff");
    assert.match(result.stderr, /SIGINT: logging off/);
    assert.match(result.stderr, /stopped: 2 event lines written, 0 dropped/);
    for (const [name, out] of [["stdout", result.stdout], ["stderr", result.stderr]]) {
      assert.ok(!out.includes(SECRET), `the secret appears in ${name}`);
    }
  });

  test("SIGTERM logs off and exits 0", async () => {
    const run = listen([]);
    await waitFor(() => /node pbx1: ready/.test(run.stderr()), 15_000, "listen to log in");
    const actionsBefore = sim.stats.actions;
    process.kill(run.child.pid!, "SIGTERM");
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(sim.stats.actions - actionsBefore, 1, "the Logoff");
    assert.ok(!result.stderr.includes(SECRET) && !result.stdout.includes(SECRET));
  });

  test("a refused login exits 1 with a clear message, without the secret", async () => {
    const wrong = "Wrong-S3cret-0x7";
    const run = listen(["--log-level", "debug"], { AMI_SECRET: wrong });
    const result = await run.done;
    assert.equal(result.timedOut, false);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /login refused for admin on node pbx1 \(127\.0\.0\.1:\d+\)/);
    assert.match(result.stderr, /Authentication failed/);
    assert.ok(!result.stderr.includes(wrong) && !result.stdout.includes(wrong));
  });

  test("--secret works, warns, and the secret still appears nowhere", async () => {
    const run = listen(["--secret", SECRET, "--log-level", "debug"], {});
    await waitFor(() => /node pbx1: ready/.test(run.stderr()), 15_000, "listen to log in");
    process.kill(run.child.pid!, "SIGINT");
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /--secret exposes the secret/);
    assert.ok(!result.stderr.includes(SECRET) && !result.stdout.includes(SECRET));
  });

  test("a stdout nobody reads: lines dropped and counted, the socket never stalls", async () => {
    const run = listen([]);
    run.child.stdout!.pause();
    await waitFor(() => /node pbx1: ready/.test(run.stderr()), 15_000, "listen to log in");
    const timeoutsBefore = sim.stats.writeTimeouts;
    // 60,000 events in 2 s (~35 MB of JSON): far beyond the pipe and the 4 MiB output bound.
    // (At full flood speed the simulator's 100 ms writetimeout can cut a busy client
    // on a loaded machine whatever its output does, so the rate is fixed.)
    await sim.flood({ count: 60_000, ratePerSec: 30_000 });
    await sleep(200);
    assert.equal(
      sim.stats.writeTimeouts,
      timeoutsBefore,
      "the client kept reading (no writetimeout)",
    );
    process.kill(run.child.pid!, "SIGTERM");
    await waitFor(() => /stopped:/.test(run.stderr()), 15_000, "shutdown");
    run.child.stdout!.resume();
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    const m = /stopped: (\d+) event lines written, (\d+) dropped/.exec(result.stderr);
    assert.ok(m, result.stderr);
    const [written, dropped] = [Number(m[1]), Number(m[2])];
    assert.ok(dropped > 0, "lines were dropped");
    assert.ok(written + dropped >= 60_000, `${written} + ${dropped} account for every event`);
    assert.match(result.stderr, /stdout slow: \d+ event lines dropped since the last report/);
    const reports = result.stderr.split("\n").filter((l) => l.includes("stdout slow")).length;
    assert.ok(reports <= 3, `${reports} drop reports: at most one per interval`);
  });

  test(
    "nothing listening at first: retries with backoff, says so, then logs in and prints events",
    {
      timeout: 60_000,
    },
    async () => {
      const server = createServer();
      const port = await new Promise<number>((resolve) =>
        server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port))
      );
      await new Promise<void>((r) => server.close(() => r()));
      const run = startScript("cli/main", [
        "listen",
        "--port",
        String(port),
        "-u",
        "admin",
      ], { env: { AMI_SECRET: SECRET }, timeoutMs: 45_000 });
      let late: AmiSimulator | undefined;
      try {
        await waitFor(
          () =>
            /cannot connect to node 127\.0\.0\.1 \(127\.0\.0\.1:\d+\) \(refused\): .*; retrying in/
              .test(run.stderr()),
          15_000,
          "a retry notice",
        );
        assert.equal(run.child.exitCode, null, "still running after a refused connect");
        late = await AmiSimulator.start({
          port,
          users: [{ username: "admin", secret: SECRET, read: "all", write: "all" }],
        });
        await waitFor(() => /node 127\.0\.0\.1: ready/.test(run.stderr()), 30_000, "login");
        late.emit([["Event", "LateEvent"], ["Channel", "PJSIP/1-00000001"]]);
        await waitFor(() => lines(run.stdout()).length >= 1, 5_000, "the event line");
        assert.equal(lines(run.stdout())[0].node, "127.0.0.1");
        process.kill(run.child.pid!, "SIGTERM");
        const result = await run.done;
        assert.equal(result.code, 0, result.stderr);
        assert.ok(!result.stderr.includes(SECRET));
      } finally {
        run.child.kill("SIGKILL");
        await late?.stop();
      }
    },
  );

  test("stdout closed by the reader (| head -1): exits 0 quietly, no drop report", async () => {
    const run = listen([]);
    await waitFor(() => /node pbx1: ready/.test(run.stderr()), 15_000, "listen to log in");
    sim.emit([["Event", "First"]]);
    await waitFor(() => lines(run.stdout()).length >= 1, 5_000, "the first line");
    run.child.stdout!.destroy(); // what `head -1` does after its line
    for (let i = 0; i < 50 && run.child.exitCode === null; i++) {
      sim.emit([["Event", "More"], ["N", String(i)]]);
      await sleep(50);
    }
    const result = await run.done;
    assert.equal(result.timedOut, false);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /stdout slow|dropped|ERR|WRN/, result.stderr);
  });
});
