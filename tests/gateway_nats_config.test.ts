/**
 * The nats-server configuration (gateway/nats_permissions.ts) on the real
 * nats-server: the generated file passes `nats-server -t`, and a server
 * started from it on a free loopback port enforces the three roles: the
 * monitor cannot publish actions; the dialer reaches the gateway's account
 * for its node only, with the Nats-Request-Info that nats-server writes (a
 * forged one is overwritten), and cannot read another node's events; the
 * operator reaches every node. The gateway's policy then decides on the
 * identity each request carries. Fails (never skips) without nats-server.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import {
  type NatsConsumer,
  natsPermissions,
  natsRoleSubjects,
  natsServerConfig,
  type NatsServerConfigOptions,
  READY_ROLES,
} from "../gateway/nats_permissions.ts";
import { compilePolicy, decide, identityFromHeaders } from "../gateway/policy.ts";
import { LocalProtocolError } from "../core/errors.ts";

const INSTALL = "nats-server is not installed: apt-get install -y nats-server";

/** The three roles of the README's deployment section, with literal test passwords. */
const CONSUMERS: NatsConsumer[] = [
  { account: "DIAL", user: "dialer", password: "dial-pw", role: READY_ROLES.dialer(["pbx1"]) },
  { account: "MON", user: "monitor", password: "mon-pw", role: READY_ROLES.monitor(["pbx1"]) },
  { account: "OPS", user: "operator", password: "ops-pw", role: READY_ROLES.operator() },
  // A monitor on a permissive bus: only the gateway's policy stops it.
  {
    account: "LAX",
    user: "lax",
    password: "lax-pw",
    role: READY_ROLES.monitor(["pbx1"]),
    permissive: true,
  },
];

/** The gateway policy for the same roles (as in README's deployment section). */
const POLICY = compilePolicy({
  identities: {
    "DIAL/*": {
      nodes: ["pbx1"],
      actions: ["Originate", "Hangup", "Redirect"],
      classes: ["call", "originate"],
    },
    "MON/*": [],
    "OPS/*": { nodes: ["*"], actions: ["*"], classes: ["all"] },
  },
});

/** The repository root: from tests/ (sources) or npm/esm/tests/ (the npm build). */
function repoRoot(): URL {
  for (const up of ["../", "../../../"]) {
    const root = new URL(up, import.meta.url);
    try {
      readFileSync(new URL("gateway/policy.ts", root));
      return root;
    } catch {
      // try the next
    }
  }
  throw new Error("gateway_nats_config.test: repository root not found");
}

/** Rejects after `ms` with a message naming what did not happen. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** The permission errors a connection reports, awaitable. */
class Violations {
  readonly seen: string[] = [];
  #waiters: { text: string; resolve: () => void }[] = [];

  constructor(nc: NatsConnection) {
    (async () => {
      for await (const s of nc.status()) {
        if (s.type !== "error") continue;
        const text = String((s as { error?: unknown }).error);
        this.seen.push(text);
        this.#waiters = this.#waiters.filter((w) => !text.includes(w.text) || (w.resolve(), false));
      }
    })();
  }

  /** Resolves once a reported error contains `text` (bounded). */
  waitFor(text: string): Promise<void> {
    if (this.seen.some((s) => s.includes(text))) return Promise.resolve();
    return within(
      new Promise<void>((resolve) => this.#waiters.push({ text, resolve })),
      5000,
      `a permission error containing ${text}`,
    );
  }
}

interface Server {
  proc: ChildProcess;
  port: number;
  dir: string;
}

/** Starts nats-server from a configuration on a free loopback port. */
async function startServer(options: Omit<NatsServerConfigOptions, "port" | "storeDir">) {
  const probe = spawnSync("nats-server", ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined) throw new Error(INSTALL);
  const dir = mkdtempSync(join(tmpdir(), "amikit-nats-"));
  const conf = join(dir, "nats.conf");
  writeFileSync(conf, natsServerConfig({ ...options, port: -1, storeDir: join(dir, "js") }));
  const check = spawnSync("nats-server", ["-c", conf, "-t"], { encoding: "utf8" });
  assert.equal(check.status, 0, `nats-server -t: ${check.stderr}${check.stdout}`);
  const proc = spawn("nats-server", ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const port = await within(
    new Promise<number>((resolve, reject) => {
      proc.stderr!.on("data", (chunk: Uint8Array) => {
        log += new TextDecoder().decode(chunk);
        const m = log.match(/Listening for client connections on 127\.0\.0\.1:(\d+)/);
        if (m && log.includes("Server is ready")) resolve(Number(m[1]));
      });
      proc.on("exit", (code) => reject(new Error(`nats-server exited ${code}: ${log}`)));
      proc.on("error", reject);
    }),
    10_000,
    "nats-server to start",
  );
  proc.stderr!.removeAllListeners("data");
  proc.stderr!.resume();
  return { proc, port, dir } satisfies Server;
}

async function stopServer(s: Server | undefined): Promise<void> {
  if (s === undefined) return;
  if (s.proc.exitCode === null) {
    const exited = new Promise<void>((resolve) => s.proc.once("exit", () => resolve()));
    s.proc.kill("SIGTERM");
    await within(exited, 10_000, "nats-server to stop").catch(() => s.proc.kill("SIGKILL"));
  }
  rmSync(s.dir, { recursive: true, force: true });
}

const text = (m: Msg): string => new TextDecoder().decode(m.data);

describe("nats-server configuration, rendered", () => {
  test("a dialer's permissions block", () => {
    assert.equal(
      natsPermissions(READY_ROLES.dialer(["pbx1", "pbx2"]), 2),
      [
        "  permissions {",
        "    publish {",
        "      allow: [",
        ...["action", "abort"].flatMap((k) =>
          ["pbx1", "pbx2"].flatMap((n) =>
            ["Originate", "Hangup", "Redirect"].map((a) => `        "amikit.${n}.${k}.${a}"`)
          )
        ),
        "      ]",
        "    }",
        "    subscribe {",
        "      allow: [",
        '        "_INBOX.>"',
        '        "amikit.pbx1.event.>"',
        '        "amikit.pbx2.event.>"',
        '        "amikit.pbx1.state"',
        '        "amikit.pbx2.state"',
        "      ]",
        "    }",
        "  }",
        "",
      ].join("\n"),
    );
  });

  test("monitor, operator, event names, no state, another prefix and inbox", () => {
    assert.match(natsPermissions(READY_ROLES.monitor(["a"])), /publish \{\n {4}deny: \[">"\]/);
    assert.deepEqual(natsRoleSubjects(READY_ROLES.operator()), {
      publish: ["amikit.*.action.*", "amikit.*.abort.*"],
      subscribe: ["_INBOX.>", "amikit.*.event.>", "amikit.*.state"],
      services: ["amikit.*.action.>", "amikit.*.abort.>"],
      streams: ["amikit.*.event.>", "amikit.*.state"],
    });
    assert.deepEqual(
      natsRoleSubjects({
        prefix: "acme",
        nodes: ["p1", "p1"],
        actions: ["Ping", "*"],
        events: ["Hangup", "Newchannel"],
        state: false,
        inbox: "_INBOX_acme",
      }),
      {
        publish: ["acme.p1.action.*", "acme.p1.abort.*"],
        subscribe: [
          "_INBOX_acme.>",
          "acme.p1.event.Hangup",
          "acme.p1.event.Newchannel",
          "acme.p1.event._gap",
        ],
        services: ["acme.p1.action.>", "acme.p1.abort.>"],
        streams: ["acme.p1.event.Hangup", "acme.p1.event.Newchannel", "acme.p1.event._gap"],
      },
    );
    assert.deepEqual(natsRoleSubjects({ nodes: ["a"], events: false, state: false }), {
      publish: [],
      subscribe: [],
      services: [],
      streams: [],
    });
  });

  test("bad names are errors that name their path; secrets never appear", () => {
    const bad: [() => unknown, string][] = [
      [() => natsRoleSubjects({ nodes: ["pbx.1"] }), 'role.nodes[0]: "pbx.1" is not a single NATS'],
      [() => natsRoleSubjects({ nodes: ["a"], actions: ["Queue*"] }), "no partial wildcards"],
      [() => natsRoleSubjects({ nodes: [">"] }), "role.nodes[0]:"],
      [() => natsRoleSubjects({ nodes: ["a"], events: ["a b"] }), "role.events[0]:"],
      [() => natsRoleSubjects({ prefix: "a.b", nodes: ["a"] }), "role.prefix:"],
      [() => natsRoleSubjects({ nodes: ["a"], inbox: "a..b" }), "role.inbox:"],
      [
        () =>
          natsRoleSubjects({
            nodes: Array.from({ length: 200 }, (_, i) => `n${i}`),
            actions: Array.from({ length: 30 }, (_, i) => `A${i}`),
          }),
        "role: expands to more than 10000 subjects",
      ],
      [
        () => natsServerConfig({ port: 1, storeDir: "/x", gateways: [], consumers: [] }),
        "options.gateways: expected at least one user",
      ],
      [
        () =>
          natsServerConfig({
            port: 1,
            storeDir: "/x",
            gateways: [{ user: "g", password: 'se"cret' }],
            consumers: [],
          }),
        "options.gateways[0].password: expected 1 to 256 printable",
      ],
      [
        () =>
          natsServerConfig({
            port: 1,
            storeDir: "/x",
            gateways: [{ user: "g", password: "p" }],
            consumers: [{ ...CONSUMERS[0], account: "AMI" }],
          }),
        "options.consumers[0].account: AMI is the gateways' account",
      ],
      [
        () =>
          natsServerConfig({
            port: 1,
            storeDir: "/x",
            gateways: [{ user: "dialer", password: "p" }],
            consumers: [CONSUMERS[0]],
          }),
        "options.consumers[0].user: user dialer given twice",
      ],
      [
        () =>
          natsServerConfig({
            port: 1,
            storeDir: "/x",
            gateways: [{ user: "g", password: { env: "lower" } }],
            consumers: [],
          }),
        "options.gateways[0].password.env:",
      ],
      [
        () => natsServerConfig({ port: 70000, storeDir: "/x", gateways: [], consumers: [] }),
        "options.port:",
      ],
    ];
    for (const [f, prefix] of bad) {
      assert.throws(
        f,
        (e: unknown) =>
          e instanceof LocalProtocolError && e.message.includes(prefix) &&
          !e.message.includes('se"cret'),
        prefix,
      );
    }
  });

  test("README's deployment section shows the generated sample and a policy that compiles", () => {
    const doc = readFileSync(new URL("README.md", repoRoot()), "utf8");
    const sample = natsServerConfig({
      port: 4222,
      host: "0.0.0.0",
      storeDir: "/var/lib/nats",
      gateways: [{ user: "gateway", password: { env: "GATEWAY_PASSWORD" } }],
      consumers: [
        {
          account: "DIAL",
          user: "dialer",
          password: { env: "DIALER_PASSWORD" },
          role: READY_ROLES.dialer(["pbx1"]),
        },
        {
          account: "MON",
          user: "monitor",
          password: { env: "MONITOR_PASSWORD" },
          role: READY_ROLES.monitor(["pbx1", "pbx2"]),
        },
        {
          account: "OPS",
          user: "operator",
          password: { env: "OPERATOR_PASSWORD" },
          role: READY_ROLES.operator(),
        },
      ],
    });
    assert.ok(
      doc.includes("```\n" + sample + "```\n"),
      "README's sample nats-server config is stale",
    );
    const json = doc.match(/```json\n([\s\S]*?)```/);
    assert.ok(json, "README has a JSON policy");
    const policy = compilePolicy(JSON.parse(json[1]));
    assert.deepEqual(
      decide(policy, { identity: "DIAL/dialer", node: "pbx1", action: "Originate" }),
      { allowed: true },
    );
  });
});

describe("nats-server enforces the roles (real server, loopback)", () => {
  let server: Server | undefined;
  const conns: NatsConnection[] = [];
  const as = async (user: string, pass: string): Promise<NatsConnection> => {
    const nc = await connect({
      servers: `127.0.0.1:${server!.port}`,
      user,
      pass,
      reconnect: false,
      timeout: 5000,
    });
    conns.push(nc);
    return nc;
  };

  before(async () => {
    server = await startServer({
      gateways: [{ user: "gateway", password: "gw-pw" }],
      consumers: CONSUMERS,
    });
  });

  after(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => {})));
    await stopServer(server);
  });

  test("requests reach the gateway's account only as each role allows", async () => {
    const gw = await as("gateway", "gw-pw");
    const received: { subject: string; identity: string }[] = [];
    gw.subscribe("amikit.*.action.>", {
      callback: (_err, m) => {
        const info = m.headers?.get("Nats-Request-Info") || undefined;
        const identity = identityFromHeaders(info, m.reply);
        received.push({ subject: m.subject, identity });
        const [, node, , action] = m.subject.split(".");
        const d = decide(POLICY, { identity, node, action });
        m.respond(d.allowed ? "allowed" : `refused: ${d.why}`);
      },
    });
    await gw.flush();

    // The dialer: its node, with the identity nats-server wrote (a forged one is overwritten).
    const dial = await as("dialer", "dial-pw");
    const dialErrors = new Violations(dial);
    const forged = headers();
    forged.set("Nats-Request-Info", JSON.stringify({ acc: "OPS", user: "operator" }));
    const ok = await dial.request("amikit.pbx1.action.Originate", "{}", {
      timeout: 5000,
      headers: forged,
    });
    assert.equal(text(ok), "allowed");
    assert.deepEqual(received, [{
      subject: "amikit.pbx1.action.Originate",
      identity: "DIAL/dialer",
    }]);

    // Another node, or an action not in its role: refused by nats-server.
    for (const subject of ["amikit.pbx2.action.Originate", "amikit.pbx1.action.Command"]) {
      await assert.rejects(
        dial.request(subject, "{}", { timeout: 5000 }),
        (e: Error) => e.message.includes(`Permissions Violation for Publish to "${subject}"`),
      );
      await dialErrors.waitFor(`Publish to "${subject}"`);
    }

    // An abort is a plain publish through the service import: it carries the identity too.
    const aborts: string[] = [];
    const abortSub = gw.subscribe("amikit.*.abort.>", {
      callback: (_err, m) => {
        const info = m.headers?.get("Nats-Request-Info") || undefined;
        aborts.push(`${m.subject} ${identityFromHeaders(info, m.reply)} ${text(m)}`);
      },
    });
    await gw.flush();
    dial.publish("amikit.pbx1.abort.Originate", "r1");
    dial.publish("amikit.pbx2.abort.Originate", "r2");
    await dialErrors.waitFor('Publish to "amikit.pbx2.abort.Originate"');
    await dial.flush();
    await gw.flush();
    assert.deepEqual(aborts, ["amikit.pbx1.abort.Originate DIAL/dialer r1"]);
    abortSub.unsubscribe();

    // The monitor: no publish at all.
    const mon = await as("monitor", "mon-pw");
    const monErrors = new Violations(mon);
    mon.publish("amikit.pbx1.action.Originate", "{}");
    await monErrors.waitFor('Permissions Violation for Publish to "amikit.pbx1.action.Originate"');
    await mon.flush();

    // A monitor on a permissive bus reaches the gateway, whose policy refuses it.
    const lax = await as("lax", "lax-pw");
    const refused = await lax.request("amikit.pbx1.action.Originate", "{}", { timeout: 5000 });
    assert.equal(
      text(refused),
      "refused: no identities entry matches LAX/lax and there is no default",
    );

    // The operator reaches every node; a request from inside the gateways' account is @local.
    const ops = await as("operator", "ops-pw");
    assert.equal(
      text(await ops.request("amikit.pbx2.action.Command", "{}", { timeout: 5000 })),
      "allowed",
    );
    const local = await gw.request("amikit.pbx9.action.Ping", "{}", { timeout: 5000 });
    assert.equal(
      text(local),
      "refused: no identities entry matches @local and there is no default",
    );

    await gw.flush();
    assert.deepEqual(received, [
      { subject: "amikit.pbx1.action.Originate", identity: "DIAL/dialer" },
      { subject: "amikit.pbx1.action.Originate", identity: "LAX/lax" },
      { subject: "amikit.pbx2.action.Command", identity: "OPS/operator" },
      { subject: "amikit.pbx9.action.Ping", identity: "@local" },
    ]);
  });

  test("a dialer receives its node's events and cannot subscribe to another node's", async () => {
    const gw = await as("gateway", "gw-pw");
    const dial = await as("dialer", "dial-pw");
    const dialErrors = new Violations(dial);
    for (const subject of ["amikit.pbx2.event.>", "amikit.*.event.>"]) {
      const denied = dial.subscribe(subject);
      await assert.rejects(
        within(
          (async () => {
            for await (const _ of denied) { /* nothing may arrive */ }
          })(),
          5000,
          `the subscription to ${subject} to fail`,
        ),
        (e: Error) => e.message.includes(`Permissions Violation for Subscription to "${subject}"`),
      );
      await dialErrors.waitFor(`Subscription to "${subject}"`);
    }
    const mine = dial.subscribe("amikit.pbx1.event.>", { max: 1 });
    await dial.flush();
    gw.publish("amikit.pbx2.event.Hangup", "other node");
    gw.publish("amikit.pbx1.event.Hangup", "my node");
    await gw.flush();
    const got: string[] = [];
    await within(
      (async () => {
        for await (const m of mine) got.push(`${m.subject} ${text(m)}`);
      })(),
      5000,
      "the pbx1 event",
    );
    assert.deepEqual(got, ["amikit.pbx1.event.Hangup my node"]);
  });
});
