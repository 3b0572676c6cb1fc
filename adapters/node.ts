/**
 * The Node transport (`node:net`, `node:tls`); also works on Bun and Deno
 * through their Node compatibility. Honours `write()` returning `false`
 * by waiting for `'drain'`.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import type {
  Transport,
  TransportConnector,
  TransportHandlers,
  TransportOptions,
} from "../client/transport.ts";
import { caList, connectError } from "./_connect.ts";

/**
 * Opens a TCP (then, if asked, TLS) connection with `node:net`/`node:tls`.
 *
 * @param options host, port, TLS settings, abort signal
 * @param handlers where data, drain and the end of the stream are reported
 * @returns the connected transport
 * @throws {ConnectError} refused, timed out (signal aborted) or TLS
 */
export const connectNode: TransportConnector = (
  options: TransportOptions,
  handlers: TransportHandlers,
): Promise<Transport> => {
  const target = `${options.host}:${options.port}`;
  return new Promise<Transport>((resolve, reject) => {
    let phase: "tcp" | "tls" = "tcp";
    let settled = false;
    const raw = net.connect({ host: options.host, port: options.port });
    let socket: net.Socket = raw;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      raw.destroy();
      socket.destroy();
      reject(connectError(error, { phase, target }));
    };
    const onAbort = (): void => {
      fail(options.signal?.reason ?? new DOMException("aborted", "AbortError"));
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    raw.once("error", fail);
    raw.once("connect", () => {
      raw.setNoDelay(true);
      if (options.tls === undefined) return ready(raw);
      phase = "tls";
      const t = options.tls;
      const ca = caList(t);
      const secure = tls.connect({
        socket: raw,
        servername: t.servername ?? (net.isIP(options.host) ? undefined : options.host),
        ca: ca.length > 0 ? ca : undefined,
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        // Certificates are checked against servername, or the host when none is given.
        checkServerIdentity: (_host: string, cert: tls.PeerCertificate) =>
          tls.checkServerIdentity(t.servername ?? options.host, cert),
      });
      socket = secure;
      secure.once("error", fail);
      secure.once("secureConnect", () => ready(secure));
    });

    function ready(s: net.Socket): void {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      raw.removeListener("error", fail);
      s.removeListener("error", fail);
      resolve(wrap(s, handlers));
    }
  });
};

function wrap(socket: net.Socket, handlers: TransportHandlers): Transport {
  let done = false;
  let error: Error | undefined;
  socket.on("data", (chunk: Uint8Array) => {
    if (!done) handlers.data(chunk);
  });
  socket.on("drain", () => {
    if (!done) handlers.drain();
  });
  socket.on("error", (e: Error) => {
    error ??= e;
  });
  // 'end' without allowHalfOpen is followed by 'close'; report once, on close.
  socket.on("close", () => {
    if (done) return;
    done = true;
    handlers.closed(error);
  });
  return {
    write(bytes: Uint8Array): boolean {
      if (done || socket.destroyed) return true;
      return socket.write(bytes);
    },
    end(): void {
      if (!socket.destroyed) socket.end();
    },
    destroy(): void {
      socket.destroy();
    },
  };
}
