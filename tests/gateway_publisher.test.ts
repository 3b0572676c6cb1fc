/**
 * The gateway's event publisher (`gateway/_publisher.ts`) on a manual clock
 * with a scripted JetStream: order and message ids, the window, retries
 * after failures that arrive at different times (a regression: the retry
 * timer was armed once, and failures after it pushed the pause past it, so
 * publishing stopped for good), drops with a gap notice, fencing.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AmiMessage } from "../core/message.ts";
import { EventPublisher } from "../gateway/_publisher.ts";
import { Subjects } from "../gateway/subjects.ts";
import { ManualClock } from "../testing/mod.ts";

interface Call {
  subject: string;
  msgId: string;
  data: string;
  resolve: (ack: unknown) => void;
  reject: (e: unknown) => void;
}

function setup(limits = { maxPending: 100, window: 4, retryMs: 500 }, mayAct = () => true) {
  const clock = new ManualClock();
  const calls: Call[] = [];
  const pub = new EventPublisher(
    "pbx1",
    "gw1",
    new Subjects(),
    (subject, data, msgId) =>
      new Promise((resolve, reject) => {
        calls.push({ subject, msgId, data: new TextDecoder().decode(data), resolve, reject });
      }),
    mayAct,
    limits,
    clock,
    ["s3cret"],
  );
  pub.startLease(7);
  return { clock, calls, pub };
}

const ev = (n: number) => new AmiMessage([["Event", "UserEvent"], ["N", String(n)]]);
const settle = () => new Promise((r) => setTimeout(r, 0));
/** Lets acknowledgements settle, then runs the publisher's turn (it publishes in its own turn). */
async function turn(clock: ManualClock): Promise<void> {
  await settle();
  clock.advance(0);
  await settle();
}

describe("event publisher", () => {
  test("publishes in order with unique ids, at most `window` awaiting acks", async () => {
    const { clock, calls, pub } = setup();
    for (let i = 0; i < 10; i++) pub.push(ev(i));
    assert.equal(calls.length, 0, "nothing is published inside the read that pushed");
    await turn(clock);
    assert.equal(calls.length, 4);
    assert.deepEqual(calls.map((c) => c.msgId), ["pbx1:7:1", "pbx1:7:2", "pbx1:7:3", "pbx1:7:4"]);
    assert.equal(calls[0].subject, "amikit.pbx1.event.UserEvent");
    for (let k = 0; k < 10; k++) {
      calls[k].resolve({});
      await turn(clock);
    }
    assert.equal(pub.stats().published, 10);
    assert.deepEqual(calls.map((c) => JSON.parse(c.data)[1][1]), [...Array(10).keys()].map(String));
  });

  test("failures at different times: publishing resumes once the pause is over", async () => {
    const { clock, calls, pub } = setup();
    for (let i = 0; i < 4; i++) pub.push(ev(i));
    await turn(clock);
    calls[0].reject(new Error("timeout"));
    await settle();
    clock.advance(300);
    calls[1].reject(new Error("timeout")); // pushes the pause to t=800
    calls[2].reject(new Error("timeout"));
    calls[3].reject(new Error("timeout"));
    await settle();
    clock.advance(250); // t=550: the first timer fires while still paused
    await settle();
    assert.equal(calls.length, 4, "still paused");
    clock.advance(300); // t=850
    await settle();
    assert.equal(calls.length, 8, "retried in order");
    assert.deepEqual(calls.slice(4).map((c) => c.msgId), [
      "pbx1:7:1",
      "pbx1:7:2",
      "pbx1:7:3",
      "pbx1:7:4",
    ]);
    assert.equal(pub.stats().failures, 4);
  });

  test("a full buffer drops the oldest, counts them, and tells consumers with a gap notice", async () => {
    const { clock, calls, pub } = setup({ maxPending: 3, window: 1, retryMs: 500 });
    pub.push(ev(0));
    await turn(clock); // in flight
    for (let i = 1; i <= 6; i++) pub.push(ev(i)); // 1..3 dropped, 4..6 held
    assert.equal(pub.stats().dropped, 3);
    calls[0].resolve({});
    await turn(clock);
    const gap = calls[1];
    assert.equal(gap.subject, "amikit.pbx1.event._gap");
    assert.deepEqual(JSON.parse(gap.data), {
      reason: "publish",
      dropped: 3,
      fromSeq: 2,
      toSeq: 4,
      lease: 7,
      gateway: "gw1",
    });
    gap.resolve({});
    await turn(clock);
    assert.equal(calls[2].msgId, "pbx1:7:5");
  });

  test("events the AMI session dropped are announced in order, between the events around them", async () => {
    const { clock, calls, pub } = setup();
    pub.push(ev(1));
    pub.sessionDropped(5);
    pub.push(ev(2));
    await turn(clock);
    assert.deepEqual(calls.map((c) => c.subject), [
      "amikit.pbx1.event.UserEvent",
      "amikit.pbx1.event._gap",
      "amikit.pbx1.event.UserEvent",
    ]);
    assert.deepEqual(JSON.parse(calls[1].data), {
      reason: "session",
      dropped: 5,
      fromSeq: 1,
      toSeq: 1,
      lease: 7,
      gateway: "gw1",
    });
    assert.equal(calls[2].msgId, "pbx1:7:2", "no hole in the sequence");
    assert.equal(pub.stats().sessionDropped, 5);
  });

  test("nothing is published without a valid lease; known secrets never leave", async () => {
    let valid = false;
    const { clock, calls, pub } = setup(undefined, () => valid);
    pub.push(ev(1));
    await turn(clock);
    assert.equal(calls.length, 0);
    assert.equal(pub.stats().fenced, 1);
    valid = true;
    pub.push(new AmiMessage([["Event", "UserEvent"], ["Note", "pw s3cret"], ["Secret", "x"]]));
    await turn(clock);
    assert.equal(calls.length, 1);
    assert.ok(!calls[0].data.includes("s3cret"));
    assert.ok(!calls[0].data.includes('"x"'));
  });
});
