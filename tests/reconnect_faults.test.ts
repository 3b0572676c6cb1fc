import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AmiSimulator } from "../testing/mod.ts";
import {
  ActionTimeoutError,
  AuthError,
  type Client,
  connect,
  ConnectionLostError,
  connectWith,
  LocalProtocolError,
  type StateChange,
} from "../mod.ts";
import { defaultConnector } from "../adapters/mod.ts";
import {
  actionIds,
  recordingConnector,
  simOptions,
  sleep,
  until,
  within,
  withSim,
} from "./_client.ts";

function states(client: Client): StateChange[] {
  const out: StateChange[] = [];
  client.onStateChange((c) => out.push(c));
  return out;
}

describe("reconnect and faults over loopback", () => {
  test("server restart mid-burst: pending fail with the right kind; no stale bytes or ActionIDs after", async () => {
    await withSim(async (sim) => {
      const rec = recordingConnector(defaultConnector());
      const client = await connectWith(rec.connector, simOptions(sim));
      try {
        const changes = states(client);
        sim.delayResponses(500);
        // 20 actions written (pending on the server), then the socket stops
        // taking bytes and 20 more stay unsent in the engine.
        const written = Array.from({ length: 20 }, () => client.action("Ping"));
        await sleep(20);
        rec.transports[0].blocked = true;
        const held = client.action("Ping"); // handed to the (blocked) socket
        await sleep(0); // its write happens at the end of this burst
        const unsent = Array.from({ length: 20 }, () => client.action("Ping"));
        await sim.restart();
        const results = await Promise.allSettled([...written, held, ...unsent]);
        for (const r of results) {
          assert.equal(r.status, "rejected");
          assert.ok(r.reason instanceof ConnectionLostError, String(r.reason));
        }
        const flags = results.map((r) => (r as PromiseRejectedResult).reason.written);
        assert.deepEqual(flags.slice(0, 21), Array(21).fill(true), "written: outcome unknown");
        assert.deepEqual(flags.slice(21), Array(20).fill(false), "never written: safe to retry");
        await within(until(() => client.state === "ready", 3_000, "reconnect"), 4_000, "ready");
        sim.delayResponses(0);
        assert.ok(changes.some((c) => c.state === "reconnecting" && c.reason === "remoteClosed"));
        const res = await client.action("Ping");
        assert.equal(res.kind, "response");
        // The second session wrote only its own ActionIDs: nothing of the first.
        const [first, second] = rec.transports;
        const oldIds = new Set([...actionIds(first.written), ...actionIds(first.held)]);
        const newIds = actionIds(second.written);
        assert.ok(newIds.length >= 2, "login + ping");
        for (const id of newIds) assert.ok(!oldIds.has(id), `stale ActionID ${id}`);
        const prefix = (id: string) => id.split(".").slice(0, 3).join(".");
        assert.equal(new Set(newIds.map(prefix)).size, 1, "one session prefix");
        assert.ok(!oldIds.has(newIds[0]) && prefix(newIds[0]) !== prefix([...oldIds][0]));
        assert.equal(second.written.split("Action: Ping").length - 1, 1, "no resent Ping");
      } finally {
        client.destroy();
      }
    });
  });

  test("stall: keepalive declares the peer dead, closes and reconnects", async () => {
    await withSim(async (sim) => {
      const client = await connect(
        simOptions(sim, { keepaliveIdleMs: 80, keepaliveTimeoutMs: 120 }),
      );
      try {
        const changes = states(client);
        sim.stall(true);
        await until(() => changes.some((c) => c.reason === "timedOut"), 3_000, "keepalive timeout");
        sim.stall(false);
        await until(() => client.state === "ready", 3_000, "ready again");
        assert.equal((await client.action("Ping")).kind, "response");
        assert.ok(client.stats().sessions >= 2);
      } finally {
        client.destroy();
      }
    });
  });

  test("garbage: stray lines do not break the client; an oversized stray line is dropped and counted; an unreadable ActionID reconnects (protocol)", async () => {
    await withSim(async (sim) => {
      const client = await connect(simOptions(sim, { parser: { maxLineBytes: 2048 } }));
      try {
        const changes = states(client);
        sim.sendRaw(
          "\x00\xff garbage without colon\r\n\r\n\r\nEvent: UserEvent\r\nUserEvent: ok\r\n\r\n",
        );
        assert.equal((await client.action("Ping")).kind, "response");
        // Over maxLineBytes with no ActionID: no action owns it, so it is dropped and counted.
        const dropped = client.stats().totals.eventsDropped;
        sim.sendRaw("X".repeat(10_000) + "\r\n\r\n");
        assert.equal((await client.action("Ping")).kind, "response", "the session goes on");
        assert.equal(client.stats().totals.eventsDropped, dropped + 1);
        assert.equal(client.state, "ready");
        // An ActionID line too long to read: the owner cannot be known, the session closes.
        sim.sendRaw("Response: Success\r\nActionID: " + "X".repeat(10_000) + "\r\n\r\n");
        await until(() => changes.some((c) => c.reason === "protocol"), 2_000, "protocol close");
        await until(() => client.state === "ready", 3_000, "ready again");
        assert.equal((await client.action("Ping")).kind, "response");
      } finally {
        client.destroy();
      }
    });
  });

  test("slow consumer: an iterator buffer stays bounded, drops are counted, the socket keeps up", async () => {
    await withSim(async (sim) => {
      const client = await connect(simOptions(sim));
      try {
        const stream = client.events({ capacity: 500 });
        const count = 50_000;
        await sim.flood({ count });
        await until(() => client.stats().eventsDispatched >= count, 10_000, "all events read");
        const heap1 = process.memoryUsage().heapUsed;
        // Two more floods: an unbounded buffer would retain 100,000 more
        // messages (about 250 MB measured); a bounded one keeps 500.
        await sim.flood({ count });
        await sim.flood({ count });
        await until(() => client.stats().eventsDispatched >= 3 * count, 10_000, "all events read");
        const grown = (process.memoryUsage().heapUsed - heap1) / 1e6;
        assert.ok(grown < 100, `heap grew ${grown.toFixed(1)} MB`);
        assert.equal(stream.depth, 500, "bounded");
        assert.equal(stream.dropped, 3 * count - 500, "every drop counted");
        assert.equal(client.stats().streamDrops, 3 * count - 500);
        assert.equal(sim.stats.writeTimeouts, 0, "the server never saw a slow reader");
        // The oldest were dropped: the buffer holds the newest 500.
        const first = await stream.next();
        assert.match(first.value?.get("AppData") ?? "", new RegExp(`SEQ=0*${count - 500}$`));
        assert.equal(client.state, "ready");
      } finally {
        client.destroy();
      }
      // In-process, a 100 ms writetimeout can fire while this same event loop
      // parses a large chunk; 1 s still catches a client that stops reading.
    }, { writeTimeoutMs: 1_000 });
  });

  test("re-login re-applies the event mask and every Filter the user set", async () => {
    await withSim(async (sim) => {
      const rec = recordingConnector(defaultConnector());
      const client = await connectWith(rec.connector, simOptions(sim));
      try {
        await client.action("Filter", { Operation: "Add", Filter: "Event: UserEvent" });
        await client.action("Events", { EventMask: "user" });
        const seen: string[] = [];
        client.on("*", (e) => {
          seen.push(e.name);
        });
        sim.dropAll();
        await until(
          () => client.stats().sessions === 2 && client.state === "ready",
          3_000,
          "re-login",
        );
        const second = rec.transports[1].written;
        assert.match(
          second,
          /Action: Filter\r\nActionID: [^\r]+\r\nOperation: Add\r\nFilter: Event: UserEvent/,
        );
        assert.match(second, /Action: Events\r\nActionID: [^\r]+\r\nEventMask: user/);
        seen.length = 0; // login-time events came before the Filter was re-applied
        sim.emit([["Event", "Newchannel"], ["Privilege", "call,all"], ["Channel", "X"]]);
        sim.emit([["Event", "UserEvent"], ["Privilege", "user,all"], ["UserEvent", "kept"]]);
        await until(() => seen.includes("UserEvent"), 2_000, "UserEvent");
        await sleep(30);
        assert.deepEqual(seen, ["UserEvent"], "the filter applies on the new session");
      } finally {
        client.destroy();
      }
    });
  });

  test("actions while disconnected: fail at once by default, or wait (bounded) up to their deadline", async () => {
    await withSim(async (sim) => {
      const client = await connect(simOptions(sim, { maxWaitingActions: 2 }));
      try {
        sim.refuseConnections(300);
        sim.dropAll();
        await until(() => client.state === "reconnecting", 1_000, "reconnecting");
        await assert.rejects(
          client.action("Ping"),
          (e: unknown) => e instanceof ConnectionLostError && !e.written,
        );
        const waits = client.action("Ping", undefined, {
          waitForConnection: true,
          timeoutMs: 5_000,
        });
        // `timeout` is the deprecated spelling of `timeoutMs`: it still works.
        const short = client.action("Ping", undefined, { waitForConnection: true, timeout: 30 });
        await assert.rejects(
          client.action("Ping", undefined, { waitForConnection: true }),
          LocalProtocolError,
          "bounded",
        );
        await assert.rejects(short, (e: unknown) => e instanceof ActionTimeoutError && !e.written);
        const res = await within(waits, 5_000, "waiting action");
        assert.equal(res.kind, "response");
      } finally {
        client.destroy();
      }
    });
  });

  test("a failed re-login backs off to the maximum delay", async () => {
    const simA = await AmiSimulator.start({ loginFailureDelayMs: 5 });
    const port = simA.port;
    const client = await connect(simOptions(simA, {
      reconnect: { minDelayMs: 10, maxDelayMs: 400, stableAfterMs: 5_000, random: () => 0 },
    }));
    const changes = states(client);
    await simA.stop();
    // The same address now refuses these credentials.
    const simB = await AmiSimulator.start({
      port,
      loginFailureDelayMs: 5,
      users: [{ username: "admin", secret: "changed", read: "all", write: "all" }],
    });
    try {
      await until(
        () => changes.some((c) => c.error instanceof AuthError),
        3_000,
        "an AuthError on re-login",
      );
      const after = changes.find((c) => c.error instanceof AuthError)!;
      assert.equal(after.state, "reconnecting");
      assert.equal(after.delayMs, 400, "straight to maxDelayMs, not min");
    } finally {
      client.destroy();
      await simB.stop();
    }
  });

  test("a server that accepts and drops at once is backed off (delays grow)", async () => {
    await withSim(async (sim) => {
      const client = await connect(simOptions(sim, {
        reconnect: {
          minDelayMs: 10,
          maxDelayMs: 10_000,
          stableAfterMs: 5_000,
          random: () => 0.999,
        },
      }));
      try {
        const changes = states(client);
        sim.refuseConnections(10_000);
        sim.dropAll();
        await until(
          () => changes.filter((c) => c.state === "reconnecting").length >= 5,
          5_000,
          "5 attempts",
        );
        const delays = changes.filter((c) => c.state === "reconnecting").map((c) => c.delayMs!);
        for (let i = 1; i < delays.length; i++) assert.ok(delays[i] > delays[i - 1], `${delays}`);
        assert.equal(client.stats().sessions, 1);
      } finally {
        client.destroy();
      }
    });
  });
});
