/**
 * Helpers the adapters share: a runtime's connect failure as a typed
 * {@link ConnectError}, and TLS options' CA list.
 *
 * @module
 */

import { ConnectError } from "../core/errors.ts";
import type { TlsOptions } from "../client/transport.ts";

const TLS_CODE =
  /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH|ERR_INVALID_CERT)/i;

/**
 * Turns a runtime's connect failure into a {@link ConnectError} with a
 * reason. Adapters call it; `phase` says whether TCP was already connected
 * (then any failure is a TLS failure).
 *
 * @param error what the runtime threw
 * @param options `phase` of the attempt, `target` for the message
 * @returns the typed error, with the original as `cause`
 */
export function connectError(
  error: unknown,
  options: { phase: "tcp" | "tls"; target: string },
): ConnectError {
  if (error instanceof ConnectError) return error;
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === "string" ? e.code : "";
  const name = typeof e?.name === "string" ? e.name : "";
  const message = typeof e?.message === "string" ? e.message : String(error);
  let reason: ConnectError["reason"] = "other";
  if (name === "AbortError" || name === "TimeoutError" || code === "ETIMEDOUT") {
    reason = "timedOut";
  } else if (
    options.phase === "tls" || TLS_CODE.test(code) || /certificate|tls|ssl/i.test(message)
  ) {
    reason = "tls";
  } else if (code === "ECONNREFUSED" || name === "ConnectionRefused" || /refused/i.test(message)) {
    reason = "refused";
  } else if (
    code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME" ||
    /lookup address|name or service not known|getaddrinfo/i.test(message)
  ) {
    reason = "dns";
  } else if (code === "ECONNRESET" || name === "ConnectionReset") {
    reason = "closed";
  }
  return new ConnectError(reason, `connect to ${options.target} failed (${reason}): ${message}`, {
    cause: error,
  });
}

/**
 * The trusted CAs of TLS options as a list.
 *
 * @param tls the TLS options
 * @returns the CA list as an array of PEM strings (empty when absent)
 */
export function caList(tls: TlsOptions): string[] {
  if (tls.ca === undefined) return [];
  return typeof tls.ca === "string" ? [tls.ca] : [...tls.ca];
}
