/**
 * The lease machine's rules, one example each (pure, simulated time). The
 * random fault schedules are in gateway_lease_model.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  LEASE_TRANSITIONS,
  LeaseMachine,
  type LeaseOutput,
  resolveLeaseConfig,
} from "../gateway/lease.ts";
import { LocalProtocolError } from "../core/errors.ts";

// ttl 3000: renew every 1000 (ttl/3), safety 300 (ttl/10): valid until sentAt + 2700.
const CONFIG = { ttlMs: 3_000, retryEveryMs: 500 };

function drain(m: LeaseMachine): LeaseOutput[] {
  const out: LeaseOutput[] = [];
  for (let o = m.poll(); o !== undefined; o = m.poll()) out.push(o);
  return out;
}

/** A machine that holds the lease at revision 7, acquired by a create sent at `at`. */
function held(at = 0): LeaseMachine {
  const m = new LeaseMachine(CONFIG);
  m.want(at);
  assert.deepEqual(drain(m), [{ kind: "create", id: 1 }]);
  m.createOk(1, 7, at + 50);
  assert.deepEqual(drain(m), [{ kind: "startSession", revision: 7 }]);
  return m;
}

describe("lease machine: config", () => {
  test("defaults: renew every ttl/3, safety max(ttl/10, 100)", () => {
    assert.deepEqual(resolveLeaseConfig(CONFIG), {
      ttlMs: 3_000,
      renewEveryMs: 1_000,
      retryEveryMs: 500,
      safetyMs: 300,
    });
    assert.equal(resolveLeaseConfig({ ttlMs: 600, retryEveryMs: 1 }).safetyMs, 100);
  });

  test("bad values are refused with a clear LocalProtocolError", () => {
    const bad: [object, RegExp][] = [
      [{ ttlMs: 0, retryEveryMs: 1 }, /ttlMs must be a finite number > 0, got 0/],
      [{ ttlMs: NaN, retryEveryMs: 1 }, /ttlMs must be a finite number > 0, got NaN/],
      [{ ttlMs: 1_000 }, /retryEveryMs must be a finite number > 0, got undefined/],
      [{ ttlMs: 1_000, retryEveryMs: Infinity }, /retryEveryMs must be a finite number > 0/],
      [{ ttlMs: 1_000, retryEveryMs: 1, safetyMs: -1 }, /safetyMs must be a finite number >= 0/],
      [{ ttlMs: 1_000, retryEveryMs: 1, safetyMs: 1_000 }, /safetyMs \(1000\) must be less/],
      [{ ttlMs: 1_000, retryEveryMs: 1, renewEveryMs: 0 }, /renewEveryMs must be a finite/],
      [
        { ttlMs: 1_000, retryEveryMs: 1, renewEveryMs: 900 },
        /renewEveryMs \(900\) must be less than ttlMs - safetyMs \(900\)/,
      ],
      // The defaults themselves do not fit a tiny TTL: the message says which bound.
      [{ ttlMs: 150, retryEveryMs: 1 }, /renewEveryMs \(50\) must be less than ttlMs - safetyMs/],
    ];
    for (const [config, message] of bad) {
      assert.throws(
        () => new LeaseMachine(config as never),
        (e: unknown) => e instanceof LocalProtocolError && message.test(e.message),
        JSON.stringify(config),
      );
    }
  });

  test("now going backwards is refused", () => {
    const m = new LeaseMachine(CONFIG);
    m.tick(100);
    assert.throws(() => m.want(99), LocalProtocolError);
  });
});

describe("lease machine: rules", () => {
  test("acquire: valid from the create's send time, renewed every renewEveryMs", () => {
    const m = held(0);
    assert.equal(m.phase, "held");
    assert.equal(m.mayAct(2_699), true);
    assert.equal(m.mayAct(2_700), false, "valid until sentAt + ttl - safety, not from the reply");
    assert.equal(m.pollTimeout(), 1_000);
    m.tick(1_000);
    assert.deepEqual(drain(m), [{ kind: "update", id: 2, revision: 7 }]);
    assert.equal(m.phase, "renewing");
    assert.equal(m.mayAct(1_500), true, "still valid while the renewal is in flight");
    m.updateOk(2, 9, 1_200);
    assert.deepEqual(drain(m), [], "a renewal starts no new session");
    assert.equal(m.mayAct(3_699), true, "valid from the update's send time");
    assert.equal(m.mayAct(3_700), false);
    assert.equal(m.snapshot().token, 7, "the fencing token is the acquisition revision");
    assert.equal(m.pollTimeout(), 2_000);
  });

  test("a pause longer than the TTL: mayAct is false at once, then self-fence and take back", () => {
    const m = held(0);
    // The process sleeps from 100 to 10_000: no tick ran.
    assert.equal(m.mayAct(10_000), false, "false before any input");
    m.tick(10_000);
    assert.deepEqual(drain(m), [
      { kind: "stopSession", reason: "expired" },
      { kind: "update", id: 2, revision: 7 },
    ]);
    assert.equal(m.phase, "acquiring");
    // The key was taken meanwhile (or expired): back off, then create.
    m.updateConflict(2, 10_050);
    assert.deepEqual(drain(m), []);
    assert.equal(m.phase, "backoff");
    m.tick(10_550);
    assert.deepEqual(drain(m), [{ kind: "create", id: 3 }]);
  });

  test("self-fenced, an update on the known revision takes the lease back with a new session", () => {
    const m = held(0);
    m.tick(1_000);
    drain(m); // update 2 in flight, never answered (NATS down)
    m.tick(2_700);
    assert.deepEqual(drain(m), [{ kind: "stopSession", reason: "expired" }]);
    assert.equal(m.mayAct(2_700), false);
    assert.equal(m.phase, "acquiring", "the renewal in flight may still take it back");
    m.updateOk(2, 11, 2_800);
    assert.deepEqual(drain(m), [
      { kind: "startSession", revision: 11 },
      // Its renewal was due at 1000 + 1000: at once.
      { kind: "update", id: 3, revision: 11 },
    ]);
    assert.equal(m.mayAct(3_699), true, "valid from the update's send time (1000)");
    assert.equal(m.mayAct(3_700), false);
  });

  test("a timed-out create never starts a session, and its late success is ignored", () => {
    const m = new LeaseMachine(CONFIG);
    m.want(0);
    assert.deepEqual(drain(m), [{ kind: "create", id: 1 }]);
    m.createError(1, 800);
    m.createOk(1, 5, 900); // the same create, applied after all: stale
    assert.deepEqual(drain(m), []);
    assert.equal(m.phase, "backoff");
    assert.equal(m.mayAct(900), false);
    assert.equal(m.snapshot().stale, 1);
    m.tick(1_300);
    assert.deepEqual(drain(m), [{ kind: "create", id: 2 }]);
    m.createConflict(2, 1_350); // its own entry, until it expires
    assert.equal(m.phase, "backoff");
  });

  test("a create never answered is given up when its success could prove nothing", () => {
    const m = new LeaseMachine(CONFIG);
    m.want(0);
    drain(m);
    assert.equal(m.pollTimeout(), 2_700);
    m.tick(2_700);
    assert.equal(m.phase, "backoff");
    m.createOk(1, 5, 2_701);
    assert.deepEqual(drain(m), [], "a success after the give-up is stale");
    assert.equal(m.snapshot().stale, 1);
  });

  test("updateConflict: someone else holds it, the session stops at once", () => {
    const m = held(0);
    m.tick(1_000);
    drain(m);
    m.updateConflict(2, 1_100);
    assert.deepEqual(drain(m), [{ kind: "stopSession", reason: "conflict" }]);
    assert.equal(m.mayAct(1_100), false);
    assert.equal(m.phase, "backoff");
  });

  test("a failed renewal is retried after retryEveryMs while the lease is still valid", () => {
    const m = held(0);
    m.tick(1_000);
    drain(m);
    m.updateError(2, 1_800);
    assert.equal(m.phase, "held");
    assert.equal(m.mayAct(1_800), true);
    assert.equal(m.pollTimeout(), 2_300);
    m.tick(2_300);
    assert.deepEqual(drain(m), [{ kind: "update", id: 3, revision: 7 }]);
  });

  test("unwant while held: stopSession, then delete; want again after the delete", () => {
    const m = held(0);
    m.unwant(500);
    assert.deepEqual(drain(m), [
      { kind: "stopSession", reason: "released" },
      { kind: "delete", id: 2, revision: 7 },
    ]);
    assert.equal(m.mayAct(500), false);
    m.want(600); // wanted again before the delete finished
    assert.deepEqual(drain(m), []);
    m.deleteDone(2, 700);
    assert.deepEqual(drain(m), [{ kind: "create", id: 3 }]);
  });

  test("unwant while renewing: stop at once, delete the revision the renewal wrote", () => {
    const m = held(0);
    m.tick(1_000);
    drain(m);
    m.unwant(1_010);
    assert.deepEqual(drain(m), [{ kind: "stopSession", reason: "released" }]);
    m.updateOk(2, 12, 1_050);
    assert.deepEqual(drain(m), [{ kind: "delete", id: 3, revision: 12 }]);
    m.deleteDone(3, 1_100);
    assert.equal(m.phase, "free");
    assert.equal(m.pollTimeout(), undefined);
  });

  test("unwant while acquiring: a create that succeeds is deleted, no session", () => {
    const m = new LeaseMachine(CONFIG);
    m.want(0);
    drain(m);
    m.unwant(10);
    m.createOk(1, 3, 20);
    assert.deepEqual(drain(m), [{ kind: "delete", id: 2, revision: 3 }]);
    assert.equal(m.snapshot().sessions, 0);
    // ...and wanted again while a create is in flight: its success is taken.
    const n = new LeaseMachine(CONFIG);
    n.want(0);
    drain(n);
    n.unwant(10);
    n.want(15);
    n.createOk(1, 3, 20);
    assert.deepEqual(drain(n), [{ kind: "startSession", revision: 3 }]);
  });

  test("stale results of every kind change nothing", () => {
    const m = held(0);
    const before = m.snapshot();
    m.createOk(1, 99, 100);
    m.createConflict(1, 100);
    m.createError(1, 100);
    m.updateOk(1, 99, 100);
    m.updateConflict(5, 100);
    m.updateError(5, 100);
    m.deleteDone(1, 100);
    assert.deepEqual(drain(m), []);
    assert.deepEqual({ ...m.snapshot(), stale: 0 }, { ...before, stale: 0 });
    assert.equal(m.snapshot().stale, 7);
  });

  test("the transition table covers only the six phases", () => {
    assert.deepEqual(Object.keys(LEASE_TRANSITIONS).sort(), [
      "acquiring",
      "backoff",
      "free",
      "held",
      "releasing",
      "renewing",
    ]);
  });
});
