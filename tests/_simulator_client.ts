/**
 * A minimal raw AMI client for the simulator tests: a node:net socket, the
 * core parser, and waits with deadlines.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import { AmiParser } from "../core/parser.ts";
import type { AmiMessage } from "../core/message.ts";

/** A connected raw client. */
export class RawClient {
  readonly messages: AmiMessage[] = [];
  banner = "";
  bytes = 0;
  ended = false;
  closed: Promise<void>;
  readonly #parser = new AmiParser({ maxHeaders: 10_000 });
  #waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Uint8Array) => {
      this.bytes += chunk.length;
      this.#parser.push(chunk, (item) => {
        if (item.type === "banner") this.banner = item.line;
        else this.messages.push(item);
      });
      this.#wake();
    });
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.on("close", () => {
        this.ended = true;
        this.#wake();
        resolve();
      })
    );
    socket.on("end", () => {
      this.ended = true;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Connects (plain or TLS) and waits for the banner. */
  static async connect(port: number, options: { tls?: { ca: string } } = {}): Promise<RawClient> {
    const socket = options.tls
      ? tls.connect({ host: "127.0.0.1", port, ca: options.tls.ca, servername: "localhost" })
      : net.connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? "secureConnect" : "connect", () => resolve());
      socket.once("error", reject);
    });
    const c = new RawClient(socket);
    await c.until(() => c.banner !== "" || c.ended, 2000);
    return c;
  }

  /** Connects and logs in as admin (or the given user). */
  static async login(
    port: number,
    user = "admin",
    secret = "amp111",
    extra = "",
  ): Promise<RawClient> {
    const c = await RawClient.connect(port);
    c.send(
      `Action: Login\r\nActionID: login\r\nUsername: ${user}\r\nSecret: ${secret}\r\n${extra}\r\n`,
    );
    await c.response("login");
    return c;
  }

  /** Writes raw text or bytes. */
  send(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** Waits until `cond()` holds (checked on every read), or fails after `ms`. */
  until(cond: () => boolean, ms = 2000): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  /** The first message (from `from` on) matching `pred`, waiting for it. */
  async find(pred: (m: AmiMessage) => boolean, ms = 2000, from = 0): Promise<AmiMessage> {
    let hit: AmiMessage | undefined;
    await this.until(() => (hit = this.messages.slice(from).find(pred)) !== undefined, ms);
    return hit!;
  }

  /** The response with this ActionID. */
  response(actionId: string, ms = 2000): Promise<AmiMessage> {
    return this.find((m) => m.type === "response" && m.actionId === actionId, ms);
  }

  /** Events named `name` received so far. */
  events(name: string): AmiMessage[] {
    return this.messages.filter((m) => m.type === "event" && m.name === name);
  }

  /** Closes the socket and waits for it. */
  async close(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}

/** Waits a few event-loop turns (for "nothing more arrives" checks). */
export function settle(ms = 30): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
