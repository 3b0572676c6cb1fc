/**
 * `amikit action <Name> [Key=Value ...]`: sends one action and prints its
 * result as one JSON object; the exit code says whether it succeeded.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { ActionResult } from "../core/connection_types.ts";
import { ActionError, AmiError } from "../core/errors.ts";
import type { AmiMessage } from "../core/message.ts";
import { isAsyncOriginate } from "../core/originate.ts";
import { connect } from "../mod.ts";
import {
  type ActionCommand,
  promptSecret,
  resolveNodes,
  serverOptions,
  stdinIsTerminal,
  UsageError,
} from "./_args.ts";
import { connectFailureLine } from "./_failure.ts";
import { EXIT, exitAfterFlush } from "./_process.ts";
import { type HeadersForm, headersJson, type HeadersObject, JsonOutput } from "./json_out.ts";
import { configureLogging } from "./log_sink.ts";
import type { Redactor } from "./redact.ts";

const logger = getLogger(["amikit", "cli", "action"]);

type Headers = readonly (readonly [string, string])[] | HeadersObject;

/** The JSON printed for an action. */
export type ActionOutput =
  | {
    readonly ok: true;
    readonly node: string;
    readonly action: string;
    readonly kind: ActionResult["kind"];
    readonly response: Headers;
    readonly events?: readonly Headers[];
    readonly complete?: Headers;
    readonly output?: readonly string[];
    readonly event?: Headers;
  }
  | {
    readonly ok: false;
    readonly node: string;
    readonly action: string;
    readonly error: { readonly name: string; readonly code?: string; readonly message: string };
    readonly response?: Headers;
  };

/**
 * The JSON shape of a result: headers as `[name, value]` pairs, plus the
 * event list's events, the command's output lines or the originate event.
 *
 * @param node the node's name
 * @param action the action's name
 * @param result the result
 * @param form headers as pairs (default) or an object
 * @returns the object printed
 */
export function resultJson(
  node: string,
  action: string,
  result: ActionResult,
  form: HeadersForm = "pairs",
): ActionOutput {
  const h = (m: AmiMessage) => headersJson(m.headers, form);
  const base = {
    ok: true as const,
    node,
    action,
    kind: result.kind,
    response: h(result.response),
  };
  switch (result.kind) {
    case "eventList":
      return { ...base, events: result.events.map(h), complete: h(result.complete) };
    case "command":
      return { ...base, output: result.output };
    case "originate":
      return { ...base, event: h(result.event) };
    default:
      return base;
  }
}

/**
 * Runs `amikit action`; exits 0 on success, 1 on failure.
 *
 * @param cmd the parsed command
 * @param redactor the process's redactor
 * @returns never: the process exits
 */
export async function runAction(cmd: ActionCommand, redactor: Redactor): Promise<never> {
  const sink = await configureLogging({
    level: cmd.logLevel === "info" ? "warning" : cmd.logLevel,
    format: cmd.logFormat,
    redactor,
  });
  const out = new JsonOutput({ redactor });
  const nodes = await resolveNodes(cmd, {
    redactor,
    warn: (m) => logger.warn(m),
    prompt: stdinIsTerminal() ? promptSecret : undefined,
  });
  if (nodes.length > 1 && cmd.nodes.length === 0) {
    logger.info("the config lists {count} nodes; using {node} (choose with --node)", {
      count: nodes.length,
      node: nodes[0].name,
    });
  }
  if (cmd.nodes.length > 1) throw new UsageError("action: give at most one --node", "action");
  const n = nodes[0];
  let client;
  try {
    client = await connect({
      ...serverOptions(n),
      node: n.name,
      // An async Originate completes on its OriginateResponse, a call-class
      // event: without call events it would wait until its deadline.
      events: isAsyncOriginate(cmd.action, cmd.fields) ? "call" : false,
      reconnect: false,
    });
  } catch (error) {
    logger.error("{line}", {
      line: connectFailureLine(
        error,
        { where: `${n.host}:${n.port}`, username: n.username },
        redactor,
      ),
    });
    return exitAfterFlush(EXIT.failed, sink);
  }
  let code: number = EXIT.ok;
  try {
    const result = await client.action(cmd.action, cmd.fields, { timeout: cmd.timeoutMs });
    out.value(resultJson(n.name, cmd.action, result, cmd.headersForm));
  } catch (error) {
    code = EXIT.failed;
    const e = error as Error;
    const failed = error instanceof ActionError
      ? (error.response as AmiMessage | undefined)
      : undefined;
    const response = failed === undefined
      ? undefined
      : headersJson(failed.headers, cmd.headersForm);
    out.value(
      {
        ok: false,
        node: n.name,
        action: cmd.action,
        error: {
          name: e.name,
          code: error instanceof AmiError ? error.code : undefined,
          message: e.message,
        },
        response,
      } satisfies ActionOutput,
    );
    logger.error("{action} failed: {error}", {
      action: cmd.action,
      error: redactor.errorText(error),
    });
  }
  await Promise.race([client.close(), new Promise((r) => setTimeout(r, 3_000))]);
  client.destroy();
  await out.flush(2_000);
  return exitAfterFlush(code, sink);
}
