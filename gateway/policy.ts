/**
 * The gateway's own authorization policy: who may send which AMI action to
 * which node. Pure: no I/O, no clock. The gateway compiles the configured
 * policy once ({@link compilePolicy}), reads each request's identity from its
 * `Nats-Request-Info` header ({@link identityFromHeaders}) and asks
 * {@link decide} before anything reaches the PBX.
 *
 * ## Identities
 *
 * nats-server writes `Nats-Request-Info` (JSON with `acc` and `user`) on a
 * request that crosses into the gateway's account through a service import
 * with `share: true`, overwriting whatever the client set. The identity is
 * `<acc>/<user>`, or `<acc>` when there is no user (or the import lacks
 * `share: true`). A request with no such header came from inside the
 * gateway's own account: `@local`. A header that cannot be read, or none on a
 * request whose reply subject shows it crossed an import (`_R_.`), gives
 * `@invalid`.
 *
 * ## Which entry applies
 *
 * `identities` maps an identity or a glob of identities to one grant or a
 * list of grants. The entry whose key equals the identity wins; otherwise the
 * most specific glob that matches it: the most literal (non-wildcard)
 * characters, then the fewest `*`, then the key that sorts first. Only that
 * entry counts, so an exact entry that grants nothing refuses one identity a
 * glob would allow. With no matching entry, `default` applies; with no
 * `default` either, everything is refused. `@invalid` is matched only by an
 * entry keyed exactly `@invalid`, never by a glob or `default`.
 *
 * ## What a grant allows
 *
 * An action is allowed when some grant of the entry has
 * - a `nodes` glob that matches the node (case-sensitive), and
 * - an `actions` glob that matches the action (case-insensitive, as AMI
 *   names are), and
 * - a write class the action is registered with among its `classes` (`all`
 *   grants every class; an action registered with no class needs none).
 *   This is Asterisk's own rule for a manager user's `write=` classes: one
 *   shared class is enough (Hangup, registered `system,call`, needs `call` or
 *   `system`), so a grant with `classes` X allows what a manager.conf user
 *   with `write=X` may send.
 *
 * The classes come from Asterisk's registrations
 * (`gateway/generated/action_classes.ts`). An action not in that table is
 * allowed only when an `actions` entry names it exactly, with no wildcard.
 * The actions that belong to the gateway's own AMI session
 * ({@link GATEWAY_RESERVED_ACTIONS}: Login, Logoff, Challenge, Events,
 * Filter, WaitEvent) are refused for everyone: forwarding them would log the
 * shared session off or change what every consumer receives.
 *
 * Globs: `*` matches any run of characters, `?` one character (see
 * `gateway/glob.ts`).
 *
 * @module
 */

import { LocalProtocolError } from "../core/errors.ts";
import {
  ACTION_CLASSES,
  AMI_WRITE_CLASSES,
  type AmiWriteClass,
} from "./generated/action_classes.ts";
import { globMatch, isGlob } from "./glob.ts";

/** A write class as a grant names it: Asterisk's names, or `all` for every one. */
export type GrantClass = AmiWriteClass | "all";

/** One grant as configured. */
export interface GrantConfig {
  /** Node names or globs (case-sensitive). */
  readonly nodes: readonly string[];
  /** Action names or globs (case-insensitive). */
  readonly actions: readonly string[];
  /** The write classes granted; `all` for every one. */
  readonly classes: readonly GrantClass[];
}

/** The policy as configured (a plain object, e.g. parsed from JSON). */
export interface PolicyConfig {
  /** Identity or identity glob to its grant or grants. */
  readonly identities?: Readonly<Record<string, GrantConfig | readonly GrantConfig[]>>;
  /** The grant or grants of identities that no `identities` entry matches. */
  readonly default?: GrantConfig | readonly GrantConfig[];
}

/** One compiled grant. */
export interface Grant {
  /** Where it was configured, e.g. `identities["DIAL/*"]` or `default[1]`. */
  readonly rule: string;
  /** Node globs, as configured. */
  readonly nodes: readonly string[];
  /** Action globs, as configured. */
  readonly actions: readonly string[];
  /** The classes granted, `all` expanded, in Asterisk's order. */
  readonly classes: readonly AmiWriteClass[];
}

/** One compiled `identities` entry. */
export interface PolicyEntry {
  /** The key: an identity or a glob. */
  readonly identity: string;
  /** Whether the key has no wildcard. */
  readonly exact: boolean;
  /** Its grants. */
  readonly grants: readonly Grant[];
}

/** A compiled policy, ready for {@link decide}. */
export interface Policy {
  /** Whether it was configured or is {@link DEFAULT_POLICY}. */
  readonly origin: "configured" | "built-in default";
  /** The entries, exact ones first, then globs from most to least specific. */
  readonly entries: readonly PolicyEntry[];
  /** The grants of `default` (empty: identities with no entry are refused). */
  readonly defaultGrants: readonly Grant[];
}

/** A request to decide on. */
export interface PolicyRequest {
  /** Who asks, from {@link identityFromHeaders}. */
  readonly identity: string;
  /** The node the action is for. */
  readonly node: string;
  /** The action's name, as sent. */
  readonly action: string;
}

/** The answer of {@link decide}: allowed, or refused with the rule that refused it. */
export type PolicyDecision = { readonly allowed: true } | {
  readonly allowed: false;
  /** Which rule refused it; names rules, classes and patterns, never a field value. */
  readonly why: string;
};

/** The identity of a request from inside the gateway's own account (no header). */
export const LOCAL_IDENTITY = "@local";
/** The identity of a request whose `Nats-Request-Info` header cannot be read. */
export const INVALID_IDENTITY = "@invalid";

/** The actions of the gateway's own AMI session, never forwarded for anyone. */
export const GATEWAY_RESERVED_ACTIONS: readonly string[] = Object.freeze([
  "Challenge",
  "Events",
  "Filter",
  "Login",
  "Logoff",
  "WaitEvent",
]);

/**
 * The classes that make an action system-level: left out of
 * {@link DEFAULT_POLICY}, and listed by {@link describePolicy}.
 */
export const PRIVILEGED_CLASSES: readonly AmiWriteClass[] = Object.freeze([
  "system",
  "command",
  "config",
  "agi",
  "test",
  "security",
] as AmiWriteClass[]);

/** Bounds on a configured policy. */
export const POLICY_LIMITS = Object.freeze({
  /** `identities` entries. */
  identities: 10_000,
  /** Grants per entry. */
  grants: 100,
  /** Patterns per `nodes` or `actions` list. */
  patterns: 1_000,
  /** Characters per identity key or pattern. */
  length: 256,
});

/**
 * Compiles and validates a policy.
 *
 * @param raw the configuration, a plain object of the {@link PolicyConfig} shape
 * @returns the compiled policy
 * @throws {LocalProtocolError} when the configuration is malformed; the message
 *   starts with the path of the bad value, e.g. `policy.identities["DIAL/x"].actions[2]:`
 * @example
 * ```ts
 * import { compilePolicy, decide } from "./policy.ts";
 * const policy = compilePolicy({
 *   identities: {
 *     "DIAL/*": { nodes: ["pbx1"], actions: ["Originate", "Hangup"], classes: ["call", "originate"] },
 *   },
 * });
 * decide(policy, { identity: "DIAL/w1", node: "pbx1", action: "Originate" }); // { allowed: true }
 * ```
 */
export function compilePolicy(raw: unknown): Policy {
  const top = object(raw, "policy");
  for (const k of Object.keys(top)) {
    if (k !== "identities" && k !== "default") {
      fail("policy", `unknown key ${JSON.stringify(k)} (expected identities, default)`);
    }
  }
  const entries: PolicyEntry[] = [];
  if (top.identities !== undefined) {
    const ids = object(top.identities, "policy.identities");
    const keys = Object.keys(ids);
    if (keys.length > POLICY_LIMITS.identities) {
      fail("policy.identities", `more than ${POLICY_LIMITS.identities} entries`);
    }
    for (const key of keys) {
      const path = `policy.identities[${JSON.stringify(key)}]`;
      checkIdentityKey(key, path);
      const rule = `identities[${JSON.stringify(key)}]`;
      entries.push({
        identity: key,
        exact: !isGlob(key),
        grants: grants(ids[key], path, rule),
      });
    }
  }
  entries.sort(bySpecificity);
  const defaultGrants = top.default === undefined
    ? []
    : grants(top.default, "policy.default", "default");
  return Object.freeze({ origin: "configured", entries: Object.freeze(entries), defaultGrants });
}

/**
 * Decides whether a request is allowed.
 *
 * @param policy the compiled policy
 * @param request who asks, for which node and action
 * @returns `{ allowed: true }`, or `{ allowed: false, why }` naming the rule
 */
export function decide(policy: Policy, request: PolicyRequest): PolicyDecision {
  const { identity, node, action } = request;
  const lower = action.toLowerCase();
  if (RESERVED.has(lower)) {
    return refused(`${action} belongs to the gateway's own AMI session and is never forwarded`);
  }
  const chosen = select(policy, identity);
  if (chosen === undefined) {
    return refused(
      identity === INVALID_IDENTITY
        ? `the request's Nats-Request-Info header could not be read, and no ` +
          `identities["@invalid"] entry exists`
        : `no identities entry matches ${identity} and there is no default`,
    );
  }
  if (chosen.grants.length === 0) return refused(`${chosen.rule} grants nothing`);
  const classes = lookupClasses(lower);
  let best = "";
  let bestStage = -1;
  for (const g of chosen.grants) {
    const [stage, why] = check(g, node, action, lower, classes);
    if (why === undefined) return ALLOWED;
    if (stage > bestStage) [best, bestStage] = [why, stage];
  }
  return refused(best);
}

/**
 * Reads the identity from a request's `Nats-Request-Info` header.
 * nats-server 2.9 writes `acc` and `user` on requests through a service
 * import with `share: true`, and `acc` alone through one without.
 *
 * @param value the header's value, or `undefined` when the request has none
 * @param reply the request's reply subject, if known: a request with no header
 *   whose reply is a service import's (`_R_.`) crossed an import yet carries no
 *   identity, and is {@link INVALID_IDENTITY} rather than {@link LOCAL_IDENTITY}
 * @returns `<acc>/<user>`, `<acc>`, {@link LOCAL_IDENTITY} (no header) or
 *   {@link INVALID_IDENTITY} (anything unreadable: bad JSON, no `acc`,
 *   control characters, over 4,096 characters)
 */
export function identityFromHeaders(value: string | undefined, reply?: string): string {
  if (value === undefined) return reply?.startsWith("_R_.") ? INVALID_IDENTITY : LOCAL_IDENTITY;
  if (value.length > 4096) return INVALID_IDENTITY;
  let info: unknown;
  try {
    info = JSON.parse(value);
  } catch {
    return INVALID_IDENTITY;
  }
  if (typeof info !== "object" || info === null || Array.isArray(info)) return INVALID_IDENTITY;
  const { acc, user } = info as { acc?: unknown; user?: unknown };
  if (typeof acc !== "string" || !isName(acc) || acc.startsWith("@")) return INVALID_IDENTITY;
  if (user === undefined || user === "") return acc;
  if (typeof user !== "string" || !isName(user)) return INVALID_IDENTITY;
  return `${acc}/${user}`;
}

/**
 * The text `amikit gateway --check-config` prints: per entry, the grants,
 * how many of the known actions each allows, and which system-level actions
 * (registered with system, command, config, agi, test or security) among them.
 *
 * @param policy the compiled policy
 * @returns lines of text, ending with a newline
 */
export function describePolicy(policy: Policy): string {
  const out: string[] = [
    policy.origin === "configured"
      ? "Gateway policy (configured)."
      : "Gateway policy: the built-in default (no policy configured).",
    "Identities are <account>/<user> from Nats-Request-Info; @local: from the gateway's own " +
    "account; @invalid: unreadable header.",
    "",
  ];
  for (const e of policy.entries) {
    out.push(`${e.identity} (${e.exact ? "exact" : "glob"})`);
    describeGrants(out, e.grants);
  }
  out.push(
    policy.defaultGrants.length === 0
      ? "Any other identity: refused (no default)."
      : "Any other identity (default; @invalid excepted):",
  );
  if (policy.defaultGrants.length > 0) describeGrants(out, policy.defaultGrants);
  out.push(
    "",
    `Never forwarded, for anyone: ${GATEWAY_RESERVED_ACTIONS.join(", ")}.`,
    "Actions not in Asterisk's registrations are allowed only where named exactly.",
  );
  return out.join("\n") + "\n";
}

// ---- internals ----

const ALLOWED: PolicyDecision = Object.freeze({ allowed: true });
const RESERVED = new Set(GATEWAY_RESERVED_ACTIONS.map((a) => a.toLowerCase()));
const TABLE = new Map<string, [string, readonly AmiWriteClass[]]>(
  Object.entries(ACTION_CLASSES).map(([n, c]) => [n.toLowerCase(), [n, c]]),
);

function lookupClasses(lower: string): readonly AmiWriteClass[] | undefined {
  return TABLE.get(lower)?.[1];
}

function refused(why: string): PolicyDecision {
  return { allowed: false, why };
}

/** Control characters and whitespace never occur in names or patterns. */
function isName(s: string): boolean {
  // deno-lint-ignore no-control-regex
  return s.length > 0 && s.length <= POLICY_LIMITS.length && !/[\s\x00-\x1f\x7f]/.test(s);
}

/** Each policy's exact entries by identity, built on first use. */
const EXACT = new WeakMap<Policy, Map<string, Chosen>>();

/** Identities resolved through the globs (null: none matches), per policy; cleared when full. */
const GLOB_HITS = new WeakMap<Policy, Map<string, Chosen | null>>();
const GLOB_CACHE_SIZE = 1024;

/** The entry that applies to a request: its rule and grants. */
interface Chosen {
  readonly rule: string;
  readonly grants: readonly Grant[];
}

function chosen(e: PolicyEntry): Chosen {
  return { rule: `identities[${JSON.stringify(e.identity)}]`, grants: e.grants };
}

/** The grants of the entry that applies to an identity, or undefined for none. */
function select(policy: Policy, identity: string): Chosen | undefined {
  let exact = EXACT.get(policy);
  if (exact === undefined) {
    exact = new Map(policy.entries.filter((e) => e.exact).map((e) => [e.identity, chosen(e)]));
    EXACT.set(policy, exact);
  }
  const found = exact.get(identity);
  if (found !== undefined) return found;
  if (identity !== INVALID_IDENTITY) {
    let cache = GLOB_HITS.get(policy);
    if (cache === undefined) GLOB_HITS.set(policy, cache = new Map());
    let hit = cache.get(identity);
    if (hit === undefined) {
      const e = policy.entries.find((e) => !e.exact && globMatch(e.identity, identity));
      hit = e === undefined ? null : chosen(e);
      if (cache.size >= GLOB_CACHE_SIZE) cache.clear();
      cache.set(identity, hit);
    }
    if (hit !== null) return hit;
  }
  if (identity === INVALID_IDENTITY || policy.defaultGrants.length === 0) return undefined;
  return { rule: "default", grants: policy.defaultGrants };
}

/** Checks one grant: [how far the request got, why it stopped] or [3, undefined]. */
function check(
  g: Grant,
  node: string,
  action: string,
  lower: string,
  classes: readonly AmiWriteClass[] | undefined,
): [number, string | undefined] {
  if (!g.nodes.some((p) => globMatch(p, node))) {
    return [0, `${g.rule} grants ${g.nodes.length ? `nodes ${list(g.nodes)} only` : "no node"}`];
  }
  if (classes === undefined) {
    return g.actions.some((p) => !isGlob(p) && p.toLowerCase() === lower)
      ? [3, undefined]
      : [1, `${action} is not a known AMI action and ${g.rule} does not name it exactly`];
  }
  if (!g.actions.some((p) => globMatch(p.toLowerCase(), lower))) {
    return [
      1,
      `${g.rule} grants ${g.actions.length ? `actions ${list(g.actions)} only` : "no action"}`,
    ];
  }
  if (classes.length > 0 && !classes.some((c) => g.classes.includes(c))) {
    return [
      2,
      `${action} needs write class ${classes.join(" or ")} and ${g.rule} grants ` +
      (g.classes.length === 0 ? "no class" : g.classes.join(", ")),
    ];
  }
  return [3, undefined];
}

/** Appends the description of some grants, indented. */
function describeGrants(out: string[], gs: readonly Grant[]): void {
  if (gs.length === 0) out.push("  grants nothing: refused");
  const known = [...TABLE.values()].filter(([n]) => !RESERVED.has(n.toLowerCase()));
  for (const g of gs) {
    out.push(
      `  ${g.rule}: nodes ${g.nodes.join(", ") || "(none)"}; actions ${
        g.actions.join(", ") || "(none)"
      }; classes ${
        g.classes.length === AMI_WRITE_CLASSES.length ? "all" : g.classes.join(", ") || "(none)"
      }`,
    );
    const allowed = known.filter(([n, cs]) =>
      g.actions.some((p) => globMatch(p.toLowerCase(), n.toLowerCase())) &&
      (cs.length === 0 || cs.some((c) => g.classes.includes(c)))
    );
    const privileged = (c: AmiWriteClass): boolean => PRIVILEGED_CLASSES.includes(c);
    const system = allowed.filter(([, cs]) =>
      cs.some(privileged) && cs.every((c) => privileged(c) || !g.classes.includes(c))
    ).map(([n]) => n);
    const mixed = allowed.filter(([, cs]) => cs.some(privileged)).map(([n]) => n)
      .filter((n) => !system.includes(n));
    const unknown = g.actions.filter((p) => !isGlob(p) && !TABLE.has(p.toLowerCase()));
    out.push(`    allows ${allowed.length} of the ${known.length} known actions`);
    wrap(out, "    system-level, through a privileged class: ", system.length ? system : ["none"]);
    if (mixed.length) wrap(out, "    privileged too, allowed through another class: ", mixed);
    if (unknown.length) wrap(out, "    named, not in Asterisk's table: ", unknown);
  }
}

/** Appends a list of names after a label, wrapped at 100 columns. */
function wrap(out: string[], label: string, names: readonly string[]): void {
  let line = label;
  names.forEach((n, i) => {
    const item = n + (i < names.length - 1 ? "," : "");
    if (line.length + item.length + 1 > 100 && line.trim() !== label.trim()) {
      out.push(line.trimEnd());
      line = " ".repeat(6);
    }
    line += (line.endsWith(" ") ? "" : " ") + item;
  });
  out.push(line.trimEnd());
}

/** A short list of patterns for a refusal. */
function list(items: readonly string[]): string {
  const shown = items.slice(0, 5).join(", ");
  return items.length > 5 ? `${shown}, ... (${items.length} in all)` : shown;
}

/** Exact keys first, then globs: more literal characters, fewer `*`, then by key. */
function bySpecificity(a: PolicyEntry, b: PolicyEntry): number {
  if (a.exact !== b.exact) return a.exact ? -1 : 1;
  const lit = (s: string): number => s.replace(/[*?]/g, "").length;
  const stars = (s: string): number => s.split("*").length - 1;
  return lit(b.identity) - lit(a.identity) || stars(a.identity) - stars(b.identity) ||
    (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0);
}

function fail(path: string, message: string): never {
  throw new LocalProtocolError(`${path}: ${message}`);
}

function object(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(path, "expected an object");
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) fail(path, "expected a plain object");
  return v as Record<string, unknown>;
}

function checkIdentityKey(key: string, path: string): void {
  if (!isName(key)) {
    fail(
      path,
      `an identity must be 1 to ${POLICY_LIMITS.length} characters, no whitespace or control characters`,
    );
  }
  if (key.startsWith("@") && key !== LOCAL_IDENTITY && key !== INVALID_IDENTITY) {
    fail(path, `identities starting with @ are ${LOCAL_IDENTITY} and ${INVALID_IDENTITY} only`);
  }
}

function grants(v: unknown, path: string, rule: string): readonly Grant[] {
  if (!Array.isArray(v)) return Object.freeze([grant(v, path, rule)]);
  if (v.length > POLICY_LIMITS.grants) fail(path, `more than ${POLICY_LIMITS.grants} grants`);
  return Object.freeze(v.map((g, i) => grant(g, `${path}[${i}]`, `${rule}[${i}]`)));
}

// deno-lint-ignore no-control-regex
const NODE_PATTERN = /^[^.>\s\x00-\x1f\x7f]+$/;
const ACTION_PATTERN = /^[A-Za-z0-9_*?-]+$/;

function grant(v: unknown, path: string, rule: string): Grant {
  const o = object(v, path);
  for (const k of Object.keys(o)) {
    if (k !== "nodes" && k !== "actions" && k !== "classes") {
      fail(path, `unknown key ${JSON.stringify(k)} (expected nodes, actions, classes)`);
    }
  }
  const nodes = patterns(o.nodes, `${path}.nodes`, NODE_PATTERN, "a node name or glob (no . or >)");
  const actions = patterns(
    o.actions,
    `${path}.actions`,
    ACTION_PATTERN,
    "an action name or glob (letters, digits, _, -, * and ?)",
  );
  const cs = strings(o.classes, `${path}.classes`);
  const granted = new Set<AmiWriteClass>();
  cs.forEach((c, i) => {
    if (c === "all") AMI_WRITE_CLASSES.forEach((x) => granted.add(x));
    else if ((AMI_WRITE_CLASSES as readonly string[]).includes(c)) granted.add(c as AmiWriteClass);
    else {
      fail(
        `${path}.classes[${i}]`,
        `unknown write class ${JSON.stringify(c)} (expected all or one of ${
          AMI_WRITE_CLASSES.join(", ")
        })`,
      );
    }
  });
  return Object.freeze({
    rule,
    nodes,
    actions,
    classes: Object.freeze(AMI_WRITE_CLASSES.filter((c) => granted.has(c))),
  });
}

function strings(v: unknown, path: string): readonly string[] {
  if (!Array.isArray(v)) fail(path, "expected an array of strings");
  if (v.length > POLICY_LIMITS.patterns) fail(path, `more than ${POLICY_LIMITS.patterns} entries`);
  v.forEach((s, i) => {
    if (typeof s !== "string") fail(`${path}[${i}]`, "expected a string");
  });
  return Object.freeze([...v as string[]]);
}

function patterns(v: unknown, path: string, shape: RegExp, what: string): readonly string[] {
  const list = strings(v, path);
  list.forEach((p, i) => {
    if (p.length > POLICY_LIMITS.length || !shape.test(p)) {
      fail(
        `${path}[${i}]`,
        `${JSON.stringify(p.slice(0, 40))} is not ${what}, 1 to ${POLICY_LIMITS.length} characters`,
      );
    }
  });
  return list;
}

// ---- the default (after the tables it compiles with) ----

/**
 * The policy of a gateway with none configured: every identity (`@invalid`
 * excepted) may send, on every node, every action registered with no class or
 * with one of call, originate, agent, user, dtmf, reporting, cdr, dialplan,
 * cc, aoc, message, log or verbose; so nothing that needs only system,
 * command, config, agi, test or security (Command, ModuleLoad, Reload,
 * UpdateConfig, DBPut, ...). Actions not in the table are refused.
 */
export const DEFAULT_POLICY: Policy = Object.freeze({
  ...compilePolicy({
    default: {
      nodes: ["*"],
      actions: ["*"],
      classes: AMI_WRITE_CLASSES.filter((c) => !PRIVILEGED_CLASSES.includes(c)),
    },
  }),
  origin: "built-in default",
});
