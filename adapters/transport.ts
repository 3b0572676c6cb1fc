/**
 * The one small interface between a runtime's socket and the runtime-neutral
 * client: a connected byte stream. Each adapter (`node.ts`, `deno.ts`,
 * `bun.ts`) only opens a socket (plain or TLS) and wraps it in a
 * {@link Transport}.
 *
 * The socket is read for as long as it is open, whatever the application
 * does: Asterisk drops clients that read slowly, so backpressure toward the
 * application is a bounded queue in the client, never a paused read.
 *
 * @module
 */

import { ConnectError } from "../core/errors.ts";

/** TLS settings of a connection. */
export interface TlsOptions {
  /** Extra trusted CA certificates (PEM). Default: the runtime's trust store. */
  readonly ca?: string | readonly string[];
  /** The name to verify the certificate against (SNI). Default: the host. */
  readonly servername?: string;
  /** Verify the server's certificate. Default `true`; `false` is for labs only. */
  readonly rejectUnauthorized?: boolean;
}

/** Where and how to open a connection. */
export interface TransportOptions {
  /** Host name or address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** TLS settings; absent for plain TCP. */
  readonly tls?: TlsOptions;
  /** Aborting it cancels the attempt: the promise rejects with a `timedOut` {@link ConnectError}. */
  readonly signal?: AbortSignal;
}

/**
 * What the transport reports. Called synchronously from the runtime's socket
 * callbacks; `data` chunks are owned by the receiver (never reused).
 */
export interface TransportHandlers {
  /** Bytes arrived. */
  data(chunk: Uint8Array): void;
  /** The transport can take more bytes after {@link Transport.write} returned `false`. */
  drain(): void;
  /**
   * The stream ended: `error` undefined for a clean end of stream (EOF),
   * set when the socket failed. Called exactly once; nothing follows it.
   */
  closed(error?: Error): void;
}

/** A connected byte stream. */
export interface Transport {
  /**
   * Hands bytes to the socket. The transport keeps them until the runtime
   * takes them, so call it only when the previous call returned `true` or
   * `drain` was reported since.
   *
   * @returns `true` when more may be written now, `false` to wait for `drain`
   */
  write(bytes: Uint8Array): boolean;
  /** Closes after the bytes already handed over are written. */
  end(): void;
  /** Closes now; unwritten bytes are discarded. */
  destroy(): void;
}

/** Opens a transport; each adapter provides one. */
export type TransportConnector = (
  options: TransportOptions,
  handlers: TransportHandlers,
) => Promise<Transport>;

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
