/**
 * The gateway end to end on a real nats-server (JetStream) and the AMI
 * simulator: events arrive complete and in order per node; an action round
 * trip for each completion kind; a typed error, a deadline and an abort
 * cross the wire; a refused action never reaches the PBX; secrets are in no
 * published message; a durable consumer resumes where it stopped.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AbortedError,
  ActionError,
  ActionTimeoutError,
  type AmiMessage,
  GatewayError,
  PermissionError,
} from "../core/mod.ts";
import { LAB_DIALPLAN, noAnswer } from "../testing/mod.ts";
import type { Header } from "../core/message.ts";
import { compilePolicy } from "../gateway/policy.ts";
import { AMI_SECRET, withFleet } from "./_gateway.ts";
import { until, within } from "./_client.ts";

const DIALPLAN = { lab: { ...LAB_DIALPLAN.lab, "500": noAnswer() } };

function userEvent(i: number): Header[] {
  return [
    ["Event", "UserEvent"],
    ["Privilege", "user,all"],
    ["UserEvent", "Seq"],
    ["N", String(i)],
    ["Variable", "A=1"],
    ["Variable", "B=2"],
    ["mixedCase", "x"],
  ];
}

describe("gateway", () => {
  test("events arrive complete and in order, per node", async () => {
    await withFleet(["pbx1", "pbx2"], async ({ sims, gateway, remote }) => {
      await gateway();
      const r = await remote();
      await within(r.ready({ timeoutMs: 8000 }), 10_000, "nodes ready");
      const got: Record<string, AmiMessage[]> = { pbx1: [], pbx2: [] };
      r.on("UserEvent", (e, node) => {
        got[node].push(e);
      });
      const N = 300;
      for (let i = 0; i < N; i++) {
        sims.pbx1.emit(userEvent(i));
        sims.pbx2.emit(userEvent(1000 + i));
      }
      await until(() => got.pbx1.length === N && got.pbx2.length === N, 10_000, "every event");
      for (const [node, base] of [["pbx1", 0], ["pbx2", 1000]] as const) {
        assert.deepEqual(
          got[node].map((e) => Number(e.get("N"))),
          [...Array(N).keys()].map((i) => i + base),
        );
        const first = got[node][0];
        assert.deepEqual(
          first.headers.map(([k]) => k),
          ["Event", "Privilege", "UserEvent", "N", "Variable", "Variable", "mixedCase"],
        );
        assert.deepEqual(
          first.headers.filter(([k]) => k === "Variable").map(([, v]) => v),
          ["A=1", "B=2"],
        );
      }
      assert.equal(r.stats().missed, 0);
    }, { dialplan: DIALPLAN });
  });

  test("an action round trip for each completion kind; typed errors, deadline and abort cross the wire", async () => {
    await withFleet(["pbx1"], async ({ sims, gateway, remote }) => {
      await gateway();
      const r = await remote();
      await within(r.ready({ timeoutMs: 8000 }), 10_000, "ready");

      const ping = await r.action("pbx1", "Ping");
      assert.equal(ping.kind, "response");
      assert.equal(ping.response.get("Ping"), "Pong");

      const list = await r.action("pbx1", "CoreShowChannels");
      assert.equal(list.kind, "eventList");
      assert.equal(list.complete.name, "CoreShowChannelsComplete");

      const cmd = await r.action("pbx1", "Command", { Command: "core show version" });
      assert.equal(cmd.kind, "command");
      assert.ok(cmd.output.length > 0);

      const orig = await r.action("pbx1", "Originate", {
        Channel: "Local/100@lab",
        Application: "Wait",
        Data: "1",
        Async: "true",
      });
      assert.equal(orig.kind, "originate");
      assert.equal(orig.event.get("Response"), "Success");

      await assert.rejects(
        r.action("pbx1", "Hangup", { Channel: "Local/nobody@lab-00000000;1" }),
        (e: unknown) => {
          assert.ok(e instanceof ActionError, String(e));
          assert.equal(e.code, "ERR_ACTION");
          assert.equal(e.action, "Hangup");
          assert.equal(e.response?.get("Response"), "Error");
          return true;
        },
      );

      // The deadline crosses: the gateway's client times out, written honest.
      await assert.rejects(
        r.action("pbx1", "Originate", {
          Channel: "Local/500@lab",
          Application: "Wait",
          Data: "1",
          Async: "true",
        }, { timeoutMs: 300 }),
        (e: unknown) => {
          assert.ok(e instanceof ActionTimeoutError, String(e));
          assert.equal(e.written, true);
          return true;
        },
      );

      // Abort crosses: the gateway aborts its own action.
      const ac = new AbortController();
      const pending = r.action("pbx1", "Originate", {
        Channel: "Local/500@lab",
        Application: "Wait",
        Data: "1",
        Async: "true",
      }, { timeoutMs: 10_000, signal: ac.signal });
      setTimeout(() => ac.abort(), 100);
      await assert.rejects(pending, (e: unknown) => {
        assert.ok(e instanceof AbortedError, String(e));
        assert.equal(e.written, true);
        return true;
      });
      assert.ok(sims.pbx1.stats.actions > 0);
    }, { dialplan: DIALPLAN });
  });

  test("a refused action is answered at once with PermissionError and never reaches the PBX", async () => {
    await withFleet(["pbx1"], async ({ sims, gateway, remote }) => {
      await gateway({
        policy: compilePolicy({
          identities: { "*": { nodes: ["*"], actions: ["Ping"], classes: ["all"] } },
        }),
      });
      const r = await remote();
      await within(r.ready({ timeoutMs: 8000 }), 10_000, "ready");
      const before = sims.pbx1.stats.actions;
      await assert.rejects(
        r.action("pbx1", "Originate", { Channel: "Local/100@lab", Application: "Wait", Data: "1" }),
        (e: unknown) => {
          assert.ok(e instanceof PermissionError, String(e));
          assert.equal(e.code, "ERR_PERMISSION");
          assert.equal(e.node, "pbx1");
          assert.equal(e.written, false);
          return true;
        },
      );
      assert.equal(sims.pbx1.stats.actions, before);
    }, { dialplan: DIALPLAN });
  });

  test("caps: a request over the size cap and one over the concurrency cap are refused, never written", async () => {
    await withFleet(["pbx1"], async ({ sims, gateway, remote }) => {
      await gateway({ maxRequestBytes: 2048, maxInFlight: 1 });
      const r = await remote();
      await within(r.ready({ timeoutMs: 8000 }), 10_000, "ready");
      const before = sims.pbx1.stats.actions;
      await assert.rejects(
        r.action("pbx1", "UserEvent", { UserEvent: "Big", Data: "x".repeat(4000) }),
        (e: unknown) => {
          assert.ok(e instanceof GatewayError, String(e));
          assert.equal(e.reason, "tooLarge");
          assert.equal(e.written, false);
          return true;
        },
      );
      assert.equal(sims.pbx1.stats.actions, before);
      const slow = r.action("pbx1", "Originate", {
        Channel: "Local/500@lab",
        Application: "Wait",
        Data: "1",
        Async: "true",
      }, { timeoutMs: 1500 });
      await new Promise((res) => setTimeout(res, 100));
      await assert.rejects(r.action("pbx1", "Ping"), (e: unknown) => {
        assert.ok(e instanceof GatewayError, String(e));
        assert.equal(e.reason, "busy");
        assert.equal(e.written, false);
        return true;
      });
      await assert.rejects(slow, ActionTimeoutError);
      const ping = await r.action("pbx1", "Ping");
      assert.equal(ping.kind, "response", "the slot is free again");
    }, { dialplan: DIALPLAN });
  });

  test("two gateways started together share two nodes, one each", async () => {
    // "Together" is within the first decision's wait (one retry interval after a gateway's
    // heartbeat key is written): 1 s here, so that a start slowed by a loaded machine (NATS
    // connect, bucket open) still counts; with 150 ms one gateway sometimes took both.
    const lease = { ttlMs: 3000, retryEveryMs: 1000, renewEveryMs: 600 };
    await withFleet(["pbx1", "pbx2"], async ({ gateway }) => {
      const [a, b] = await Promise.all([
        gateway({ id: "ga", lease }),
        gateway({ id: "gb", lease }),
      ]);
      await until(
        () => a.held().length + b.held().length === 2,
        10_000,
        "both nodes held",
      );
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual([a.held().length, b.held().length], [1, 1]);
    });
  });

  test("no gateway for a node: GatewayError noGateway, never written", async () => {
    await withFleet(["pbx1"], async ({ remote }) => {
      const r = await remote();
      await assert.rejects(r.action("pbx1", "Ping"), (e: unknown) => {
        assert.ok(e instanceof GatewayError, String(e));
        assert.equal(e.reason, "noGateway");
        assert.equal(e.written, false);
        return true;
      });
    });
  });

  test("secrets never published: not in events, replies or state, under any name", async () => {
    await withFleet(["pbx1"], async ({ sims, gateway, remote, connection }) => {
      const sniffer = await connection();
      const seen: string[] = [];
      sniffer.subscribe(">", {
        callback: (_err, msg) => {
          seen.push(msg.subject + " " + new TextDecoder().decode(msg.data));
        },
      });
      await sniffer.flush();
      await gateway();
      const r = await remote();
      await within(r.ready({ timeoutMs: 8000 }), 10_000, "ready");
      const got: AmiMessage[] = [];
      r.on("UserEvent", (e) => {
        got.push(e);
      });
      sims.pbx1.emit([["Event", "UserEvent"], ["UserEvent", "Leak"], ["Secret", "s3"], [
        "Note",
        `the password is ${AMI_SECRET}`,
      ]]);
      await until(() => got.length === 1, 5000, "event");
      assert.equal(got[0].get("Secret"), "[REDACTED]");
      assert.equal(got[0].get("Note"), "the password is [REDACTED]");
      await r.action("pbx1", "Ping");
      assert.ok(seen.length > 5, `saw ${seen.length} messages`);
      for (const m of seen) assert.ok(!m.includes(AMI_SECRET), `secret in: ${m.slice(0, 200)}`);
    });
  });

  test("a durable consumer resumes where it stopped, with nothing lost or repeated", async () => {
    await withFleet(["pbx1"], async ({ sims, gateway, remote }) => {
      await gateway();
      const first = await remote({ durable: "worker", deliver: "all", ackWaitMs: 2000 });
      await within(first.ready({ timeoutMs: 8000 }), 10_000, "ready");
      const seen: number[] = [];
      first.on("UserEvent", (e) => {
        seen.push(Number(e.get("N")));
      });
      for (let i = 0; i < 50; i++) sims.pbx1.emit(userEvent(i));
      await until(() => seen.length === 50, 5000, "first 50");
      await first.close();
      await new Promise((r) => setTimeout(r, 200)); // acks reach the server
      for (let i = 50; i < 100; i++) sims.pbx1.emit(userEvent(i));
      const second = await remote({ durable: "worker" });
      second.on("UserEvent", (e) => {
        seen.push(Number(e.get("N")));
      });
      // Within the pull expiry plus the ack wait, whatever the old pull took.
      await until(() => seen.length >= 100, 10_000, "the next 50");
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(seen, [...Array(100).keys()]);
    }, { dialplan: DIALPLAN });
  });
});
