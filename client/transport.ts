/**
 * The client's contract with the runtime adapters: a connected byte stream.
 * The client layer defines it; each adapter (`adapters/node.ts`, `deno.ts`,
 * `bun.ts`) only opens a socket (plain or TLS) and wraps it in a
 * {@link Transport}.
 *
 * The socket is read for as long as it is open, whatever the application
 * does: Asterisk drops clients that read slowly, so backpressure toward the
 * application is a bounded queue in the client, never a paused read.
 *
 * @module
 */

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
