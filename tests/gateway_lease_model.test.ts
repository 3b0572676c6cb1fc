/**
 * The lease machine under random fault schedules (pure, simulated time): a
 * simulated JetStream KV server (bucket TTL with lazy expiry, create, CAS
 * update and delete), 2-4 gateways each with a LeaseMachine per node (1-3
 * nodes), a network with random delays, lost requests (applied or not,
 * reported or silent, answered late or twice), NATS outages per gateway
 * (requests buffered by the client and applied on reconnecting),
 * process pauses, crashes and restarts, want/unwant changes. Checked at every
 * step: the fencing invariant, sessions, agreement with the server, stale
 * results; after the faults stop: every wanted node held by exactly one
 * gateway within the stated bound. See gateway/lease.ts.
 *
 * More scenarios: `LEASE_RUNS=3000 LEASE_SEED=7 deno test -A <this file>`.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import process from "node:process";
import {
  LEASE_TRANSITIONS,
  LeaseMachine,
  type LeaseOutput,
  type LeasePhase,
  type ResolvedLeaseConfig,
} from "../gateway/lease.ts";

// ------------------------------------------------------------ the world's timing

const CONFIG = { ttlMs: 3_000, retryEveryMs: 500 }; // renew 1000, safety 300
/** One network leg (gateway to server, or back), at most. */
const LEG_MAX = 150;
/** A request's round trip, at most. */
const RTT_MAX = 2 * LEG_MAX;
/** The server removes an expired entry up to this long after its TTL. */
const LAG_MAX = 400;
/**
 * Gateway clock rates against the server's: far more drift than real clocks
 * have (well under 0.1%), up to what the margin covers: a lease counted on a
 * clock of rate r lasts (ttl - safety) / r of server time, within the TTL
 * while r >= 1 - safety / ttl = 0.9.
 */
const RATES = [1, 1, 0.999, 1.001, 0.95, 1.05, 0.91, 1.1];
/** The slowest of them. */
const MIN_RATE = Math.min(...RATES);
/** The driver reports a request as failed this long after sending it (nats.js' timeout). */
const REQUEST_TIMEOUT = 800;

/**
 * Liveness bound, from the moment the last fault ended: a write sent before
 * then lands at most one leg later and its entry is gone `ttl + lag` after
 * that; the wanted machines' create cycle (send, reply, wait `retryEvery`,
 * on a clock that may run slow) then lands a create within
 * `retryEvery / MIN_RATE + RTT` and its reply comes a leg later.
 * So: ttl + lag + retryEvery / MIN_RATE + 2 * RTT.
 */
function livenessBound(c: ResolvedLeaseConfig): number {
  return c.ttlMs + LAG_MAX + c.retryEveryMs / MIN_RATE + 2 * RTT_MAX;
}

// ------------------------------------------------------------ the random parts

/** A deterministic PRNG (mulberry32) for the network's per-request draws. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Fault =
  | { t: "want"; g: number; n: number }
  | { t: "unwant"; g: number; n: number }
  | { t: "outage"; g: number; ms: number }
  | { t: "pause"; g: number; ms: number }
  | { t: "crash"; g: number; restartAfter: number | undefined };

interface Scenario {
  gateways: number;
  nodes: number;
  /** Initially wanted, per gateway a bit mask of nodes. */
  initial: number[];
  /** Faults, each `gap` ms after the previous one. */
  faults: { gap: number; fault: Fault }[];
  /** Each gateway's clock rate against the server's. */
  rates: number[];
  /** How often a request meets trouble while faults last, 0..1. */
  trouble: number;
  seed: number;
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({ gateways: fc.integer({ min: 2, max: 4 }), nodes: fc.integer({ min: 1, max: 3 }) })
  .chain(({ gateways, nodes }) => {
    const g = fc.integer({ min: 0, max: gateways - 1 });
    const n = fc.integer({ min: 0, max: nodes - 1 });
    const fault: fc.Arbitrary<Fault> = fc.oneof(
      { arbitrary: fc.record({ t: fc.constant("want" as const), g, n }), weight: 3 },
      { arbitrary: fc.record({ t: fc.constant("unwant" as const), g, n }), weight: 2 },
      {
        arbitrary: fc.record({
          t: fc.constant("outage" as const),
          g,
          ms: fc.constantFrom(300, 1_500, 4_000, 9_000),
        }),
        weight: 2,
      },
      {
        arbitrary: fc.record({
          t: fc.constant("pause" as const),
          g,
          ms: fc.constantFrom(200, 1_200, 2_500, 3_500, 8_000),
        }),
        weight: 2,
      },
      {
        arbitrary: fc.record({
          t: fc.constant("crash" as const),
          g,
          restartAfter: fc.option(fc.constantFrom(0, 1_000, 5_000), { nil: undefined }),
        }),
        weight: 1,
      },
    );
    return fc.record({
      gateways: fc.constant(gateways),
      nodes: fc.constant(nodes),
      initial: fc.array(fc.integer({ min: 0, max: (1 << nodes) - 1 }), {
        minLength: gateways,
        maxLength: gateways,
      }),
      faults: fc.array(
        fc.record({ gap: fc.constantFrom(0, 50, 400, 1_000, 2_900, 6_000), fault }),
        { maxLength: 30 },
      ),
      rates: fc.array(fc.constantFrom(...RATES), { minLength: gateways, maxLength: gateways }),
      trouble: fc.constantFrom(0, 0.1, 0.3, 0.6),
      seed: fc.integer(),
    });
  });

// ------------------------------------------------------------ the KV server

interface Entry {
  revision: number;
  owner: string;
  /** When the server removes it (last write + ttl + lag: lazy expiry, never early). */
  removeAt: number;
}

class KvServer {
  readonly #entries = new Map<number, Entry>();
  #seq = 0;
  constructor(readonly ttlMs: number, readonly lag: () => number) {}

  /** The live entry of a node's key, if any. */
  get(node: number, now: number): Entry | undefined {
    const e = this.#entries.get(node);
    if (e !== undefined && now >= e.removeAt) {
      this.#entries.delete(node);
      return undefined;
    }
    return e;
  }

  create(node: number, owner: string, now: number): number | "conflict" {
    if (this.get(node, now) !== undefined) return "conflict";
    return this.#write(node, owner, now);
  }

  update(node: number, owner: string, revision: number, now: number): number | "conflict" {
    if (this.get(node, now)?.revision !== revision) return "conflict";
    return this.#write(node, owner, now);
  }

  delete(node: number, revision: number, now: number): void {
    if (this.get(node, now)?.revision === revision) {
      this.#seq++; // the tombstone takes a revision: the old one matches nothing again
      this.#entries.delete(node);
    }
  }

  #write(node: number, owner: string, now: number): number {
    const revision = ++this.#seq;
    this.#entries.set(node, { revision, owner, removeAt: now + this.ttlMs + this.lag() });
    return revision;
  }
}

// ------------------------------------------------------------ the simulation

type Result =
  | { t: "createOk"; revision: number }
  | { t: "createConflict" }
  | { t: "createError" }
  | { t: "updateOk"; revision: number }
  | { t: "updateConflict" }
  | { t: "updateError" }
  | { t: "deleteDone" };

interface Gateway {
  index: number;
  /** Its monotonic clock: `base + realTime * rate` (rates exaggerate real drift). */
  base: number;
  rate: number;
  /** Changes on restart: a restarted gateway's machines are new. */
  incarnation: number;
  alive: boolean;
  pausedUntil: number;
  outageUntil: number;
  wanted: boolean[];
  machines: LeaseMachine[];
  sessionOpen: boolean[];
  /** Inputs that arrived while paused: delivered on waking, in order. */
  inbox: (() => void)[];
  timerAt: (number | undefined)[];
}

interface Stats {
  transitions: Set<string>;
  stale: number;
  sessions: number;
  maxNow: number;
  /** The longest time from the end of the faults to every wanted node held. */
  worstRecovery: number;
}

/** Builds a machine for a model run (the mutation test swaps in a broken one). */
type MachineFactory = (onPhase: (from: LeasePhase, to: LeasePhase) => void) => LeaseMachine;

const realMachine: MachineFactory = (onPhase) => new LeaseMachine(CONFIG, { onPhase });

function run(s: Scenario, stats: Stats, factory: MachineFactory = realMachine): void {
  const rng = prng(s.seed);
  const between = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
  const server = new KvServer(CONFIG.ttlMs, () => between(0, LAG_MAX));
  const config = factory(() => {}).config;

  // The event queue: time order, then insertion order.
  let now = 0;
  const queue: { at: number; run: () => void }[] = [];
  const at = (t: number, fn: () => void): void => {
    const ev = { at: Math.max(t, now), run: fn };
    let i = queue.length;
    while (i > 0 && queue[i - 1].at > ev.at) i--;
    queue.splice(i, 0, ev);
  };

  // Faults end when the last one is over; afterwards every request goes through.
  let faultsEnd = 0;
  const gateways: Gateway[] = [];
  const newGateway = (index: number, incarnation: number, wanted: boolean[]): Gateway => {
    const gw: Gateway = {
      index,
      base: between(0, 1_000_000),
      rate: s.rates[index],
      incarnation,
      alive: true,
      pausedUntil: -Infinity,
      outageUntil: -Infinity,
      wanted: [...wanted],
      machines: [],
      sessionOpen: [],
      inbox: [],
      timerAt: [],
    };
    for (let n = 0; n < s.nodes; n++) {
      gw.machines.push(factory((from, to) => stats.transitions.add(`${from}->${to}`)));
      gw.sessionOpen.push(false);
      gw.timerAt.push(undefined);
    }
    return gw;
  };
  /** A gateway's own monotonic time now: what its machines are given. */
  const local = (gw: Gateway): number => gw.base + now * gw.rate;
  /** The first simulated instant at which a gateway's clock reads `t` or more. */
  const realTime = (gw: Gateway, t: number): number => {
    let r = Math.ceil((t - gw.base) / gw.rate);
    while (gw.base + r * gw.rate < t) r++;
    return r;
  };
  const owner = (gw: Gateway, n: number): string => `${gw.index}.${gw.incarnation}/${n}`;

  /** Carries out a machine's outputs and arms its timer. */
  const drain = (gw: Gateway, n: number): void => {
    const m = gw.machines[n];
    for (let o = m.poll(); o !== undefined; o = m.poll()) apply(gw, n, o);
    const t = m.pollTimeout();
    // Everything due was handled: a deadline not in the future would be a busy loop.
    assert.ok(t === undefined || t > local(gw), `busy loop: deadline ${t} at ${local(gw)}`);
    if (t !== undefined && t !== gw.timerAt[n]) {
      gw.timerAt[n] = t;
      at(realTime(gw, t), () => {
        if (gw.timerAt[n] !== t) return;
        gw.timerAt[n] = undefined;
        deliver(gw, n, () => gw.machines[n].tick(local(gw)));
      });
    }
  };

  const apply = (gw: Gateway, n: number, o: LeaseOutput): void => {
    switch (o.kind) {
      case "startSession":
        assert.equal(gw.sessionOpen[n], false, "startSession while a session is open");
        gw.sessionOpen[n] = true;
        stats.sessions++;
        return;
      case "stopSession":
        assert.equal(gw.sessionOpen[n], true, "stopSession without a session");
        gw.sessionOpen[n] = false;
        return;
      default:
        send(gw, n, o);
    }
  };

  /** An input for a machine: now, or when its paused process wakes up. */
  const deliver = (gw: Gateway, n: number, input: () => void): void => {
    if (!gw.alive) return;
    if (now < gw.pausedUntil) {
      gw.inbox.push(() => {
        input();
        drain(gw, n);
      });
      return;
    }
    input();
    drain(gw, n);
  };

  /** A result for a machine, checked: a stale one changes nothing. */
  const result = (gw: Gateway, n: number, id: number, kind: string, r: Result): void => {
    deliver(gw, n, () => {
      const m = gw.machines[n];
      m.tick(local(gw)); // whatever fell due first (a drain follows, outputs kept in order)
      const outsBefore: LeaseOutput[] = [];
      for (let o = m.poll(); o !== undefined; o = m.poll()) outsBefore.push(o);
      for (const o of outsBefore) apply(gw, n, o);
      const before = m.snapshot();
      const stale = before.pending?.id !== id || before.pending.kind !== kind;
      switch (r.t) {
        case "createOk":
          m.createOk(id, r.revision, local(gw));
          break;
        case "createConflict":
          m.createConflict(id, local(gw));
          break;
        case "createError":
          m.createError(id, local(gw));
          break;
        case "updateOk":
          m.updateOk(id, r.revision, local(gw));
          break;
        case "updateConflict":
          m.updateConflict(id, local(gw));
          break;
        case "updateError":
          m.updateError(id, local(gw));
          break;
        case "deleteDone":
          m.deleteDone(id, local(gw));
          break;
      }
      if (stale) {
        stats.stale++;
        const after = m.snapshot();
        assert.deepEqual({ ...after, stale: 0 }, { ...before, stale: 0 }, "a stale result acted");
        assert.equal(after.stale, before.stale + 1);
        assert.equal(m.poll(), undefined, "a stale result produced an output");
      }
    });
  };

  const send = (
    gw: Gateway,
    n: number,
    o: Extract<LeaseOutput, { kind: "create" | "update" | "delete" }>,
  ): void => {
    const sentAt = now;
    const who = owner(gw, n);
    const applyIt = (): Result => {
      if (o.kind === "create") {
        const r = server.create(n, who, now);
        return r === "conflict" ? { t: "createConflict" } : { t: "createOk", revision: r };
      }
      if (o.kind === "update") {
        const r = server.update(n, who, o.revision, now);
        return r === "conflict" ? { t: "updateConflict" } : { t: "updateOk", revision: r };
      }
      server.delete(n, o.revision, now);
      return { t: "deleteDone" };
    };
    const failure: Result = o.kind === "create"
      ? { t: "createError" }
      : o.kind === "update"
      ? { t: "updateError" }
      : { t: "deleteDone" };
    const reportError = (): void =>
      at(sentAt + REQUEST_TIMEOUT, () => result(gw, n, o.id, o.kind, failure));
    const d1 = between(0, LEG_MAX);
    const d2 = between(0, LEG_MAX);
    const faulty = sentAt < faultsEnd;
    if (faulty && sentAt < gw.outageUntil) {
      // NATS unreachable: reported as a timeout, or not at all; and the
      // client may have buffered it, to be sent on reconnecting (applied
      // long after its timeout, its reply lost).
      if (rng() < 0.8) reportError();
      if (rng() < 0.3) at(gw.outageUntil + d1, applyIt);
      return;
    }
    const fate = faulty && rng() < s.trouble ? between(1, 5) : 0;
    if (fate === 1) {
      // Lost on the way: not applied, reported as a timeout.
      reportError();
      return;
    }
    at(sentAt + d1, () => {
      const r = applyIt();
      if (fate === 0) {
        at(now + d2, () => {
          // The reply is lost while the gateway's NATS is down: a timeout instead.
          if (now < gw.outageUntil) reportError();
          else result(gw, n, o.id, o.kind, r);
        });
      } else if (fate === 2) {
        reportError(); // applied, the reply lost: a timed-out create may have succeeded
      } else if (fate === 3) {
        // Reported as a timeout, then the real reply comes late (stale).
        reportError();
        at(sentAt + REQUEST_TIMEOUT + between(1, 2_000), () => result(gw, n, o.id, o.kind, r));
      } else if (fate === 4) {
        // Answered twice (the second one is stale).
        at(now + d2, () => result(gw, n, o.id, o.kind, r));
        at(now + d2 + between(0, 1_000), () => result(gw, n, o.id, o.kind, r));
      }
      // fate 5: applied, never answered (the machine's own give-up deadline handles it).
    });
  };

  const wake = (gw: Gateway): void => {
    if (!gw.alive || now < gw.pausedUntil) return;
    const inbox = gw.inbox;
    gw.inbox = [];
    for (const f of inbox) f();
    for (let n = 0; n < s.nodes; n++) {
      gw.machines[n].tick(local(gw));
      drain(gw, n);
    }
  };

  const setWanted = (gw: Gateway, n: number, w: boolean): void => {
    gw.wanted[n] = w;
    deliver(gw, n, () => (w ? gw.machines[n].want(local(gw)) : gw.machines[n].unwant(local(gw))));
  };

  // ----- the checks at every step

  const check = (): void => {
    for (let n = 0; n < s.nodes; n++) {
      let actors = 0;
      for (const gw of gateways) {
        if (!gw.alive) continue; // a crashed process does not act
        const m = gw.machines[n];
        // A session is open exactly while the machine holds the lease.
        const p = m.phase;
        assert.equal(gw.sessionOpen[n], p === "held" || p === "renewing", `session open in ${p}`);
        // A paused process is asked too: what it would see on waking now.
        if (!m.mayAct(local(gw))) continue;
        actors++;
        assert.ok(gw.sessionOpen[n], "mayAct without a started session");
        const e = server.get(n, now);
        assert.equal(e?.owner, owner(gw, n), "mayAct while the server's lease is not ours");
      }
      assert.ok(actors <= 1, `two gateways may act for node ${n} at ${now}`);
    }
  };

  // ----- the schedule

  for (let g = 0; g < s.gateways; g++) {
    const wanted = Array.from({ length: s.nodes }, (_, n) => (s.initial[g] & (1 << n)) !== 0);
    gateways.push(newGateway(g, 0, wanted));
  }
  for (const gw of gateways) {
    for (let n = 0; n < s.nodes; n++) if (gw.wanted[n]) setWanted(gw, n, true);
  }
  let t = 0;
  for (const { gap, fault } of s.faults) {
    t += gap;
    const g = fault.g;
    let end = t;
    switch (fault.t) {
      case "want":
      case "unwant":
        at(t, () => setWanted(gateways[g], fault.n, fault.t === "want"));
        break;
      case "outage":
        end = t + fault.ms;
        at(t, () => (gateways[g].outageUntil = Math.max(gateways[g].outageUntil, now + fault.ms)));
        break;
      case "pause":
        end = t + fault.ms;
        at(t, () => {
          const gw = gateways[g];
          gw.pausedUntil = Math.max(gw.pausedUntil, now + fault.ms);
          at(gw.pausedUntil, () => wake(gw));
        });
        break;
      case "crash":
        end = t + (fault.restartAfter ?? 0);
        at(t, () => {
          const old = gateways[g];
          if (!old.alive) return;
          old.alive = false;
          if (fault.restartAfter === undefined) return;
          at(now + fault.restartAfter, () => {
            const gw = newGateway(g, old.incarnation + 1, old.wanted);
            gateways[g] = gw;
            for (let n = 0; n < s.nodes; n++) if (gw.wanted[n]) setWanted(gw, n, true);
          });
        });
        break;
    }
    faultsEnd = Math.max(faultsEnd, end);
  }
  const settled = faultsEnd + livenessBound(config);
  const horizon = settled + 2 * CONFIG.ttlMs;

  // ----- run

  // Liveness: every node wanted by a live gateway is held by exactly one,
  // from `recoveredAt` on for good, at most the bound after the faults ended.
  let recoveredAt: number | undefined;
  const liveness = (): void => {
    const live = gateways.filter((gw) => gw.alive);
    let all = true;
    for (let n = 0; n < s.nodes; n++) {
      if (!live.some((gw) => gw.wanted[n])) continue;
      const holders = live.filter((gw) => gw.sessionOpen[n] && gw.machines[n].mayAct(local(gw)));
      if (holders.length !== 1) all = false;
    }
    if (!all) recoveredAt = undefined;
    else recoveredAt ??= now;
    if (now >= settled) {
      assert.ok(
        recoveredAt !== undefined && Math.max(recoveredAt, faultsEnd) <= settled,
        `not every wanted node held ${now - faultsEnd} ms after the faults ended (bound ${
          livenessBound(config)
        })`,
      );
    }
  };
  liveness();
  while (queue.length > 0 && queue[0].at <= horizon) {
    const ev = queue.shift()!;
    now = ev.at;
    ev.run();
    check();
    liveness();
  }
  now = horizon;
  check();
  liveness();
  stats.worstRecovery = Math.max(stats.worstRecovery, recoveredAt! - faultsEnd);
  stats.maxNow = Math.max(stats.maxNow, now);
  // Every machine's sessions alternate (checked in apply); a session still open is a held lease.
  for (const gw of gateways) {
    if (!gw.alive) continue;
    for (let n = 0; n < s.nodes; n++) {
      const p = gw.machines[n].phase;
      assert.equal(gw.sessionOpen[n], p === "held" || p === "renewing", `session open in ${p}`);
    }
  }
}

function freshStats(): Stats {
  return { transitions: new Set(), stale: 0, sessions: 0, maxNow: 0, worstRecovery: 0 };
}

describe("lease machine (model: KV server, gateways, faults)", () => {
  test("property: fencing, sessions, stale results and liveness under random fault schedules; every table transition and no other", () => {
    const stats = freshStats();
    fc.assert(
      fc.property(scenario, (s) => run(s, stats)),
      // A fixed seed: the coverage check below must not depend on the draw.
      {
        numRuns: Number(process.env.LEASE_RUNS ?? 300),
        seed: Number(process.env.LEASE_SEED ?? 20261202),
      },
    );
    const listed = new Set<string>();
    for (const [from, tos] of Object.entries(LEASE_TRANSITIONS)) {
      for (const to of tos) listed.add(`${from}->${to}`);
    }
    for (const p of stats.transitions) assert.ok(listed.has(p), `unlisted transition ${p}`);
    for (const p of listed) assert.ok(stats.transitions.has(p), `transition ${p} never exercised`);
    assert.ok(stats.stale > 100, `stale results delivered: ${stats.stale}`);
    assert.ok(stats.sessions > 100, `sessions: ${stats.sessions}`);
    // The bound is met (asserted in every run), and some runs come close:
    // they wait out an orphaned entry's whole TTL and expiry lag.
    assert.ok(
      stats.worstRecovery > CONFIG.ttlMs + LAG_MAX,
      `worst recovery ${stats.worstRecovery} ms, bound ${
        livenessBound(new LeaseMachine(CONFIG).config)
      } ms`,
    );
  });

  test("the model catches a machine that ignores validity (mayAct true while held)", () => {
    class Unfenced extends LeaseMachine {
      override mayAct(_now: number): boolean {
        return this.phase === "held" || this.phase === "renewing";
      }
    }
    const r = fc.check(
      fc.property(
        scenario,
        (s) => run(s, freshStats(), (onPhase) => new Unfenced(CONFIG, { onPhase })),
      ),
      { numRuns: 300, seed: 20261202 },
    );
    assert.ok(r.failed, "a machine without fencing passed the model");
    assert.match(String(r.errorInstance), /two gateways may act|not ours/);
  });

  test("the model catches a machine that ignores its timer (a busy loop)", () => {
    class Deaf extends LeaseMachine {
      override tick(_now: number): void {}
    }
    const r = fc.check(
      fc.property(
        scenario,
        (s) => run(s, freshStats(), (onPhase) => new Deaf(CONFIG, { onPhase })),
      ),
      { numRuns: 300, seed: 20261202 },
    );
    assert.ok(r.failed, "a machine that never renews passed the model");
    assert.match(String(r.errorInstance), /busy loop/);
  });

  test("the liveness check catches a machine that gives up after a conflict", () => {
    class Quitter extends LeaseMachine {
      override createConflict(id: number, now: number): void {
        super.createConflict(id, now);
        if (this.phase === "backoff") this.unwant(now);
      }
    }
    const r = fc.check(
      fc.property(
        scenario,
        (s) => run(s, freshStats(), (onPhase) => new Quitter(CONFIG, { onPhase })),
      ),
      { numRuns: 300, seed: 20261202 },
    );
    assert.ok(r.failed, "a machine that stops trying passed the model");
    assert.match(String(r.errorInstance), /not every wanted node held/);
  });

  test("the model catches clocks slower than the margin covers (rate 0.85 < 1 - safety/ttl)", () => {
    const slow = scenario.map((s) => ({ ...s, rates: s.rates.map(() => 0.85) }));
    const r = fc.check(fc.property(slow, (s) => run(s, freshStats())), {
      numRuns: 300,
      seed: 20261202,
    });
    assert.ok(r.failed, "clocks 15% slow passed the model with a 10% margin");
    assert.match(String(r.errorInstance), /two gateways may act|not ours/);
  });

  test("the model catches validity counted from the reply, without the margin", () => {
    // Valid RTT_MAX + safetyMs longer than the rule allows.
    class FromReply extends LeaseMachine {
      override mayAct(now: number): boolean {
        return super.mayAct(now - RTT_MAX - this.config.safetyMs) &&
          (this.phase === "held" || this.phase === "renewing");
      }
    }
    const r = fc.check(
      fc.property(
        scenario,
        (s) => run(s, freshStats(), (onPhase) => new FromReply(CONFIG, { onPhase })),
      ),
      { numRuns: 300, seed: 20261202 },
    );
    assert.ok(r.failed, "a machine with too long a validity passed the model");
    assert.match(String(r.errorInstance), /two gateways may act|not ours/);
  });
});
