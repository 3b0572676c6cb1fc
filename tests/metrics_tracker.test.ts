import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ClientStats } from "../client/mod.ts";
import type { ConnectionStats } from "../core/connection_types.ts";
import { MetricsTracker } from "../cli/_metrics.ts";

function session(over: Partial<ConnectionStats> = {}): ConnectionStats {
  return {
    state: "ready",
    bytesIn: 0,
    bytesOut: 0,
    messagesIn: 0,
    messagesOut: 0,
    eventsDelivered: 0,
    eventsDropped: 0,
    eventQueueDepth: 0,
    actionsSent: 0,
    actionsCompleted: 0,
    actionsFailed: 0,
    actionsTimedOut: 0,
    actionsPending: 0,
    orphans: 0,
    writeBufferBytes: 0,
    keepaliveRttMs: undefined,
    ...over,
  };
}

function client(s: ConnectionStats | undefined, over: Partial<ClientStats> = {}): ClientStats {
  return {
    node: "pbx1",
    state: s === undefined ? "reconnecting" : "ready",
    attempts: 1,
    sessions: 1,
    eventsDispatched: 0,
    listenerErrors: 0,
    streamDrops: 0,
    waitingActions: 0,
    rejectedDisconnected: 0,
    abandoned: 0,
    timerWakeups: 0,
    session: s,
    ...over,
  };
}

describe("metrics across reconnects", () => {
  test("counters carry over a session reset and never go backwards; gauges do not", () => {
    const t = new MetricsTracker();
    let m = t.sample(client(session({ bytesIn: 100, eventsDelivered: 10, actionsPending: 3 })));
    assert.equal(m.bytesIn, 100);
    assert.equal(m.actionsPending, 3);
    m = t.sample(client(session({ bytesIn: 150, eventsDelivered: 12 })));
    assert.equal(m.bytesIn, 150);
    // Disconnected: no session; counters keep their totals, gauges are 0.
    m = t.sample(client(undefined, { sessions: 1 }));
    assert.equal(m.bytesIn, 150);
    assert.equal(m.eventsDelivered, 12);
    assert.equal(m.actionsPending, 0);
    assert.equal(m.state, "reconnecting");
    // A new session starts from 0 in the engine.
    m = t.sample(client(session({ bytesIn: 40, eventsDelivered: 1 }), { sessions: 2 }));
    assert.equal(m.bytesIn, 190);
    assert.equal(m.eventsDelivered, 13);
    assert.equal(m.reconnects, 1);
    // Sampled again after another reset without a gap in between.
    m = t.sample(client(session({ bytesIn: 5 }), { sessions: 3, streamDrops: 4 }));
    assert.equal(m.bytesIn, 195);
    assert.equal(m.reconnects, 2);
    assert.equal(m.eventsDropped, 4, "iterator drops count as dropped events");
  });
});
