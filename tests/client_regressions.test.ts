/**
 * Regression tests over loopback for the reconnect defects the supervisor
 * fixed (ARCHITECTURE.md invariants 11 and 14), on each runtime: parallel
 * reconnect loops after a close in the login read, timer busy-loops on long
 * deadlines, the login deadline eaten by the connect, and iterator drops
 * that were counted but never reported.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { type ClientOptions, connect, connectWith, type TransportConnector } from "../mod.ts";
import { defaultConnector } from "../adapters/mod.ts";
import { simOptions, sleep, until, within, withSim } from "./_client.ts";
import { advance, MemoryNet } from "./_memory_net.ts";
import { ManualClock } from "../testing/clock.ts";
import { createClusterWith } from "../client/cluster.ts";
import {
  AbortedError,
  ConnectError,
  ConnectionLostError,
  NotReadyError,
  originateFailure,
} from "../core/mod.ts";

/**
 * A fake AMI server: the connections numbered in `bad` get the login's
 * Success followed, in the same write, by an ActionID line over the
 * client's bound (so the session closes in the read that logged it in); the others send a
 * numbered event every 10 ms, and the first one is closed by the server
 * after 5 events.
 */
async function fakeServer(bad: readonly number[]) {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let maxOpen = 0;
  let seq = 0;
  const timers = new Set<ReturnType<typeof setInterval>>();
  const server = net.createServer((socket) => {
    const n = ++connections;
    sockets.add(socket);
    maxOpen = Math.max(maxOpen, sockets.size);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.write("Asterisk Call Manager/9.0.0\r\n");
    let buf = "";
    socket.on("data", (chunk: Uint8Array) => {
      buf += new TextDecoder().decode(chunk);
      const m = /Action: Login\r\nActionID: ([^\r]+)/i.exec(buf);
      if (m === null) return;
      buf = "";
      const ok = `Response: Success\r\nActionID: ${
        m[1]
      }\r\nMessage: Authentication accepted\r\n\r\n`;
      if (bad.includes(n)) {
        // An ActionID line over the bound: its owner cannot be known, so the session closes.
        socket.write(ok + "Response: Success\r\nActionID: " + "X".repeat(2_000) + "\r\n\r\n");
        return;
      }
      socket.write(ok);
      let mine = 0;
      const t = setInterval(() => {
        if (socket.destroyed) return;
        socket.write(`Event: Tick\r\nSeq: ${++seq}\r\n\r\n`);
        if (n === 1 && ++mine === 5) socket.destroy();
      }, 10);
      timers.add(t);
      socket.on("close", () => {
        clearInterval(t);
        timers.delete(t);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    get maxOpen() {
      return maxOpen;
    },
    get sent() {
      return seq;
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Collects LogTape records of the given category for the duration of `fn`. */
async function withLogs<T>(fn: (records: LogRecord[]) => Promise<T>): Promise<T> {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { mem: (r) => records.push(r) },
    loggers: [
      { category: ["amikit"], sinks: ["mem"], lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "error" },
    ],
  });
  try {
    return await fn(records);
  } finally {
    await reset();
  }
}

describe("client regressions over loopback", () => {
  test("a close in the login's read, three times in a row: one session at a time, each event once, nothing left after destroy", async () => {
    const srv = await fakeServer([2, 3, 4]);
    const options: ClientOptions = {
      host: "127.0.0.1",
      port: srv.port,
      username: "u",
      secret: "s",
      keepaliveIdleMs: 0,
      parser: { maxLineBytes: 1_024 },
      reconnect: { minDelayMs: 10, maxDelayMs: 40, random: () => 0.5 },
    };
    const client = await connect(options);
    const seqs: number[] = [];
    client.on("Tick", (e) => {
      seqs.push(Number(e.get("Seq")));
    });
    try {
      await within(
        until(() => srv.connections >= 5 && seqs.length >= 25, 5_000, "events"),
        6_000,
        "up",
      );
      await sleep(100);
      assert.equal(srv.maxOpen, 1, "never two sessions at once");
      assert.equal(srv.open, 1);
      assert.equal(new Set(seqs).size, seqs.length, "each event once");
      assert.equal(client.stats().attempts, 5);
    } finally {
      client.destroy();
    }
    await within(until(() => srv.open === 0, 2_000, "sockets closed"), 3_000, "closed");
    const after = seqs.length;
    await sleep(60);
    assert.equal(seqs.length, after, "no event reaches a listener after destroy");
    await srv.stop();
  });

  test("an idle client with a 30-day action pending and one waiting with Infinity arms no busy timer", async () => {
    await withSim(async (sim) => {
      const client = await connect(simOptions(sim));
      sim.delayResponses(60 * 60 * 1_000); // the slow action is never answered while we watch
      try {
        const slow = client.action("Ping", undefined, { timeoutMs: 30 * 24 * 3_600_000 });
        slow.catch(() => {});
        await sleep(1_500);
        assert.equal(client.stats().timerWakeups, 0, "30-day deadline: no wake-up");
      } finally {
        client.destroy();
      }
    });
    // Waiting for a connection with no deadline, while the server refuses.
    const srv = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const { nodeClient } = await import("../client/client.ts");
    const { client, start } = nodeClient({
      host: "127.0.0.1",
      port,
      username: "u",
      secret: "s",
      reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 },
    }, { connector: defaultConnector() });
    start();
    try {
      const waiting = client.action("Ping", undefined, {
        timeoutMs: Infinity,
        waitForConnection: true,
      });
      waiting.catch(() => {});
      await sleep(300);
      const before = client.stats().timerWakeups;
      await sleep(1_500);
      assert.equal(client.stats().waitingActions, 1);
      assert.equal(client.stats().timerWakeups, before, "Infinity: no wake-up");
    } finally {
      client.destroy();
    }
  });

  test("the login deadline starts once the transport is up (a slow connect does not eat it)", async () => {
    await withSim(async (sim) => {
      const slow: TransportConnector = async (options, handlers) => {
        await sleep(300);
        return defaultConnector()(options, handlers);
      };
      const client = await connectWith(slow, simOptions(sim, { loginTimeoutMs: 250 }));
      assert.equal(client.state, "ready");
      await assert.rejects(
        client.start(),
        /already/,
        "a second start() is refused, not left hanging",
      );
      client.destroy();
    });
  });

  test("a slow iterator's drops are counted in stats and logged as one summary, not per drop", async () => {
    await withLogs(async (records) => {
      await withSim(async (sim) => {
        const client = await connect(simOptions(sim));
        try {
          const stream = client.events({ capacity: 5 });
          for (let i = 0; i < 50; i++) {
            await client.action("UserEvent", { UserEvent: "Tick", N: String(i) });
          }
          await until(() => stream.dropped >= 40, 2_000, "drops");
          assert.equal(client.stats().streamDrops, stream.dropped);
          stream.close();
          assert.equal(client.stats().streamDrops, stream.dropped, "kept after close");
          const summaries = records.filter((r) =>
            r.category.join(".") === "amikit.events" && r.level === "warning"
          );
          assert.ok(
            summaries.length >= 1 && summaries.length <= 2,
            `${summaries.length} summaries`,
          );
          const total = summaries.reduce((n, r) => n + Number(r.properties.dropped), 0);
          assert.equal(total, stream.dropped, "the summaries add up to the drops");
        } finally {
          client.destroy();
        }
      });
    });
  });

  test("async listeners are not awaited: a slow one delays nothing, events() is the bounded path", async () => {
    await withSim(async (sim) => {
      const client = await connect(simOptions(sim));
      try {
        let started = 0;
        let finished = 0;
        client.on("UserEvent", async () => {
          started++;
          await sleep(200);
          finished++;
        });
        const t0 = performance.now();
        for (let i = 0; i < 5; i++) await client.action("UserEvent", { UserEvent: "X" });
        await until(() => started === 5, 1_000, "all started");
        assert.equal(finished, 0, "none awaited before the next event");
        assert.ok(performance.now() - t0 < 1_000);
      } finally {
        client.destroy();
      }
    });
  });
});

describe("aborting an action over loopback", () => {
  test("an aborted written action frees its in-flight slot at once; its late answer is an orphan", async () => {
    await withSim(async (sim) => {
      const client = await connect(simOptions(sim, { maxInFlight: 1 }));
      try {
        sim.delayResponses(300);
        const ac = new AbortController();
        const slow = client.action("Ping", undefined, { signal: ac.signal });
        await sleep(50); // written
        ac.abort();
        await assert.rejects(slow, (e: Error & { written?: boolean }) => {
          assert.equal(e.name, "AbortedError");
          assert.equal(e.written, true);
          return true;
        });
        const next = client.action("Ping"); // the slot is free: no maxInFlight error
        sim.delayResponses(0);
        assert.equal((await next).kind, "response");
        await until(() => (client.stats().session?.orphans ?? 0) >= 1, 2_000, "late answer");
        assert.equal(client.stats().session?.actionsAborted, 1);
        assert.equal(client.stats().abandoned, 1);
      } finally {
        client.destroy();
      }
    });
  });
});

/** A cluster on a manual clock over the in-memory network; `refusing` nodes always refuse. */
function memoryCluster(nodes: readonly string[], refusing: readonly string[]) {
  const clock = new ManualClock();
  const net = new MemoryNet(() => clock.now());
  for (const n of refusing) net.schedule.set(n, Array(100).fill("refuse"));
  const cluster = createClusterWith(net.connector, {
    clock,
    defaults: { username: "u", secret: "s", keepaliveIdleMs: 0 },
    nodes: Object.fromEntries(nodes.map((n) => [n, { host: n }])),
  });
  return { clock, cluster };
}

describe("typed errors", () => {
  test("Originate Reason codes translate to outcomes a dialer records", () => {
    const kinds = ["0", "1", "3", "5", "8", "4", "x", undefined].map((r) => originateFailure(r));
    assert.deepEqual(kinds.map((k) => k.kind), [
      "failed",
      "hungUp",
      "noAnswer",
      "busy",
      "congestion",
      "other",
      "other",
      "other",
    ]);
    assert.deepEqual(kinds.map((k) => k.code), [0, 1, 3, 5, 8, 4, undefined, undefined]);
  });

  test("a name that does not resolve is a ConnectError with reason dns", async () => {
    await assert.rejects(
      connect({ host: "nonexistent.invalid", username: "u", secret: "s" }),
      (e: unknown) => e instanceof ConnectError && e.reason === "dns",
    );
  });

  test("cluster.ready() past its deadline is a NotReadyError naming the missing nodes", async () => {
    const { clock, cluster } = memoryCluster(["up", "down"], ["down"]);
    const ready = cluster.ready({ timeoutMs: 5_000 });
    ready.catch(() => {});
    await advance(clock, 6_000);
    await assert.rejects(ready, (e: unknown) => {
      assert.ok(e instanceof NotReadyError);
      assert.equal(e.code, "ERR_NOT_READY");
      assert.deepEqual(e.nodes, ["down"]);
      return true;
    });
    cluster.destroy();
  });

  test("AbortedError and ConnectionLostError name their action and a typed reason", async () => {
    const { clock, cluster } = memoryCluster(["a"], ["a"]);
    await advance(clock, 10);
    const lost = await cluster.action("a", "Ping").catch((e) => e);
    assert.ok(lost instanceof ConnectionLostError);
    assert.equal(lost.reason, "connecting");
    assert.equal(lost.action, "Ping");
    const ac = new AbortController();
    const waiting = cluster.action("a", "Ping", undefined, {
      waitForConnection: true,
      signal: ac.signal,
    });
    ac.abort();
    const aborted = await waiting.catch((e) => e);
    assert.ok(aborted instanceof AbortedError);
    assert.equal(aborted.action, "Ping");
    assert.equal(aborted.written, false);
    cluster.destroy();
  });
});
