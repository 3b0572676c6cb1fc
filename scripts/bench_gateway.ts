/**
 * The gateway's figures, each measured side by side in one run on this
 * machine (a ratio is what transfers to another):
 * - events/s end to end (simulator -> gateway -> JetStream, file storage ->
 *   one durable consumer) against the in-process client on the same flood;
 * - actions/s (Ping) through the service at 1 and 100 in flight, against
 *   the in-process client;
 * - failover time over N kills (SIGKILL of the holding `amikit gateway`
 *   process until the other one's AMI session is logged in);
 * - CPU of an idle gateway holding one node.
 *
 * Needs `nats-server` on the PATH. Run: `deno run -A scripts/bench_gateway.ts
 * [--events 50000] [--kills 20] [--idle-s 10]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { Client } from "../client/client.ts";
import { defaultConnector } from "../adapters/mod.ts";
import { compilePolicy } from "../gateway/policy.ts";
import { startGateway } from "../gateway/gateway.ts";
import { connectRemote } from "../gateway/remote.ts";
import { AmiSimulator } from "../testing/mod.ts";
import { startNatsServer } from "../tests/_nats_server.ts";
import { processCpuMs, startScript } from "../tests/_spawn.ts";
import { simOptions, until } from "../tests/_client.ts";
import { gatewayFiles } from "../tests/_gateway.ts";
import { isMain } from "./_main.ts";

const OPEN = compilePolicy({
  identities: { "*": { nodes: ["*"], actions: ["*"], classes: ["all"] } },
});
const EVENT: [string, string][] = [
  ["Event", "Newexten"],
  ["Privilege", "dialplan,all"],
  ["Channel", "Local/100@lab-00000001;2"],
  ["ChannelState", "6"],
  ["ChannelStateDesc", "Up"],
  ["CallerIDNum", "<unknown>"],
  ["Context", "lab"],
  ["Exten", "100"],
  ["Priority", "2"],
  ["Uniqueid", "1700000000.12"],
  ["Linkedid", "1700000000.11"],
  ["Application", "Set"],
  ["AppData", "LABVAR=hello"],
];

/** One figure. */
export interface GatewayFigure {
  /** What was measured. */
  readonly name: string;
  /** The value. */
  readonly value: number;
  /** Its unit. */
  readonly unit: string;
}

async function eventsEndToEnd(count: number): Promise<GatewayFigure[]> {
  const nats = await startNatsServer();
  // The gateway runs in this process beside the simulator, so a slow turn of
  // the one event loop would look like a slow reader: Asterisk's writetimeout
  // is raised here (a real gateway is a process of its own).
  const sim = await AmiSimulator.start({ writeTimeoutMs: 60_000 });
  const nc = await connect({ servers: nats.url });
  const nc2 = await connect({ servers: nats.url });
  try {
    // In-process client on the same flood.
    const client = new Client(simOptions(sim, { node: "direct" }), defaultConnector());
    await client.start();
    let direct = 0;
    client.on("Newexten", () => {
      direct++;
    });
    let t0 = performance.now();
    await sim.flood({ count, event: EVENT });
    await until(() => direct >= count, 120_000, "in-process events");
    const directRate = count / ((performance.now() - t0) / 1000);
    await client.close();

    const gateway = await startGateway({
      nats: nc,
      nodes: { pbx1: simOptions(sim) },
      policy: OPEN,
      stream: { storage: "file", maxBytes: 2 * 1024 ** 3 },
    });
    await until(() => gateway.client("pbx1")?.state === "ready", 10_000, "gateway ready");
    const remote = await connectRemote({
      nats: nc2,
      nodes: ["pbx1"],
      durable: "bench",
      deliver: "new",
    });
    let via = 0;
    remote.on("Newexten", () => {
      via++;
    });
    await nc2.flush();
    await new Promise((r) => setTimeout(r, 500)); // the consumer's first pull
    t0 = performance.now();
    await sim.flood({ count, event: EVENT });
    await until(() => via >= count, 300_000, "events through the gateway");
    const viaRate = count / ((performance.now() - t0) / 1000);
    await remote.close();

    // Actions: Ping at 1 and 100 in flight, remote vs in-process.
    const figures: GatewayFigure[] = [
      { name: `events/s in-process client (${count} events)`, value: directRate, unit: "ev/s" },
      {
        name: "events/s through gateway + JetStream + durable consumer",
        value: viaRate,
        unit: "ev/s",
      },
      { name: "ratio gateway / in-process", value: viaRate / directRate, unit: "x" },
    ];
    const remote2 = await connectRemote({ nats: nc2, nodes: ["pbx1"] });
    const direct2 = new Client(simOptions(sim, { node: "direct2" }), defaultConnector());
    await direct2.start();
    for (const inFlight of [1, 100]) {
      for (
        const [label, send] of [
          ["in-process", () => direct2.action("Ping")],
          ["through the gateway", () => remote2.action("pbx1", "Ping")],
        ] as const
      ) {
        const total = inFlight === 1 ? 2000 : 20_000;
        let next = 0;
        const start = performance.now();
        await Promise.all(Array.from({ length: inFlight }, async () => {
          while (next++ < total) await send();
        }));
        figures.push({
          name: `actions/s ${label}, ${inFlight} in flight`,
          value: total / ((performance.now() - start) / 1000),
          unit: "act/s",
        });
      }
    }
    await direct2.close();
    await remote2.close();
    await gateway.close();
    return figures;
  } finally {
    await nc.close();
    await nc2.close();
    await sim.stop();
    await nats.stop();
  }
}

function gatewayProcess(dir: string, nats: string, id: string, ttl: number) {
  return startScript("cli/main", [
    "gateway",
    "-c",
    join(dir, "nodes.json"),
    "--nats",
    nats,
    "--id",
    id,
    "--lease-ttl",
    String(ttl),
    "--log-level",
    "error",
  ], { timeoutMs: 3_600_000 });
}

async function failover(kills: number, ttl: number): Promise<GatewayFigure[]> {
  const nats = await startNatsServer();
  const sim = await AmiSimulator.start({});
  const dir = gatewayFiles(sim.port);
  const procs = new Map<string, ReturnType<typeof gatewayProcess>>();
  const nc = await connect({ servers: nats.url });
  let holder = "";
  nc.subscribe("amikit.pbx1.state", {
    callback: (_e, m) => {
      const s = JSON.parse(new TextDecoder().decode(m.data));
      if (s.state === "ready") holder = s.gateway;
    },
  });
  const loggedIn = () => sim.sessions.filter((s) => s.username !== undefined).length;
  const times: number[] = [];
  try {
    procs.set("a", gatewayProcess(dir, nats.url, "a", ttl));
    procs.set("b", gatewayProcess(dir, nats.url, "b", ttl));
    await until(() => holder !== "" && loggedIn() === 1, 30_000, "first holder");
    for (let i = 0; i < kills; i++) {
      const victim = holder;
      holder = "";
      const t0 = performance.now();
      procs.get(victim)!.child.kill("SIGKILL");
      await until(() => loggedIn() === 0, 10_000, "the old session gone");
      await until(() => loggedIn() === 1 && holder !== "", 60_000, "takeover");
      times.push(performance.now() - t0);
      procs.set(victim, gatewayProcess(dir, nats.url, victim, ttl)); // back as the standby
      await new Promise((r) => setTimeout(r, 1500));
    }
  } finally {
    for (const p of procs.values()) p.child.kill("SIGKILL");
    await nc.close();
    await sim.stop();
    await nats.stop();
  }
  times.sort((a, b) => a - b);
  const pick = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return [
    {
      name: `failover median over ${kills} kills (lease TTL ${ttl} ms)`,
      value: pick(0.5),
      unit: "ms",
    },
    { name: `failover worst over ${kills} kills`, value: times[times.length - 1], unit: "ms" },
  ];
}

async function idleCpu(seconds: number): Promise<GatewayFigure[]> {
  const nats = await startNatsServer();
  const sim = await AmiSimulator.start({});
  const dir = gatewayFiles(sim.port);
  const p = gatewayProcess(dir, nats.url, "idle", 6000);
  try {
    await until(() => sim.sessions.some((s) => s.username !== undefined), 30_000, "holding");
    await new Promise((r) => setTimeout(r, 2000));
    const c0 = processCpuMs(p.child.pid!);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const c1 = processCpuMs(p.child.pid!);
    if (c0 === undefined || c1 === undefined) return [];
    return [{
      name: `idle gateway CPU, one node held (${seconds} s)`,
      value: ((c1 - c0) / (performance.now() - t0)) * 100,
      unit: "% of a core",
    }];
  } finally {
    p.child.kill("SIGKILL");
    await sim.stop();
    await nats.stop();
  }
}

/**
 * Runs the gateway benchmarks.
 *
 * @param options events flooded, kills, idle seconds
 * @returns the figures
 */
export async function benchGateway(
  options: { events?: number; kills?: number; idleS?: number; ttl?: number } = {},
): Promise<GatewayFigure[]> {
  const figures: GatewayFigure[] = [];
  figures.push(...await eventsEndToEnd(options.events ?? 50_000));
  figures.push(...await failover(options.kills ?? 20, options.ttl ?? 1500));
  figures.push(...await idleCpu(options.idleS ?? 10));
  return figures;
}

if (isMain(import.meta)) {
  const { values } = parseArgs({
    options: {
      events: { type: "string" },
      kills: { type: "string" },
      "idle-s": { type: "string" },
      ttl: { type: "string" },
    },
  });
  const figures = await benchGateway({
    events: values.events ? Number(values.events) : undefined,
    kills: values.kills ? Number(values.kills) : undefined,
    idleS: values["idle-s"] ? Number(values["idle-s"]) : undefined,
    ttl: values.ttl ? Number(values.ttl) : undefined,
  });
  console.log("| figure | value |\n| --- | --- |");
  for (const f of figures) {
    const v = f.value >= 100 ? Math.round(f.value).toLocaleString("en-US") : f.value.toFixed(2);
    console.log(`| ${f.name} | ${v} ${f.unit} |`);
  }
  process.exit(0);
}
