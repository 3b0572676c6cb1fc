/**
 * Drives one {@link LeaseMachine} per node against the JetStream KV lease
 * bucket: carries out the machines' KV calls, feeds their outcomes back,
 * starts and stops the gateway's sessions as they say, keeps this gateway's
 * heartbeat key, and decides with `spread.ts` which free nodes to compete
 * for. All timing is the machines'; this file only does the I/O, on one
 * timer.
 *
 * @module
 */

import { Kvm } from "@nats-io/kv";
import type { KV } from "@nats-io/kv";
import { getLogger } from "@logtape/logtape";
import { type Clock, REAL_CLOCK } from "../client/clock.ts";
import { LocalProtocolError } from "../core/errors.ts";
import { type LeaseConfig, LeaseMachine, type LeaseOutput, resolveLeaseConfig } from "./lease.ts";
import { nodesToAcquire } from "./spread.ts";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Subjects } from "./subjects.ts";

const logger = getLogger(["amikit", "gateway", "lease"]);

/** Lease timing of a gateway, ms. */
export interface LeaseOptions {
  /** The lease bucket's TTL: how long a dead holder keeps a node. Default 6,000. */
  readonly ttlMs?: number;
  /** Renewal interval. Default a third of the TTL. */
  readonly renewEveryMs?: number;
  /** How often a free node is tried, and the spread re-decided. Default 1,000. */
  readonly retryEveryMs?: number;
  /** Validity ends this long before the TTL. Default a tenth of the TTL (at least 100). */
  readonly safetyMs?: number;
  /** A node seen free this long is taken whatever the fair share. Default 2 × retryEveryMs. */
  readonly graceMs?: number;
}

/** What the driver needs of the gateway. */
export interface LeaseHost {
  readonly id: string;
  readonly subjects: Subjects;
  readonly nodes: readonly string[];
  hold(node: string, lease: number): void;
  release(node: string, reason: string): void;
}

/** The lease driver of one gateway. */
export class LeaseDriver {
  readonly #host: LeaseHost;
  readonly #nc: NatsConnection;
  readonly #clock: Clock;
  readonly #config: LeaseConfig & { ttlMs: number; retryEveryMs: number };
  readonly #graceMs: number;
  readonly #machines = new Map<string, LeaseMachine>();
  readonly #freeSince = new Map<string, number>();
  #kv: KV | undefined;
  #timer: unknown;
  #timerAt = Infinity;
  #nextSpread = 0;
  #nextBeat = 0;
  #spreading = false;
  #liveGateways = 1;
  #closed = false;

  /**
   * @param host the gateway
   * @param options the NATS connection, lease timing, clock
   */
  constructor(
    host: LeaseHost,
    options: { nats: NatsConnection; lease?: LeaseOptions; clock?: Clock },
  ) {
    this.#host = host;
    this.#nc = options.nats;
    this.#clock = options.clock ?? REAL_CLOCK;
    const l = options.lease ?? {};
    const ttlMs = l.ttlMs ?? 6000;
    const retryEveryMs = l.retryEveryMs ?? 1000;
    this.#config = { ttlMs, retryEveryMs, renewEveryMs: l.renewEveryMs, safetyMs: l.safetyMs };
    resolveLeaseConfig(this.#config);
    this.#graceMs = l.graceMs ?? 2 * retryEveryMs;
    for (const node of host.nodes) this.#machines.set(node, new LeaseMachine(this.#config));
  }

  /** Whether the gateway may act for a node now. */
  mayAct(node: string): boolean {
    return this.#machines.get(node)?.mayAct(this.#clock.now()) ?? false;
  }

  /** Opens (or creates) the bucket, then starts competing. */
  async start(): Promise<void> {
    const kvm = new Kvm(this.#nc);
    const bucket = this.#host.subjects.leaseBucket;
    const ttl = this.#config.ttlMs;
    try {
      this.#kv = await kvm.create(bucket, { ttl, history: 1 });
    } catch (e) {
      this.#kv = await kvm.open(bucket);
      const status = await this.#kv.status();
      if (status.ttl !== ttl) {
        throw new LocalProtocolError(
          `lease bucket ${bucket} has a TTL of ${status.ttl} ms, this gateway wants ${ttl} ms: ` +
            `every gateway of a prefix must use the same lease TTL (${(e as Error).message})`,
        );
      }
    }
    await this.#beat();
    // The first decision waits one interval, so that gateways started together
    // see each other's heartbeat and share the nodes instead of the first
    // taking them all (nodes are never rebalanced later: see spread.ts).
    this.#nextSpread = this.#clock.now() + this.#config.retryEveryMs;
    this.#drive();
  }

  /** Releases every lease (so another gateway takes over at once) and the heartbeat key. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const now = this.#clock.now();
    for (const m of this.#machines.values()) m.unwant(now);
    this.#drive();
    // Wait (bounded) for the deletes to settle.
    const end = now + 2000;
    while (
      [...this.#machines.values()].some((m) => m.phase !== "free") && this.#clock.now() < end
    ) {
      await new Promise((r) => this.#clock.setTimer(10, () => r(undefined)));
    }
    this.#closed = true;
    this.#clock.clearTimer(this.#timer);
    await this.#kv?.delete(`gateway.${this.#host.id}`).catch(() => {});
  }

  /** Carries out every machine's outputs, then arms the one timer. */
  #drive(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    for (const [node, m] of this.#machines) {
      m.tick(now);
      for (let o = m.poll(); o !== undefined; o = m.poll()) this.#do(node, m, o);
    }
    let at = Math.min(this.#nextSpread, this.#nextBeat);
    for (const m of this.#machines.values()) {
      const t = m.pollTimeout();
      if (t !== undefined && t < at) at = t;
    }
    if (at !== this.#timerAt) {
      this.#clock.clearTimer(this.#timer);
      this.#timerAt = at;
      this.#timer = this.#clock.setTimer(Math.max(0, at - now), () => {
        this.#timerAt = Infinity;
        this.#onTimer();
      });
    }
  }

  #onTimer(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    if (now >= this.#nextBeat) this.#beat().catch(() => {});
    if (now >= this.#nextSpread) this.#spread().catch(() => {});
    this.#drive();
  }

  #do(node: string, m: LeaseMachine, o: LeaseOutput): void {
    const kv = this.#kv!;
    const key = `node.${node}`;
    const value = JSON.stringify({ gateway: this.#host.id });
    const done = () => this.#drive();
    const report = (error: unknown) =>
      logger.error("{node}: lease step failed: {error}", { node, error });
    switch (o.kind) {
      case "create":
        kv.create(key, value).then(
          (rev) => m.createOk(o.id, rev, this.#clock.now()),
          (e) =>
            isConflict(e)
              ? m.createConflict(o.id, this.#clock.now())
              : m.createError(o.id, this.#clock.now()),
        ).catch(report).finally(done);
        return;
      case "update":
        kv.update(key, value, o.revision).then(
          (rev) => m.updateOk(o.id, rev, this.#clock.now()),
          (e) =>
            isConflict(e)
              ? m.updateConflict(o.id, this.#clock.now())
              : m.updateError(o.id, this.#clock.now()),
        ).catch(report).finally(done);
        return;
      case "delete":
        kv.delete(key, { previousSeq: o.revision }).catch(() => {}).finally(() => {
          m.deleteDone(o.id, this.#clock.now());
          done();
        });
        return;
      case "startSession":
        this.#host.hold(node, o.revision);
        return;
      case "stopSession":
        this.#host.release(node, `lease ${o.reason}`);
        return;
    }
  }

  async #beat(): Promise<void> {
    this.#nextBeat = this.#clock.now() + (this.#config.renewEveryMs ?? this.#config.ttlMs / 3);
    await this.#kv!.put(`gateway.${this.#host.id}`, JSON.stringify({ at: Date.now() })).catch(
      () => {},
    );
  }

  /** Rejects when `promise` takes longer than `ms` (on this driver's clock). */
  #within<T>(promise: Promise<T>, ms: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = this.#clock.setTimer(ms, () => reject(new Error(`no answer within ${ms} ms`)));
      promise.then(
        (v) => {
          this.#clock.clearTimer(t);
          resolve(v);
        },
        (e) => {
          this.#clock.clearTimer(t);
          reject(e);
        },
      );
    });
  }

  /** Re-decides which nodes to compete for, from the bucket's entries. */
  async #spread(): Promise<void> {
    this.#nextSpread = this.#clock.now() + this.#config.retryEveryMs;
    if (this.#spreading) return;
    this.#spreading = true;
    try {
      // Every read is bounded: a lookup that never answers must not stop the
      // spread for good (the node would then never be taken over).
      const limit = Math.max(2000, 2 * this.#config.retryEveryMs);
      const kv = this.#kv!;
      // Holding: held, renewing, or acquiring (a take-back after a pause
      // included); those are never given up here, only free ones competed for.
      const holding = new Set<string>();
      for (const [node, m] of this.#machines) {
        if (m.phase === "held" || m.phase === "renewing" || m.phase === "acquiring") {
          holding.add(node);
        }
      }
      const taken = new Set<string>();
      await this.#within(
        Promise.all(
          this.#host.nodes.filter((n) => !holding.has(n)).map(async (node) => {
            const entry = await kv.get(`node.${node}`);
            if (entry !== null && entry.operation === "PUT") taken.add(node);
          }),
        ),
        limit,
      );
      try {
        const keys: string[] = [];
        await this.#within(
          (async () => {
            for await (const k of await kv.keys("gateway.*")) keys.push(k);
          })(),
          limit,
        );
        this.#liveGateways = Math.max(1, keys.length);
      } catch (error) {
        logger.debug("counting gateways failed (the last count stands): {error}", { error });
      }
      const gateways = this.#liveGateways;
      const now = this.#clock.now();
      for (const node of this.#machines.keys()) {
        if (taken.has(node) || holding.has(node)) this.#freeSince.delete(node);
        else if (!this.#freeSince.has(node)) this.#freeSince.set(node, now);
      }
      const freeForMs = new Map<string, number>();
      for (const [node, since] of this.#freeSince) freeForMs.set(node, now - since);
      const wanted = new Set(nodesToAcquire({
        nodes: this.#host.nodes,
        holding,
        liveGateways: gateways,
        freeForMs,
        gatewayId: this.#host.id,
        graceMs: this.#graceMs,
      }));
      for (const [node, m] of this.#machines) {
        if (wanted.has(node) || holding.has(node)) m.want(now);
        else if (m.phase === "backoff" || m.phase === "free") m.unwant(now);
      }
    } catch (error) {
      logger.debug("lease spread failed: {error}", { error });
    } finally {
      this.#spreading = false;
      this.#drive();
    }
  }
}

/** A compare-and-set refusal (JetStream codes 10071 wrong last sequence, 10164 key exists). */
function isConflict(e: unknown): boolean {
  const x = e as { code?: unknown; api_error?: { err_code?: number }; message?: unknown } | null;
  const code = typeof x?.code === "number" ? x.code : x?.api_error?.err_code;
  if (code === 10071 || code === 10164) return true;
  return /wrong last sequence|key exists/i.test(String(x?.message ?? e));
}
