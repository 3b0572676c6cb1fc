/**
 * The Deno transport (`Deno.connect`, `Deno.connectTls`). Deno is reached
 * through `globalThis` with a minimal local type, so this file compiles
 * without Deno's typings and touches Deno only when called. Writes are
 * awaited one at a time (Deno's backpressure); reads never pause.
 *
 * @module
 */

import type {
  Transport,
  TransportConnector,
  TransportHandlers,
  TransportOptions,
} from "../client/transport.ts";
import { caList, connectError } from "./_connect.ts";

interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}

interface DenoNamespace {
  connect(options: { hostname: string; port: number; transport?: "tcp" }): Promise<DenoConn>;
  startTls(
    conn: DenoConn,
    options: { hostname?: string; caCerts?: string[] },
  ): Promise<DenoConn & { handshake?(): Promise<unknown> }>;
}

const READ_BUFFER_BYTES = 64 * 1024;

function deno(): DenoNamespace {
  const d = (globalThis as { Deno?: DenoNamespace }).Deno;
  if (d === undefined) throw new Error("the Deno adapter needs the Deno runtime");
  return d;
}

/**
 * Opens a TCP connection with `Deno.connect`, then upgrades it with
 * `Deno.startTls` when TLS is asked for.
 *
 * @param options host, port, TLS settings, abort signal
 * @param handlers where data, drain and the end of the stream are reported
 * @returns the connected transport
 * @throws {ConnectError} refused, timed out (signal aborted) or TLS
 */
export const connectDeno: TransportConnector = async (
  options: TransportOptions,
  handlers: TransportHandlers,
): Promise<Transport> => {
  const target = `${options.host}:${options.port}`;
  const d = deno();
  let phase: "tcp" | "tls" = "tcp";
  let conn: DenoConn | undefined;
  let aborted = false;
  const onAbort = (): void => {
    aborted = true;
    try {
      conn?.close();
    } catch { /* already closed */ }
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (options.signal?.aborted) throw options.signal.reason;
    const pending = d.connect({ hostname: options.host, port: options.port });
    conn = await abortable(pending, options.signal);
    conn.setNoDelay?.(true);
    if (options.tls !== undefined) {
      phase = "tls";
      if (options.tls.rejectUnauthorized === false) {
        throw new Error("rejectUnauthorized: false is not supported by Deno's TLS");
      }
      const ca = caList(options.tls);
      const secure = await d.startTls(conn, {
        hostname: options.tls.servername ?? options.host,
        caCerts: ca.length > 0 ? ca : undefined,
      });
      conn = secure;
      // Finish the handshake now, so that a bad certificate fails the connect.
      await secure.handshake?.();
      if (aborted) throw options.signal?.reason;
    }
  } catch (error) {
    try {
      conn?.close();
    } catch { /* already closed */ }
    throw connectError(aborted ? (options.signal?.reason ?? error) : error, { phase, target });
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  return wrap(conn, handlers);
};

/**
 * Rejects when the signal aborts; a connection that arrives late is closed,
 * once (closing it twice throws `BadResource`, which would surface as an
 * unhandled rejection). Exported for its test.
 *
 * @param pending the connection being opened
 * @param signal aborts the wait
 * @returns the connection, unless aborted first
 */
export function abortable<C extends { close(): void }>(
  pending: Promise<C>,
  signal: AbortSignal | undefined,
): Promise<C> {
  if (signal === undefined) return pending;
  return new Promise<C>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (c) => {
        signal.removeEventListener("abort", onAbort);
        if (!signal.aborted) return resolve(c);
        try {
          c.close();
        } catch { /* closed meanwhile */ }
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function wrap(conn: DenoConn, handlers: TransportHandlers): Transport {
  let done = false;
  let closing = false;
  let writing = false;
  const finish = (error?: Error): void => {
    if (done) return;
    done = true;
    try {
      conn.close();
    } catch { /* already closed */ }
    handlers.closed(error);
  };
  (async () => {
    try {
      while (!done) {
        const buffer = new Uint8Array(READ_BUFFER_BYTES);
        const n = await conn.read(buffer);
        if (n === null) break;
        if (!done) handlers.data(buffer.subarray(0, n));
      }
      finish();
    } catch (error) {
      finish(closing ? undefined : error as Error);
    }
  })();
  return {
    write(bytes: Uint8Array): boolean {
      if (done) return true;
      writing = true;
      (async () => {
        try {
          let offset = 0;
          while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
          writing = false;
          if (closing) finish();
          else if (!done) handlers.drain();
        } catch (error) {
          writing = false;
          finish(error as Error);
        }
      })();
      return false;
    },
    end(): void {
      closing = true;
      if (!writing) finish();
    },
    destroy(): void {
      closing = true;
      finish();
    },
  };
}
