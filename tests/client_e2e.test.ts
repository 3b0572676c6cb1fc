import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import {
  AbortedError,
  ActionError,
  ActionTimeoutError,
  AuthError,
  type Client,
  connect,
  ConnectError,
  ConnectionLostError,
  connectWith,
  LocalProtocolError,
} from "../mod.ts";
import { defaultConnector } from "../adapters/mod.ts";
import { WRITE_BATCH } from "../client/_session.ts";
import {
  actionIds,
  recordingConnector,
  refusedPort,
  simOptions,
  sleep,
  until,
  within,
  withSim,
} from "./_client.ts";

describe("client over loopback against the simulator", () => {
  test("login plain and MD5; Ping; the banner; close logs off", async () => {
    await withSim(async (sim) => {
      for (const auth of ["plain", "md5"] as const) {
        const client = await connect(simOptions(sim, { auth }));
        assert.equal(client.state, "ready");
        assert.match(client.banner ?? "", /^Asterisk Call Manager\//);
        const res = await client.action("Ping");
        assert.equal(res.kind, "response");
        assert.equal(res.response.name, "Success");
        assert.equal(res.response.get("Ping"), "Pong");
        await client.close();
        assert.equal(client.state, "closed");
      }
    });
  });

  test("a burst of actions leaves in few writes: batches of WRITE_BATCH, the rest at the end of the tick", async () => {
    await withSim(async (sim) => {
      const rec = recordingConnector(defaultConnector());
      const client = await connectWith(rec.connector, simOptions(sim));
      try {
        const before = rec.transports[0].writes.length;
        const burst = Array.from({ length: 100 }, () => client.action("Ping"));
        const settled = Promise.allSettled(burst);
        // The first full batch leaves at once, inside the burst (the next
        // ones too where the socket still takes bytes: Node and Bun; Deno's
        // transport waits for its write in flight, then sends the rest at once).
        const during = rec.transports[0].writes.slice(before);
        assert.ok(during.length >= 1);
        assert.equal(actionIds(during[0]).length, WRITE_BATCH);
        for (const w of during) assert.equal(actionIds(w).length, WRITE_BATCH);
        for (const r of await settled) assert.equal(r.status, "fulfilled");
        const writes = rec.transports[0].writes.slice(before);
        assert.ok(
          writes.length >= 2 && writes.length <= Math.ceil(100 / WRITE_BATCH),
          `${writes.length} writes`,
        );
        // In order, each action once.
        const ids = writes.flatMap(actionIds);
        assert.equal(new Set(ids).size, 100);
        assert.deepEqual(
          ids,
          [...ids].sort((a, b) => Number(a.split(".").at(-1)) - Number(b.split(".").at(-1))),
        );
      } finally {
        client.destroy();
      }
    });
  });

  test("connect rejects with a typed error: auth failed, refused, timed out", async () => {
    await withSim(async (sim) => {
      await assert.rejects(connect(simOptions(sim, { secret: "wrong" })), AuthError);
      await assert.rejects(
        connect(simOptions(sim, { secret: "wrong", auth: "md5" })),
        AuthError,
      );
    });
    const port = await refusedPort();
    await assert.rejects(
      connect({ host: "127.0.0.1", port, username: "u", secret: "s" }),
      (e: unknown) => e instanceof ConnectError && e.reason === "refused",
    );
    // A server that accepts and never speaks: the login deadline.
    const silent = net.createServer((s) => s.on("error", () => {}));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const port2 = (silent.address() as net.AddressInfo).port;
      await assert.rejects(
        connect({
          host: "127.0.0.1",
          port: port2,
          username: "u",
          secret: "s",
          loginTimeoutMs: 150,
        }),
        (e: unknown) => e instanceof ConnectError && e.reason === "timedOut",
      );
    } finally {
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  test("every action strategy: response, eventList, command, originate, logoff; errors", async () => {
    await withSim(async (sim) => {
      const client = await connect(simOptions(sim));
      try {
        const cmd = await client.action("Command", { Command: "core show version" });
        assert.equal(cmd.kind, "command");
        assert.ok(cmd.kind === "command" && cmd.output.some((l) => l.includes("Asterisk")));

        const orig = await client.action("Originate", {
          Channel: "Local/100@lab",
          Application: "Wait",
          Data: "1",
          Async: true,
          Variable: ["A=1", "B=2"],
        }, { timeout: 10_000 });
        assert.equal(orig.kind, "originate");
        assert.ok(orig.kind === "originate" && orig.event.get("Response") === "Success");

        const list = await client.action("CoreShowChannels");
        assert.equal(list.kind, "eventList");
        assert.ok(list.kind === "eventList" && list.complete.name.endsWith("Complete"));

        const plain = await client.action("CoreSettings", undefined, { strategy: "response" });
        assert.equal(plain.kind, "response");

        await assert.rejects(
          client.action("Originate", { Channel: "Local/300@lab", Exten: "1", Async: "true" }),
          (e: unknown) => e instanceof ActionError && /OriginateResponse/.test(e.serverMessage),
        );
        await assert.rejects(
          client.action("NoSuchAction"),
          (e: unknown) =>
            e instanceof ActionError && /Invalid\/unknown command/.test(e.serverMessage),
        );
        await assert.rejects(
          client.action("Ping", { Evil: "a\r\nAction: Logoff" }),
          LocalProtocolError,
        );
        sim.delayResponses(300);
        await assert.rejects(
          client.action("Ping", undefined, { timeoutMs: 50 }),
          (e: unknown) => e instanceof ActionTimeoutError && e.written,
        );
        // Aborted in the same tick: never written (safe to retry).
        const ac = new AbortController();
        const p = client.action("Ping", undefined, { signal: ac.signal });
        ac.abort();
        await assert.rejects(p, (e: unknown) => e instanceof AbortedError && !e.written);
        // Aborted after its write: outcome unknown.
        const ac2 = new AbortController();
        const p2 = client.action("Ping", undefined, { signal: ac2.signal });
        await sleep(5);
        ac2.abort();
        await assert.rejects(p2, (e: unknown) => e instanceof AbortedError && e.written);
        await assert.rejects(
          client.action("Ping", undefined, { signal: AbortSignal.abort() }),
          (e: unknown) => e instanceof AbortedError && !e.written,
        );
        sim.delayResponses(0);
        // The user's own Logoff ends the client: no reconnect.
        const bye = await client.action("Logoff");
        assert.equal(bye.kind, "logoff");
        await until(() => client.state === "closed", 2_000, "closed after Logoff");
        await assert.rejects(
          client.action("Ping"),
          (e: unknown) => e instanceof ConnectionLostError && !e.written,
        );
      } finally {
        client.destroy();
      }
    });
  });

  test("events: listeners by name, '*' and predicate; unsubscribe; iterators with filters", async () => {
    await withSim(async (sim) => {
      await using client = await connect(simOptions(sim));
      const named: string[] = [];
      const all: string[] = [];
      const pred: string[] = [];
      const off = client.on("UserEvent", (e) => {
        named.push(e.get("UserEvent") ?? "");
      });
      client.on("*", (e, node) => {
        assert.equal(node, "ami");
        all.push(e.name);
      });
      client.on((e) => e.name === "Hangup", (e) => {
        pred.push(e.get("Channel") ?? "");
      });
      const stream = client.events({ filter: "Hangup", capacity: 100 });
      await client.action("Originate", {
        Channel: "Local/300@lab",
        Application: "Wait",
        Data: "1",
        Async: true,
      }).catch(() => {});
      const first = await within(stream.next(), 3_000, "Hangup from the iterator");
      assert.equal(first.done, false);
      assert.equal(first.value?.name, "Hangup");
      await until(() => pred.length >= 1 && named.length >= 1, 2_000, "listeners");
      assert.ok(named.includes("LabEvent"));
      assert.ok(all.includes("Newchannel") && all.includes("Hangup"));
      off();
      const before = named.length;
      sim.emit([["Event", "UserEvent"], ["UserEvent", "After"]]);
      await until(() => all.filter((n) => n === "UserEvent").length > before, 2_000, "emit");
      assert.equal(named.length, before, "an unsubscribed listener gets nothing");
      // break in for await unsubscribes the iterator.
      const it = client.events({ filter: "UserEvent" });
      sim.emit([["Event", "UserEvent"], ["UserEvent", "X"]]);
      for await (const e of it) {
        assert.equal(e.get("UserEvent"), "X");
        break;
      }
      assert.equal(it.depth, 0);
    });
  });

  test("invariant 9: a throwing or rejecting listener never breaks dispatch nor the connection", async () => {
    await withSim(async (sim) => {
      const client = await connect(simOptions(sim));
      try {
        let good = 0;
        client.on("*", () => {
          throw new Error("boom");
        });
        client.on("UserEvent", () => Promise.reject(new Error("async boom")));
        client.on(() => {
          throw new Error("predicate boom");
        }, () => {});
        client.on("UserEvent", () => {
          good++;
        });
        for (let i = 0; i < 50; i++) sim.emit([["Event", "UserEvent"], ["UserEvent", `n${i}`]]);
        await until(() => good === 50, 3_000, "all 50 events to the good listener");
        await sleep(10); // let the rejections settle
        const s = client.stats();
        assert.equal(s.listenerErrors, 150, "each failure is counted");
        assert.equal(client.state, "ready");
        const res = await client.action("Ping");
        assert.equal(res.kind, "response");
      } finally {
        await client.close();
      }
    });
  });

  test("invariant 11: an idle client wakes no timer (keepalive off) and few with keepalive", async () => {
    await withSim(async (sim) => {
      const idle = await connect(simOptions(sim, { keepaliveIdleMs: 0 }));
      const keep = await connect(
        simOptions(sim, { keepaliveIdleMs: 100, keepaliveTimeoutMs: 1_000 }),
      );
      try {
        const idleBefore = idle.stats().timerWakeups;
        const keepBefore = keep.stats().timerWakeups;
        const cpu0 = typeof process !== "undefined" ? process.cpuUsage() : undefined;
        await sleep(600);
        const cpu = cpu0 && process.cpuUsage(cpu0);
        assert.equal(idle.stats().timerWakeups - idleBefore, 0, "no wake-up while idle");
        const wakes = keep.stats().timerWakeups - keepBefore;
        // One keepalive every 100 ms idle: about 6 in 600 ms, never a busy loop.
        assert.ok(wakes >= 2 && wakes <= 12, `keepalive wake-ups: ${wakes}`);
        assert.ok(keep.stats().session?.keepaliveRttMs !== undefined);
        if (cpu) {
          const ms = (cpu.user + cpu.system) / 1000;
          // Both clients and the simulator together: far below a busy loop (600 ms).
          assert.ok(ms < 300, `CPU while idle: ${ms} ms`);
        }
      } finally {
        idle.destroy();
        keep.destroy();
      }
    });
  });

  test("destroy fails pending actions at once and discards; actions after fail never written", async () => {
    await withSim(async (sim) => {
      const client = await connect(simOptions(sim));
      const stream = client.events();
      sim.delayResponses(1_000);
      const pending = client.action("Ping");
      await sleep(20);
      client.destroy();
      await assert.rejects(pending, (e: unknown) => e instanceof ConnectionLostError && e.written);
      await assert.rejects(
        client.action("Ping"),
        (e: unknown) => e instanceof ConnectionLostError && !e.written,
      );
      assert.equal(client.state, "closed");
      const end = await within(stream.next(), 1_000, "the stream ends with the client");
      assert.equal(end.done, true);
      // await using closes (logs off) at the end of the scope.
      let ref: Client | undefined;
      {
        await using scoped = await connect(simOptions(sim));
        ref = scoped;
        assert.equal(ref.state, "ready");
      }
      assert.equal(ref.state, "closed");
    });
  });
});
