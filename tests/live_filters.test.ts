/**
 * The Filter trap: a session's event mask or Filters can hide what an async
 * Originate (its OriginateResponse) or the live model needs. The client adds
 * and replays a whitelist of its own for OriginateResponse when a user's
 * whitelist would hide it, refuses async Originates at once when a blacklist
 * hides it, and the live state refuses to run blind (LiveEventsHiddenError).
 * Against the simulator, which applies Filters as Asterisk does.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defaultConnector } from "../adapters/mod.ts";
import { Client, type ClientOptions } from "../client/mod.ts";
import { filterRule, filtersPass, maskHasClass } from "../client/_filters.ts";
import { LocalProtocolError } from "../core/mod.ts";
import { createLiveState, LiveEventsHiddenError } from "../live/mod.ts";
import { AmiSimulator, answerAndWait, ManualClock } from "../testing/mod.ts";
import { simOptions, until, within } from "./_client.ts";

const ORIGINATE = {
  Channel: "Local/long@t",
  Application: "Wait",
  Data: "600",
  Async: "true",
};

async function withClient(
  over: Partial<ClientOptions>,
  fn: (lab: { sim: AmiSimulator; client: Client; clock: ManualClock }) => Promise<void> | void,
): Promise<void> {
  const clock = new ManualClock();
  const sim = await AmiSimulator.start({ clock, dialplan: { t: { long: answerAndWait(600) } } });
  const client = new Client(
    simOptions(sim, {
      clock,
      reconnect: { minDelayMs: 20, maxDelayMs: 20, stableAfterMs: 1_000 },
      ...over,
    }),
    defaultConnector(),
  );
  try {
    await client.start();
    await fn({ sim, client, clock });
  } finally {
    client.destroy();
    await sim.stop();
  }
}

describe("filters as Asterisk applies them", () => {
  const rules = (...filters: string[]) =>
    filters.map((f) => filterRule({ Operation: "Add", Filter: f })!);
  test("no filter passes all; a whitelist passes what it matches; a blacklist drops what it matches", () => {
    assert.equal(filtersPass([], "OriginateResponse", "call"), true);
    assert.equal(filtersPass(rules("Event: Newchannel"), "OriginateResponse", "call"), false);
    assert.equal(filtersPass(rules("Event: Newchannel"), "Newchannel", "call"), true);
    assert.equal(
      filtersPass(
        rules("Event: Newchannel", "Event: OriginateResponse"),
        "OriginateResponse",
        "call",
      ),
      true,
    );
    assert.equal(
      filtersPass(rules("!Event: OriginateResponse"), "OriginateResponse", "call"),
      false,
    );
    assert.equal(filtersPass(rules("!Event: VarSet"), "OriginateResponse", "call"), true);
    assert.equal(filtersPass(rules("Privilege: call"), "OriginateResponse", "call"), true);
    const criteria = filterRule({
      Operation: "Add",
      MatchCriteria: "action(exclude),name(VarSet)",
    })!;
    assert.equal(filtersPass([criteria], "VarSet", "dialplan"), false);
    assert.equal(filtersPass([criteria], "Hangup", "call"), true);
    assert.equal(filterRule({ Operation: "Remove", Filter: "x" }), undefined);
    assert.equal(filterRule({ Operation: "Add", Filter: "(" }), undefined);
  });
  test("event masks: words, numbers, class lists", () => {
    assert.equal(maskHasClass(undefined, "call"), true);
    assert.equal(maskHasClass("off", "call"), false);
    assert.equal(maskHasClass(false, "system"), false);
    assert.equal(maskHasClass("on", "agent"), true);
    assert.equal(maskHasClass("call,dialplan", "dialplan"), true);
    assert.equal(maskHasClass("call,dialplan", "system"), false);
    assert.equal(maskHasClass("all", "agent"), true);
  });
});

describe("the Filter trap, on the simulator", () => {
  test("a whitelist without OriginateResponse: the client adds its own, async Originates complete, also after a reconnect", async () => {
    await withClient({}, async ({ sim, client, clock }) => {
      await client.action("Filter", { Operation: "Add", Filter: "Event: Newchannel" });
      const seen: string[] = [];
      client.on("*", (e) => seen.push(e.name));
      const r = await within(client.action("Originate", ORIGINATE), 5_000, "originate");
      assert.equal(r.kind, "originate");
      assert.ok(seen.includes("Newchannel"));
      assert.ok(!seen.includes("Newstate"), "the user's whitelist still applies");
      assert.equal(client.receives("OriginateResponse", "call"), true);
      assert.equal(client.receives("Hangup", "call"), false);

      sim.dropSession(); // the Filters are replayed on the new session, the client's own too
      await until(
        () => {
          if (client.state !== "ready") clock.advance(25);
          return client.state === "ready" && client.stats().sessions === 2;
        },
        5_000,
        "reconnected",
      );
      const again = await within(client.action("Originate", ORIGINATE), 5_000, "originate again");
      assert.equal(again.kind, "originate");
    });
  });

  test("a blacklist that hides OriginateResponse: an async Originate fails at once, nothing written", async () => {
    await withClient({}, async ({ sim, client }) => {
      await client.action("Filter", { Operation: "Add", Filter: "!Event: OriginateResponse" });
      const sent = client.stats().totals.actionsSent;
      await assert.rejects(
        client.action("Originate", ORIGINATE),
        (e: unknown) =>
          e instanceof LocalProtocolError && /hides OriginateResponse/.test(e.message),
      );
      assert.equal(client.stats().totals.actionsSent, sent);
      assert.equal(sim.channels.length, 0);
      // A synchronous Originate does not wait for the event: it is sent.
      const sync = await client.action("Originate", { ...ORIGINATE, Async: "false" });
      assert.equal(sync.kind, "response");
    });
  });

  test("the live state refuses to run blind: a mask without dialplan and system at once; a Filter added later at the next sync", async () => {
    await withClient({ events: "call,agent" }, ({ client }) => {
      assert.throws(
        () => createLiveState(client),
        (e: unknown) => {
          assert.ok(e instanceof LiveEventsHiddenError);
          assert.deepEqual(e.events, [
            "Newexten (dialplan)",
            "VarSet (dialplan)",
            "FullyBooted (system)",
          ]);
          return true;
        },
      );
      assert.equal(client.stats().listeners, 0, "nothing attached");
    });
    await withClient({}, async ({ client }) => {
      const live = createLiveState(client);
      try {
        await within(live.synced({ timeoutMs: 10_000 }), 5_000, "synced");
        await client.action("Filter", { Operation: "Add", Filter: "Event: Newchannel" });
        live.resync();
        await assert.rejects(
          live.synced({ timeoutMs: 60_000 }),
          (e: unknown) => e instanceof LiveEventsHiddenError && e.events.includes("Hangup (call)"),
        );
        assert.equal(live.status, "stale");
        assert.equal(live.stats().syncFailures, 1);
      } finally {
        live.close();
      }
    });
  });
});
