import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { AmiSimulator, ManualClock } from "../testing/mod.ts";
import { RawClient, settle } from "./_simulator_client.ts";

describe("simulator basics", () => {
  test("banner, login, Ping, logoff closes", async () => {
    const sim = await AmiSimulator.start();
    try {
      const c = await RawClient.connect(sim.port);
      assert.equal(c.banner, "Asterisk Call Manager/13.0.0");
      c.send("Action: Login\r\nActionID: l1\r\nUsername: admin\r\nSecret: amp111\r\n\r\n");
      const r = await c.response("l1");
      assert.equal(r.get("Response"), "Success");
      assert.equal(r.get("Message"), "Authentication accepted");
      await c.find((m) => m.name === "FullyBooted");
      c.send("action: ping\r\nactionid: p1\r\n\r\n");
      const p = await c.response("p1");
      assert.equal(p.get("Ping"), "Pong");
      assert.match(p.get("Timestamp")!, /^\d+\.\d{6}$/);
      c.send("Action: Logoff\r\nActionID: bye\r\n\r\n");
      const g = await c.response("bye");
      assert.equal(g.get("Response"), "Goodbye");
      await c.closed;
      assert.equal(sim.stats.logins, 1);
    } finally {
      await sim.stop();
    }
  });

  test("the answers to one read go out in one write, in order; Logoff in the same read still says Goodbye", async () => {
    const sim = await AmiSimulator.start();
    try {
      const c = await RawClient.login(sim.port);
      await c.find((m) => m.name === "FullyBooted");
      await settle();
      const reads = sim.stats.socketReads;
      const writes = sim.stats.socketWrites;
      let burst = "";
      for (let i = 0; i < 50; i++) burst += `Action: Ping\r\nActionID: b${i}\r\n\r\n`;
      c.send(burst + "Action: Logoff\r\nActionID: bye\r\n\r\n");
      await c.closed;
      const ids = c.messages.filter((m) => m.type === "response").map((m) => m.actionId);
      const want = ["login", ...Array.from({ length: 50 }, (_, i) => `b${i}`), "bye"];
      assert.deepEqual(ids, want);
      assert.equal(c.messages.at(-1)?.get("Response"), "Goodbye");
      const readsTaken = sim.stats.socketReads - reads;
      assert.ok(readsTaken >= 1);
      assert.equal(sim.stats.socketWrites - writes, readsTaken);
    } finally {
      await sim.stop();
    }
  });

  test("failed login answers after the configured delay and closes", async () => {
    const clock = new ManualClock();
    const sim = await AmiSimulator.start({ clock, loginFailureDelayMs: 1000 });
    try {
      const c = await RawClient.connect(sim.port);
      c.send("Action: Login\r\nActionID: bad\r\nUsername: admin\r\nSecret: nope\r\n\r\n");
      await settle();
      assert.equal(c.messages.length, 0);
      clock.advance(999);
      await settle();
      assert.equal(c.messages.length, 0);
      clock.advance(1);
      const r = await c.response("bad");
      assert.equal(r.get("Message"), "Authentication failed");
      await c.closed;
      assert.equal(sim.stats.loginFailures, 1);
    } finally {
      await sim.stop();
    }
  });

  test("MD5 challenge login", async () => {
    const sim = await AmiSimulator.start();
    try {
      const c = await RawClient.connect(sim.port);
      c.send("Action: Challenge\r\nActionID: ch\r\nAuthType: MD5\r\n\r\n");
      const ch = (await c.response("ch")).get("Challenge")!;
      assert.match(ch, /^\d+$/);
      const key = createHash("md5").update(ch + "amp111").digest("hex");
      c.send(
        `Action: Login\r\nActionID: l\r\nAuthType: MD5\r\nUsername: admin\r\nKey: ${key}\r\n\r\n`,
      );
      assert.equal((await c.response("l")).get("Response"), "Success");
      await c.close();
    } finally {
      await sim.stop();
    }
  });

  test("Command output lines and unknown CLI command", async () => {
    const sim = await AmiSimulator.start();
    try {
      const c = await RawClient.login(sim.port);
      c.send("Action: Command\r\nActionID: v\r\nCommand: core show version\r\n\r\n");
      const v = await c.response("v");
      assert.equal(v.get("Message"), "Command output follows");
      assert.match(v.get("Output")!, /^Asterisk /);
      c.send("Action: Command\r\nActionID: x\r\nCommand: this is not a cli command\r\n\r\n");
      const x = await c.response("x");
      assert.equal(x.get("Response"), "Error");
      assert.equal(
        x.get("Output"),
        "No such command 'this is not a cli command' (type 'core show help this is' for other possible commands)",
      );
      await c.close();
    } finally {
      await sim.stop();
    }
  });

  test("async Originate of Local/100@lab goes through a whole call on a manual clock", async () => {
    const clock = new ManualClock();
    const sim = await AmiSimulator.start({ clock, channelVariables: ["LABVAR"] });
    try {
      const c = await RawClient.login(sim.port);
      c.send(
        "Action: Originate\r\nActionID: o1\r\nChannel: Local/100@lab\r\nApplication: Wait\r\nData: 5\r\nAsync: true\r\n\r\n",
      );
      assert.equal((await c.response("o1")).get("Message"), "Originate successfully queued");
      const or = await c.find((m) => m.name === "OriginateResponse");
      assert.equal(or.get("Response"), "Success");
      assert.equal(or.get("Reason"), "4");
      assert.equal(or.actionId, "o1");
      assert.equal(sim.channels.length, 2);
      assert.equal(c.events("Hangup").length, 0);
      clock.advance(1999);
      await settle();
      assert.equal(c.events("Hangup").length, 0);
      clock.advance(1);
      await c.until(() => c.events("Cdr").length === 2);
      assert.deepEqual(c.events("Hangup").map((m) => m.get("Cause")), ["16", "16"]);
      assert.equal(sim.channels.length, 0);
      assert.equal(c.events("UserEvent")[0].getAll("Exten").length, 2);
      await c.close();
    } finally {
      await sim.stop();
    }
  });

  test("OriginateResponse reaches every session with call read, with the originator's ActionID", async () => {
    const sim = await AmiSimulator.start({
      users: [
        { username: "admin", secret: "amp111", read: "all", write: "all" },
        { username: "reader", secret: "r", read: "call", write: "" },
        { username: "sys", secret: "s", read: "system", write: "" },
      ],
    });
    try {
      const a = await RawClient.login(sim.port);
      const r = await RawClient.login(sim.port, "reader", "r");
      const s = await RawClient.login(sim.port, "sys", "s");
      r.send(
        "Action: Originate\r\nActionID: denied\r\nChannel: Local/300@lab\r\nApplication: Wait\r\nData: 1\r\n\r\n",
      );
      assert.equal((await r.response("denied")).get("Message"), "Permission denied");
      a.send(
        "Action: Originate\r\nActionID: busy-1\r\nChannel: Local/300@lab\r\nApplication: Wait\r\nData: 1\r\nAsync: yes\r\n\r\n",
      );
      const ev = await r.find((m) => m.name === "OriginateResponse");
      assert.equal(ev.actionId, "busy-1");
      assert.equal(ev.get("Response"), "Failure");
      assert.equal((await a.find((m) => m.name === "OriginateResponse")).actionId, "busy-1");
      await settle();
      assert.equal(s.events("OriginateResponse").length, 0);
      assert.equal(r.events("Newexten").length, 0, "dialplan class not readable by reader");
      await Promise.all([a.close(), r.close(), s.close()]);
    } finally {
      await sim.stop();
    }
  });

  test("dropAll and restart: sessions gone, new ones accepted on the same port", async () => {
    const sim = await AmiSimulator.start();
    try {
      const a = await RawClient.login(sim.port);
      sim.dropAll();
      await a.closed;
      const b = await RawClient.login(sim.port);
      const port = sim.port;
      await sim.restart();
      await b.closed;
      assert.equal(sim.port, port);
      const c = await RawClient.login(sim.port);
      assert.equal(sim.sessionCount, 1);
      await c.close();
    } finally {
      await sim.stop();
    }
  });

  test("flood delivers N events to a logged-in session", async () => {
    const sim = await AmiSimulator.start();
    try {
      const c = await RawClient.login(sim.port);
      const before = c.messages.length;
      const bytes = await sim.flood({ count: 5000 });
      assert.ok(bytes > 5000 * 300);
      await c.until(() => c.events("Newexten").length === 5000, 5000);
      assert.equal(c.messages.length - before, 5000);
      assert.equal(c.events("Newexten")[4999].get("AppData"), "SEQ=0000004999");
      assert.equal(c.events("Newexten")[0].get("Uniqueid"), "1795782235.0000000000");
      await c.close();
    } finally {
      await sim.stop();
    }
  });
});
