/**
 * The dialer example as a process (`examples/dialer/main` on the runtime
 * under test) against a simulator in this process on a manual clock: killed
 * with SIGKILL mid-campaign and started again on the same journal, no lead
 * is dialled twice (every Originate counted on the simulator's side), every
 * Originate the simulator saw was journalled first, and the leads whose
 * calls were open at the kill are reported `unknown` and never redialled;
 * then `--help`, a bad leads file (exit 2) and SIGTERM (a graceful stop).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { defaultConnector } from "../adapters/mod.ts";
import { Client } from "../client/mod.ts";
import { AmiSimulator, ManualClock } from "../testing/mod.ts";
import { parseJournal, resumeFrom } from "../examples/dialer/journal.ts";
import { expectedOutcome, simWorld } from "../examples/dialer/simulate.ts";
import { runScript, startScript, waitFor } from "./_spawn.ts";
import { simOptions } from "./_client.ts";
import { leadNumbers, OriginateCounter } from "./_dialer.ts";

const SCRIPT = "examples/dialer/main";

/** Advances the shared clock while the child works (real pauses: the child runs in real time). */
async function drive(clock: ManualClock, until: () => boolean, maxSteps: number): Promise<void> {
  for (let i = 0; i < maxSteps && !until(); i++) {
    clock.advance(250);
    await new Promise((r) => setTimeout(r, 15));
  }
  assert.ok(until(), "condition not reached");
}

describe("dialer process", () => {
  test("SIGKILL mid-campaign, then a restart: no lead dialled twice, the open calls unknown", async () => {
    const dir = mkdtempSync(join(tmpdir(), "amikit-dialer-test-"));
    const numbers = leadNumbers(30, "11231");
    const clock = new ManualClock();
    const sim = await AmiSimulator.start({
      clock,
      ...simWorld(numbers, { agents: 2, talkSeconds: 3 }),
      loginFailureDelayMs: 20,
    });
    const watcherClient = new Client(simOptions(sim, { clock }), defaultConnector());
    try {
      await watcherClient.start();
      const watcher = new OriginateCounter(watcherClient, "k");
      const leadsCsv = "id,number\n" +
        numbers.map((n, i) => `L${String(i).padStart(3, "0")},${n}`).join("\n");
      writeFileSync(join(dir, "leads.csv"), leadsCsv + "\n");
      const args = [
        "--leads",
        join(dir, "leads.csv"),
        "--port",
        String(sim.port),
        "--secret",
        "amp111",
        "--name",
        "k",
        "--queue",
        "sales",
        "--max-concurrent",
        "6",
        "--ratio",
        "2",
        "--max-attempts",
        "1",
        "--ring-timeout-ms",
        "5000",
      ];
      const journalPath = join(dir, "leads.journal.ndjson");

      // Run 1: dial, let some calls end, kill it while calls are up.
      const first = startScript(SCRIPT, args, { timeoutMs: 60_000 });
      await waitFor(() => watcher.total >= 4, 30_000, "the first Originates");
      await drive(clock, () => watcher.total >= 10, 400);
      first.child.kill("SIGKILL");
      const r1 = await first.done;
      assert.equal(r1.signal, "SIGKILL", r1.stderr);
      const seenAtKill = new Map([...watcher.byLead].map(([k, v]) => [k, [...v]]));
      const journal1 = parseJournal(readFileSync(journalPath, "utf8"));
      const history = resumeFrom(journal1.records);
      // Every Originate the simulator saw was in the journal before it.
      for (const lead of seenAtKill.keys()) {
        assert.ok(history.get(lead) !== undefined, `${lead}: dialled without a journal record`);
      }
      const open = [...history].filter(([, h]) => h.open !== undefined).map(([id]) => id).sort();
      assert.ok(open.length >= 1, "calls were up at the kill");

      // Run 2 on the same journal, to the end.
      const second = startScript(SCRIPT, args, { timeoutMs: 120_000 });
      let exited = false;
      second.done.then(() => (exited = true));
      await drive(clock, () => exited, 4_000);
      const r2 = await second.done;
      assert.equal(r2.code, 0, r2.stderr + r2.stdout);
      for (const id of open) {
        assert.ok(r2.stdout.includes(id), `${id} listed as unknown at the start`);
      }
      assert.match(r2.stdout, /were in progress when the last run ended: unknown, not redialled/);
      assert.match(r2.stdout, /unknown outcome, not redialled: /);

      // Counted on the simulator's side over both runs: no lead twice; every lead once but
      // those open at the kill, which the journal names before their Originate is written,
      // so the kill may have come before the simulator saw it (0 or 1, never redialled).
      let neverSent = 0;
      for (let i = 0; i < numbers.length; i++) {
        const id = `L${String(i).padStart(3, "0")}`;
        const seen = watcher.byLead.get(id) ?? [];
        if (open.includes(id) && seen.length === 0) neverSent++;
        else assert.deepEqual(seen, ["1"], `${id}: Originates seen by the simulator`);
      }
      assert.equal(watcher.total, numbers.length - neverSent);
      const csv = readFileSync(join(dir, "leads.summary.csv"), "utf8").trim().split("\n").slice(1);
      assert.equal(csv.length, numbers.length);
      for (const line of csv) {
        const [id, number, outcome, , attempts, , , detail] = line.split(",");
        assert.equal(attempts, "1", id);
        if (open.includes(id)) {
          assert.equal(outcome, "unknown", id);
          assert.equal(detail, "restart", id);
        } else assert.equal(outcome, expectedOutcome(number), id);
      }
    } finally {
      watcherClient.destroy();
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("SIGTERM: no new calls, the calls in flight end, the summary is written, exit 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "amikit-dialer-test-"));
    const numbers = leadNumbers(30, "1");
    const clock = new ManualClock();
    const sim = await AmiSimulator.start({
      clock,
      ...simWorld(numbers, { agents: 2, talkSeconds: 3 }),
      loginFailureDelayMs: 20,
    });
    const watcherClient = new Client(simOptions(sim, { clock }), defaultConnector());
    try {
      await watcherClient.start();
      const watcher = new OriginateCounter(watcherClient, "g");
      const csv = "id,number\n" + numbers.map((n, i) => `G${i},${n}`).join("\n") + "\n";
      writeFileSync(join(dir, "leads.csv"), csv);
      const run = startScript(SCRIPT, [
        "--leads",
        join(dir, "leads.csv"),
        "--port",
        String(sim.port),
        "--secret",
        "amp111",
        "--name",
        "g",
        "--queue",
        "sales",
        "--max-concurrent",
        "4",
      ], { timeoutMs: 60_000 });
      let exited = false;
      run.done.then(() => (exited = true));
      await waitFor(() => watcher.total >= 2, 30_000, "the first Originates");
      // process.kill: Deno's child.kill() makes the exit report the signal even after a clean exit.
      process.kill(run.child.pid!, "SIGTERM");
      await waitFor(
        () => run.stdout().includes("SIGTERM: no new calls"),
        10_000,
        "the stop notice",
      );
      const atStop = watcher.total;
      await drive(clock, () => exited, 2_000);
      const r = await run.done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(watcher.total, atStop, "no call after the stop");
      assert.ok(atStop < numbers.length);
      const { records } = parseJournal(readFileSync(join(dir, "leads.journal.ndjson"), "utf8"));
      for (const [id, h] of resumeFrom(records)) {
        assert.equal(h.open, undefined, `${id} still open`);
      }
      const rows = readFileSync(join(dir, "leads.summary.csv"), "utf8").trim().split("\n").slice(1);
      assert.equal(rows.filter((l) => l.split(",")[2] === "answered").length, atStop);
      assert.equal(
        rows.filter((l) => l.split(",")[2] === "notDialled").length,
        numbers.length - atStop,
      );
    } finally {
      watcherClient.destroy();
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--help, and a bad leads file exits 2 with the line", async () => {
    const help = await runScript(SCRIPT, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--leads FILE/);
    const dir = mkdtempSync(join(tmpdir(), "amikit-dialer-test-"));
    try {
      writeFileSync(join(dir, "bad.csv"), "id,number\na,12x\n");
      const bad = await runScript(SCRIPT, [
        "--leads",
        join(dir, "bad.csv"),
        "--queue",
        "q",
        "--secret",
        "s",
        "--port",
        "1",
      ]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /leads line 2: number "12x"/);
      const usage = await runScript(SCRIPT, ["--nope"]);
      assert.equal(usage.code, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
