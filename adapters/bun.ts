/**
 * The Bun transport (`Bun.connect`, with `tls`). Bun is reached through
 * `globalThis` with a minimal local type, so this file compiles without
 * Bun's typings and touches Bun only when called. Honours partial writes:
 * the unwritten rest waits for the `drain` handler.
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

interface BunSocket {
  write(data: Uint8Array): number;
  end(): void;
  terminate(): void;
  setNoDelay?(noDelay?: boolean): boolean;
}

interface BunSocketHandlers {
  open?(socket: BunSocket): void;
  data?(socket: BunSocket, data: Uint8Array): void;
  drain?(socket: BunSocket): void;
  close?(socket: BunSocket, error?: Error): void;
  end?(socket: BunSocket): void;
  error?(socket: BunSocket, error: Error): void;
  connectError?(socket: BunSocket, error: Error): void;
  handshake?(socket: BunSocket, success: boolean, authorizationError: Error | null): void;
}

interface BunNamespace {
  connect(options: {
    hostname: string;
    port: number;
    tls?: { ca?: string[]; serverName?: string; rejectUnauthorized?: boolean };
    socket: BunSocketHandlers;
  }): Promise<BunSocket>;
}

function bun(): BunNamespace {
  const b = (globalThis as { Bun?: BunNamespace }).Bun;
  if (b === undefined) throw new Error("the Bun adapter needs the Bun runtime");
  return b;
}

/**
 * Opens a TCP or TLS connection with `Bun.connect`.
 *
 * @param options host, port, TLS settings, abort signal
 * @param handlers where data, drain and the end of the stream are reported
 * @returns the connected transport
 * @throws {ConnectError} refused, timed out (signal aborted) or TLS
 */
export const connectBun: TransportConnector = (
  options: TransportOptions,
  handlers: TransportHandlers,
): Promise<Transport> => {
  const target = `${options.host}:${options.port}`;
  const b = bun();
  const t = options.tls;
  return new Promise<Transport>((resolve, reject) => {
    let phase: "tcp" | "tls" = "tcp";
    let state: "connecting" | "open" | "done" = "connecting";
    let socket: BunSocket | undefined;
    let pending: Uint8Array | undefined;
    let closing = false;
    let error: Error | undefined;

    const fail = (e: unknown): void => {
      if (state !== "connecting") return;
      state = "done";
      options.signal?.removeEventListener("abort", onAbort);
      socket?.terminate();
      reject(connectError(e, { phase, target }));
    };
    const onAbort = (): void => fail(options.signal?.reason);
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });

    const transport: Transport = {
      write(bytes: Uint8Array): boolean {
        if (state !== "open" || socket === undefined) return true;
        const n = socket.write(bytes);
        if (n >= bytes.length) return true;
        pending = bytes.subarray(Math.max(n, 0));
        return false;
      },
      end(): void {
        closing = true;
        if (pending === undefined) socket?.end();
      },
      destroy(): void {
        pending = undefined;
        socket?.terminate();
      },
    };
    const opened = (s: BunSocket): void => {
      if (state !== "connecting") return s.terminate();
      state = "open";
      options.signal?.removeEventListener("abort", onAbort);
      resolve(transport);
    };

    const socketHandlers: BunSocketHandlers = {
      open(s) {
        socket = s;
        s.setNoDelay?.(true);
        if (t === undefined) opened(s);
        else phase = "tls";
      },
      handshake(s, success, authorizationError) {
        socket = s;
        if (t?.rejectUnauthorized !== false && (!success || authorizationError !== null)) {
          fail(authorizationError ?? new Error("TLS handshake failed"));
        } else opened(s);
      },
      data(_s, data) {
        if (state === "open") handlers.data(data);
      },
      drain(s) {
        if (state !== "open" || pending === undefined) return;
        const n = s.write(pending);
        if (n < pending.length) {
          pending = pending.subarray(Math.max(n, 0));
          return;
        }
        pending = undefined;
        if (closing) s.end();
        else handlers.drain();
      },
      error(_s, e) {
        if (state === "connecting") fail(e);
        else error ??= e;
      },
      connectError(_s, e) {
        fail(e);
      },
      close(_s, e) {
        if (state === "connecting") return fail(e ?? new Error("connection closed"));
        if (state === "done") return;
        state = "done";
        handlers.closed(error ?? e);
      },
    };
    const tlsOptions = t === undefined ? undefined : {
      ca: caList(t).length > 0 ? caList(t) : undefined,
      serverName: t.servername ?? options.host,
      rejectUnauthorized: t.rejectUnauthorized ?? true,
    };
    b.connect({
      hostname: options.host,
      port: options.port,
      tls: tlsOptions,
      socket: socketHandlers,
    })
      .catch(fail);
  });
};
