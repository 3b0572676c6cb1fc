/**
 * Who may do what, end to end (#17): a real nats-server with the accounts
 * and permissions `natsServerConfig` writes for the ready roles, a gateway
 * with a policy, the simulator as two PBXs, remote clients as each role.
 * A refusal, by NATS or by the gateway, is a `PermissionError` and the PBX
 * receives nothing; the dialer works on its node only and cannot read the
 * other node's events; `Command` is refused unless granted.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { PermissionError } from "../core/mod.ts";
import { startGateway } from "../gateway/gateway.ts";
import { natsServerConfig, READY_ROLES } from "../gateway/nats_permissions.ts";
import { compilePolicy, DEFAULT_POLICY, type Policy } from "../gateway/policy.ts";
import { connectRemote, type RemoteCluster } from "../gateway/remote.ts";
import { AmiSimulator, answerAndWait } from "../testing/mod.ts";
import { startNatsServer } from "./_nats_server.ts";
import { simOptions, until, within } from "./_client.ts";
import { FAST_LEASE } from "./_gateway.ts";

const DIALPLAN = { lab: { "100": answerAndWait(1) } };

/** The gateway's policy for the roles (as in the README's deployment section). */
const POLICY = compilePolicy({
  identities: {
    "DIAL/*": {
      nodes: ["pbx1"],
      actions: ["Originate", "Hangup", "Redirect"],
      classes: ["call", "originate"],
    },
    "MON/*": [],
    "LAX/*": [],
    "OPS/*": { nodes: ["*"], actions: ["*"], classes: ["all"] },
  },
});

const ORIGINATE = { Channel: "Local/100@lab", Application: "Wait", Data: "1", Async: "true" };

async function withAuthz(
  policy: Policy,
  fn: (t: {
    sims: Record<"pbx1" | "pbx2", AmiSimulator>;
    as: (user: string, nodes: string[]) => Promise<RemoteCluster>;
    raw: (user: string) => Promise<NatsConnection>;
  }) => Promise<void>,
): Promise<void> {
  const nats = await startNatsServer({
    fullConfig: (port, storeDir) =>
      natsServerConfig({
        port,
        storeDir,
        gateways: [{ user: "gw", password: "gw-pw" }],
        consumers: [
          {
            account: "DIAL",
            user: "dialer",
            password: "dialer-pw",
            role: READY_ROLES.dialer(["pbx1"]),
          },
          {
            account: "MON",
            user: "monitor",
            password: "monitor-pw",
            role: READY_ROLES.monitor(["pbx1"]),
          },
          {
            account: "OPS",
            user: "operator",
            password: "operator-pw",
            role: READY_ROLES.operator(),
          },
          {
            account: "LAX",
            user: "lax",
            password: "lax-pw",
            role: READY_ROLES.monitor(["pbx1"]),
            permissive: true,
          },
        ],
      }),
  });
  const sims = {
    pbx1: await AmiSimulator.start({ dialplan: DIALPLAN }),
    pbx2: await AmiSimulator.start({ dialplan: DIALPLAN }),
  };
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const gwc = await connect({ servers: nats.url, user: "gw", pass: "gw-pw" });
    closers.push(() => gwc.close());
    const gateway = await startGateway({
      nats: gwc,
      nodes: { pbx1: simOptions(sims.pbx1), pbx2: simOptions(sims.pbx2) },
      policy,
      lease: FAST_LEASE,
      stream: { storage: "memory", maxBytes: 32 * 1024 * 1024 },
      heartbeatMs: 200,
    });
    closers.push(() => gateway.close(200));
    await until(
      () => ["pbx1", "pbx2"].every((n) => gateway.client(n)?.state === "ready"),
      10_000,
      "the gateway holds both nodes, logged in",
    );
    const raw = async (user: string) => {
      const nc = await connect({ servers: nats.url, user, pass: `${user}-pw` });
      closers.push(() => nc.close());
      return nc;
    };
    const as = async (user: string, nodes: string[]) => {
      const r = await connectRemote({ nats: await raw(user), nodes, stateStaleMs: 1000 });
      closers.push(() => r.close());
      return r;
    };
    await fn({ sims, as, raw });
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
    await sims.pbx1.stop();
    await sims.pbx2.stop();
    await nats.stop();
  }
}

function refused(identity: string | RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof PermissionError, String(e));
    assert.equal(e.code, "ERR_PERMISSION");
    assert.equal(e.written, false);
    if (typeof identity === "string") assert.equal(e.identity, identity);
    else assert.match(e.identity, identity);
    return true;
  };
}

describe("gateway authorization on a real nats-server", () => {
  test("monitor: Originate refused by NATS, and by the gateway where NATS allows it; the PBX gets nothing", async () => {
    await withAuthz(POLICY, async ({ sims, as }) => {
      const before = sims.pbx1.stats.actions;
      const monitor = await as("monitor", ["pbx1"]);
      await assert.rejects(monitor.action("pbx1", "Originate", ORIGINATE), refused(""));
      const lax = await as("lax", ["pbx1"]);
      await assert.rejects(lax.action("pbx1", "Originate", ORIGINATE), refused("LAX/lax"));
      assert.equal(sims.pbx1.stats.actions, before, "no action reached the PBX");
    });
  });

  test("dialer granted pbx1: Originate works there, is refused on pbx2, and pbx2's events never reach it", async () => {
    await withAuthz(POLICY, async ({ sims, as, raw }) => {
      const dialer = await as("dialer", ["pbx1"]);
      await within(dialer.ready({ timeoutMs: 8000 }), 10_000, "pbx1 ready for the dialer");
      const res = await dialer.action("pbx1", "Originate", ORIGINATE);
      assert.equal(res.kind, "originate");
      const before2 = sims.pbx2.stats.actions;
      await assert.rejects(dialer.action("pbx2", "Originate", ORIGINATE), refused(""));
      assert.equal(sims.pbx2.stats.actions, before2);

      // A raw subscription to pbx2's events: denied, and nothing arrives.
      const nc = await raw("dialer");
      let got = 0;
      let denied: unknown;
      const sub = nc.subscribe("amikit.pbx2.event.>", {
        callback: (err) => {
          if (err) denied = err;
          else got++;
        },
      });
      await nc.flush();
      sims.pbx2.emit([["Event", "UserEvent"], ["UserEvent", "Secret"], ["N", "1"]]);
      await until(() => denied !== undefined || sub.isClosed(), 5000, "the subscription denied");
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(got, 0);
    });
  });

  test("Command is refused for every identity not granted command/system", async () => {
    await withAuthz(DEFAULT_POLICY, async ({ sims, as }) => {
      const before = sims.pbx1.stats.actions;
      const operator = await as("operator", ["pbx1"]);
      await assert.rejects(
        operator.action("pbx1", "Command", { Command: "core stop now" }),
        refused("OPS/operator"),
      );
      const lax = await as("lax", ["pbx1"]);
      await assert.rejects(
        lax.action("pbx1", "Command", { Command: "core stop now" }),
        refused("LAX/lax"),
      );
      assert.equal(sims.pbx1.stats.actions, before);
      // The default policy still lets an ordinary action through.
      const ping = await operator.action("pbx1", "Ping");
      assert.equal(ping.kind, "response");
    });
    await withAuthz(POLICY, async ({ as }) => {
      const operator = await as("operator", ["pbx1"]);
      const out = await operator.action("pbx1", "Command", { Command: "core show version" });
      assert.equal(out.kind, "command", "granted command: allowed");
    });
  });
});
