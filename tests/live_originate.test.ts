/**
 * Originate handles on the live state (`live.originate`): against the
 * simulator over loopback sockets on a manual clock. Answered, busy, no
 * answer, missing extension, a 200-call burst, a connection lost after the
 * Originate was written, one never written, and the caps.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defaultConnector } from "../adapters/mod.ts";
import { Client, type ClientOptions } from "../client/mod.ts";
import { ConnectionLostError } from "../core/mod.ts";
import {
  createLiveState,
  type LiveOriginateEnd,
  type LiveOriginateHandle,
  type LiveState,
  type LiveStateOptions,
  OriginateRefusedError,
} from "../live/mod.ts";
import {
  AmiSimulator,
  answerAndWait,
  busy,
  hangupWithCause,
  ManualClock,
  noAnswer,
} from "../testing/mod.ts";
import { simOptions, until, within } from "./_client.ts";

const DIALPLAN = {
  t: {
    ans: answerAndWait(5),
    busy: busy(),
    ring: noAnswer(),
    long: answerAndWait(600),
    cong: hangupWithCause(34),
  },
};

function options(sim: AmiSimulator, clock: ManualClock): ClientOptions {
  return simOptions(sim, {
    clock,
    reconnect: { minDelayMs: 20, maxDelayMs: 20, stableAfterMs: 1_000 },
  });
}

interface Lab {
  sim: AmiSimulator;
  clock: ManualClock;
  client: Client;
  live: LiveState;
}

/** A simulator, a started client and its live state on a manual clock; everything closed after. */
async function withLab(
  fn: (lab: Lab) => Promise<void>,
  liveOptions: LiveStateOptions = {},
  start = true,
): Promise<void> {
  const clock = new ManualClock();
  const sim = await AmiSimulator.start({ clock, dialplan: DIALPLAN });
  const client = new Client(options(sim, clock), defaultConnector());
  const live = createLiveState(client, liveOptions);
  try {
    if (start) {
      await client.start();
      await within(live.synced({ timeoutMs: 10_000 }), 5_000, "synced");
    }
    await fn({ sim, clock, client, live });
  } finally {
    live.close();
    client.destroy();
    await sim.stop();
  }
}

/** Records when `ended` resolved (and how often: it must be once). */
function watch(h: LiveOriginateHandle): { end: LiveOriginateEnd | undefined } {
  const box: { end: LiveOriginateEnd | undefined } = { end: undefined };
  h.ended.then((e) => {
    assert.equal(box.end, undefined, "ended once");
    box.end = e;
  });
  return box;
}

const wait = (exten: string, extra: Record<string, string> = {}) => ({
  Channel: `Local/${exten}@t`,
  Application: "Wait",
  Data: "600",
  ...extra,
});

describe("originate handles on the simulator", () => {
  test("an answered call: answered resolves with the Up channel, ended `answered` after the hangups", async () => {
    await withLab(async ({ clock, live }) => {
      clock.advance(1_000);
      const h = live.originate(wait("ans"));
      assert.match(h.channelId, /^amikit-/);
      const box = watch(h);
      const up = await within(h.answered, 5_000, "answered");
      assert.equal(up?.state, 6);
      assert.ok(h.channels.includes(h.channelId));
      assert.ok(h.channels.includes(`${h.channelId};2`), "the second half is tagged too");
      assert.equal(live.channels.get(h.channelId)?.uniqueid, h.channelId);
      await Promise.resolve();
      assert.equal(box.end, undefined, "not ended while its channels are up");
      clock.advance(5_000);
      const end = await within(h.ended, 5_000, "ended");
      assert.equal(end.outcome, "answered");
      assert.equal(end.uniqueid, h.channelId);
      assert.equal(end.cause, 16);
      assert.equal(end.causeText, "Normal Clearing");
      assert.ok(end.answeredAt !== undefined && end.answeredAt < end.endedAt);
      assert.equal(end.answeredAt, 1_000);
      assert.equal(end.endedAt, 6_000);
      assert.equal(end.error, undefined);
      assert.deepEqual(h.channels, []);
      assert.equal(live.stats().originates, 0, "dropped once ended");
    });
  });

  test("busy: Reason 0 refined by cause 17 on the hangups; answered resolves undefined", async () => {
    await withLab(async ({ live }) => {
      const h = live.originate({ Channel: "Local/busy@t", Context: "t", Exten: "x", Priority: 1 });
      const end = await within(h.ended, 5_000, "ended");
      assert.equal(end.outcome, "busy");
      assert.equal(end.cause, 17);
      assert.equal(end.reason?.code, 0, "the Reason itself is the generic 0");
      assert.equal(end.answeredAt, undefined);
      assert.equal(await h.answered, undefined);
      assert.equal(live.stats().originates, 0);
    });
  });

  test("congestion: Reason 0 refined by cause 34", async () => {
    await withLab(async ({ live }) => {
      const end = await within(live.originate(wait("cong")).ended, 5_000, "ended");
      assert.equal(end.outcome, "congestion");
      assert.equal(end.cause, 34);
    });
  });

  test("no answer: Reason 3 at the Originate's Timeout", async () => {
    await withLab(async ({ clock, live }) => {
      const h = live.originate(wait("ring", { Timeout: "2000" }));
      const box = watch(h);
      await until(() => h.channels.length === 2, 5_000, "ringing");
      clock.advance(1_999);
      await Promise.resolve();
      assert.equal(box.end, undefined);
      clock.advance(1);
      const end = await within(h.ended, 5_000, "ended");
      assert.equal(end.outcome, "noAnswer");
      assert.equal(end.reason?.code, 3);
      assert.equal(end.endedAt, 2_000);
    });
  });

  test("a missing extension and an unknown technology end `failed`", async () => {
    await withLab(async ({ live }) => {
      const missing = live.originate(wait("nope"));
      const tech = live.originate({ Channel: "SIP/nowhere", Application: "Wait", Data: "1" });
      const [a, b] = await within(Promise.all([missing.ended, tech.ended]), 5_000, "ended");
      assert.equal(a.outcome, "failed");
      assert.equal(a.cause, 0, "both halves hang up with cause 0, as in fixture 11");
      assert.equal(b.outcome, "failed");
      assert.equal(b.cause, undefined, "no channel was created");
      assert.equal(b.reason?.code, 0);
    });
  });

  test("a burst of 500 with mixed outcomes settles each handle once, as expected", async () => {
    await withLab(async ({ clock, live }) => {
      const exts = ["ans", "busy", "ring", "nope"] as const;
      const expected = { ans: "answered", busy: "busy", ring: "noAnswer", nope: "failed" };
      const hs = Array.from({ length: 500 }, (_, i) => {
        const exten = exts[i % 4];
        const h = live.originate(wait(exten, { Timeout: "3000" }));
        return { exten, h, box: watch(h) };
      });
      assert.equal(new Set(hs.map((x) => x.h.channelId)).size, 500, "unique ChannelIds");
      assert.equal(live.stats().originates, 500);
      await until(
        () => hs.every((x) => x.box.end !== undefined || x.h.channels.length > 0),
        10_000,
        "all started",
      );
      for (let t = 0; t < 6_000; t += 500) {
        clock.advance(500);
        await Promise.resolve();
      }
      await until(() => hs.every((x) => x.box.end !== undefined), 10_000, "all ended");
      for (const { exten, box } of hs) assert.equal(box.end?.outcome, expected[exten], exten);
      assert.equal(live.stats().originates, 0);
      assert.equal(live.channels.size, 0);
      // A late extra tick settles nothing twice (watch() asserts it).
      clock.advance(100_000);
      await Promise.resolve();
    });
  });

  test("a connection lost after the Originate was written ends `unknown`, never retried", async () => {
    await withLab(async ({ sim, clock, live }) => {
      clock.advance(10_000); // Uptime 10 s: the restart reads Uptime 0
      const h = live.originate(wait("ring", { Timeout: "60000" }));
      await until(() => h.channels.length === 2, 5_000, "ringing");
      await sim.restart();
      await until(
        () => {
          if (!h.done) clock.advance(25);
          return h.done;
        },
        5_000,
        "ended",
      );
      const end = await h.ended;
      assert.equal(end.outcome, "unknown");
      assert.ok(end.error instanceof ConnectionLostError);
      assert.equal(end.error.written, true);
      assert.equal(sim.channels.length, 0, "nothing was sent again");
    });
  });

  test("an Originate never written ends `failed` with the error (nothing was sent)", async () => {
    await withLab(
      async ({ live }) => {
        const h = live.originate(wait("ans"));
        const end = await within(h.ended, 5_000, "ended");
        assert.equal(end.outcome, "failed");
        assert.ok(end.error instanceof ConnectionLostError);
        assert.equal(end.error.written, false);
      },
      {},
      false,
    );
  });

  test("caps: maxOriginates, ChannelId in use or too long, Async false; deadline; close", async () => {
    await withLab(async ({ clock, live }) => {
      const refused = (f: () => unknown, reason: string) =>
        assert.throws(f, (e) => e instanceof OriginateRefusedError && e.reason === reason);
      const a = live.originate(wait("long"), { timeoutMs: 5_000 });
      await within(a.answered, 5_000, "answered");
      refused(() => live.originate(wait("long", { ChannelId: a.channelId })), "channelIdInUse");
      const b = live.originate(wait("ring", { ChannelId: "mine-1" }));
      assert.equal(b.channelId, "mine-1");
      refused(() => live.originate(wait("ring")), "tooMany");
      refused(() => live.originate(wait("ring", { ChannelId: "x".repeat(150) })), "tooMany");
      assert.equal(live.stats().originates, 2);

      // The deadline: a silent answered call ends `unknown` after timeoutMs without a change.
      clock.advance(5_000);
      const endA = await within(a.ended, 5_000, "deadline");
      assert.equal(endA.outcome, "unknown");
      assert.equal(endA.answeredAt, 0, "it was seen answered");
      assert.equal(endA.detail, "deadline");
      assert.ok(live.channels.has(a.channelId), "its channels are still tracked");
      refused(
        () => live.originate(wait("ring", { ChannelId: "x".repeat(150) })),
        "channelIdInvalid",
      );
      refused(() => live.originate(wait("ring", { Async: "false" })), "notAsync");
      refused(() => live.originate(wait("ring", { ChannelId: "mine-1" })), "channelIdInUse");

      live.close();
      const endB = await within(b.ended, 5_000, "closed");
      assert.equal(endB.outcome, "unknown");
      assert.equal(endB.detail, "closed");
      refused(() => live.originate(wait("ring")), "closed");
    }, { maxOriginates: 2 });
  });

  test("the deadline ends a ringing call `unknown` when nothing changed for timeoutMs", async () => {
    await withLab(async ({ clock, live }) => {
      const h = live.originate(wait("ring", { Timeout: "600000" }), { timeoutMs: 4_000 });
      await until(() => h.channels.length === 2, 5_000, "ringing");
      clock.advance(4_000);
      const end = await within(h.ended, 5_000, "deadline");
      assert.equal(end.outcome, "unknown");
      assert.equal(end.detail, "deadline");
      assert.equal(live.stats().originates, 0);
    });
  });
});
