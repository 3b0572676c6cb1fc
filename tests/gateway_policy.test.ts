/**
 * The gateway's policy (gateway/policy.ts, gateway/glob.ts): the matcher
 * against a deliberately simple reference on random policies and requests
 * (fast-check), the default policy, the dialer role, globs, identities,
 * configuration errors that name their path, and the --check-config text.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  compilePolicy,
  decide,
  DEFAULT_POLICY,
  describePolicy,
  GATEWAY_RESERVED_ACTIONS,
  type GrantConfig,
  identityFromHeaders,
  type PolicyConfig,
  PRIVILEGED_CLASSES,
} from "../gateway/policy.ts";
import { globMatch, isGlob } from "../gateway/glob.ts";
import { ACTION_CLASSES, AMI_WRITE_CLASSES } from "../gateway/generated/action_classes.ts";
import { LocalProtocolError, PermissionError } from "../core/errors.ts";

// ---- the reference: written for obviousness, not speed ----

/** A glob as a regular expression (fine for the short strings generated here). */
function refGlob(glob: string, text: string, ci = false): boolean {
  const body = [...glob].map((ch) =>
    ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.+^${}()|[\]\\]/g, "\\$&")
  ).join("");
  return new RegExp(`^${body}$`, ci ? "si" : "s").test(text);
}

function refClasses(action: string): readonly string[] | undefined {
  const name = Object.keys(ACTION_CLASSES).find((n) => n.toLowerCase() === action.toLowerCase());
  return name === undefined ? undefined : ACTION_CLASSES[name];
}

function refAllowed(
  config: PolicyConfig,
  req: { identity: string; node: string; action: string },
): boolean {
  if (GATEWAY_RESERVED_ACTIONS.some((a) => a.toLowerCase() === req.action.toLowerCase())) {
    return false;
  }
  const ids = config.identities ?? {};
  const keys = Object.keys(ids);
  let key = keys.find((k) => !/[*?]/.test(k) && k === req.identity);
  if (key === undefined && req.identity !== "@invalid") {
    const literal = (k: string): number => k.replace(/[*?]/g, "").length;
    const stars = (k: string): number => [...k].filter((c) => c === "*").length;
    const matching = keys.filter((k) => /[*?]/.test(k) && refGlob(k, req.identity)).sort((a, b) =>
      literal(b) - literal(a) || stars(a) - stars(b) || (a < b ? -1 : 1)
    );
    key = matching[0];
  }
  let chosen = key !== undefined ? ids[key] : config.default;
  if (key === undefined && req.identity === "@invalid") chosen = undefined;
  if (chosen === undefined) return false;
  const grants: readonly GrantConfig[] = Array.isArray(chosen) ? chosen : [chosen as GrantConfig];
  const classes = refClasses(req.action);
  return grants.some((g) => {
    if (!g.nodes.some((p) => refGlob(p, req.node))) return false;
    if (classes === undefined) {
      return g.actions.some((p) => !/[*?]/.test(p) && p.toLowerCase() === req.action.toLowerCase());
    }
    if (!g.actions.some((p) => refGlob(p, req.action, true))) return false;
    if (classes.length === 0 || g.classes.includes("all")) return true;
    return classes.some((c) => (g.classes as readonly string[]).includes(c));
  });
}

// ---- generators ----

const IDENTITIES = ["A", "B", "A/x", "A/y", "B/x", "AB/x", "@local", "@invalid"];
const NODES = ["pbx1", "pbx2", "pbx10", "px", "PBX1"];
const ACTIONS = [
  "Originate",
  "originate",
  "Hangup",
  "Command",
  "Ping",
  "QueueStatus",
  "Reload",
  "Status",
  "CoreShowChannels",
  "ModuleLoad",
  "GetConfig",
  "Logoff",
  "Events",
  "MyAction",
  "Foo",
];

const identityKey = fc.oneof(
  fc.constantFrom(...IDENTITIES, "*", "A/*", "*/x", "?", "A?x", "A/?", "*B*", "@local"),
  fc.stringMatching(/^[AB*?/x]{1,4}$/),
);
const grant: fc.Arbitrary<GrantConfig> = fc.record({
  nodes: fc.array(
    fc.oneof(
      fc.constantFrom(...NODES, "*", "pbx*", "pbx?", "p*1", "PBX*"),
      fc.stringMatching(/^[pbx1*?]{1,5}$/),
    ),
    { maxLength: 3 },
  ),
  actions: fc.array(
    fc.oneof(
      fc.constantFrom(...ACTIONS, "*", "Q*", "?ing", "h*UP", "*Config", "My*", "myaction"),
      fc.stringMatching(/^[A-Za-z*?]{1,5}$/),
    ),
    { maxLength: 4 },
  ),
  classes: fc.subarray(["all", ...AMI_WRITE_CLASSES] as const, { maxLength: 4 }),
});
const grants = fc.oneof(grant, fc.array(grant, { maxLength: 3 }));
const config: fc.Arbitrary<PolicyConfig> = fc.record(
  { identities: fc.dictionary(identityKey, grants, { maxKeys: 5 }), default: grants },
  { requiredKeys: [] },
);
const request = fc.record({
  identity: fc.oneof(fc.constantFrom(...IDENTITIES), fc.stringMatching(/^[AB/x]{1,4}$/)),
  node: fc.oneof(fc.constantFrom(...NODES), fc.stringMatching(/^[pbx1]{1,4}$/)),
  action: fc.constantFrom(...ACTIONS, ...Object.keys(ACTION_CLASSES)),
});

describe("the matcher against the reference", () => {
  test("decide() allows exactly what the reference allows (random policies and requests)", () => {
    fc.assert(
      fc.property(config, fc.array(request, { minLength: 1, maxLength: 20 }), (cfg, reqs) => {
        const policy = compilePolicy(cfg);
        for (const req of reqs) {
          const got = decide(policy, req);
          assert.equal(got.allowed, refAllowed(cfg, req), JSON.stringify(req));
          if (!got.allowed) assert.ok(got.why.length > 0);
        }
      }),
      { numRuns: 500 },
    );
  });

  test("globMatch() agrees with a regular expression on random globs and texts", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[ab*?]{0,8}$/),
        fc.stringMatching(/^[ab]{0,10}$/),
        (g, t) => {
          assert.equal(globMatch(g, t), refGlob(g, t), `${g} ~ ${t}`);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("globs", () => {
  test("edge cases", () => {
    const cases: [string, string, boolean][] = [
      ["", "", true],
      ["*", "", true],
      ["?", "", false],
      ["**", "abc", true],
      ["a*b", "ab", true],
      ["a*b", "a/x/b", true],
      ["a*b", "abx", false],
      ["pbx-*", "pbx-1", true],
      ["pbx?", "pbx10", false],
      ["pbx?", "pbx1", true],
      ["pbx1", "PBX1", false],
      ["*a*a*a*a*a*a*a*a*b", "a".repeat(200), false],
      ["a.b", "axb", false],
      ["[a]", "a", false],
      ["[a]", "[a]", true],
    ];
    for (const [g, t, want] of cases) assert.equal(globMatch(g, t), want, `${g} ~ ${t}`);
    assert.deepEqual(["a", "a*", "?", ""].map(isGlob), [false, true, true, false]);
  });

  test("actions match case-insensitively, nodes and identities case-sensitively", () => {
    const p = compilePolicy({
      identities: { "Dial/*": { nodes: ["pbx*"], actions: ["origin*"], classes: ["originate"] } },
    });
    const ok = { identity: "Dial/w", node: "pbx1", action: "ORIGINATE" };
    assert.deepEqual(decide(p, ok), { allowed: true });
    assert.equal(decide(p, { ...ok, node: "PBX1" }).allowed, false);
    assert.equal(decide(p, { ...ok, identity: "dial/w" }).allowed, false);
  });
});

describe("the default policy", () => {
  const identities = ["@local", "DIAL/dialer", "OPS", "x/y", "MON/monitor"];

  test("Command, ModuleLoad, Reload and every action that needs only a privileged class are refused", () => {
    for (const identity of identities) {
      for (const [action, classes] of Object.entries(ACTION_CLASSES)) {
        const privilegedOnly = classes.length > 0 &&
          classes.every((c) => PRIVILEGED_CLASSES.includes(c));
        const reserved = GATEWAY_RESERVED_ACTIONS.includes(action);
        const got = decide(DEFAULT_POLICY, { identity, node: "pbx1", action });
        assert.equal(got.allowed, !privilegedOnly && !reserved, `${identity} ${action}`);
      }
      for (const action of ["Command", "ModuleLoad", "Reload", "UpdateConfig", "DBPut", "AGI"]) {
        const got = decide(DEFAULT_POLICY, { identity, node: "any", action });
        assert.equal(got.allowed, false);
        if (!got.allowed) assert.match(got.why, new RegExp(`^${action} needs write class`));
      }
      for (const action of ["Originate", "Hangup", "Redirect", "Ping", "CoreShowChannels"]) {
        assert.equal(decide(DEFAULT_POLICY, { identity, node: "any", action }).allowed, true);
      }
    }
    assert.equal(DEFAULT_POLICY.origin, "built-in default");
  });

  test("@invalid and unknown actions are refused", () => {
    const invalid = decide(DEFAULT_POLICY, { identity: "@invalid", node: "p", action: "Ping" });
    assert.equal(invalid.allowed, false);
    const unknown = decide(DEFAULT_POLICY, { identity: "A", node: "p", action: "Shutdown" });
    assert.deepEqual(unknown, {
      allowed: false,
      why: "Shutdown is not a known AMI action and default does not name it exactly",
    });
  });

  test("Command is refused for every identity not granted command (fast-check)", () => {
    fc.assert(
      fc.property(config, request, (cfg, req) => {
        const got = decide(compilePolicy(cfg), { ...req, action: "Command" });
        if (got.allowed) {
          const all = [cfg.default, ...Object.values(cfg.identities ?? {})].flat();
          assert.ok(all.some((g) => g?.classes.some((c) => c === "command" || c === "all")));
        }
      }),
      { numRuns: 300 },
    );
  });
});

const DIALER: PolicyConfig = {
  identities: {
    "DIAL/*": {
      nodes: ["pbx1"],
      actions: ["Originate", "Hangup", "Redirect"],
      classes: ["call", "originate"],
    },
  },
};

describe("roles and rules", () => {
  test("a dialer: its three actions on its node, nothing else", () => {
    const p = compilePolicy(DIALER);
    const d = (node: string, action: string) =>
      decide(p, { identity: "DIAL/dialer", node, action });
    for (const a of ["Originate", "Hangup", "Redirect", "hangup"]) {
      assert.deepEqual(d("pbx1", a), { allowed: true });
    }
    assert.deepEqual(d("pbx2", "Originate"), {
      allowed: false,
      why: 'identities["DIAL/*"] grants nodes pbx1 only',
    });
    assert.deepEqual(d("pbx1", "Command"), {
      allowed: false,
      why: 'identities["DIAL/*"] grants actions Originate, Hangup, Redirect only',
    });
    assert.deepEqual(decide(p, { identity: "MON/monitor", node: "pbx1", action: "Ping" }), {
      allowed: false,
      why: "no identities entry matches MON/monitor and there is no default",
    });
    const err = new PermissionError("pbx2", "Originate", "DIAL/dialer", "grants nodes pbx1 only");
    assert.equal(err.code, "ERR_PERMISSION");
    assert.match(err.message, /^Originate on pbx2 refused for DIAL\/dialer: /);
  });

  test("a class the action lacks refuses it even when the name matches", () => {
    const p = compilePolicy({
      identities: { ops: { nodes: ["*"], actions: ["*"], classes: ["system"] } },
    });
    const d = (action: string) => decide(p, { identity: "ops", node: "n", action });
    assert.equal(d("Hangup").allowed, true); // system,call: one shared class is enough
    assert.equal(d("ModuleLoad").allowed, true);
    assert.deepEqual(d("Command"), {
      allowed: false,
      why: 'Command needs write class command and identities["ops"] grants system',
    });
    assert.equal(d("Originate").allowed, false);
    assert.equal(d("Ping").allowed, true); // no class needed
  });

  test("exact beats glob, the most specific glob wins, an empty exact entry refuses", () => {
    const all = { nodes: ["*"], actions: ["*"], classes: ["all"] } as const;
    const none = { nodes: ["*"], actions: ["Ping"], classes: [] } as const;
    const p = compilePolicy({
      identities: { "*": all, "A/*": none, "A/b*": all, "A/bad": [], "A/?": all },
      default: none,
    });
    const d = (identity: string, action = "Originate") =>
      decide(p, { identity, node: "n", action }).allowed;
    assert.equal(d("Z"), true); // "*"
    assert.equal(d("A/x"), true); // "A/?" (2 literals) over "A/*" (2 literals, 1 star)
    assert.equal(d("A/xy"), false); // "A/*"
    assert.equal(d("A/bob"), true); // "A/b*"
    assert.equal(d("A/bad"), false);
    assert.deepEqual(decide(p, { identity: "A/bad", node: "n", action: "Ping" }), {
      allowed: false,
      why: 'identities["A/bad"] grants nothing',
    });
    assert.equal(d("@local"), true); // globs cover @local
    assert.equal(d("@invalid", "Ping"), false); // but not @invalid, nor does default
    const q = compilePolicy({ identities: { "@invalid": none }, default: all });
    assert.equal(decide(q, { identity: "@invalid", node: "n", action: "Ping" }).allowed, true);
  });

  test("many identities (past the glob cache's 1024) get the same answers as a fresh policy", () => {
    const cfg: PolicyConfig = {
      identities: { "A*": DIALER.identities!["DIAL/*"] as GrantConfig, "A/x": [] },
      default: { nodes: ["*"], actions: ["Ping"], classes: [] },
    };
    const p = compilePolicy(cfg);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3000; i++) {
        const req = { identity: `${"AB"[i % 2]}/${i}`, node: "pbx1", action: "Originate" };
        assert.equal(decide(p, req).allowed, i % 2 === 0);
        assert.deepEqual(decide(p, req), decide(compilePolicy(cfg), req));
      }
    }
    assert.equal(decide(p, { identity: "A/x", node: "pbx1", action: "Ping" }).allowed, false);
  });

  test("actions outside the table only when named exactly; reserved ones never", () => {
    const p = compilePolicy({
      identities: {
        a: { nodes: ["*"], actions: ["MyAction", "Ext*"], classes: ["all"] },
        b: { nodes: ["*"], actions: ["*", ...GATEWAY_RESERVED_ACTIONS], classes: ["all"] },
      },
    });
    const d = (identity: string, action: string) =>
      decide(p, { identity, node: "n", action }).allowed;
    assert.equal(d("a", "myaction"), true);
    assert.equal(d("a", "ExtThing"), false);
    assert.equal(d("b", "MyAction"), false);
    for (const r of GATEWAY_RESERVED_ACTIONS) {
      assert.equal(d("b", r), false);
      assert.equal(d("b", r.toUpperCase()), false);
    }
    assert.equal(d("b", "Command"), true);
  });
});

describe("identities from Nats-Request-Info", () => {
  test("account/user, account, @local, @invalid", () => {
    const cases: [string | undefined, string][] = [
      [undefined, "@local"],
      ['{"acc":"DIAL","user":"dialer","rtt":1234}', "DIAL/dialer"],
      ['{"acc":"DIAL"}', "DIAL"],
      ['{"acc":"DIAL","rtt":2637257}', "DIAL"], // nats-server 2.9.10, an import without share
      ['{"acc":"DIAL","user":""}', "DIAL"],
      ["", "@invalid"],
      ["not json", "@invalid"],
      ["[]", "@invalid"],
      ["null", "@invalid"],
      ['"DIAL"', "@invalid"],
      ['{"user":"x"}', "@invalid"],
      ['{"acc":""}', "@invalid"],
      ['{"acc":"@local"}', "@invalid"],
      ['{"acc":5}', "@invalid"],
      ['{"acc":"A","user":7}', "@invalid"],
      ['{"acc":"A B"}', "@invalid"],
      ['{"acc":"A","user":"x\\ny"}', "@invalid"],
      [`{"acc":"${"A".repeat(300)}"}`, "@invalid"],
      [`{"acc":"A","pad":"${"x".repeat(5000)}"}`, "@invalid"],
    ];
    for (const [value, want] of cases) assert.equal(identityFromHeaders(value), want, value);
    assert.equal(identityFromHeaders(undefined, "_INBOX.abc.def"), "@local");
    assert.equal(identityFromHeaders(undefined, "_R_.dXmPgx.75NXk0"), "@invalid");
    assert.equal(identityFromHeaders('{"acc":"A"}', "_R_.x"), "A");
  });

  test("any string gives a string, never a throw (fast-check)", () => {
    fc.assert(
      fc.property(fc.option(fc.oneof(fc.string(), fc.json()), { nil: undefined }), (v) => {
        assert.equal(typeof identityFromHeaders(v), "string");
      }),
    );
  });
});

describe("configuration errors", () => {
  test("each names the path of the bad value", () => {
    const g = { nodes: ["*"], actions: ["*"], classes: ["call"] };
    const cases: [unknown, string][] = [
      [null, "policy: expected an object"],
      [[], "policy: expected an object"],
      [new Map(), "policy: expected a plain object"],
      [{ rules: {} }, 'policy: unknown key "rules" (expected identities, default)'],
      [{ identities: [] }, "policy.identities: expected an object"],
      [{ identities: { "": g } }, 'policy.identities[""]: an identity must be'],
      [{ identities: { "a b": g } }, 'policy.identities["a b"]: an identity must be'],
      [{ identities: { "@me": g } }, 'policy.identities["@me"]: identities starting with @'],
      [{ identities: { x: 5 } }, 'policy.identities["x"]: expected an object'],
      [
        { identities: { x: { ...g, action: [] } } },
        'policy.identities["x"]: unknown key "action" (expected nodes, actions, classes)',
      ],
      [
        { identities: { x: { actions: ["*"], classes: [] } } },
        'policy.identities["x"].nodes: expected an array of strings',
      ],
      [
        { identities: { "DIAL/dialer": { ...g, actions: ["Originate", "Hangup", "Bad.Name"] } } },
        'policy.identities["DIAL/dialer"].actions[2]: "Bad.Name" is not an action name',
      ],
      [
        { identities: { x: { ...g, actions: [7] } } },
        'policy.identities["x"].actions[0]: expected a string',
      ],
      [
        { identities: { x: { ...g, nodes: ["pbx.1"] } } },
        'policy.identities["x"].nodes[0]: "pbx.1" is not a node name or glob',
      ],
      [
        { identities: { x: { ...g, nodes: ["amikit.>"] } } },
        'policy.identities["x"].nodes[0]:',
      ],
      [{ identities: { x: { ...g, nodes: [""] } } }, 'policy.identities["x"].nodes[0]:'],
      [
        { identities: { x: [g, { ...g, classes: ["call", "cal"] }] } },
        'policy.identities["x"][1].classes[1]: unknown write class "cal" (expected all or one of system, call,',
      ],
      [{ default: { ...g, classes: ["Call"] } }, "policy.default.classes[0]: unknown write class"],
      [
        { identities: { x: { ...g, nodes: Array(1001).fill("a") } } },
        'policy.identities["x"].nodes: more than 1000 entries',
      ],
      [
        { identities: { x: { ...g, actions: ["A".repeat(257)] } } },
        'policy.identities["x"].actions[0]:',
      ],
    ];
    for (const [raw, prefix] of cases) {
      assert.throws(
        () => compilePolicy(raw),
        (e: unknown) =>
          e instanceof LocalProtocolError && e.code === "ERR_LOCAL_PROTOCOL" &&
          e.message.startsWith(prefix),
        prefix,
      );
    }
  });

  test("a valid configuration compiles, frozen, with `all` expanded", () => {
    const p = compilePolicy(DIALER);
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.entries[0].grants[0]));
    const all = compilePolicy({ default: { nodes: ["*"], actions: ["*"], classes: ["all"] } });
    assert.deepEqual(all.defaultGrants[0].classes, AMI_WRITE_CLASSES);
    assert.equal(compilePolicy({}).entries.length, 0);
  });
});

describe("describePolicy (the text of --check-config)", () => {
  test("the default: no system-level action", () => {
    const text = describePolicy(DEFAULT_POLICY);
    assert.match(text, /^Gateway policy: the built-in default \(no policy configured\)\.\n/);
    assert.match(
      text,
      /Any other identity \(default; @invalid excepted\):\n {2}default: nodes \*;/,
    );
    assert.match(text, /system-level, through a privileged class: none\n/);
    assert.match(text, /Never forwarded, for anyone: Challenge, Events, Filter, Login, Logoff/);
    assert.ok(!/\bCommand\b/.test(text));
  });

  test("per identity: grants, counts and the system-level actions they allow", () => {
    const text = describePolicy(compilePolicy({
      identities: {
        ...DIALER.identities,
        "OPS/admin": { nodes: ["*"], actions: ["*", "MyAction"], classes: ["all"] },
        "MON/*": [],
      },
    }));
    const known = Object.keys(ACTION_CLASSES).length - GATEWAY_RESERVED_ACTIONS.length;
    const lines = text.split("\n");
    const at = (s: string): number => lines.indexOf(s);
    assert.ok(at("OPS/admin (exact)") < at("DIAL/* (glob)"));
    assert.ok(at("DIAL/* (glob)") < at("MON/* (glob)"));
    assert.ok(lines.includes(`    allows ${known} of the ${known} known actions`));
    assert.ok(lines.includes(`    allows 3 of the ${known} known actions`));
    assert.ok(lines.includes("    privileged too, allowed through another class: Hangup"));
    assert.ok(lines.includes("    named, not in Asterisk's table: MyAction"));
    assert.ok(lines.includes("  grants nothing: refused"));
    assert.ok(lines.includes("Any other identity: refused (no default)."));
    const system = text.slice(text.indexOf("system-level, through a privileged class: AGI"));
    for (const a of ["Command", "ModuleLoad", "Reload", "UpdateConfig"]) {
      assert.match(system, new RegExp(`\\b${a}\\b`));
    }
    assert.ok(lines.every((l) => l.length <= 130));
  });
});
