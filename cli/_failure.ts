/**
 * One line per failure for the user: what failed, where, and the root
 * cause once (the error classes nest their causes' messages, so printing
 * the whole chain said the same thing three times).
 *
 * @module
 */

import { AuthError, ConnectError } from "../core/errors.ts";
import type { Redactor } from "./redact.ts";

/** Where a connection was attempted, and as whom. */
export interface FailurePlace {
  /** e.g. `127.0.0.1:5038`, or `node pbx1 (10.0.0.1:5038)`. */
  readonly where: string;
  /** The manager.conf user. */
  readonly username: string;
}

/**
 * Describes a failed connect or login as one redacted line.
 *
 * @param error what `connect()` or a cluster node reported
 * @param place where and as whom
 * @param redactor the process's redactor
 * @returns e.g. `cannot connect to 127.0.0.1:5038 (refused): connect ECONNREFUSED 127.0.0.1:5038`
 */
export function connectFailureLine(
  error: unknown,
  place: FailurePlace,
  redactor: Redactor,
): string {
  if (error instanceof AuthError) {
    const detail = error.message.replace(/^login refused:\s*/i, "");
    return `login refused for ${place.username} on ${place.where}: ${redactor.text(detail)}`;
  }
  if (error instanceof ConnectError) {
    return `cannot connect to ${place.where} (${error.reason}): ${
      redactor.text(rootDetail(error))
    }`;
  }
  return `cannot log in to ${place.where}: ${redactor.errorText(error)}`;
}

/** The deepest cause's message; without a cause, the message without its "connect to X" lead. */
function rootDetail(error: Error): string {
  let e: Error = error;
  for (let i = 0; i < 8 && e.cause instanceof Error; i++) e = e.cause;
  if (e !== error && e.message !== "") return e.message;
  return error.message.replace(/^connect to \S+ /, "");
}
