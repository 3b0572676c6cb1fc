/**
 * The dialer example against the simulator over loopback, on a manual
 * clock: a 200-lead campaign ends with every lead's outcome equal to what
 * the dialplan decides, the calls in flight never pass the pacing bound
 * (checked at each Originate and each live-model change), each Originate is
 * counted once on the simulator's side; a graceful stop; the connection
 * dropped mid-campaign (no lead dialled twice, the calls written before the
 * drop `unknown` or true, the campaign goes on); fewer agents than answered
 * calls (the abandon rate measured as the simulator's events tell it, and
 * the ratio comes down).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defaultConnector } from "../adapters/mod.ts";
import { Client } from "../client/mod.ts";
import { createLiveState } from "../live/mod.ts";
import { AmiSimulator, ManualClock } from "../testing/mod.ts";
import { checkCampaign } from "../examples/dialer/campaign.ts";
import { Dialer } from "../examples/dialer/dialer.ts";
import { Journal } from "../examples/dialer/journal.ts";
import { expectedOutcome, simWorld } from "../examples/dialer/simulate.ts";
import type { Summary } from "../examples/dialer/summary.ts";
import {
  leadNumbers,
  makeLeads,
  MemoryJournal,
  OriginateCounter,
  runToEnd,
  withDialerLab,
} from "./_dialer.ts";
import { simOptions, within } from "./_client.ts";

describe("dialer on the simulator", () => {
  test("200 leads: every outcome is the dialplan's, retries as configured, the bound holds", async () => {
    const numbers = leadNumbers(200);
    await withDialerLab(
      { numbers, world: { agents: 4, answerAfterSeconds: 1, talkSeconds: 3, patienceSeconds: 60 } },
      async (lab) => {
        const summary = await runToEnd(lab, 3_600_000);
        assert.deepEqual(lab.checks.violations, [], "the pacing bound held");
        const retried = new Set(["busy", "noAnswer", "congestion"]);
        for (const [i, lead] of lab.leads.entries()) {
          const s = lab.dialer().book.get(lead.id)!;
          const want = expectedOutcome(numbers[i]);
          assert.equal(s.outcome, want, `${lead.id} (${lead.number})`);
          assert.equal(s.status, "done");
          const attempts = retried.has(want) ? 2 : 1;
          assert.equal(s.attempts, attempts, `${lead.id} attempts`);
          // Counted on the simulator's side: each attempt once.
          assert.deepEqual(
            lab.watcher.byLead.get(lead.id),
            Array.from({ length: attempts }, (_, k) => String(k + 1)),
            `${lead.id} originates seen by the simulator`,
          );
        }
        assert.equal(summary.leads, 200);
        assert.equal(summary.outcomes.unknown, 0);
        assert.equal(summary.outcomes.notDialled, 0);
        assert.equal(lab.watcher.total, summary.attempts);
        assert.equal(lab.checks.originates, summary.attempts, "every Originate checked");
        assert.ok(lab.checks.changes > 1000, `${lab.checks.changes} live-model changes checked`);
        assert.ok(lab.checks.maxInFlight > 4, `the bound was used (max ${lab.checks.maxInFlight})`);
        // The journal: one dialing and one outcome per attempt, dialing first.
        const records = lab.journal.records();
        const dialing = records.filter((r) => r.t === "dialing");
        const outcomes = records.filter((r) => r.t === "outcome");
        assert.equal(dialing.length, summary.attempts);
        assert.equal(outcomes.length, summary.attempts);
        for (const o of outcomes) {
          if (o.t !== "outcome") continue;
          const d = records.findIndex((r) =>
            r.t === "dialing" && r.lead === o.lead && r.attempt === o.attempt
          );
          assert.ok(
            d >= 0 && d < records.indexOf(o),
            `${o.lead}/${o.attempt}: dialing before outcome`,
          );
        }
        assert.equal(lab.live.stats().originates, 0, "no handle left open");
      },
    );
  });

  test("a graceful stop: no call after it, the calls in flight end, the rest is not dialled", async () => {
    const numbers = leadNumbers(40, "1");
    await withDialerLab({ numbers, world: { agents: 2, talkSeconds: 5 } }, async (lab) => {
      const d = lab.dialer();
      let summary: unknown;
      d.start().then((s) => (summary = s));
      await lab.run(() => d.started >= 3, 60_000);
      d.stop();
      const started = d.started;
      await lab.run(() => summary !== undefined, 120_000);
      assert.equal(d.started, started, "nothing dialled after the stop");
      assert.equal(lab.watcher.total, started);
      const c = d.book.counts();
      assert.equal(c.dialing, 0);
      assert.equal(c.done, started);
      assert.equal(c.ready, 40 - started);
      for (const s of d.book.states) {
        if (s.status === "done") assert.equal(s.outcome, "answered");
      }
    });
  });

  test("the connection dropped mid-campaign: no lead dialled twice, written calls unknown or true, it goes on", async () => {
    const numbers = leadNumbers(60, "1123");
    await withDialerLab(
      { numbers, world: { agents: 3, talkSeconds: 3 }, config: { maxAttempts: 1 } },
      async (lab) => {
        const d = lab.dialer();
        let summary: unknown;
        d.start().then((s) => (summary = s));
        await lab.run(() => d.started >= 12 && d.open >= 3, 120_000);
        // The calls whose Originate was written and whose outcome is not in yet.
        const openAtDrop = new Set(
          [...d.book.states].filter((s) => s.status === "dialing").map((s) => s.lead.id),
        );
        assert.ok(openAtDrop.size >= 3);
        const dialerSession = lab.sim.sessions.at(-1)!.id; // the watcher connected first
        lab.sim.dropSession(dialerSession);
        const startedAtDrop = d.started;
        await lab.run(() => summary !== undefined, 600_000);
        assert.deepEqual(lab.checks.violations, []);
        assert.ok(d.started > startedAtDrop, "dialling went on after the reconnect");
        assert.ok(lab.client.stats().reconnects >= 1);
        for (const [i, lead] of lab.leads.entries()) {
          const s = d.book.get(lead.id)!;
          assert.equal(s.status, "done", lead.id);
          assert.deepEqual(lab.watcher.byLead.get(lead.id), ["1"], `${lead.id}: dialled once`);
          const want = expectedOutcome(numbers[i]);
          if (openAtDrop.has(lead.id)) {
            assert.ok(s.outcome === "unknown" || s.outcome === want, `${lead.id}: ${s.outcome}`);
          } else assert.equal(s.outcome, want, lead.id);
        }
      },
    );
  });

  test("fewer agents than answered calls: the abandon rate is measured right and the ratio comes down", async () => {
    const numbers = leadNumbers(24, "1");
    await withDialerLab(
      {
        numbers,
        world: {
          agents: 1,
          answerAfterSeconds: 1,
          talkSeconds: 3,
          ringSeconds: 1,
          patienceSeconds: 4,
        },
        config: { ratio: 3, maxRatio: 3, maxConcurrent: 6, maxAttempts: 1, abandonAfterMs: 2_000 },
      },
      async (lab) => {
        const d = lab.dialer({ pacing: { minSample: 5 } });
        await runToEnd(lab, 3_600_000, 200);
        assert.deepEqual(lab.checks.violations, []);
        // The truth from the simulator's events (receipt times on the shared clock):
        // abandoned when no agent took the caller, or took it 2 s or more after it joined.
        let truth = 0;
        let answered = 0;
        for (const lead of lab.leads) {
          const id = `t-${lead.id}-1`;
          const joined = lab.watcher.joined.get(id);
          if (joined === undefined) continue;
          answered++;
          const conn = lab.watcher.connected.get(id);
          const abandoned = conn === undefined || conn - joined >= 2_000;
          if (abandoned) truth++;
          assert.equal(d.book.get(lead.id)!.abandoned, abandoned, `${lead.id} abandoned`);
        }
        assert.equal(answered, 24);
        assert.equal(d.pacing.answered, answered);
        assert.equal(d.pacing.abandoned, truth);
        assert.ok(truth >= 3, `abandons happened (${truth})`);
        assert.equal(d.pacing.ratio, 1, "down to the minimum");
        assert.equal(d.pacing.lastRule, "over");
      },
    );
  });

  test("two servers share the leads: each lead dialled once, on one of them; each paces by its own agents", async () => {
    const numbers = leadNumbers(60, "11231");
    const clock = new ManualClock();
    const world = (agents: number) => ({ clock, ...simWorld(numbers, { agents, talkSeconds: 3 }) });
    const sims = [await AmiSimulator.start(world(1)), await AmiSimulator.start(world(3))];
    const clients = sims.map((sim) => new Client(simOptions(sim, { clock }), defaultConnector()));
    const lives = clients.map((client) => createLiveState(client));
    const watchers = sims.map((sim) => new Client(simOptions(sim, { clock }), defaultConnector()));
    try {
      const counters = watchers.map((w) => new OriginateCounter(w, "two"));
      for (const c of [...watchers, ...clients]) await c.start();
      for (const live of lives) await within(live.synced({ timeoutMs: 10_000 }), 5_000, "synced");
      const config = checkCampaign({
        name: "two",
        servers: [{ name: "a", port: sims[0].port, secret: "amp111" }, {
          name: "b",
          port: sims[1].port,
          secret: "amp111",
        }],
        queue: "sales",
        channel: "Local/{number}@leads",
        ringTimeoutMs: 5_000,
        maxConcurrent: 4,
        ratio: 1,
        maxAttempts: 1,
      });
      const journal = new MemoryJournal();
      const dialer = new Dialer({
        config,
        leads: makeLeads(numbers),
        sites: [{ name: "a", client: clients[0], live: lives[0] }, {
          name: "b",
          client: clients[1],
          live: lives[1],
        }],
        journal: new Journal(journal.sink),
      });
      // Each site's calls in flight stay within its own bound (ratio 1: its free agents).
      let worst = 0;
      for (const [i, live] of lives.entries()) {
        live.on("channel", () => {
          const ids = new Set<string>();
          for (const ch of live.channels.values()) {
            if (ch.uniqueid.startsWith("two-") && ch.state !== 6) {
              ids.add(ch.uniqueid.replace(/;2$/, ""));
            }
          }
          worst = Math.max(worst, ids.size - (i === 0 ? 1 : 3));
        });
      }
      let summary: Summary | undefined;
      dialer.start().then((sum) => (summary = sum));
      const settled = async () => {
        for (let k = 0, last = -1, stable = 0; k < 500 && stable < 3; k++) {
          await new Promise((r) => setTimeout(r, 1));
          const sent = sims[0].stats.bytesSent + sims[1].stats.bytesSent;
          const got = [...clients, ...watchers].reduce((n, c) => n + c.stats().totals.bytesIn, 0);
          stable = sent === got && sent === last ? stable + 1 : 0;
          last = sent;
        }
      };
      for (let t = 0; summary === undefined; t += 250) {
        assert.ok(t < 1_800_000, "not done in 30 simulated minutes");
        clock.advance(250);
        await settled();
      }
      const byServer = counters.map((c) => c.total);
      assert.equal(byServer[0] + byServer[1], 60, "every lead dialled once in all");
      assert.ok(byServer[0] > 0 && byServer[1] > byServer[0], `b has more agents: ${byServer}`);
      for (const [i, lead] of makeLeads(numbers).entries()) {
        const seen = [
          ...(counters[0].byLead.get(lead.id) ?? []),
          ...(counters[1].byLead.get(lead.id) ?? []),
        ];
        assert.deepEqual(seen, ["1"], `${lead.id} dialled once`);
        assert.equal(dialer.book.get(lead.id)?.outcome, expectedOutcome(numbers[i]), lead.id);
      }
      const nodes = journal.records().filter((r) => r.t === "dialing").map((r) =>
        r.t === "dialing" ? r.node : ""
      );
      assert.deepEqual(new Set(nodes), new Set(["a", "b"]));
      assert.equal(summary.outcomes.unknown, 0);
      assert.ok(dialer.pacingOf("a") !== undefined && dialer.pacingOf("c") === undefined);
      assert.ok(worst <= 0, `a site went past its own agents by ${worst}`);
    } finally {
      for (const live of lives) live.close();
      for (const c of [...clients, ...watchers]) c.destroy();
      for (const sim of sims) await sim.stop();
    }
  });
});
