/**
 * An in-memory network of scripted AMI servers for client and cluster tests
 * on simulated time: every connect is answered by the next behaviour in the
 * node's fault schedule, bytes move by microtask (never synchronously, like
 * a socket), and the server counts what it delivered so a test can check
 * that each event reached the client once.
 *
 * @module
 */

import { AmiParser, ConnectError } from "../core/mod.ts";
import type { ManualClock } from "../testing/clock.ts";
import type { AmiMessage } from "../core/mod.ts";
import type {
  Transport,
  TransportConnector,
  TransportHandlers,
  TransportOptions,
} from "../client/transport.ts";

/** What a server does with one connection attempt. */
export type Behaviour =
  | "ok" // banner, login accepted, answers Ping/Filter/Events/Logoff
  | "refuse" // the connect fails at once
  | "hang" // the connect never completes (until aborted)
  | "closeBeforeBanner" // connected, then closed before any byte
  | "closeInLogin" // the login Success and the close in one read
  | "closeDuringReplay" // closed on the first Filter or Events after login
  | "authFail" // the login refused, then closed
  | "stall"; // banner, then silence (the login never answered)

const enc = new TextEncoder();

/** One connection's server side. */
export class Conn {
  /** Both ends open. */
  open = true;
  /** Logged in. */
  ready = false;
  readonly #parser = new AmiParser({ expectBanner: false });
  constructor(
    readonly net: MemoryNet,
    readonly node: string,
    readonly behaviour: Behaviour,
    readonly handlers: TransportHandlers,
  ) {}

  /** Bytes to the client, by microtask; `thenClose` closes right after, in the same read. */
  send(text: string, thenClose = false, onDelivered?: () => void): void {
    queueMicrotask(() => {
      if (!this.open) return;
      onDelivered?.();
      this.handlers.data(enc.encode(text));
      if (thenClose) this.close();
    });
  }

  /** The server closes the connection. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.handlers.closed();
  }

  /** An event with a unique sequence number; counted when it reaches the client. */
  event(): void {
    if (!this.ready) return;
    const seq = ++this.net.eventSeq;
    this.send(`Event: Tick\r\nSeq: ${seq}\r\n\r\n`, false, () => this.net.delivered.push(seq));
  }

  /** Bytes from the client. */
  receive(bytes: Uint8Array): void {
    this.#parser.push(bytes, (item) => {
      if (item.type === "banner") return;
      this.#action(item as AmiMessage);
    });
  }

  #action(msg: AmiMessage): void {
    const name = (msg.get("Action") ?? "").toLowerCase();
    const id = msg.get("ActionID") ?? "";
    const ok = (extra = ""): string => `Response: Success\r\nActionID: ${id}\r\n${extra}\r\n`;
    if (name === "login") {
      if (this.behaviour === "stall") return;
      if (this.behaviour === "authFail") {
        this.send(
          `Response: Error\r\nActionID: ${id}\r\nMessage: Authentication failed\r\n\r\n`,
          true,
        );
        return;
      }
      this.ready = true;
      this.send(ok("Message: Authentication accepted\r\n"), this.behaviour === "closeInLogin");
    } else if (name === "filter" || name === "events") {
      if (this.behaviour === "closeDuringReplay") {
        this.close();
        return;
      }
      this.send(ok());
    } else if (name === "logoff") {
      this.send(`Response: Goodbye\r\nActionID: ${id}\r\nMessage: Thanks\r\n\r\n`, true);
    } else if (name === "ping") {
      this.send(ok("Ping: Pong\r\n"));
    } else if (name === "wait") {
      // Never answered: the action stays pending until its deadline or a close.
    } else {
      this.send(`Response: Error\r\nActionID: ${id}\r\nMessage: Invalid/unknown command\r\n\r\n`);
    }
  }
}

/** The network: per-node schedules, live connections, what was delivered. */
export class MemoryNet {
  /** Next behaviours per node (consumed in order; `ok` when empty). */
  readonly schedule = new Map<string, Behaviour[]>();
  /** Every connection ever made, per node. */
  readonly conns = new Map<string, Conn[]>();
  /** Connect attempts per node, with the time given by `now()`. */
  readonly attempts: Array<{ node: string; at: number }> = [];
  /** Sequence numbers of the events that reached a client, in order. */
  readonly delivered: number[] = [];
  /** Most connections of one node open at once, ever. */
  maxOpenPerNode = 0;
  eventSeq = 0;
  readonly #now: () => number;

  /** @param now the test's clock (attempt times) */
  constructor(now: () => number) {
    this.#now = now;
  }

  /** Open connections of a node. */
  openConns(node: string): Conn[] {
    return (this.conns.get(node) ?? []).filter((c) => c.open);
  }

  /** Open connections of every node. */
  openCount(): number {
    let n = 0;
    for (const node of this.conns.keys()) n += this.openConns(node).length;
    return n;
  }

  /** The connector; the node is the host name. */
  readonly connector: TransportConnector = (
    options: TransportOptions,
    handlers: TransportHandlers,
  ): Promise<Transport> => {
    const node = options.host;
    this.attempts.push({ node, at: this.#now() });
    const behaviour = this.schedule.get(node)?.shift() ?? "ok";
    if (behaviour === "refuse") {
      return Promise.reject(new ConnectError("refused", `connect to ${node} refused`));
    }
    return new Promise<Transport>((resolve, reject) => {
      const signal = options.signal;
      const onAbort = (): void => reject(new ConnectError("timedOut", "connect aborted"));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      if (behaviour === "hang") return;
      queueMicrotask(() => {
        signal?.removeEventListener("abort", onAbort);
        if (signal?.aborted) return;
        const conn = new Conn(this, node, behaviour, handlers);
        const list = this.conns.get(node) ?? [];
        list.push(conn);
        this.conns.set(node, list);
        this.maxOpenPerNode = Math.max(this.maxOpenPerNode, this.openConns(node).length);
        resolve({
          write: (bytes) => {
            const copy = bytes.slice();
            queueMicrotask(() => {
              if (conn.open) conn.receive(copy);
            });
            return true;
          },
          end: () => queueMicrotask(() => conn.close()),
          destroy: () => {
            conn.open = false;
          },
        });
        if (behaviour === "closeBeforeBanner") conn.send("", true);
        else conn.send("Asterisk Call Manager/9.0.0\r\n");
      });
    });
  };
}

/** Lets every queued microtask (and the ones they queue) run. */
export async function settle(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/**
 * Advances a manual clock by `ms`, one timer at a time, letting microtasks
 * run after each (as a real event loop does between timers).
 *
 * @param clock the clock
 * @param ms how far
 */
export async function advance(clock: ManualClock, ms: number): Promise<void> {
  const target = clock.now() + ms;
  await settle(); // what the last input started runs before time moves
  for (let at = clock.nextAt; at !== undefined && at <= target; at = clock.nextAt) {
    clock.advance(Math.max(0, at - clock.now()));
    await settle();
  }
  clock.advance(target - clock.now());
  await settle();
}
