/**
 * nats-server configuration for the gateway's subjects: the `permissions`
 * block of a consumer's user ({@link natsPermissions}) and a whole sample
 * server configuration with accounts ({@link natsServerConfig}). Pure: text
 * out, nothing written.
 *
 * The subjects (prefix `amikit` by default; node and action names are single
 * NATS tokens):
 *
 * | subject                            | what                                   |
 * | ---------------------------------- | -------------------------------------- |
 * | `<prefix>.<node>.action.<Action>`  | a request: send an action to a node    |
 * | `<prefix>.<node>.abort.<Action>`   | abort one in flight                    |
 * | `<prefix>.<node>.event.<Event>`    | the node's events, published           |
 * | `<prefix>.<node>.event._gap`       | events the gateway could not publish   |
 * | `<prefix>.<node>.state`            | the node's connection state, published |
 *
 * The layout: the gateways alone in one account (`AMI`), which exports the
 * action and abort subjects as services and the events and state as
 * streams; each consumer role in an account of its own that imports the
 * service with `share: true` (so nats-server writes the requester's account
 * and user into `Nats-Request-Info`, which the gateway's policy reads) and
 * only the event and state subjects of its nodes, with user permissions
 * that allow only its actions on its nodes.
 *
 * @module
 */

import { LocalProtocolError } from "../core/errors.ts";

/** What a consumer role may do on the bus. */
export interface NatsRole {
  /** The subject prefix, one token (as in `gateway/subjects.ts`). Default `amikit`. */
  readonly prefix?: string;
  /** Its nodes, or `["*"]` for every node. */
  readonly nodes: readonly string[];
  /** The actions it may send (and abort), or `["*"]` for every one. Default none. */
  readonly actions?: readonly string[];
  /**
   * Which events it may receive: all of its nodes' (`true`, the default), none,
   * or these names (and `_gap`, the gateway's notice of events it could not publish).
   */
  readonly events?: boolean | readonly string[];
  /** Whether it may receive its nodes' connection state. Default true. */
  readonly state?: boolean;
  /** The prefix of its reply subjects (nats.js: `inboxPrefix`). Default `_INBOX`. */
  readonly inbox?: string;
}

/** The subjects a role publishes, subscribes to and imports. */
export interface NatsRoleSubjects {
  /** Allowed publish subjects (actions and aborts). */
  readonly publish: readonly string[];
  /** Allowed subscribe subjects (replies, events, state). */
  readonly subscribe: readonly string[];
  /** Service subjects to import from the gateway's account. */
  readonly services: readonly string[];
  /** Stream subjects to import from the gateway's account. */
  readonly streams: readonly string[];
}

/** A password in the server configuration: literal, or read from the server's environment. */
export type NatsPassword = string | { readonly env: string };

/** One user of a consumer account. */
export interface NatsConsumer {
  /** The account, e.g. `DIAL`. The gateway sees the identity `<account>/<user>`. */
  readonly account: string;
  /** The user name. */
  readonly user: string;
  /** Its password. */
  readonly password: NatsPassword;
  /** What it may do. */
  readonly role: NatsRole;
  /**
   * No user permissions and the whole service imported for its nodes: a
   * permissive bus on which only the gateway's policy stands guard (for tests
   * of that policy). Default false.
   */
  readonly permissive?: boolean;
}

/** Options of {@link natsServerConfig}. */
export interface NatsServerConfigOptions {
  /** The client port; -1 lets nats-server pick a free one (it logs which). */
  readonly port: number;
  /** The address to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** JetStream's store directory. */
  readonly storeDir: string;
  /** The subject prefix. Default `amikit`. */
  readonly prefix?: string;
  /** The gateways' account. Default `AMI`. */
  readonly gatewayAccount?: string;
  /** The gateways' users: the only users of the gateways' account. */
  readonly gateways: readonly { readonly user: string; readonly password: NatsPassword }[];
  /** The consumers, grouped into accounts by their `account`. */
  readonly consumers: readonly NatsConsumer[];
  /** How the action service replies: one message (default) or several. */
  readonly responseType?: "singleton" | "stream";
}

/** The three ready roles. */
export const READY_ROLES: {
  /** A dialer: Originate, Hangup and Redirect on its nodes; their events and state. */
  readonly dialer: (nodes: readonly string[]) => NatsRole;
  /** A monitor: its nodes' events and state; no action. */
  readonly monitor: (nodes: readonly string[]) => NatsRole;
  /** An operator: every action on every node, every event. */
  readonly operator: () => NatsRole;
} = Object.freeze({
  dialer: (nodes: readonly string[]): NatsRole => ({
    nodes,
    actions: ["Originate", "Hangup", "Redirect"],
  }),
  monitor: (nodes: readonly string[]): NatsRole => ({ nodes, actions: [] }),
  operator: (): NatsRole => ({ nodes: ["*"], actions: ["*"] }),
});

/** The most subjects one role may expand to (nodes times actions, and so on). */
export const MAX_ROLE_SUBJECTS = 10_000;

/**
 * The subjects of a role.
 *
 * @param role the role
 * @param path where the role sits in its configuration, for error messages
 * @returns what it publishes, subscribes to and imports
 * @throws {LocalProtocolError} on a name that is not a single NATS token, naming its path
 */
export function natsRoleSubjects(role: NatsRole, path = "role"): NatsRoleSubjects {
  const prefix = checkPrefix(role.prefix ?? "amikit", `${path}.prefix`, false);
  const inbox = checkPrefix(role.inbox ?? "_INBOX", `${path}.inbox`, true);
  const nodes = tokens(role.nodes, `${path}.nodes`, true);
  const actions = tokens(role.actions ?? [], `${path}.actions`, true);
  const events = role.events ?? true;
  const eventNames = typeof events === "boolean"
    ? (events ? [">"] : [])
    : withGap(tokens(events, `${path}.events`, true));
  const each = (kinds: readonly string[], f: (node: string, x: string) => string): string[] =>
    nodes.flatMap((n) => kinds.map((x) => f(n, x)));
  const publish = each(actions, (n, a) => `${prefix}.${n}.action.${a}`)
    .concat(each(actions, (n, a) => `${prefix}.${n}.abort.${a}`));
  const streams = each(eventNames, (n, e) => `${prefix}.${n}.event.${e}`)
    .concat(role.state === false ? [] : nodes.map((n) => `${prefix}.${n}.state`));
  const subscribe = (actions.length > 0 ? [`${inbox}.>`] : []).concat(streams);
  const services = actions.length === 0
    ? []
    : nodes.flatMap((n) => [`${prefix}.${n}.action.>`, `${prefix}.${n}.abort.>`]);
  if (publish.length + subscribe.length > MAX_ROLE_SUBJECTS) {
    fail(path, `expands to more than ${MAX_ROLE_SUBJECTS} subjects; use "*"`);
  }
  return { publish, subscribe, services, streams };
}

/**
 * The `permissions` block of a consumer's user, in nats-server's
 * configuration syntax: publish only its actions and aborts on its nodes,
 * subscribe only to its replies and its nodes' events and state. A role with
 * nothing to publish gets `deny: [">"]` (an empty allow list would allow
 * everything).
 *
 * @param role the role
 * @param indent spaces before each line. Default 0
 * @returns the block's text, ending with a newline
 * @throws {LocalProtocolError} on a bad role (see {@link natsRoleSubjects})
 * @example
 * ```ts
 * import { natsPermissions, READY_ROLES } from "./nats_permissions.ts";
 * console.log(natsPermissions(READY_ROLES.dialer(["pbx1"])));
 * ```
 */
export function natsPermissions(role: NatsRole, indent = 0): string {
  const s = natsRoleSubjects(role);
  const pad = " ".repeat(indent);
  const rule = (kind: string, subjects: readonly string[]): string[] =>
    subjects.length === 0
      ? [`  ${kind} {`, `    deny: [">"]`, "  }"]
      : [`  ${kind} {`, `    allow: [`, ...subjects.map((x) => `      ${q(x)}`), "    ]", "  }"];
  return ["permissions {", ...rule("publish", s.publish), ...rule("subscribe", s.subscribe), "}"]
    .map((l) => pad + l).join("\n") + "\n";
}

/**
 * A whole nats-server configuration: the listen address, JetStream, the
 * gateways' account (JetStream enabled; exports the action and abort
 * services and the event and state streams) and one account per consumer
 * account name (importing the service with `share: true` for its nodes when
 * it has actions, and only its nodes' events and state), each user with its
 * permissions.
 *
 * @param options the address, store, users and roles
 * @returns the configuration's text
 * @throws {LocalProtocolError} on a bad name, password, role, or an account
 *   given twice with different roles
 */
export function natsServerConfig(options: NatsServerConfigOptions): string {
  const prefix = checkPrefix(options.prefix ?? "amikit", "options.prefix", false);
  const gw = checkName(options.gatewayAccount ?? "AMI", "options.gatewayAccount");
  if (!Number.isInteger(options.port) || options.port < -1 || options.port > 65535) {
    fail("options.port", "expected a port number, or -1 for any free port");
  }
  const host = options.host ?? "127.0.0.1";
  if (!/^[\w.:-]+$/.test(host)) fail("options.host", "expected a host name or address");
  checkPath(options.storeDir, "options.storeDir");
  if (options.gateways.length === 0) fail("options.gateways", "expected at least one user");
  const response = options.responseType ?? "singleton";
  const lines: string[] = [
    "# nats-server configuration for amikit gateways (written by amikit).",
    `listen: ${q(`${host}:${options.port}`)}`,
    "jetstream {",
    `  store_dir: ${q(options.storeDir)}`,
    "}",
    "accounts {",
    `  # The gateways, alone: anyone here can set Nats-Request-Info on their own requests.`,
    `  ${gw} {`,
    "    jetstream: enabled",
    "    users: [",
    ...options.gateways.flatMap((g, i) => [
      "      {",
      `        user: ${q(checkName(g.user, `options.gateways[${i}].user`))}`,
      `        password: ${password(g.password, `options.gateways[${i}].password`)}`,
      "      }",
    ]),
    "    ]",
    "    exports: [",
    `      { service: ${q(`${prefix}.*.action.>`)}, response_type: ${response} }`,
    `      { service: ${q(`${prefix}.*.abort.>`)}, response_type: singleton }`,
    `      { stream: ${q(`${prefix}.*.event.>`)} }`,
    `      { stream: ${q(`${prefix}.*.state`)} }`,
    "    ]",
    "  }",
  ];
  const accounts = new Map<string, { consumer: NatsConsumer; path: string }[]>();
  const users = new Set<string>(options.gateways.map((g) => g.user));
  options.consumers.forEach((c, i) => {
    const path = `options.consumers[${i}]`;
    const account = checkName(c.account, `${path}.account`);
    if (account === gw) fail(`${path}.account`, `${gw} is the gateways' account`);
    checkName(c.user, `${path}.user`);
    if (users.has(c.user)) fail(`${path}.user`, `user ${c.user} given twice`);
    users.add(c.user);
    if ((c.role.prefix ?? "amikit") !== prefix) {
      fail(`${path}.role.prefix`, `differs from the configuration's prefix ${prefix}`);
    }
    const list = accounts.get(account) ?? [];
    list.push({ consumer: c, path });
    accounts.set(account, list);
  });
  for (const [account, members] of accounts) {
    const imports = new Map<string, string>();
    const userLines: string[] = [];
    for (const { consumer: c, path } of members) {
      const s = natsRoleSubjects(c.role, `${path}.role`);
      const services = c.permissive && s.services.length === 0
        ? natsRoleSubjects({ ...c.role, actions: ["*"] }).services
        : s.services;
      for (const x of services) {
        imports.set(`s:${x}`, `{ service: { account: ${q(gw)}, subject: ${q(x)} }, share: true }`);
      }
      for (const x of s.streams) {
        imports.set(`t:${x}`, `{ stream: { account: ${q(gw)}, subject: ${q(x)} } }`);
      }
      userLines.push(
        "      {",
        `        user: ${q(c.user)}`,
        `        password: ${password(c.password, `${path}.password`)}`,
        ...(c.permissive ? [] : natsPermissions(c.role, 8).trimEnd().split("\n")),
        "      }",
      );
    }
    lines.push(
      `  ${account} {`,
      "    users: [",
      ...userLines,
      "    ]",
      "    imports: [",
      ...[...imports.values()].map((x) => `      ${x}`),
      "    ]",
      "  }",
    );
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

// ---- internals ----

function fail(path: string, message: string): never {
  throw new LocalProtocolError(`${path}: ${message}`);
}

/** A double-quoted string; callers pass only checked text (no quote, backslash or control). */
function q(s: string): string {
  return `"${s}"`;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

function tokens(list: readonly string[], path: string, star: boolean): string[] {
  if (!Array.isArray(list)) fail(path, "expected an array of names");
  const out = list.map((t, i) => {
    if (typeof t !== "string") fail(`${path}[${i}]`, "expected a string");
    if (t === "*" && star) return t;
    if (!TOKEN.test(t) || t.length > 128) {
      fail(
        `${path}[${i}]`,
        `${JSON.stringify(t.slice(0, 40))} is not a single NATS token (letters, digits, _ and -)` +
          (/[*?]/.test(t) ? `; subjects have no partial wildcards: list the names or use "*"` : ""),
      );
    }
    return t;
  });
  return out.includes("*") ? ["*"] : [...new Set(out)];
}

function checkPrefix(p: string, path: string, dotted: boolean): string {
  if (typeof p !== "string" || !(dotted ? p.split(".") : [p]).every((t) => TOKEN.test(t))) {
    fail(
      path,
      `${JSON.stringify(String(p).slice(0, 40))} is not ${
        dotted ? "a subject prefix" : "a single NATS token"
      } (letters, digits, _ and -)`,
    );
  }
  return p;
}

/** Event names plus the gap notice, unless all events (`*`) are meant. */
function withGap(names: string[]): string[] {
  return names.length === 0 || names.includes("*") || names.includes("_gap")
    ? names
    : [...names, "_gap"];
}

function checkName(n: string, path: string): string {
  if (typeof n !== "string" || !TOKEN.test(n) || n.length > 64) {
    fail(path, "expected 1 to 64 letters, digits, _ or -");
  }
  return n;
}

function checkPath(p: string, path: string): void {
  // deno-lint-ignore no-control-regex
  if (typeof p !== "string" || p === "" || /["\\\x00-\x1f\x7f]/.test(p)) {
    fail(path, "expected a path without quotes, backslashes or control characters");
  }
}

function password(p: NatsPassword, path: string): string {
  if (typeof p === "object" && p !== null) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(p.env)) {
      fail(`${path}.env`, "expected an environment variable name");
    }
    return `$${p.env}`;
  }
  if (typeof p !== "string" || !/^[\x21-\x7e]{1,256}$/.test(p) || /["\\]/.test(p)) {
    fail(path, "expected 1 to 256 printable characters, no quote or backslash");
  }
  return q(p);
}
