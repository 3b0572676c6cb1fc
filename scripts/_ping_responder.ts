/**
 * A minimal, fast AMI server for the actions phase of the client benchmark:
 * the banner, a successful Login (plus `FullyBooted`, as Asterisk sends), and
 * for every `Action: Ping` the answer Asterisk gives (`Response: Success`,
 * the ActionID, `Ping: Pong`, `Timestamp`). `Hold` (not an Asterisk action)
 * is answered `Success` 50 ms later, for the soak's slow overlapping actions.
 * `Logoff` gets `Goodbye` and the connection closes; any other action gets
 * Asterisk's `Invalid/unknown command` error. All actions of one read are
 * answered in one write. Messages are framed by CRLF CRLF, as every benchmarked client
 * sends them.
 *
 * It is not an emulation (that is `testing/`): it exists so that the
 * benchmark measures the clients' per-action cost, not the server's.
 *
 * Run alone: `node npm/esm/scripts/_ping_responder.js` (or `deno run -A` /
 * `bun` on the .ts) prints `{"port":N}` and serves until stdin closes.
 *
 * @module
 */

import * as net from "node:net";
import process from "node:process";
import { isMain } from "./_main.ts";

/** Options of {@link startPingResponder}. */
export interface PingResponderOptions {
  /** The port to listen on (default 0: any free port). */
  readonly port?: number;
}

/** A running responder. */
export interface PingResponder {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

const BANNER = "Asterisk Call Manager/9.0.0\r\n";
/** How long a `Hold` action waits for its answer. */
const HOLD_MS = 50;

/**
 * The value of header `key` (lower-case, with its colon) in `msg` (`lower` is
 * `msg` lower-cased), trimmed; "" if absent.
 */
function header(msg: string, lower: string, key: string): string {
  let at = 0;
  if (!lower.startsWith(key)) {
    at = lower.indexOf("\n" + key) + 1;
    if (at === 0) return "";
  }
  at += key.length;
  let end = msg.indexOf("\r", at);
  if (end < 0) end = msg.length;
  return msg.slice(at, end).trim();
}

/** One connection: frames actions, answers each read's actions in one write. */
function serve(socket: net.Socket): void {
  socket.setNoDelay(true);
  let tail = "";
  let closing = false;
  socket.on("data", (chunk: Buffer) => {
    if (closing) return;
    const buf = tail.length === 0 ? chunk.toString("latin1") : tail + chunk.toString("latin1");
    let out = "";
    let stamp = "";
    let start = 0;
    for (let end = buf.indexOf("\r\n\r\n"); end >= 0; end = buf.indexOf("\r\n\r\n", start)) {
      const msg = buf.slice(start, end);
      start = end + 4;
      const lower = msg.toLowerCase();
      const action = header(lower, lower, "action:");
      const id = header(msg, lower, "actionid:");
      const idLine = id === "" ? "" : `ActionID: ${id}\r\n`;
      if (action === "ping") {
        if (stamp === "") stamp = (Date.now() / 1000).toFixed(6);
        out += `Response: Success\r\n${idLine}Ping: Pong\r\nTimestamp: ${stamp}\r\n\r\n`;
      } else if (action === "login") {
        out += `Response: Success\r\n${idLine}Message: Authentication accepted\r\n\r\n` +
          "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n";
      } else if (action === "hold") {
        // Answered 50 ms later, alone: a slow action (a long Originate, say)
        // that overlaps the others, so that pending actions never drain.
        const answer = `Response: Success\r\n${idLine}Message: Held\r\n\r\n`;
        setTimeout(() => {
          if (!socket.destroyed) socket.write(answer, "latin1");
        }, HOLD_MS);
      } else if (action === "logoff") {
        out += `Response: Goodbye\r\n${idLine}Message: Thanks for all the fish.\r\n\r\n`;
        closing = true;
        break;
      } else {
        out += `Response: Error\r\n${idLine}Message: Invalid/unknown command\r\n\r\n`;
      }
    }
    tail = buf.slice(start);
    if (out.length > 0) socket.write(out, "latin1");
    if (closing) socket.end();
  });
  socket.on("error", () => socket.destroy());
  socket.write(BANNER);
}

/**
 * Starts a responder on 127.0.0.1.
 *
 * @param options the port
 * @returns the running responder
 */
export function startPingResponder(options: PingResponderOptions = {}): Promise<PingResponder> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    serve(s);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

if (isMain(import.meta)) {
  const r = await startPingResponder();
  process.stdout.write(JSON.stringify({ port: r.port }) + "\n");
  process.stdin.on("data", () => {});
  process.stdin.on("end", () => r.close().then(() => process.exit(0)));
}
