import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { ConnectError, type TransportHandlers } from "../mod.ts";
import { defaultConnector, detectRuntime } from "../adapters/mod.ts";
import { refusedPort, until } from "./_client.ts";

async function server(
  onSocket: (s: net.Socket) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

function recorder() {
  const got = {
    bytes: 0,
    text: "",
    drains: 0,
    closed: false,
    error: undefined as Error | undefined,
  };
  const decoder = new TextDecoder();
  const handlers: TransportHandlers = {
    data(chunk) {
      got.bytes += chunk.length;
      if (got.text.length < 1000) got.text += decoder.decode(chunk);
    },
    drain() {
      got.drains++;
    },
    closed(error) {
      got.closed = true;
      got.error = error;
    },
  };
  return { got, handlers };
}

describe(`transport adapter on ${detectRuntime()}`, () => {
  const connectTransport = defaultConnector();

  test("reads data, writes, and reports a clean end of stream", async () => {
    const srv = await server((s) => {
      s.write("hello\r\n");
      s.on("data", (d) => {
        if (d.toString().includes("bye")) s.end("ok\r\n");
      });
    });
    try {
      const { got, handlers } = recorder();
      const t = await connectTransport({ host: "127.0.0.1", port: srv.port }, handlers);
      await until(() => got.text.includes("hello"), 2_000, "data");
      t.write(new TextEncoder().encode("bye\r\n"));
      await until(() => got.closed, 2_000, "end of stream");
      assert.equal(got.text, "hello\r\nok\r\n");
      assert.equal(got.error, undefined);
    } finally {
      await srv.close();
    }
  });

  test("write backpressure: false when the peer stops reading, drain when it resumes", async () => {
    let peer: net.Socket | undefined;
    let received = 0;
    const srv = await server((s) => {
      peer = s;
      s.pause();
      s.on("data", (d) => {
        received += d.length;
      });
    });
    try {
      const { got, handlers } = recorder();
      const t = await connectTransport({ host: "127.0.0.1", port: srv.port }, handlers);
      const chunk = new Uint8Array(64 * 1024).fill(65);
      let sent = 0;
      let refused = false;
      // Write only while the transport says so; stop at the first `false`.
      for (let i = 0; i < 2_000; i++) {
        sent += chunk.length;
        if (!t.write(chunk)) {
          refused = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 0));
      }
      assert.ok(refused, `write never returned false after ${sent} bytes`);
      assert.ok(sent < 128 * 1024 * 1024);
      peer?.resume();
      await until(() => got.drains > 0, 5_000, "drain");
      await until(() => received === sent, 5_000, "every byte arrives");
      t.destroy();
      await until(() => got.closed, 2_000, "closed after destroy");
    } finally {
      await srv.close();
    }
  });

  test("a reset is reported as an error; refused is a typed ConnectError", async () => {
    const srv = await server((s) => {
      setTimeout(() => s.resetAndDestroy(), 10);
    });
    try {
      const { got, handlers } = recorder();
      await connectTransport({ host: "127.0.0.1", port: srv.port }, handlers);
      await until(() => got.closed, 2_000, "closed");
      assert.ok(got.error instanceof Error, "a reset is an error, not a clean EOF");
    } finally {
      await srv.close();
    }
    const port = await refusedPort();
    await assert.rejects(
      connectTransport({ host: "127.0.0.1", port }, recorder().handlers),
      (e: unknown) => e instanceof ConnectError && e.reason === "refused",
    );
    const aborted = AbortSignal.abort(new DOMException("t", "TimeoutError"));
    await assert.rejects(
      connectTransport({ host: "127.0.0.1", port, signal: aborted }, recorder().handlers),
      (e: unknown) => e instanceof ConnectError && e.reason === "timedOut",
    );
  });
});
