/**
 * Test helpers for the gateway: a NATS server, a simulator, gateways and a
 * remote client wired together, all stopped after.
 *
 * @module
 */

import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type Gateway, type GatewayOptions, startGateway } from "../gateway/gateway.ts";
import { compilePolicy } from "../gateway/policy.ts";
import { connectRemote, type RemoteCluster, type RemoteOptions } from "../gateway/remote.ts";
import { AmiSimulator, type SimulatorOptions } from "../testing/mod.ts";
import { type NatsServer, startNatsServer } from "./_nats_server.ts";
import { simOptions } from "./_client.ts";

/** The AMI secret the gateway logs in with (never to appear on NATS). */
export const AMI_SECRET = "amp111";

/** What {@link withFleet} hands the test. */
export interface Fleet {
  readonly nats: NatsServer;
  readonly sims: Record<string, AmiSimulator>;
  /** Starts a gateway on its own NATS connection (closed after the test). */
  gateway(over?: Partial<GatewayOptions>): Promise<Gateway>;
  /** A remote client on its own NATS connection (closed after the test). */
  remote(over?: Partial<RemoteOptions>): Promise<RemoteCluster>;
  /** A bare NATS connection (closed after the test). */
  connection(options?: Record<string, unknown>): Promise<NatsConnection>;
}

/** Everything allowed (the tests of #17 narrow it). */
export const OPERATOR_POLICY = compilePolicy({
  identities: { "*": { nodes: ["*"], actions: ["*"], classes: ["all"] } },
});

/** Fast lease timing for tests. */
export const FAST_LEASE = { ttlMs: 1500, retryEveryMs: 150, renewEveryMs: 300 } as const;

/**
 * Runs `fn` with a NATS server and one simulator per node; stops everything after.
 *
 * @param nodes node names
 * @param fn the test
 * @param simOptionsOver simulator options
 */
export async function withFleet(
  nodes: readonly string[],
  fn: (fleet: Fleet) => Promise<void>,
  simOptionsOver: SimulatorOptions = {},
): Promise<void> {
  const nats = await startNatsServer();
  const sims: Record<string, AmiSimulator> = {};
  const closers: Array<() => Promise<unknown>> = [];
  try {
    for (const n of nodes) {
      sims[n] = await AmiSimulator.start({ loginFailureDelayMs: 20, ...simOptionsOver });
    }
    const connection = async (options: Record<string, unknown> = {}) => {
      const nc = await connect({ servers: nats.url, reconnectTimeWait: 100, ...options });
      closers.push(() => nc.close());
      return nc;
    };
    const fleet: Fleet = {
      nats,
      sims,
      connection,
      async gateway(over = {}) {
        const nc = over.nats ?? await connection();
        const g = await startGateway({
          nats: nc,
          nodes: Object.fromEntries(nodes.map((n) => [n, simOptions(sims[n])])),
          lease: FAST_LEASE,
          stream: { storage: "memory", maxBytes: 32 * 1024 * 1024 },
          heartbeatMs: 200,
          policy: OPERATOR_POLICY,
          ...over,
        });
        closers.push(() => g.close(200));
        return g;
      },
      async remote(over = {}) {
        const nc = over.nats ?? await connection();
        const r = await connectRemote({ nats: nc, nodes, stateStaleMs: 1000, ...over });
        closers.push(() => r.close());
        return r;
      },
    };
    await fn(fleet);
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
    for (const s of Object.values(sims)) await s.stop();
    await nats.stop();
  }
}

/** A policy that allows everything, as a plain config (JSON). */
export const OPERATOR_POLICY_CONFIG = {
  identities: { "*": { nodes: ["*"], actions: ["*"], classes: ["all"] } },
};

/**
 * Writes `nodes.json` (one node, pbx1, at `port`, admin/amp111, mode 600) and
 * `policy.json` into a new temporary folder, for `amikit gateway`.
 *
 * @param port the AMI port of pbx1
 * @param policy the policy config (default: everything allowed)
 * @returns the folder
 */
export function gatewayFiles(port: number, policy: unknown = OPERATOR_POLICY_CONFIG): string {
  const dir = mkdtempSync(join(tmpdir(), "amikit-gw-"));
  writeFileSync(
    join(dir, "nodes.json"),
    JSON.stringify({
      nodes: [{ name: "pbx1", host: "127.0.0.1", port, username: "admin", secret: AMI_SECRET }],
    }),
  );
  chmodSync(join(dir, "nodes.json"), 0o600);
  writeFileSync(join(dir, "policy.json"), JSON.stringify(policy));
  return dir;
}
