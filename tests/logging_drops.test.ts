import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { DropSummaryNotice } from "../core/mod.ts";
import { Harness, serverMessage, testOptions } from "./_fake_server.ts";

/** One realistic event, repeated to flood the engine. */
const EVENT = serverMessage([
  ["Event", "Newchannel"],
  ["Privilege", "call,all"],
  ["Channel", "Local/100@default-00000001;1"],
  ["ChannelState", "0"],
  ["Uniqueid", "1700000000.1"],
]);

describe("event-queue drop summaries", () => {
  for (const policy of ["dropOldest", "dropNewest"] as const) {
    test(`a flood overflowing the queue gives at most one summary per interval, exact counters (${policy})`, () => {
      const capacity = 100;
      const interval = 1_000;
      const h = new Harness(
        testOptions({
          eventQueueCapacity: capacity,
          dropPolicy: policy,
          dropSummaryIntervalMs: interval,
        }),
      );
      h.login();
      const conn = h.conn;
      const summaries: { at: number; notice: DropSummaryNotice }[] = [];
      const drainNotices = () => {
        while (conn.pollTransmit() !== undefined) { /* discard */ }
        for (let n = conn.poll(); n !== undefined; n = conn.poll()) {
          if (n.type === "drops") summaries.push({ at: h.now, notice: n });
        }
      };
      // 10 simulated seconds; every 10 ms a read of 25 events; the app never pulls events.
      let fed = 0;
      const start = h.now;
      for (let t = start; t <= start + 10_000; t += 10) {
        h.now = t;
        const due = conn.pollTimeout();
        if (due !== undefined && due <= t) conn.handleTimeout(t);
        for (let i = 0; i < 25; i++) conn.receive(EVENT, t);
        fed += 25;
        drainNotices();
      }
      const stats = conn.stats();
      assert.equal(stats.eventQueueDepth, capacity, "the queue is full, never above its cap");
      assert.equal(stats.eventsDropped, fed - capacity, "every event beyond the cap is dropped");
      // At most one summary per interval.
      assert.ok(
        summaries.length >= 9 && summaries.length <= 11,
        `${summaries.length} summaries in 10 s`,
      );
      for (let i = 1; i < summaries.length; i++) {
        assert.ok(summaries[i].at - summaries[i - 1].at >= interval, "one interval apart at least");
      }
      // Exact counters: the summaries add up, and each total is the running sum.
      let running = 0;
      for (const { notice } of summaries) {
        running += notice.dropped;
        assert.equal(notice.totalDropped, running);
        assert.equal(notice.depth, capacity);
      }
      // What is not summarised yet is reported at close, then nothing is lost.
      conn.close(h.now);
      drainNotices();
      const reported = summaries.reduce((a, s) => a + s.notice.dropped, 0);
      assert.equal(
        reported,
        stats.eventsDropped,
        "summaries (with the final one) count every drop",
      );
    });
  }
});
