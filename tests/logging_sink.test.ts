import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { createStderrSink } from "../cli/log_sink.ts";
import { BoundedWriter, DropReporter } from "../cli/_writer.ts";
import { Redactor } from "../cli/redact.ts";
import { startScript } from "./_spawn.ts";

function record(message: string, properties: Record<string, unknown> = {}): LogRecord {
  return {
    category: ["amikit", "test"],
    level: "info",
    message: [message],
    rawMessage: message,
    timestamp: 1_700_000_000_000,
    properties,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("non-blocking stderr sink", () => {
  test("returns at once and counts exact drops when the bound is reached", async () => {
    // A stderr that never takes anything: the first write never completes.
    let writes = 0;
    const sink = createStderrSink({
      write: () => {
        writes++;
        return new Promise(() => {});
      },
      maxBufferedChars: 10_000,
      dropReportIntervalMs: 60_000,
    });
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) sink(record(`record number ${i} with some padding text`));
    const elapsed = performance.now() - t0;
    const stats = sink.stats();
    assert.equal(stats.records + stats.dropped, 10_000, "every record accepted or counted");
    assert.ok(stats.dropped > 9_000, `most records dropped (${stats.dropped})`);
    assert.ok(stats.bufferedChars <= 10_000, "the bound holds");
    assert.ok(elapsed < 2_000, `10,000 calls took ${elapsed.toFixed(0)} ms`);
    await sleep(5);
    assert.equal(writes, 1, "one write in flight at a time, never more");
    // The bound holds under a stuck writer: flush gives up at its deadline.
    assert.equal(await sink.flush(20), false);
  });

  test("drops are reported by at most one line per interval, with exact counters", async () => {
    const reports: { at: number; since: number; total: number }[] = [];
    const reporter = new DropReporter(
      (since, total) => reports.push({ at: performance.now(), since, total }),
      { intervalMs: 40 },
    );
    let noted = 0;
    const end = performance.now() + 220;
    while (performance.now() < end) {
      for (let i = 0; i < 50; i++) reporter.note();
      noted += 50;
      await sleep(1);
    }
    await sleep(60);
    reporter.flush();
    assert.ok(reports.length >= 2 && reports.length <= 7, `${reports.length} reports in ~220 ms`);
    for (let i = 1; i < reports.length; i++) {
      assert.ok(reports[i].at - reports[i - 1].at >= 35, "reports at least one interval apart");
    }
    assert.equal(reports.reduce((a, r) => a + r.since, 0), noted, "sum of since-last = drops");
    assert.equal(reports.at(-1)!.total, noted, "total is exact");
    assert.equal(reporter.total, noted);
  });

  test("no report timer runs while nothing is dropped", async () => {
    let calls = 0;
    const reporter = new DropReporter(() => calls++, { intervalMs: 5 });
    await sleep(30);
    reporter.flush();
    assert.equal(calls, 0);
  });

  test("the sink's own drop summary is written even when the buffer is full", async () => {
    const chunks: string[] = [];
    let release: () => void = () => {};
    const sink = createStderrSink({
      write: (chunk) => {
        chunks.push(chunk);
        return new Promise<void>((r) => (release = r));
      },
      maxBufferedChars: 2_000,
      dropReportIntervalMs: 30,
    });
    for (let i = 0; i < 500; i++) sink(record(`line ${i}`));
    const dropped = sink.stats().dropped;
    assert.ok(dropped > 0);
    await sleep(60);
    for (let i = 0; i < 20 && chunks.join("").indexOf("dropped") < 0; i++) {
      release();
      await sleep(5);
    }
    const text = chunks.join("");
    const summaries = text.split("\n").filter((l) => l.includes("Log records dropped"));
    assert.equal(summaries.length, 1, "one summary for one burst");
    assert.match(summaries[0], new RegExp(`${dropped} since the last report, ${dropped} in total`));
  });

  test("records are redacted before they are formatted", async () => {
    const chunks: string[] = [];
    const redactor = new Redactor(["hunter2-secret"]);
    const sink = createStderrSink({
      redactor,
      write: (c) => {
        chunks.push(c);
        return Promise.resolve();
      },
    });
    sink(record("login with hunter2-secret failed", { secret: "other", dump: "Secret: x\r\n" }));
    sink({
      ...record("error"),
      message: ["error ", new Error("bad hunter2-secret", { cause: "hunter2-secret" }), ""],
    });
    assert.equal(await sink.flush(1000), true);
    const text = chunks.join("");
    assert.ok(!text.includes("hunter2-secret"), text);
    assert.ok(!text.includes("other"), text);
    assert.match(text, /\[REDACTED\]/);
  });

  test("BoundedWriter keeps order and coalesces into few writes", async () => {
    const chunks: string[] = [];
    const w = new BoundedWriter((c) => {
      chunks.push(c);
      return sleep(1);
    }, { maxChunkChars: 100 });
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      expected.push(`${i}\n`);
      w.offer(`${i}\n`);
    }
    assert.equal(await w.flush(2000), true);
    assert.equal(chunks.join(""), expected.join(""));
    assert.ok(chunks.length < 20, `${chunks.length} writes`);
    assert.ok(chunks.every((c) => c.length <= 100));
  });

  test("a failing stream drops everything after and reports once", async () => {
    const errors: unknown[] = [];
    const w = new BoundedWriter(() => Promise.reject(new Error("EPIPE")), {
      onError: (e) => errors.push(e),
    });
    w.offer("a\n");
    await sleep(5);
    assert.equal(w.offer("b\n"), false);
    assert.equal(errors.length, 1);
    assert.equal(w.stats().failed, true);
  });
});

describe("invariant 2: a stderr nobody reads", () => {
  test("does not slow event processing (ratio in the same run)", async () => {
    async function run(readStderr: boolean) {
      const r = startScript("tests/_log_flood_child", ["200", "100"], { timeoutMs: 30_000 });
      if (!readStderr) r.child.stderr!.pause();
      // Wait for the one result line on stdout; the child exits right after.
      const result = await r.done;
      assert.equal(result.timedOut, false, "the child finished (never stuck on stderr)");
      assert.equal(result.code, 0, result.stderr.slice(0, 500));
      return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as {
        ms: number;
        processed: number;
        records: number;
        dropped: number;
      };
    }
    // Unread: the pipe (64 KiB) and the child's 64 KiB buffer fill at once.
    const stuck = await run(false);
    const read = await run(true);
    assert.equal(stuck.processed, 20_000);
    assert.equal(read.processed, 20_000);
    assert.ok(stuck.dropped > 0, "records were dropped: stderr really was full");
    assert.equal(stuck.records + stuck.dropped, 20_000, "every record written or counted");
    const ratio = stuck.ms / read.ms;
    console.log(
      `unread stderr: ${stuck.ms.toFixed(0)} ms (${stuck.dropped} dropped); ` +
        `read stderr: ${read.ms.toFixed(0)} ms (${read.dropped} dropped); ratio ${
          ratio.toFixed(2)
        }`,
    );
    assert.ok(ratio < 2, `unread stderr slowed processing by ${ratio.toFixed(2)}x`);
  });
});
