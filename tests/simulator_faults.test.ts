import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { readFileSync } from "node:fs";
import { AmiSimulator, ManualClock } from "../testing/mod.ts";
import { RawClient, settle } from "./_simulator_client.ts";

const TLS_DIR = new URL("./fixtures/tls/", import.meta.url);

describe("simulator faults", () => {
  test("stall holds output and input without closing; resuming delivers it", async () => {
    const sim = await AmiSimulator.start();
    try {
      const c = await RawClient.login(sim.port);
      sim.stall(true);
      c.send("Action: Ping\r\nActionID: p\r\n\r\n");
      sim.emit([["Event", "Custom"], ["Privilege", "user,all"]]);
      await settle(60);
      assert.equal(c.messages.filter((m) => m.actionId === "p").length, 0);
      assert.equal(c.events("Custom").length, 0);
      assert.equal(c.ended, false);
      sim.stall(false);
      await c.response("p");
      await c.find((m) => m.name === "Custom");
      await c.close();
    } finally {
      await sim.stop();
    }
  });

  test("halfClose sends FIN; dropSession closes one session only", async () => {
    const sim = await AmiSimulator.start();
    try {
      const a = await RawClient.login(sim.port);
      const b = await RawClient.login(sim.port);
      sim.dropSession(sim.sessions[0].id);
      await a.closed;
      assert.equal(b.ended, false);
      sim.halfClose();
      await b.until(() => b.ended);
      await b.close();
    } finally {
      await sim.stop();
    }
  });

  test("sendRaw to one session: a cut message completes with the next bytes", async () => {
    const sim = await AmiSimulator.start();
    try {
      const a = await RawClient.login(sim.port);
      const b = await RawClient.login(sim.port);
      const target = sim.sessions[1].id;
      sim.sendRaw("Event: Cut\r\nPrivilege: user,all\r\nHalf: ", target);
      await settle();
      assert.equal(b.events("Cut").length, 0);
      sim.sendRaw("done\r\n\r\n", target);
      const cut = await b.find((m) => m.name === "Cut");
      assert.equal(cut.get("Half"), "done");
      assert.equal(a.events("Cut").length, 0);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await sim.stop();
    }
  });

  test("delayResponses delays responses on the simulator clock", async () => {
    const clock = new ManualClock();
    const sim = await AmiSimulator.start({ clock });
    try {
      const c = await RawClient.login(sim.port);
      sim.delayResponses(500);
      c.send("Action: Ping\r\nActionID: slow\r\n\r\n");
      await settle();
      assert.equal(c.messages.filter((m) => m.actionId === "slow").length, 0);
      clock.advance(500);
      await c.response("slow");
      await c.close();
    } finally {
      await sim.stop();
    }
  });

  test("reorder lets events overtake the response", async () => {
    const sim = await AmiSimulator.start();
    try {
      const c = await RawClient.login(sim.port);
      sim.reorder(true);
      c.send(
        "Action: Originate\r\nActionID: o\r\nChannel: Local/300@lab\r\nApplication: Wait\r\nData: 1\r\nAsync: true\r\n\r\n",
      );
      const r = await c.response("o");
      const first = c.messages.findIndex((m) => m.name === "Newchannel");
      assert.ok(first >= 0 && first < c.messages.indexOf(r), "an event came before the response");
      await c.close();
    } finally {
      await sim.stop();
    }
  });

  test("refuseConnections closes new connections for a while", async () => {
    const sim = await AmiSimulator.start();
    try {
      sim.refuseConnections(200);
      const s = net.connect({ host: "127.0.0.1", port: sim.port });
      s.on("error", () => {});
      await new Promise<void>((resolve) => s.on("close", () => resolve()));
      assert.equal(sim.stats.refused, 1);
      await settle(220);
      const c = await RawClient.connect(sim.port);
      assert.equal(c.banner, "Asterisk Call Manager/13.0.0");
      await c.close();
    } finally {
      await sim.stop();
    }
  });

  test("writetimeout: a client that does not read is disconnected during a flood", async () => {
    const sim = await AmiSimulator.start({ writeTimeoutMs: 100 });
    try {
      const c = await RawClient.login(sim.port);
      c.socket.pause(); // stop reading
      await sim.flood({ count: 200_000 }); // ~80 MB: far more than the socket buffers hold
      assert.equal(sim.stats.writeTimeouts, 1);
      assert.ok(sim.stats.bytesSent < 40_000_000, `sent ${sim.stats.bytesSent}`);
      c.socket.resume();
      await c.closed; // what was buffered is read, then the close
    } finally {
      await sim.stop();
    }
  });

  test("writetimeout: a client that keeps reading is never cut off by a flood", async () => {
    const sim = await AmiSimulator.start({ writeTimeoutMs: 100 });
    try {
      const c = await RawClient.login(sim.port);
      let received = 0;
      c.socket.removeAllListeners("data");
      c.socket.on("data", (chunk: Uint8Array) => {
        received += chunk.length;
      });
      const before = sim.stats.bytesSent;
      await sim.flood({ count: 200_000 }); // ~80 MB, as fast as the socket takes it
      const flooded = sim.stats.bytesSent - before;
      const end = performance.now() + 10_000;
      while (received < flooded && performance.now() < end) await settle(20);
      assert.equal(sim.stats.writeTimeouts, 0);
      assert.equal(sim.sessionCount, 1);
      assert.ok(received >= flooded, `received ${received} of ${flooded}`);
      await c.close();
    } finally {
      await sim.stop();
    }
  });

  test("flood at a rate spreads the events over time", async () => {
    const sim = await AmiSimulator.start();
    try {
      const c = await RawClient.login(sim.port);
      const t0 = performance.now();
      await sim.flood({ count: 200, ratePerSec: 2000 });
      const ms = performance.now() - t0;
      await c.until(() => c.events("Newexten").length === 200);
      assert.ok(ms >= 70, `took ${ms} ms`);
      await c.close();
    } finally {
      await sim.stop();
    }
  });

  test("TLS: login over a TLS socket with the test certificate", async () => {
    const cert = readFileSync(new URL("cert.pem", TLS_DIR), "utf8");
    const key = readFileSync(new URL("key.pem", TLS_DIR), "utf8");
    const sim = await AmiSimulator.start({ tls: { cert, key } });
    try {
      const c = await RawClient.connect(sim.port, { tls: { ca: cert } });
      assert.equal(c.banner, "Asterisk Call Manager/13.0.0");
      c.send("Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: amp111\r\n\r\n");
      assert.equal((await c.response("l")).get("Response"), "Success");
      await c.close();
    } finally {
      await sim.stop();
    }
  });
});
