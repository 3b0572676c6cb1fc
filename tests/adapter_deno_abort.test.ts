/**
 * The Deno adapter's abortable connect (`abortable` in adapters/deno.ts):
 * a connection that arrives after the abort is closed exactly once. A
 * regression: it was closed twice (once by the abort handler, once when it
 * arrived), and Deno's second close threw `BadResource` as an unhandled
 * rejection when a cluster closed while a node was still connecting.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { abortable } from "../adapters/deno.ts";

class FakeConn {
  closes = 0;
  close(): void {
    this.closes++;
    if (this.closes > 1) throw new Error("BadResource: Bad resource ID");
  }
}

test("a connection arriving after the abort is closed once, and the wait rejects with the reason", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  try {
    let arrive!: (c: FakeConn) => void;
    const pending = new Promise<FakeConn>((r) => arrive = r);
    const ac = new AbortController();
    const wait = abortable(pending, ac.signal);
    ac.abort(new Error("closing"));
    await assert.rejects(wait, /closing/);
    const conn = new FakeConn();
    arrive(conn);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(conn.closes, 1);
    assert.deepEqual(unhandled, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

test("a connection arriving before any abort is handed over, not closed", async () => {
  const conn = new FakeConn();
  const got = await abortable(Promise.resolve(conn), new AbortController().signal);
  assert.equal(got, conn);
  assert.equal(conn.closes, 0);
});
