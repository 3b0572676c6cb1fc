/**
 * The live state resyncs by itself after the session dropped events or the
 * model turned `degraded` (`live/_resync.ts`): the pure policy under
 * fast-check (one sync at a time, automatic starts spaced, no request lost),
 * and the binding on a scripted server and a manual clock (a dropped Hangup
 * repaired, a flood bounded, a degraded model repaired, the option off).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Client } from "../client/mod.ts";
import { createLiveState, type LiveState, type LiveStateOptions } from "../live/mod.ts";
import { AutoResync, RESYNC_TRANSITIONS, type ResyncAction } from "../live/_resync.ts";
import { ManualClock } from "../testing/mod.ts";
import { chan, channelsList, msg, ScriptedServer } from "./_live_scripted.ts";

describe("the automatic resync policy", () => {
  type Step =
    | { type: "request" }
    | { type: "end" }
    | { type: "other" } // a sync someone else started (a reconnect, the user)
    | { type: "reset" }
    | { type: "advance"; ms: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.constant({ type: "request" as const }),
    fc.constant({ type: "end" as const }),
    fc.constant({ type: "other" as const }),
    fc.constant({ type: "reset" as const }),
    fc.integer({ min: 0, max: 4_000 }).map((ms) => ({ type: "advance" as const, ms })),
  );

  test("one sync at a time, automatic starts spaced by the interval, every request served or reset", () => {
    const MIN = 1_000;
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const p = new AutoResync(MIN);
        let now = 0;
        let inFlight = false;
        let lastStart = -Infinity;
        let autoStarts = 0;
        /** A request not yet covered by a sync started after it, nor reset. */
        let owed = false;
        const start = (auto: boolean): void => {
          assert.equal(inFlight, false, "never two syncs in flight");
          if (auto) {
            assert.ok(now >= lastStart + MIN, `auto start at ${now}, last at ${lastStart}`);
            autoStarts++;
          }
          inFlight = true;
          lastStart = now;
          owed = false;
          p.started(now);
        };
        const act = (a: ResyncAction): void => {
          if (a.type === "start") start(true);
          else if (a.type === "wait") assert.ok(a.until > now && a.until === p.deadline);
        };
        for (const s of steps) {
          const before = p.phase;
          if (s.type === "request") {
            if (!inFlight) owed = true;
            else if (p.phase === "inFlight") owed = true;
            act(p.request(now));
          } else if (s.type === "end" && inFlight) {
            inFlight = false;
            act(p.ended(now));
          } else if (s.type === "other" && !inFlight) start(false);
          else if (s.type === "reset") {
            inFlight = false;
            owed = false;
            p.reset();
          } else if (s.type === "advance") {
            const d = p.deadline;
            now += s.ms;
            if (d !== undefined && now >= d) act(p.timeout(now));
          }
          const after = p.phase;
          assert.ok(
            before === after || RESYNC_TRANSITIONS[before].includes(after),
            `${before} -> ${after}`,
          );
          assert.equal(inFlight, after === "inFlight" || after === "inFlightWanted");
        }
        // Quiescence: end what runs and let time pass; nothing owed is left unserved.
        for (let i = 0; i < 4; i++) {
          if (inFlight) {
            inFlight = false;
            act(p.ended(now));
          }
          const d = p.deadline;
          if (d !== undefined) {
            now = Math.max(now, d);
            act(p.timeout(now));
          }
        }
        if (inFlight) {
          inFlight = false;
          act(p.ended(now));
        }
        assert.equal(owed, false, "a request was lost");
        assert.equal(p.phase, "idle");
        assert.ok(autoStarts <= p.requested);
      }),
      { numRuns: 300 },
    );
  });
});

/** A scripted server whose CoreShowChannels lists `truth`; a client and live state on a manual clock. */
async function withScripted(
  truth: Set<string>,
  options: LiveStateOptions,
  fn: (lab: { server: ScriptedServer; clock: ManualClock; live: LiveState }) => Promise<void>,
): Promise<void> {
  const server = new ScriptedServer({
    reply: (action, id) => action === "CoreShowChannels" ? channelsList(id, [...truth]) : undefined,
  });
  const clock = new ManualClock();
  const client = new Client({
    host: "x",
    username: "u",
    secret: "s",
    clock,
    keepaliveIdleMs: 0,
    reconnect: false,
    eventQueueCapacity: 1, // a read of several events drops all but the last
    dropSummaryIntervalMs: 1_000,
  }, server.connector);
  const live = createLiveState(client, options);
  try {
    await client.start();
    await live.synced({ timeoutMs: 1_000 });
    await fn({ server, clock, live });
  } finally {
    live.close();
    client.destroy();
  }
  assert.equal(clock.pending, 0, "no timer left");
}

/** Lets the microtasks run (the scripted replies, the sync's steps). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

const newexten = (id: string): string => msg([["Event", "Newexten"], ...chan(id, 6)]);
const hangup = (id: string): string => msg([["Event", "Hangup"], ...chan(id, 6)]);

describe("automatic resync", () => {
  test("a dropped Hangup leaves a ghost until the resync the drop summary asks for", async () => {
    const truth = new Set(["a", "b"]);
    await withScripted(truth, { autoResyncIntervalMs: 10_000 }, async ({ server, clock, live }) => {
      assert.deepEqual([...live.channels.keys()].sort(), ["a", "b"]);
      truth.delete("a");
      server.push(hangup("a") + newexten("b")); // one read: the Hangup (oldest) is dropped
      await settle();
      assert.ok(live.channels.has("a"), "the ghost");
      assert.equal(live.stats().eventDrops, 1);
      assert.equal(live.stats().autoResyncs, 0); // spaced from the first sync
      clock.advance(9_999);
      await settle();
      assert.equal(live.stats().autoResyncs, 0);
      clock.advance(1);
      await settle();
      assert.equal(live.stats().autoResyncs, 1);
      assert.equal(live.status, "live");
      assert.deepEqual([...live.channels.keys()], ["b"]);
    });
  });

  test("a flood of drops: one sync in flight at a time, automatic ones spaced by the interval", async () => {
    const truth = new Set(["a"]);
    const options = { autoResyncIntervalMs: 10_000, listTimeoutMs: 60_000 };
    await withScripted(truth, options, async ({ server, clock, live }) => {
      const lists = (): number => server.received.filter((n) => n === "CoreShowChannels").length;
      const flood = async (seconds: number): Promise<void> => {
        for (let t = 0; t < seconds; t++) {
          server.push(newexten("a") + newexten("a") + newexten("a"));
          clock.advance(1_000);
          await settle();
          assert.ok(server.heldCount <= 1, "at most one list in flight");
        }
      };
      // A drop summary every second for 60 s: a resync every 10 s at most.
      const before = lists();
      await flood(60);
      const spaced = lists() - before;
      assert.ok(spaced >= 5 && spaced <= 60 / 10 + 1, `${spaced} lists in 60 s`);
      assert.equal(live.stats().autoResyncs, spaced);
      // A server slow to answer (within the list's deadline): requests wait for the sync in flight.
      server.hold.add("CoreShowChannels");
      await flood(40);
      assert.equal(server.heldCount, 1);
      server.hold.clear();
      server.release();
      await settle();
      // The one held, then one for the drops since it started (its list may predate them).
      assert.equal(live.stats().autoResyncs, spaced + 2);
      assert.equal(live.status, "live");
      assert.ok(live.stats().eventDrops >= 100);
    });
  });

  test("a model past maxChannels (degraded) resyncs by itself, once, and comes back ok", async () => {
    const truth = new Set(["a", "b"]);
    await withScripted(
      truth,
      { maxChannels: 2, autoResyncIntervalMs: 5_000 },
      async ({ server, clock, live }) => {
        const health: string[] = [];
        live.on("status", (s) => health.push(s.health));
        server.push(msg([["Event", "Newchannel"], ...chan("c", 4)])); // refused: the cap
        await settle();
        assert.equal(live.health, "degraded");
        truth.delete("b");
        server.push(hangup("b")); // frees room, but c was never seen
        truth.add("c");
        await settle();
        assert.equal(live.channels.has("c"), false);
        clock.advance(5_000);
        await settle();
        assert.equal(live.stats().autoResyncs, 1);
        assert.equal(live.health, "ok");
        assert.deepEqual([...live.channels.keys()].sort(), ["a", "c"]);
        clock.advance(60_000);
        await settle();
        assert.equal(live.stats().autoResyncs, 1, "no loop");
        assert.ok(health.includes("degraded"));
      },
    );
  });

  test("a list whose item count differs from its ListItems is not merged; the sync is tried again", async () => {
    let lists = 0;
    const server: ScriptedServer = new ScriptedServer({
      reply: (action, id): string | undefined => {
        if (action !== "CoreShowChannels") return undefined;
        const text = channelsList(id, ["a", "b"]);
        // The first answer loses an item on the way (ListItems still says 2).
        return ++lists === 1
          ? text.replace(/Event: CoreShowChannel\r\n(?:[^\r]+\r\n)+\r\n/, "")
          : text;
      },
    });
    const clock = new ManualClock();
    const client = new Client(
      { host: "x", username: "u", secret: "s", clock, keepaliveIdleMs: 0, reconnect: false },
      server.connector,
    );
    const live = createLiveState(client, { retryMs: 5_000 });
    try {
      await client.start();
      await settle();
      assert.equal(live.status, "syncing");
      assert.equal(live.stats().shortLists, 1);
      assert.equal(live.channels.size, 0, "nothing merged from the short list");
      clock.advance(5_000);
      await live.synced({ timeoutMs: 1_000 });
      assert.deepEqual([...live.channels.keys()].sort(), ["a", "b"]);
      assert.equal(live.stats().syncFailures, 1);
    } finally {
      live.close();
      client.destroy();
    }
  });

  test("autoResync: false leaves the ghost until resync()", async () => {
    const truth = new Set(["a", "b"]);
    await withScripted(truth, { autoResync: false }, async ({ server, clock, live }) => {
      truth.delete("a");
      server.push(hangup("a") + newexten("b"));
      await settle();
      clock.advance(60_000);
      await settle();
      assert.equal(live.stats().autoResyncs, 0);
      assert.ok(live.channels.has("a"));
      live.resync();
      await settle();
      assert.equal(live.channels.has("a"), false);
    });
  });
});
