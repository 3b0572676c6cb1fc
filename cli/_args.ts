/**
 * Command-line parsing for `amikit`: subcommands, flags, the environment
 * (`AMI_HOST`, `AMI_PORT`, `AMI_USERNAME`, `AMI_SECRET`, `AMI_SECRET_FILE`),
 * a JSON config file listing several nodes, secrets (environment, file or
 * prompt; a `--secret` flag works but warns), and the help texts.
 *
 * @module
 */

import { readFileSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import type { TlsOptions } from "../client/transport.ts";
import { LocalProtocolError } from "../core/errors.ts";
import { actionText } from "../core/serializer.ts";
import type { Redactor } from "./redact.ts";

/** The subcommands. */
export type Subcommand = "listen" | "action" | "simulate" | "demo" | "gateway";

/** A usage mistake: printed with a hint, exit code 2. */
export class UsageError extends Error {
  /** The subcommand whose help applies, if known. */
  readonly subcommand?: Subcommand;

  /** @param message what is wrong @param subcommand whose help to point at */
  constructor(message: string, subcommand?: Subcommand) {
    super(message);
    this.name = "UsageError";
    this.subcommand = subcommand;
  }
}

/** One server to connect to, fully resolved. */
export interface NodeSpec {
  /** The node's name (in output, metrics, ActionIDs). */
  readonly name: string;
  /** Host name or address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** The manager.conf user. */
  readonly username: string;
  /** Its secret (registered with the redactor as soon as it is read). */
  readonly secret: string;
  /** Login method. */
  readonly auth: "plain" | "md5";
  /** TLS settings (the CA file already read); absent for plain TCP. */
  readonly tls?: TlsOptions;
}

/**
 * What a client needs of a node to connect: where, who, how.
 *
 * @param n the node
 * @returns host, port, credentials, login method and TLS
 */
export function serverOptions(
  n: NodeSpec,
): Pick<NodeSpec, "host" | "port" | "username" | "secret" | "auth" | "tls"> {
  return {
    host: n.host,
    port: n.port,
    username: n.username,
    secret: n.secret,
    auth: n.auth,
    tls: n.tls,
  };
}

/** A header filter: `Key=Value` (exact) or `Key~regex`. */
export interface HeaderFilter {
  /** The header name (case-insensitive). */
  readonly key: string;
  /** Exact value, or a regular expression. */
  readonly match: string | RegExp;
}

/** Flags shared by the subcommands that connect. */
export interface ConnectFlags {
  /** `--config FILE`: a JSON file listing nodes. */
  readonly config?: string;
  /** `--node NAME` (repeatable): the nodes of the config file to use. */
  readonly nodes: readonly string[];
  /** `--name`: the name of the node given by flags. */
  readonly name?: string;
  /** `--host`. */
  readonly host?: string;
  /** `--port`. */
  readonly port?: string;
  /** `--username`. */
  readonly username?: string;
  /** `--secret` (warns). */
  readonly secret?: string;
  /** `--secret-file`. */
  readonly secretFile?: string;
  /** `--auth plain|md5`. */
  readonly auth?: string;
  /** `--tls` (also implied by the other `--tls-*` flags). */
  readonly tls?: boolean;
  /** `--tls-ca FILE`: PEM certificates to trust besides the system's. */
  readonly tlsCa?: string;
  /** `--tls-servername NAME`: the name to verify the certificate against. */
  readonly tlsServername?: string;
  /** `--tls-insecure`: do not verify the certificate (warns). */
  readonly tlsInsecure?: boolean;
}

/** Logging flags. */
export interface LogFlags {
  /** `--log-level`. */
  readonly logLevel: "debug" | "info" | "warning" | "error";
  /** `--log-format`. */
  readonly logFormat: "text" | "json";
}

/** `--headers`: how headers are written in JSON output. */
export interface OutputFlags {
  /** `pairs` (`[["Key","v"],...]`, the default) or `object` (`{"Key":"v"}`). */
  readonly headersForm: "pairs" | "object";
}

/** A parsed command line. */
export type ParsedCommand =
  | { readonly command: "help"; readonly topic?: Subcommand }
  | { readonly command: "usage" }
  | { readonly command: "version" }
  | ListenCommand
  | ActionCommand
  | SimulateCommand
  | DemoCommand
  | GatewayCommand;

/** `amikit listen`. */
export interface ListenCommand extends ConnectFlags, LogFlags, OutputFlags {
  /** Discriminant. */
  readonly command: "listen";
  /** Event names to keep (case-insensitive, `*` wildcard); empty keeps all. */
  readonly events: readonly string[];
  /** Header filters, all of which must match. */
  readonly headers: readonly HeaderFilter[];
  /** The Login `Events:` mask (`on`, `off`, or classes such as `call,agent`). */
  readonly eventMask: string;
  /** `--metrics host:port`. */
  readonly metrics?: string;
}

/** `amikit action`. */
export interface ActionCommand extends ConnectFlags, LogFlags, OutputFlags {
  /** Discriminant. */
  readonly command: "action";
  /** The action's name. */
  readonly action: string;
  /** Its fields, in order (repeated keys kept). */
  readonly fields: readonly [string, string][];
  /** Deadline, ms. */
  readonly timeoutMs?: number;
}

/** `amikit simulate`. */
export interface SimulateCommand extends LogFlags {
  /** Discriminant. */
  readonly command: "simulate";
  /** Address to listen on. */
  readonly host: string;
  /** Port (0 = any free one). */
  readonly port: number;
  /** `--users FILE`. */
  readonly usersFile?: string;
  /** `--username` (with a secret from the environment, a file or a prompt). */
  readonly username?: string;
  /** `--secret` (warns). */
  readonly secret?: string;
  /** `--secret-file`. */
  readonly secretFile?: string;
  /** `--dialplan FILE`. */
  readonly dialplanFile?: string;
  /** `--banner`. */
  readonly banner?: string;
  /** `--tls-cert FILE` (PEM): serve TLS, with `--tls-key`. */
  readonly tlsCert?: string;
  /** `--tls-key FILE` (PEM). */
  readonly tlsKey?: string;
}

/** `amikit demo`. */
export interface DemoCommand extends LogFlags {
  /** Discriminant. */
  readonly command: "demo";
  /** How many calls to originate. */
  readonly calls: number;
}

/** `amikit gateway`. */
export interface GatewayCommand extends ConnectFlags, LogFlags {
  /** Discriminant. */
  readonly command: "gateway";
  /** NATS servers, comma-separated (`--nats`, `NATS_URL`). */
  readonly nats: string;
  /** `--nats-user` (or `NATS_USER`). */
  readonly natsUser?: string;
  /** `--nats-password-file` (or `NATS_PASSWORD`). */
  readonly natsPasswordFile?: string;
  /** `--nats-creds FILE`: a NATS credentials file (JWT and NKey seed). */
  readonly natsCreds?: string;
  /** `--nats-tls-ca FILE`: TLS to NATS, verified with this CA. */
  readonly natsTlsCa?: string;
  /** `--prefix`. */
  readonly prefix: string;
  /** `--policy FILE` (JSON). */
  readonly policy?: string;
  /** `--id`. */
  readonly id?: string;
  /** `--lease-ttl MS`. */
  readonly leaseTtlMs?: number;
  /** `--metrics host:port`. */
  readonly metrics?: string;
  /** `--check-config`: print the effective policy and exit. */
  readonly checkConfig: boolean;
}

const CONNECT_OPTIONS = {
  config: { type: "string", short: "c" },
  node: { type: "string", multiple: true },
  name: { type: "string" },
  host: { type: "string" },
  port: { type: "string", short: "p" },
  username: { type: "string", short: "u" },
  secret: { type: "string" },
  "secret-file": { type: "string" },
  auth: { type: "string" },
  tls: { type: "boolean" },
  "tls-ca": { type: "string" },
  "tls-servername": { type: "string" },
  "tls-insecure": { type: "boolean" },
} as const;

const LOG_OPTIONS = {
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Parses `argv` (without the runtime and script).
 *
 * @param argv the arguments
 * @returns the command
 * @throws {UsageError} for an unknown subcommand or flag, or a bad value
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  const [sub, ...rest] = argv;
  if (sub === undefined) return { command: "usage" };
  if (sub === "--version" || sub === "-V") return { command: "version" };
  if (sub === "help" || sub === "--help" || sub === "-h") {
    const topic = rest[0];
    return { command: "help", topic: isSubcommand(topic) ? topic : undefined };
  }
  if (!isSubcommand(sub)) throw new UsageError(`unknown command: ${sub}`);
  if (rest.includes("--help") || rest.includes("-h")) return { command: "help", topic: sub };
  try {
    switch (sub) {
      case "listen":
        return parseListen(rest);
      case "action":
        return parseAction(rest);
      case "simulate":
        return parseSimulate(rest);
      case "demo":
        return parseDemo(rest);
      case "gateway":
        return parseGateway(rest);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // parseArgs' own errors (unknown option, missing value).
    throw new UsageError((error as Error).message, sub);
  }
}

function isSubcommand(s: string | undefined): s is Subcommand {
  return s === "listen" || s === "action" || s === "simulate" || s === "demo" ||
    s === "gateway";
}

function logFlags(values: Record<string, unknown>, sub: Subcommand): LogFlags {
  const level = (values["log-level"] as string | undefined) ?? "info";
  if (!["debug", "info", "warning", "error"].includes(level)) {
    throw new UsageError(`--log-level must be debug, info, warning or error, not ${level}`, sub);
  }
  const format = (values["log-format"] as string | undefined) ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(`--log-format must be text or json, not ${format}`, sub);
  }
  return { logLevel: level as LogFlags["logLevel"], logFormat: format };
}

function outputFlags(values: Record<string, unknown>, sub: Subcommand): OutputFlags {
  const form = (values.headers as string | undefined) ?? "pairs";
  if (form !== "pairs" && form !== "object") {
    throw new UsageError(`--headers must be pairs or object, not ${form}`, sub);
  }
  return { headersForm: form };
}

function connectFlags(values: Record<string, unknown>): ConnectFlags {
  return {
    config: values.config as string | undefined,
    nodes: (values.node as string[] | undefined) ?? [],
    name: values.name as string | undefined,
    host: values.host as string | undefined,
    port: values.port as string | undefined,
    username: values.username as string | undefined,
    secret: values.secret as string | undefined,
    secretFile: values["secret-file"] as string | undefined,
    auth: values.auth as string | undefined,
    tls: values.tls as boolean | undefined,
    tlsCa: values["tls-ca"] as string | undefined,
    tlsServername: values["tls-servername"] as string | undefined,
    tlsInsecure: values["tls-insecure"] as boolean | undefined,
  };
}

function parseListen(args: readonly string[]): ListenCommand {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      ...CONNECT_OPTIONS,
      ...LOG_OPTIONS,
      event: { type: "string", short: "e", multiple: true },
      header: { type: "string", short: "H", multiple: true },
      "event-mask": { type: "string" },
      metrics: { type: "string", short: "m" },
      headers: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument: ${positionals[0]}`, "listen");
  }
  const metrics = values.metrics;
  if (metrics !== undefined) parseHostPort(metrics, "listen");
  return {
    command: "listen",
    ...connectFlags(values),
    ...logFlags(values, "listen"),
    ...outputFlags(values, "listen"),
    events: (values.event ?? []).flatMap((e) => e.split(",")).map((e) => e.trim()).filter(
      (e) => e !== "",
    ),
    headers: (values.header ?? []).map((h) => parseHeaderFilter(h)),
    eventMask: values["event-mask"] ?? "on",
    metrics,
  };
}

function parseAction(args: readonly string[]): ActionCommand {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      ...CONNECT_OPTIONS,
      ...LOG_OPTIONS,
      timeout: { type: "string", short: "t" },
      headers: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  const [action, ...pairs] = positionals;
  if (action === undefined) throw new UsageError("action: the action's name is missing", "action");
  const fields = pairs.map((p): [string, string] => {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new UsageError(`expected Key=Value, got ${JSON.stringify(p)}`, "action");
    return [p.slice(0, eq), p.slice(eq + 1)];
  });
  // The serializer's own checks (name, keys, values, line length), before
  // any secret is read or any connection made.
  try {
    actionText({ name: action, fields });
  } catch (error) {
    if (error instanceof LocalProtocolError) throw new UsageError(error.message, "action");
    throw error;
  }
  let timeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    timeoutMs = Number(values.timeout);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new UsageError(`--timeout must be a positive number of ms`, "action");
    }
  }
  return {
    command: "action",
    ...connectFlags(values),
    ...logFlags(values, "action"),
    ...outputFlags(values, "action"),
    action,
    fields,
    timeoutMs,
  };
}

function parseSimulate(args: readonly string[]): SimulateCommand {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      ...LOG_OPTIONS,
      host: { type: "string" },
      port: { type: "string", short: "p" },
      users: { type: "string" },
      username: { type: "string", short: "u" },
      secret: { type: "string" },
      "secret-file": { type: "string" },
      dialplan: { type: "string" },
      banner: { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument: ${positionals[0]}`, "simulate");
  }
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together", "simulate");
  }
  return {
    command: "simulate",
    ...logFlags(values, "simulate"),
    host: values.host ?? "127.0.0.1",
    port: parsePort(values.port ?? "5038", "simulate", true),
    usersFile: values.users,
    username: values.username,
    secret: values.secret,
    secretFile: values["secret-file"],
    dialplanFile: values.dialplan,
    banner: values.banner,
    tlsCert: values["tls-cert"],
    tlsKey: values["tls-key"],
  };
}

function parseDemo(args: readonly string[]): DemoCommand {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { ...LOG_OPTIONS, calls: { type: "string", short: "n" } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument: ${positionals[0]}`, "demo");
  }
  const calls = Number(values.calls ?? "6");
  if (!Number.isInteger(calls) || calls < 1 || calls > 50) {
    throw new UsageError("--calls must be an integer from 1 to 50", "demo");
  }
  return {
    command: "demo",
    ...logFlags({ "log-level": "warning", ...values }, "demo"),
    calls,
  };
}

function parseGateway(args: readonly string[]): GatewayCommand {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      ...CONNECT_OPTIONS,
      ...LOG_OPTIONS,
      nats: { type: "string" },
      "nats-user": { type: "string" },
      "nats-password-file": { type: "string" },
      "nats-creds": { type: "string" },
      "nats-tls-ca": { type: "string" },
      prefix: { type: "string" },
      policy: { type: "string" },
      id: { type: "string" },
      "lease-ttl": { type: "string" },
      metrics: { type: "string", short: "m" },
      "check-config": { type: "boolean" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument: ${positionals[0]}`, "gateway");
  }
  if (values.metrics !== undefined) parseHostPort(values.metrics, "gateway");
  let leaseTtlMs: number | undefined;
  if (values["lease-ttl"] !== undefined) {
    leaseTtlMs = Number(values["lease-ttl"]);
    if (!Number.isInteger(leaseTtlMs) || leaseTtlMs < 500 || leaseTtlMs > 600_000) {
      throw new UsageError(
        "--lease-ttl must be an integer number of ms from 500 to 600000",
        "gateway",
      );
    }
  }
  return {
    command: "gateway",
    ...connectFlags(values),
    ...logFlags(values, "gateway"),
    nats: values.nats ?? process.env.NATS_URL ?? "127.0.0.1:4222",
    natsUser: values["nats-user"],
    natsPasswordFile: values["nats-password-file"],
    natsCreds: values["nats-creds"],
    natsTlsCa: values["nats-tls-ca"],
    prefix: values.prefix ?? "amikit",
    policy: values.policy,
    id: values.id,
    leaseTtlMs,
    metrics: values.metrics,
    checkConfig: values["check-config"] === true,
  };
}

/**
 * Parses `Key=Value` (exact, case-sensitive value) or `Key~regex`.
 *
 * @param text the filter
 * @returns the filter
 * @throws {UsageError} when neither form matches or the regex is invalid
 */
export function parseHeaderFilter(text: string): HeaderFilter {
  const m = /^([^=~]+)([=~])(.*)$/s.exec(text);
  if (m === null) {
    throw new UsageError(
      `--header expects Key=Value or Key~regex, got ${JSON.stringify(text)}`,
      "listen",
    );
  }
  if (m[2] === "=") return { key: m[1], match: m[3] };
  try {
    return { key: m[1], match: new RegExp(m[3]) };
  } catch (error) {
    throw new UsageError(`--header ${m[1]}~: ${(error as Error).message}`, "listen");
  }
}

/**
 * Parses `host:port`, `:port` (loopback) or `[v6]:port`.
 *
 * @param text the address
 * @param sub the subcommand, for the error
 * @returns host and port
 * @throws {UsageError} when it is not an address
 */
export function parseHostPort(text: string, sub?: Subcommand): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (m === null) throw new UsageError(`expected host:port, got ${JSON.stringify(text)}`, sub);
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port: parsePort(m[3], sub, true) };
}

function parsePort(text: string, sub?: Subcommand, allowZero = false): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new UsageError(`invalid port: ${JSON.stringify(text)}`, sub);
  }
  return port;
}

/** Where {@link resolveNodes} reads the environment, warns and prompts. */
export interface ResolveOptions {
  /** The environment (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Every secret read is registered here before anything else happens. */
  readonly redactor: Redactor;
  /** Where warnings go (e.g. the `--secret` warning). */
  readonly warn: (message: string) => void;
  /** Asks for a secret when stdin is a terminal; absent = never prompt. */
  readonly prompt?: (question: string) => Promise<string>;
}

/** The config file's shape. */
interface ConfigNode {
  name?: unknown;
  host?: unknown;
  port?: unknown;
  username?: unknown;
  secret?: unknown;
  secretFile?: unknown;
  secretEnv?: unknown;
  auth?: unknown;
  tls?: unknown;
}

/**
 * Resolves the nodes to connect to: from `--config` (optionally narrowed by
 * `--node`), else one node from flags and the environment. Precedence:
 * flags, then `AMI_*` variables, then defaults (`127.0.0.1:5038`).
 *
 * @param flags the connect flags
 * @param options environment, redactor, warning and prompt functions
 * @returns the nodes, at least one
 * @throws {UsageError} for a missing username or secret, or a bad config file
 */
export async function resolveNodes(
  flags: ConnectFlags,
  options: ResolveOptions,
): Promise<NodeSpec[]> {
  const env = options.env ?? process.env;
  if (flags.secret !== undefined) {
    options.redactor.addSecret(flags.secret);
    options.warn(
      "warning: --secret exposes the secret in the process list and shell history; " +
        "prefer AMI_SECRET_FILE, --secret-file, AMI_SECRET or the prompt",
    );
  }
  if (flags.config !== undefined) return await nodesFromConfig(flags, env, options);
  const username = flags.username ?? env.AMI_USERNAME;
  if (username === undefined || username === "") {
    throw new UsageError("no username: use --username or set AMI_USERNAME");
  }
  const host = flags.host ?? env.AMI_HOST ?? "127.0.0.1";
  const tls = tlsFromFlags(flags, options);
  const port = parsePort(flags.port ?? env.AMI_PORT ?? defaultPort(tls));
  const secret = await resolveSecret(
    { flag: flags.secret, file: flags.secretFile ?? env.AMI_SECRET_FILE, value: env.AMI_SECRET },
    username,
    options,
  );
  return [{
    name: nodeName(flags.name ?? host),
    host,
    port,
    username,
    secret,
    auth: parseAuth(flags.auth ?? env.AMI_AUTH),
    ...(tls === undefined ? {} : { tls }),
  }];
}

/** Asterisk's ports: `bindaddr` 5038, `tlsbindaddr` 5039. */
function defaultPort(tls: TlsOptions | undefined): string {
  return tls === undefined ? "5038" : "5039";
}

/** TLS from the `--tls*` flags; `undefined` when none is given. */
function tlsFromFlags(flags: ConnectFlags, options: ResolveOptions): TlsOptions | undefined {
  if (
    !flags.tls && flags.tlsCa === undefined && flags.tlsServername === undefined &&
    !flags.tlsInsecure
  ) {
    return undefined;
  }
  return tlsOptions(
    { ca: flags.tlsCa, servername: flags.tlsServername, insecure: flags.tlsInsecure === true },
    "--tls-ca",
    options,
  );
}

/** Builds TLS options: reads the CA file, warns when verification is off. */
function tlsOptions(
  spec: { ca?: string; servername?: string; insecure: boolean },
  where: string,
  options: ResolveOptions,
): TlsOptions {
  let ca: string | undefined;
  if (spec.ca !== undefined) {
    try {
      ca = readFileSync(spec.ca, "utf8");
    } catch (error) {
      throw new UsageError(
        `${where}: cannot read ${spec.ca}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
      );
    }
    if (!ca.includes("-----BEGIN CERTIFICATE-----")) {
      throw new UsageError(`${where}: ${spec.ca} holds no PEM certificate`);
    }
  }
  if (spec.insecure) {
    options.warn(
      "warning: TLS certificates are not verified (--tls-insecure): anyone on the path can " +
        "read the secret; for labs only",
    );
  }
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(spec.servername === undefined ? {} : { servername: spec.servername }),
    ...(spec.insecure ? { rejectUnauthorized: false } : {}),
  };
}

/** Where a secret may come from, in order of precedence. */
export interface SecretSources {
  /** A `--secret` flag value. */
  readonly flag?: string;
  /** A file holding the secret (trailing newline removed). */
  readonly file?: string;
  /** A value from the environment. */
  readonly value?: string;
}

/**
 * Reads one secret: the flag, then the file, then the environment value,
 * then a prompt when allowed; registers it with the redactor at once.
 *
 * @param sources the candidate sources
 * @param username whose secret (for the prompt and the error)
 * @param options redactor and prompt
 * @returns the secret
 * @throws {UsageError} when there is none or the file cannot be read
 */
export async function resolveSecret(
  sources: SecretSources,
  username: string,
  options: Pick<ResolveOptions, "redactor" | "prompt">,
): Promise<string> {
  let secret: string | undefined = sources.flag;
  if (secret === undefined && sources.file !== undefined && sources.file !== "") {
    secret = readSecretFile(sources.file);
    if (secret === "") throw new UsageError(`the secret file ${sources.file} is empty`);
  }
  if (secret === undefined && sources.value !== undefined && sources.value !== "") {
    secret = sources.value;
  }
  if (secret === undefined && options.prompt !== undefined) {
    secret = await options.prompt(`AMI secret for ${username}: `);
  }
  if (secret === undefined || secret === "") {
    throw new UsageError(
      `no secret for ${username}: set AMI_SECRET_FILE or AMI_SECRET, use --secret-file, ` +
        "or run in a terminal to be prompted",
    );
  }
  options.redactor.addSecret(secret);
  return secret;
}

function readSecretFile(path: string): string {
  try {
    return readFileSync(path, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    throw new UsageError(
      `cannot read the secret file ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
}

async function nodesFromConfig(
  flags: ConnectFlags,
  env: Readonly<Record<string, string | undefined>>,
  options: ResolveOptions,
): Promise<NodeSpec[]> {
  const path = flags.config!;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    // Never echo the file's text: it may hold secrets.
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read the config file ${path}: ${code ?? "not valid JSON"}`,
    );
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { nodes?: unknown })?.nodes;
  if (!Array.isArray(list) || list.length === 0) {
    throw new UsageError(`config file ${path}: expected {"nodes": [ ... ]} with at least one node`);
  }
  const out: NodeSpec[] = [];
  const seen = new Map<string, string>();
  let warnedMode = false;
  // The --tls* flags are every node's default; a node's own "tls" wins.
  const flagTls = tlsFromFlags(flags, options);
  for (const [i, raw] of (list as ConfigNode[]).entries()) {
    const where = `config file ${path}, node ${i + 1}`;
    if (typeof raw !== "object" || raw === null) throw new UsageError(`${where}: not an object`);
    const str = (v: unknown, field: string): string | undefined => {
      if (v === undefined) return undefined;
      if (typeof v !== "string") throw new UsageError(`${where}: ${field} must be a string`);
      return v;
    };
    const host = str(raw.host, "host") ?? "127.0.0.1";
    const name = nodeName(str(raw.name, "name") ?? host);
    const idForm = actionIdForm(name);
    const other = seen.get(idForm);
    if (other === name) throw new UsageError(`${where}: node name ${name} repeated`);
    if (other !== undefined) {
      throw new UsageError(
        `${where}: node names ${name} and ${other} would share ActionIDs; rename one`,
      );
    }
    seen.set(idForm, name);
    if (flags.nodes.length > 0 && !flags.nodes.includes(name)) continue;
    const username = str(raw.username, "username") ?? env.AMI_USERNAME;
    if (username === undefined) throw new UsageError(`${where}: no username`);
    const tls = raw.tls === undefined ? flagTls : configTls(raw.tls, where, options);
    const port = raw.port === undefined ? Number(defaultPort(tls)) : parsePort(String(raw.port));
    const inline = str(raw.secret, "secret");
    if (inline !== undefined) {
      options.redactor.addSecret(inline);
      if (!warnedMode && isReadableByOthers(path)) {
        warnedMode = true;
        options.warn(`warning: ${path} holds secrets and is readable by others (chmod 600 it)`);
      }
    }
    const secretEnv = str(raw.secretEnv, "secretEnv");
    const secret = await resolveSecret(
      {
        flag: inline ?? flags.secret,
        file: str(raw.secretFile, "secretFile") ?? flags.secretFile,
        value: secretEnv !== undefined ? env[secretEnv] : env.AMI_SECRET,
      },
      username,
      options,
    );
    out.push({
      name,
      host,
      port,
      username,
      secret,
      auth: parseAuth(str(raw.auth, "auth")),
      ...(tls === undefined ? {} : { tls }),
    });
  }
  if (out.length === 0) {
    throw new UsageError(`no node of ${path} is named ${flags.nodes.join(", ")}`);
  }
  return out;
}

/** A config node's `tls`: `true`, `false`, or `{ca, servername, rejectUnauthorized}`. */
function configTls(
  raw: unknown,
  where: string,
  options: ResolveOptions,
): TlsOptions | undefined {
  if (raw === false) return undefined;
  if (raw === true) return tlsOptions({ insecure: false }, `${where}: tls`, options);
  if (typeof raw !== "object" || raw === null) {
    throw new UsageError(`${where}: tls must be true, false or an object`);
  }
  const { ca, servername, rejectUnauthorized, ...rest } = raw as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new UsageError(
      `${where}: tls: unknown field ${unknown[0]} (ca, servername, rejectUnauthorized)`,
    );
  }
  if (ca !== undefined && typeof ca !== "string") {
    throw new UsageError(`${where}: tls.ca must be a file name`);
  }
  if (servername !== undefined && typeof servername !== "string") {
    throw new UsageError(`${where}: tls.servername must be a string`);
  }
  if (rejectUnauthorized !== undefined && typeof rejectUnauthorized !== "boolean") {
    throw new UsageError(`${where}: tls.rejectUnauthorized must be true or false`);
  }
  return tlsOptions(
    { ca, servername, insecure: rejectUnauthorized === false },
    `${where}: tls.ca`,
    options,
  );
}

function isReadableByOthers(path: string): boolean {
  try {
    return process.platform !== "win32" && (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

function parseAuth(auth: string | undefined): "plain" | "md5" {
  if (auth === undefined || auth === "" || auth === "plain") return "plain";
  if (auth === "md5") return "md5";
  throw new UsageError(`--auth must be plain or md5, not ${auth}`);
}

/**
 * Checks a node name: it is shown, logged and used as a metrics label as
 * given (the client derives the ActionID-safe form internally).
 *
 * @param name the wanted name
 * @returns the name
 * @throws {UsageError} when it is empty or holds a control character
 */
export function nodeName(name: string): string {
  if (name.trim() === "") throw new UsageError("the node name is empty");
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) {
    throw new UsageError(`the node name ${JSON.stringify(name)} contains a control character`);
  }
  return name;
}

/** The form the client puts in ActionIDs (see idPart in client/client.ts). */
function actionIdForm(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_");
}

/**
 * Asks for a secret on the terminal without echoing it.
 *
 * @param question the prompt text (written to stderr)
 * @returns what was typed, without the line ending
 */
export async function promptSecret(question: string): Promise<string> {
  const { createInterface } = await import("node:readline");
  const { Writable } = await import("node:stream");
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, (answer) => resolve(answer));
      muted = true;
    });
  } finally {
    rl.close();
    process.stderr.write("\n");
  }
}

/** Whether stdin is a terminal (then a missing secret is prompted for). */
export function stdinIsTerminal(): boolean {
  return process.stdin.isTTY === true;
}

const CONNECT_HELP = `Connection (flags win over the environment):
  --host HOST            server address            (env AMI_HOST, default 127.0.0.1)
  -p, --port PORT        manager port              (env AMI_PORT, default 5038)
  -u, --username USER    manager.conf user         (env AMI_USERNAME)
  --secret-file FILE     file holding the secret   (env AMI_SECRET_FILE)
                         the secret may also come from env AMI_SECRET, or a prompt
                         when stdin is a terminal; --secret SECRET works but warns
  --auth plain|md5       login method              (env AMI_AUTH, default plain)
  --name NAME            the node's name in output and metrics (default: the host)
  -c, --config FILE      JSON file listing several nodes:
                           {"nodes": [{"name": "pbx1", "host": "10.0.0.1", "port": 5038,
                                       "username": "dialer", "secretFile": "/run/secrets/pbx1"}]}
                         per node the secret comes from secretFile, secretEnv (a variable
                         name), or secret (then keep the file private: chmod 600)
  --node NAME            use only this node of the config file (repeatable)
  --tls                  connect with TLS (Asterisk's tlsbindaddr; default port 5039)
  --tls-ca FILE          PEM certificate(s) to trust besides the system's (implies --tls)
  --tls-servername NAME  name to verify the certificate against (default: the host)
  --tls-insecure         do not verify the certificate: labs only, warns (implies --tls)
                         in a config file, per node: "tls": true, or {"ca": FILE,
                         "servername": NAME, "rejectUnauthorized": false}

Logging (to stderr, never blocking; secrets are always redacted):
  --log-level LEVEL      debug, info, warning or error (default info)
  --log-format FORMAT    text or json (JSON Lines) (default text)`;

/** Help texts, by topic. */
export const HELP: Readonly<Record<Subcommand | "main", string>> = {
  main: `amikit: an Asterisk Manager Interface (AMI) client for Deno, Bun and Node

Usage: amikit <command> [options]

Commands:
  listen     connect to one or more servers and print each event as one JSON line
  action     send one action and print its result as JSON
  simulate   run the AMI simulator (for tests and trying things out)
  demo       start a simulator in-process, place a few calls, show what happens
  gateway    share servers with a fleet through NATS JetStream (events, actions, leases)

Run "amikit <command> --help" for the options of a command,
"amikit --version" for the version.

Examples:
  amikit demo
  AMI_USERNAME=admin AMI_SECRET_FILE=~/.ami-secret amikit listen --host pbx1.example.com
  amikit action Ping --host 10.0.0.5 -u admin`,

  listen: `Usage: amikit listen [options]

Connects to one or more servers, reconnecting as the client does, and writes
each event to stdout as one JSON line:
  {"node":"pbx1","event":"Hangup","headers":[["Event","Hangup"],["Channel","..."],...]}
Headers keep their order and repeated keys; with --headers object they are
an object instead, a repeated key's values in an array, for jq:
  {"node":"pbx1","event":"VarSet","headers":{"Event":"VarSet","Variable":["a=1","b=2"]}}
If stdout is slower than the
events, lines are buffered up to a bound, then dropped and counted (reported
on stderr once per interval); the socket is never left unread.
A server that cannot be reached is retried with backoff for as long as it
takes, and a lost connection reconnects; each change of a node's state is
one line on stderr ("node pbx1: ready", "cannot connect to node pbx1 ...;
retrying in 2.0 s"). SIGINT or SIGTERM logs off and exits 0. A login refused
before the node was ever ready exits 1 (wrong credentials do not fix
themselves).

Filters:
  -e, --event NAME       keep only these events (repeatable or comma-separated;
                         case-insensitive; * matches any run, e.g. "Dial*")
  -H, --header K=V       keep only events whose header K equals V (repeatable: all must hold)
  -H, --header K~REGEX   ... whose header K matches REGEX
  --event-mask MASK      the Login Events: mask (on, off, or classes like call,agent; default on)

Output:
  --headers FORM         pairs: [["Key","v"],...] in order (default); object: {"Key":"v",
                         "Variable":["a","b"]} (repeated keys as arrays), handy with jq

Metrics:
  -m, --metrics HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics
                           and health at /healthz (200 when every node is up)

${CONNECT_HELP}

Examples:
  AMI_USERNAME=admin AMI_SECRET_FILE=~/.ami-secret amikit listen --host 10.0.0.5
  amikit listen -c nodes.json -e Newchannel,Hangup -H Context=from-pstn
  amikit listen -c nodes.json --metrics 127.0.0.1:9464 | jq -c 'select(.event=="Hangup")'
  amikit listen --headers object -e Hangup | jq -r '.headers.Channel'`,

  action: `Usage: amikit action <Action> [Key=Value ...] [options]

Sends one action and prints its result as one JSON object: the response
headers, and for event lists the events, for Command the output lines, for
an async Originate the OriginateResponse event. Repeated keys are kept
(Variable=a=1 Variable=b=2). Exit code 0 on success, 1 when the action
fails or times out, 2 for a usage error.

  -t, --timeout MS       the action's deadline (default: the client's)
  --headers FORM         pairs: [["Key","v"],...] in order (default); object: {"Key":"v",
                         "Variable":["a","b"]} (repeated keys as arrays), handy with jq

${CONNECT_HELP}

Examples:
  # against "amikit simulate" in another terminal (user admin, secret amp111; in its
  # lab dialplan Local/100@lab answers, waits 2 s and hangs up):
  export AMI_USERNAME=admin AMI_SECRET=amp111
  amikit action Ping
  amikit action Command Command="core show channels"
  amikit action CoreShowChannels
  amikit action Originate Channel=Local/100@lab Application=Wait Data=1 Async=true
  # against real servers:
  amikit action Ping -u admin --host 10.0.0.5
  amikit action Getvar Variable=CHANNEL(language) Channel=PJSIP/100-00000001 -c nodes.json --node pbx2`,

  simulate: `Usage: amikit simulate [options]

Runs the AMI simulator (the one amikit's tests use) until SIGINT or SIGTERM.
It answers Login (plain and MD5), Ping, Command, CoreShowChannels, Status,
Getvar/Setvar, Originate (channels with a realistic life), Hangup, Events,
Filter, Logoff, and writes "listening on HOST:PORT" to stderr.

  --host HOST            address to listen on (default 127.0.0.1)
  -p, --port PORT        port (default 5038; 0 picks a free one)
  --users FILE           JSON users: {"admin": {"secret": "...", "read": "all", "write": "all"}}
  -u, --username USER    one user (with all permissions) whose secret comes from
                         AMI_SECRET_FILE, --secret-file, AMI_SECRET or a prompt
                         (env AMI_USERNAME)
                         with neither --users nor --username: the user admin with
                         secret amp111 and all permissions (labs only; said on stderr)
  --dialplan FILE        JSON dialplan: {"default": {"100": [{"app": "Answer"}, ...]}}
                         (default: the lab dialplan: 100 answers, 101 busy, 102 no answer, ...)
  --banner TEXT          the banner line (default "Asterisk Call Manager/13.0.0")
  --tls-cert FILE        serve TLS with this PEM certificate (chain) ...
  --tls-key FILE         ... and its PEM private key
  --log-level LEVEL      debug, info, warning or error (default info)

Examples:
  amikit simulate                          (port 5038, user admin, secret amp111)
  AMI_USERNAME=admin AMI_SECRET=test amikit simulate --port 5038
  amikit simulate --port 5039 -u admin --tls-cert cert.pem --tls-key key.pem
  amikit simulate --port 0 --users users.json --dialplan dialplan.json`,

  demo: `Usage: amikit demo [options]

Starts the simulator in-process on a free port, connects, originates a few
calls, shows the events and action round trips as they happen, prints a
summary with the metrics, and exits 0 by itself: in about six seconds with
the default six calls (the longest talks 4 s), a little longer with more.
Nothing to configure, no server needed.

  -n, --calls N          calls to originate (default 6, at most 50)
  --log-level LEVEL      debug, info, warning or error (default warning)

Examples:
  amikit demo
  deno task demo     npm run demo     bunx amikit demo`,

  gateway: `Usage: amikit gateway --config nodes.json [options]

Holds the AMI session of every node whose lease it wins (a JetStream key-value
bucket makes exactly one gateway hold each node; run two or more for
failover), publishes each event to the JetStream stream <PREFIX>_EVENTS on
<prefix>.<node>.event.<Event>, serves actions on <prefix>.<node>.action.<Action>
under the policy, and publishes each node's state on <prefix>.<node>.state.
Stops on SIGINT/SIGTERM, releasing its leases so another gateway takes over
at once.

NATS (the client packages @nats-io/* must be installed):
  --nats URLS            servers, comma-separated (default NATS_URL or 127.0.0.1:4222)
  --nats-user USER       user (or NATS_USER); the password from
  --nats-password-file FILE   a file (or NATS_PASSWORD)
  --nats-creds FILE      a credentials file (JWT and NKey seed)
  --nats-tls-ca FILE     TLS to NATS, verified with this CA
  --prefix NAME          subject prefix (default amikit)
  --id NAME              this gateway's id (default random)
  --lease-ttl MS         how long a dead gateway keeps its nodes (default 6000)

Policy:
  --policy FILE          who may send which action to which node (JSON); default:
                         every identity, every node, no system-level action
  --check-config         print the nodes, subjects and effective policy; exit

  -m, --metrics HOST:PORT  serve /metrics (Prometheus) and /healthz

${CONNECT_HELP}

Examples:
  amikit gateway -c nodes.json --nats 127.0.0.1:4222 --policy policy.json
  amikit gateway -c nodes.json --policy policy.json --check-config`,
};
