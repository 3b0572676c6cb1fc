/**
 * `amikit simulate`: runs the AMI simulator on a port until SIGINT/SIGTERM,
 * with users and a dialplan from flags or files.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { getLogger } from "@logtape/logtape";
import { AmiSimulator, type Dialplan, type SimUser } from "../testing/mod.ts";
import {
  promptSecret,
  resolveSecret,
  type SimulateCommand,
  stdinIsTerminal,
  UsageError,
} from "./_args.ts";
import { EXIT, exitAfterFlush, onTerminate } from "./_process.ts";
import { configureLogging } from "./log_sink.ts";
import type { Redactor } from "./redact.ts";

const logger = getLogger(["amikit", "cli", "simulate"]);

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read the ${what} file ${path}: ${code ?? "not valid JSON"}`,
      "simulate",
    );
  }
}

/** A PEM file's text; never echoes it (a key file is a secret). */
function readPem(path: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(
      `${flag}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
      "simulate",
    );
  }
  if (!text.includes("-----BEGIN ")) {
    throw new UsageError(`${flag}: ${path} is not PEM`, "simulate");
  }
  return text;
}

/**
 * Reads the users of `--users FILE`: `{"name": {"secret"|"secretFile"|"secretEnv", "read", "write"}}`.
 *
 * @param path the file
 * @param redactor every secret read is registered here
 * @param env the environment, for `secretEnv`
 * @returns the users
 * @throws {UsageError} for a bad file
 */
export function readUsers(
  path: string,
  redactor: Redactor,
  env: Readonly<Record<string, string | undefined>> = process.env,
): SimUser[] {
  const raw = readJson(path, "users");
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new UsageError(`users file ${path}: expected {"name": {"secret": ...}, ...}`, "simulate");
  }
  const users: SimUser[] = [];
  for (const [username, spec] of Object.entries(raw as Record<string, Record<string, unknown>>)) {
    let secret = typeof spec?.secret === "string" ? spec.secret : undefined;
    if (secret === undefined && typeof spec?.secretFile === "string") {
      secret = readFileSync(spec.secretFile, "utf8").replace(/\r?\n$/, "");
    }
    if (secret === undefined && typeof spec?.secretEnv === "string") secret = env[spec.secretEnv];
    if (secret === undefined || secret === "") {
      throw new UsageError(`users file ${path}: no secret for ${username}`, "simulate");
    }
    redactor.addSecret(secret);
    users.push({
      username,
      secret,
      read: typeof spec.read === "string" ? spec.read : "all",
      write: typeof spec.write === "string" ? spec.write : "all",
    });
  }
  if (users.length === 0) throw new UsageError(`users file ${path}: no users`, "simulate");
  return users;
}

/**
 * The user the simulator accepts when none is given: FreePBX's well-known
 * default, so examples work as written. Not a secret (it is documented),
 * so it is not redacted.
 */
export const DEFAULT_USER: Readonly<SimUser> = {
  username: "admin",
  secret: "amp111",
  read: "all",
  write: "all",
};

/** The `--username` user, with its secret from a flag, a file, the environment or a prompt. */
async function oneUser(
  cmd: SimulateCommand,
  username: string,
  redactor: Redactor,
): Promise<SimUser> {
  const env = process.env;
  if (cmd.secret !== undefined) {
    redactor.addSecret(cmd.secret);
    logger.warn("warning: --secret exposes the secret in the process list and shell history");
  }
  const secret = await resolveSecret(
    { flag: cmd.secret, file: cmd.secretFile ?? env.AMI_SECRET_FILE, value: env.AMI_SECRET },
    username,
    { redactor, prompt: stdinIsTerminal() ? promptSecret : undefined },
  );
  return { username, secret, read: "all", write: "all" };
}

/**
 * Runs `amikit simulate` until a signal.
 *
 * @param cmd the parsed command
 * @param redactor the process's redactor
 * @returns never: the process exits
 */
export async function runSimulate(cmd: SimulateCommand, redactor: Redactor): Promise<never> {
  const sink = await configureLogging({ level: cmd.logLevel, format: cmd.logFormat, redactor });
  const env = process.env;
  let users: SimUser[];
  if (cmd.usersFile !== undefined) {
    users = readUsers(cmd.usersFile, redactor);
  } else {
    const username = cmd.username ?? env.AMI_USERNAME;
    if (username === undefined) {
      users = [{ ...DEFAULT_USER }];
      logger.warn(
        "no user given: accepting the default user {username} with secret {secret} " +
          "(all permissions; for labs only; give --users FILE or --username for others)",
        { username: DEFAULT_USER.username, secret: DEFAULT_USER.secret },
      );
    } else {
      users = [await oneUser(cmd, username, redactor)];
    }
  }
  const dialplan = cmd.dialplanFile !== undefined
    ? readJson(cmd.dialplanFile, "dialplan") as Dialplan
    : undefined;
  const tls = cmd.tlsCert !== undefined && cmd.tlsKey !== undefined
    ? { cert: readPem(cmd.tlsCert, "--tls-cert"), key: readPem(cmd.tlsKey, "--tls-key") }
    : undefined;
  let sim: AmiSimulator;
  try {
    sim = await AmiSimulator.start({
      host: cmd.host,
      port: cmd.port,
      users,
      dialplan,
      banner: cmd.banner,
      tls,
    });
  } catch (error) {
    logger.error("cannot listen on {host}:{port}: {error}", {
      host: cmd.host,
      port: cmd.port,
      error: redactor.errorText(error),
    });
    return exitAfterFlush(EXIT.failed, sink);
  }
  logger.info("listening on {host}:{port}{tls} (users: {users})", {
    host: sim.host,
    port: sim.port,
    tls: tls === undefined ? "" : " with TLS",
    users: users.map((u) => u.username).join(", "),
  });
  onTerminate((signal) => {
    logger.info("{signal}: stopping", { signal });
    void sim.stop().finally(() => exitAfterFlush(EXIT.ok, sink));
  });
  return new Promise<never>(() => {});
}
