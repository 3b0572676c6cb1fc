import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  HELP,
  nodeName,
  parseCommandLine,
  parseHeaderFilter,
  parseHostPort,
  resolveNodes,
  UsageError,
} from "../cli/_args.ts";
import { Redactor } from "../cli/redact.ts";

function tmp(): { dir: string; file: (name: string, text: string) => string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "amikit-args-"));
  return {
    dir,
    file: (name, text) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

describe("command line", () => {
  test("subcommands and help", () => {
    assert.deepEqual(parseCommandLine([]), { command: "usage" });
    assert.deepEqual(parseCommandLine(["--help"]), { command: "help", topic: undefined });
    assert.deepEqual(parseCommandLine(["--version"]), { command: "version" });
    assert.deepEqual(parseCommandLine(["-V"]), { command: "version" });
    assert.deepEqual(parseCommandLine(["listen", "--help"]), { command: "help", topic: "listen" });
    assert.deepEqual(parseCommandLine(["help", "action"]), { command: "help", topic: "action" });
    assert.throws(() => parseCommandLine(["frobnicate"]), UsageError);
    for (const topic of ["main", "listen", "action", "simulate", "demo"] as const) {
      assert.match(HELP[topic], /Usage: amikit/);
      if (topic !== "main") assert.match(HELP[topic], /Examples:/);
    }
  });

  test("listen flags: filters, mask, metrics", () => {
    const c = parseCommandLine([
      "listen",
      "--host",
      "10.0.0.5",
      "-e",
      "Newchannel,Hangup",
      "--event",
      "Dial*",
      "-H",
      "Context=default",
      "-H",
      "Channel~^PJSIP/",
      "--metrics",
      ":9464",
      "--event-mask",
      "call",
    ]);
    assert.equal(c.command, "listen");
    if (c.command !== "listen") return;
    assert.deepEqual(c.events, ["Newchannel", "Hangup", "Dial*"]);
    assert.deepEqual(c.headers[0], { key: "Context", match: "default" });
    assert.ok(c.headers[1].match instanceof RegExp);
    assert.equal(c.eventMask, "call");
    assert.equal(c.metrics, ":9464");
    assert.equal(c.host, "10.0.0.5");
  });

  test("unknown flags and bad values are usage errors naming the subcommand", () => {
    assert.throws(
      () => parseCommandLine(["listen", "--bogus"]),
      (e: unknown) => e instanceof UsageError && e.subcommand === "listen",
    );
    assert.throws(() => parseCommandLine(["listen", "--metrics", "nope"]), UsageError);
    assert.throws(() => parseCommandLine(["listen", "--log-level", "loud"]), UsageError);
    assert.throws(() => parseCommandLine(["action"]), UsageError);
    assert.throws(() => parseCommandLine(["action", "Ping", "novalue"]), UsageError);
    assert.throws(() => parseCommandLine(["demo", "--calls", "0"]), UsageError);
    assert.throws(() => parseHeaderFilter("Key~("), UsageError);
  });

  test("action: name and Key=Value fields with repeated keys kept", () => {
    const c = parseCommandLine([
      "action",
      "Originate",
      "Channel=Local/100@default",
      "Variable=a=1",
      "Variable=b=2",
      "--timeout",
      "5000",
    ]);
    assert.equal(c.command, "action");
    if (c.command !== "action") return;
    assert.equal(c.action, "Originate");
    assert.deepEqual(c.fields, [["Channel", "Local/100@default"], ["Variable", "a=1"], [
      "Variable",
      "b=2",
    ]]);
    assert.equal(c.timeoutMs, 5000);
  });

  test("action: a bad name, key or value is a usage error before anything connects", () => {
    const bad: [string[], RegExp][] = [
      [["Ping:", "X=1"], /action name "Ping:" contains ":"/],
      [[" Ping"], /action name " Ping" has leading or trailing white space/],
      [["Ping", "Evil: x=1"], /field key "Evil: x" contains ":"/],
      [["Ping", " X=1"], /field key " X" has leading or trailing white space/],
      [["Ping", "X\nY=1"], /field key "X\\nY" contains CR, LF or NUL/],
      [["Ping", "X=a\r\nAction: Originate"], /value of field "X" contains CR, LF or NUL/],
      [["Ping", "ActionID=7"], /set by the action itself/],
      [["Ping", "X=" + "v".repeat(1100)], /Asterisk accepts at most 1023 bytes/],
      [["Ping", "=v"], /expected Key=Value/],
    ];
    for (const [args, pattern] of bad) {
      assert.throws(() => parseCommandLine(["action", ...args]), (e: unknown) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.equal(e.subcommand, "action");
        assert.match(e.message, pattern);
        return true;
      }, JSON.stringify(args));
    }
  });

  test("host:port forms", () => {
    assert.deepEqual(parseHostPort("0.0.0.0:9464"), { host: "0.0.0.0", port: 9464 });
    assert.deepEqual(parseHostPort(":9464"), { host: "127.0.0.1", port: 9464 });
    assert.deepEqual(parseHostPort("[::1]:0"), { host: "::1", port: 0 });
    assert.throws(() => parseHostPort("9464"), UsageError);
    assert.throws(() => parseHostPort("h:70000"), UsageError);
  });

  test("node names are kept as given (the ActionID-safe form is the client's, internal)", () => {
    assert.equal(nodeName("10.0.0.5"), "10.0.0.5");
    assert.equal(nodeName("pbx-1"), "pbx-1");
    assert.equal(nodeName("pbx 1 (east)"), "pbx 1 (east)");
    assert.throws(() => nodeName(""), /node name is empty/);
    assert.throws(() => nodeName("a\nb"), /control character/);
  });

  test("config: two names that would share ActionIDs are refused", async () => {
    const t = tmp();
    try {
      const cfg = t.file(
        "nodes.json",
        JSON.stringify({
          nodes: [
            { name: "pbx.1", host: "10.0.0.1", username: "u", secretEnv: "S" },
            { name: "pbx_1", host: "10.0.0.2", username: "u", secretEnv: "S" },
          ],
        }),
      );
      await assert.rejects(
        resolveNodes({ nodes: [], config: cfg }, {
          env: { S: "x" },
          redactor: new Redactor(),
          warn: () => {},
        }),
        (e: unknown) =>
          e instanceof UsageError && /pbx_1 and pbx\.1 would share ActionIDs/.test(e.message),
      );
    } finally {
      t.done();
    }
  });
});

describe("resolving nodes and secrets", () => {
  const noWarn = (m: string) => assert.fail(`unexpected warning: ${m}`);

  test("environment: AMI_HOST, AMI_PORT, AMI_USERNAME, AMI_SECRET", async () => {
    const redactor = new Redactor();
    const [n] = await resolveNodes({ nodes: [] }, {
      env: {
        AMI_HOST: "pbx.example",
        AMI_PORT: "5039",
        AMI_USERNAME: "dialer",
        AMI_SECRET: "s3cr3t",
      },
      redactor,
      warn: noWarn,
    });
    assert.deepEqual(n, {
      name: "pbx.example",
      host: "pbx.example",
      port: 5039,
      username: "dialer",
      secret: "s3cr3t",
      auth: "plain",
    });
    assert.equal(redactor.text("x s3cr3t y"), "x [REDACTED] y", "the secret is registered");
  });

  test("flags win over the environment; a secret file wins over AMI_SECRET", async () => {
    const t = tmp();
    try {
      const file = t.file("secret", "from-file\n");
      const [n] = await resolveNodes(
        { nodes: [], host: "h", port: "1", username: "u", secretFile: file, auth: "md5" },
        {
          env: { AMI_HOST: "x", AMI_USERNAME: "y", AMI_SECRET: "from-env" },
          redactor: new Redactor(),
          warn: noWarn,
        },
      );
      assert.equal(n.host, "h");
      assert.equal(n.port, 1);
      assert.equal(n.username, "u");
      assert.equal(n.secret, "from-file", "trailing newline removed");
      assert.equal(n.auth, "md5");
      const [m] = await resolveNodes({ nodes: [] }, {
        env: { AMI_USERNAME: "y", AMI_SECRET_FILE: file, AMI_SECRET: "from-env" },
        redactor: new Redactor(),
        warn: noWarn,
      });
      assert.equal(m.secret, "from-file");
    } finally {
      t.done();
    }
  });

  test("--secret works but warns, and the warning does not contain it", async () => {
    const warnings: string[] = [];
    const [n] = await resolveNodes({ nodes: [], username: "u", secret: "flag-secret" }, {
      env: {},
      redactor: new Redactor(),
      warn: (m) => warnings.push(m),
    });
    assert.equal(n.secret, "flag-secret");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /--secret/);
    assert.ok(!warnings[0].includes("flag-secret"));
  });

  test("no secret and no terminal: a clear usage error; a prompt when allowed", async () => {
    await assert.rejects(
      resolveNodes({ nodes: [], username: "u" }, {
        env: {},
        redactor: new Redactor(),
        warn: noWarn,
      }),
      (e: unknown) => e instanceof UsageError && /no secret for u/.test(e.message),
    );
    await assert.rejects(
      resolveNodes({ nodes: [] }, {
        env: { AMI_SECRET: "x" },
        redactor: new Redactor(),
        warn: noWarn,
      }),
      /no username/,
    );
    const redactor = new Redactor();
    const [n] = await resolveNodes({ nodes: [], username: "u" }, {
      env: {},
      redactor,
      warn: noWarn,
      prompt: (q) => {
        assert.match(q, /secret for u/);
        return Promise.resolve("typed");
      },
    });
    assert.equal(n.secret, "typed");
    assert.equal(redactor.size, 1);
  });

  test("config file: several nodes, secretFile/secretEnv/secret, --node selection", async () => {
    const t = tmp();
    try {
      const sf = t.file("s1", "one\n");
      const cfg = t.file(
        "nodes.json",
        JSON.stringify({
          nodes: [
            { name: "pbx1", host: "10.0.0.1", username: "a", secretFile: sf },
            {
              name: "pbx2",
              host: "10.0.0.2",
              port: 5039,
              username: "b",
              secretEnv: "PBX2_SECRET",
              auth: "md5",
            },
            { name: "pbx3", host: "10.0.0.3", username: "c", secret: "inline-three" },
          ],
        }),
      );
      chmodSync(cfg, 0o644);
      const warnings: string[] = [];
      const redactor = new Redactor();
      const nodes = await resolveNodes({ nodes: [], config: cfg }, {
        env: { PBX2_SECRET: "two" },
        redactor,
        warn: (m) => warnings.push(m),
      });
      assert.deepEqual(nodes.map((n) => [n.name, n.host, n.port, n.username, n.secret, n.auth]), [
        ["pbx1", "10.0.0.1", 5038, "a", "one", "plain"],
        ["pbx2", "10.0.0.2", 5039, "b", "two", "md5"],
        ["pbx3", "10.0.0.3", 5038, "c", "inline-three", "plain"],
      ]);
      if (process.platform !== "win32") {
        assert.equal(warnings.length, 1, "an inline secret in a readable file warns once");
        assert.ok(!warnings[0].includes("inline-three"));
      }
      assert.equal(redactor.size, 3);
      const only = await resolveNodes({ nodes: ["pbx2"], config: cfg }, {
        env: { PBX2_SECRET: "two" },
        redactor: new Redactor(),
        warn: () => {},
      });
      assert.deepEqual(only.map((n) => n.name), ["pbx2"]);
      await assert.rejects(
        resolveNodes({ nodes: ["nope"], config: cfg }, {
          env: { PBX2_SECRET: "two" },
          redactor: new Redactor(),
          warn: () => {},
        }),
        UsageError,
      );
    } finally {
      t.done();
    }
  });

  test("TLS: --tls* flags and a config node's tls; the CA file is read; bad values are usage errors", async () => {
    const t = tmp();
    const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    try {
      const ca = t.file("ca.pem", PEM);
      const env = { AMI_USERNAME: "u", AMI_SECRET: "s" };
      const resolve = (
        flags: Parameters<typeof resolveNodes>[0],
        warn: (message: string) => void = noWarn,
      ) => resolveNodes(flags, { env, redactor: new Redactor(), warn });
      // Parsed from the command line.
      const cmd = parseCommandLine(["action", "Ping", "--tls-ca", ca, "--tls-servername", "pbx"]);
      assert.equal(cmd.command, "action");
      const [a] = await resolve(cmd as Parameters<typeof resolveNodes>[0]);
      assert.deepEqual(a.tls, { ca: PEM, servername: "pbx" });
      assert.equal(a.port, 5039, "TLS defaults to Asterisk's tlsbindaddr port");
      // --tls alone: the system's trust store; a port given wins.
      const [b] = await resolve({ nodes: [], tls: true, port: "6000" });
      assert.deepEqual(b.tls, {});
      assert.equal(b.port, 6000);
      // No flag: plain TCP on 5038.
      const [c] = await resolve({ nodes: [] });
      assert.equal(c.tls, undefined);
      assert.equal(c.port, 5038);
      // --tls-insecure warns.
      const warnings: string[] = [];
      const [d] = await resolve({ nodes: [], tlsInsecure: true }, (m) => warnings.push(m));
      assert.deepEqual(d.tls, { rejectUnauthorized: false });
      assert.match(warnings.join("\n"), /not verified/);
      // Bad CA files.
      await assert.rejects(resolve({ nodes: [], tlsCa: join(t.dir, "nope.pem") }), /ENOENT/);
      await assert.rejects(
        resolve({ nodes: [], tlsCa: t.file("junk.pem", "junk") }),
        /no PEM certificate/,
      );
      // Config nodes: their own tls wins over the flags' default.
      const cfg = t.file(
        "nodes.json",
        JSON.stringify({
          nodes: [
            { name: "n1", username: "u", secret: "s", tls: { ca, servername: "pbx1" } },
            { name: "n2", username: "u", secret: "s", tls: false },
            { name: "n3", username: "u", secret: "s", port: 7000 },
          ],
        }),
      );
      chmodSync(cfg, 0o600);
      const nodes = await resolve({ nodes: [], config: cfg, tls: true });
      assert.deepEqual(nodes.map((n) => [n.name, n.port, n.tls]), [
        ["n1", 5039, { ca: PEM, servername: "pbx1" }],
        ["n2", 5038, undefined],
        ["n3", 7000, {}],
      ]);
      for (const bad of [{ tls: "yes" }, { tls: { ca: 1 } }, { tls: { cert: "x" } }]) {
        const f = t.file(
          "bad.json",
          JSON.stringify({ nodes: [{ username: "u", secret: "s", ...bad }] }),
        );
        chmodSync(f, 0o600);
        await assert.rejects(resolve({ nodes: [], config: f }), UsageError);
      }
    } finally {
      t.done();
    }
  });

  test("a broken config file is reported without echoing its content", async () => {
    const t = tmp();
    try {
      const cfg = t.file("bad.json", '{"nodes": [{"secret": "leaky-secret",');
      await assert.rejects(
        resolveNodes({ nodes: [], config: cfg }, {
          env: {},
          redactor: new Redactor(),
          warn: () => {},
        }),
        (e: unknown) =>
          e instanceof UsageError && /not valid JSON/.test(e.message) &&
          !e.message.includes("leaky-secret"),
      );
      await assert.rejects(
        resolveNodes({ nodes: [], config: join(t.dir, "missing.json") }, {
          env: {},
          redactor: new Redactor(),
          warn: () => {},
        }),
        /ENOENT/,
      );
    } finally {
      t.done();
    }
  });
});
