/**
 * `amikit gateway` as a library function: holds the AMI session of every
 * node whose lease it wins, publishes each event to a JetStream stream,
 * serves actions over NATS request/reply, and publishes each node's state.
 * See `subjects.ts` for the subject scheme, `lease.ts` for the leases and
 * fencing, `policy.ts` for who may do what.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { getLogger } from "@logtape/logtape";
import { defaultConnector } from "../adapters/mod.ts";
import { type Client, type ClientOptions, nodeClient } from "../client/client.ts";
import type { ClusterNodeOptions } from "../client/cluster.ts";
import { type Clock, REAL_CLOCK } from "../client/clock.ts";
import type { TransportConnector } from "../client/transport.ts";
import { LocalProtocolError } from "../core/errors.ts";
import { EventPublisher, type PublisherStats } from "./_publisher.ts";
import { JsAckPublisher } from "./_js_acks.ts";
import { NodeService, type ServiceContext, type ServiceStats } from "./_service.ts";
import { LeaseDriver, type LeaseOptions } from "./_leases.ts";
import { DEFAULT_PREFIX, Subjects, token } from "./subjects.ts";
import { type NatsConnectionLike, toBytes, type WireState } from "./wire.ts";
import { decide, DEFAULT_POLICY, identityFromHeaders, type Policy } from "./policy.ts";
import { RefusalLog, type RefusalSummary } from "./refusal_log.ts";

const logger = getLogger(["amikit", "gateway"]);

/** The event stream's limits. */
export interface StreamOptions {
  /** How long events are kept, ms. Default 24 hours. */
  readonly maxAgeMs?: number;
  /** Most bytes kept. Default 1 GiB. */
  readonly maxBytes?: number;
  /** JetStream's duplicate window, ms. Default 2 minutes. */
  readonly duplicateWindowMs?: number;
  /** `file` (default) or `memory`. */
  readonly storage?: "file" | "memory";
  /** Replicas (a NATS cluster). Default 1. */
  readonly replicas?: number;
}

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** An open NATS connection (credentials and TLS are the caller's). */
  readonly nats: NatsConnectionLike;
  /** The Asterisk servers by name (each a NATS subject token). */
  readonly nodes: Readonly<Record<string, ClusterNodeOptions>>;
  /** Settings shared by every node (credentials, timeouts…). */
  readonly defaults?: ClusterNodeOptions;
  /** Subject prefix. Default `amikit`. */
  readonly prefix?: string;
  /** This gateway's id. Default random. */
  readonly id?: string;
  /** Lease timing (TTL, renewal). */
  readonly lease?: LeaseOptions;
  /** The event stream's limits. */
  readonly stream?: StreamOptions;
  /**
   * Who may send which action to which node (`compilePolicy`). Default
   * `DEFAULT_POLICY`: every identity, every node, no system-level action.
   */
  readonly policy?: Policy;
  /** Most action requests in flight. Default 1,000. */
  readonly maxInFlight?: number;
  /** Largest action request, bytes. Default 64 KiB. */
  readonly maxRequestBytes?: number;
  /** Most events held per node while JetStream is slow or away. Default 50,000. */
  readonly maxPendingEvents?: number;
  /** Publishes awaiting acknowledgement per node. Default 1,024. */
  readonly publishWindow?: number;
  /** Interval of state heartbeats, ms. Default 2,000. */
  readonly heartbeatMs?: number;
  /** Refusals are logged once per this interval per identity, ms. Default 60,000. */
  readonly refusalLogIntervalMs?: number;
  /** Opens AMI sockets. Default the runtime's adapter. */
  readonly connector?: TransportConnector;
  /** The time source. Default real time. */
  readonly clock?: Clock;
}

/** One held node's counters. */
export interface HeldNodeStats {
  /** The node. */
  readonly node: string;
  /** Its client's state. */
  readonly state: string;
  /** The lease revision it is held under. */
  readonly lease: number;
  /** Event publishing. */
  readonly events: PublisherStats;
  /** The action service. */
  readonly actions: ServiceStats;
}

/** A gateway's counters. */
export interface GatewayStats {
  /** The gateway's id. */
  readonly id: string;
  /** The nodes it holds now. */
  readonly held: readonly HeldNodeStats[];
  /** Leases won since start. */
  readonly acquired: number;
  /** Leases lost or released since start. */
  readonly released: number;
  /** Requests refused by the policy. */
  readonly refused: number;
  /** Action requests in flight. */
  readonly inFlight: number;
}

interface Held {
  readonly acks: JsAckPublisher;
  readonly node: string;
  readonly lease: number;
  readonly client: Client;
  readonly publisher: EventPublisher;
  readonly service: NodeService;
  readonly offState: () => void;
}

/** A running gateway. */
export class Gateway implements AsyncDisposable {
  /** This gateway's id (in its heartbeat key, state messages and gap notices). */
  readonly id: string;
  /** The subject scheme it serves. */
  readonly subjects: Subjects;
  readonly #opts: GatewayOptions;
  readonly #clock: Clock;
  readonly #held = new Map<string, Held>();
  readonly #ctx: ServiceContext;
  readonly #refusals: RefusalLog;
  readonly #leases: LeaseDriver;
  readonly #nc: NatsConnection;
  #heartbeat: unknown;
  #acquired = 0;
  #released = 0;
  #refused = 0;
  #closed = false;

  /** Use {@link startGateway}. */
  constructor(options: GatewayOptions, leases: (gateway: Gateway) => LeaseDriver) {
    this.#opts = options;
    this.#clock = options.clock ?? REAL_CLOCK;
    this.subjects = new Subjects(options.prefix ?? DEFAULT_PREFIX);
    this.id = token("gateway id", options.id ?? randomId());
    for (const node of Object.keys(options.nodes)) token("node", node);
    const nc = this.#nc = options.nats as NatsConnection;
    this.#refusals = new RefusalLog({ intervalMs: options.refusalLogIntervalMs ?? 60_000 });
    const policy = options.policy ?? DEFAULT_POLICY;
    this.#ctx = {
      nc,
      subjects: this.subjects,
      authorize: (request) => decide(policy, request),
      identityOf: identityFromHeaders,
      refused: (identity, node, action, why) => {
        this.#refused++;
        const summary = this.#refusals.refuse({ identity, node, action }, this.#clock.now());
        if (summary !== undefined) logRefusals(summary, why);
      },
      secrets: secretsOf(options),
      maxRequestBytes: options.maxRequestBytes ?? 64 * 1024,
      maxInFlight: options.maxInFlight ?? 1000,
      inFlight: 0,
    };
    this.#leases = leases(this);
  }

  /** The nodes this gateway may hold. */
  get nodes(): string[] {
    return Object.keys(this.#opts.nodes);
  }

  /** The nodes held now. */
  held(): string[] {
    return [...this.#held.keys()];
  }

  /** Whether this gateway may act for a node now (its lease is valid). */
  mayAct(node: string): boolean {
    return this.#leases.mayAct(node);
  }

  /**
   * Starts the node's session under a lease (called by the lease driver).
   *
   * @param node the node
   * @param lease the lease revision (fencing token)
   */
  hold(node: string, lease: number): void {
    if (this.#closed || this.#held.has(node)) return;
    const o = this.#opts;
    const options: ClientOptions = {
      ...o.defaults,
      ...o.nodes[node],
      node,
      clock: this.#clock,
    } as ClientOptions;
    const mayAct = () => this.#leases.mayAct(node);
    const acks = new JsAckPublisher(this.#nc, this.#clock, 5000);
    const publisher = new EventPublisher(
      node,
      this.id,
      this.subjects,
      (subject, data, msgId, hs) => acks.publish(subject, data, msgId, hs),
      mayAct,
      {
        maxPending: o.maxPendingEvents ?? 50_000,
        window: o.publishWindow ?? 1024,
        retryMs: 500,
      },
      this.#clock,
      this.#ctx.secrets,
    );
    publisher.startLease(lease);
    const { client, start } = nodeClient(options, {
      connector: o.connector ?? defaultConnector(),
      sink: (event) => publisher.push(event),
    });
    const service = new NodeService(this.#ctx, node, client, mayAct);
    const offStateChange = client.onStateChange((change) =>
      this.#publishState(node, lease, change.state, change.reason)
    );
    const offDrops = client.onDrops((notice) => publisher.sessionDropped(notice.dropped));
    const offState = () => {
      offStateChange();
      offDrops();
    };
    this.#held.set(node, { acks, node, lease, client, publisher, service, offState });
    this.#acquired++;
    logger.info("{gateway} holds {node} (lease {lease})", { gateway: this.id, node, lease });
    start();
    this.#publishState(node, lease, client.state);
  }

  /**
   * Stops the node's session at once (lease lost, released, or closing).
   *
   * @param node the node
   * @param reason why
   */
  release(node: string, reason: string): void {
    const h = this.#held.get(node);
    if (h === undefined) return;
    this.#held.delete(node);
    this.#released++;
    h.service.close();
    h.offState();
    h.publisher.close();
    h.acks.close();
    // At once: a node whose lease is lost must not be acted on by this gateway.
    h.client.destroy();
    this.#publishState(node, h.lease, "unheld", reason);
    logger.info("{gateway} released {node}: {reason}", { gateway: this.id, node, reason });
  }

  /** The counters. */
  stats(): GatewayStats {
    return {
      id: this.id,
      held: [...this.#held.values()].map((h) => ({
        node: h.node,
        state: h.client.state,
        lease: h.lease,
        events: h.publisher.stats(),
        actions: h.service.stats(),
      })),
      acquired: this.#acquired,
      released: this.#released,
      refused: this.#refused,
      inFlight: this.#ctx.inFlight,
    };
  }

  /** The client of a held node (for metrics and tests). */
  client(node: string): Client | undefined {
    return this.#held.get(node)?.client;
  }

  /** @internal Starts leases and heartbeats. */
  async start(): Promise<void> {
    await this.#ensureStream();
    await this.#leases.start();
    const beat = () => {
      if (this.#closed) return;
      for (const h of this.#held.values()) this.#publishState(h.node, h.lease, h.client.state);
      for (const summary of this.#refusals.poll(this.#clock.now())) logRefusals(summary);
      this.#heartbeat = this.#clock.setTimer(this.#opts.heartbeatMs ?? 2000, beat);
    };
    this.#heartbeat = this.#clock.setTimer(this.#opts.heartbeatMs ?? 2000, beat);
  }

  /**
   * Stops: releases every lease (so another gateway takes over at once),
   * waits (bounded) for pending events to be published, closes sessions.
   *
   * @param drainMs the most to wait for pending events, ms. Default 2,000.
   */
  async close(drainMs = 2000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimer(this.#heartbeat);
    for (const h of this.#held.values()) h.service.close();
    await Promise.all([...this.#held.values()].map((h) => h.publisher.drain(drainMs)));
    for (const node of [...this.#held.keys()]) this.release(node, "gateway closing");
    await this.#leases.close();
  }

  /** `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #publishState(node: string, lease: number, state: string, reason?: string): void {
    const msg: WireState = {
      state,
      ...(reason === undefined ? {} : { reason }),
      gateway: this.id,
      lease,
      at: Date.now(),
    };
    try {
      this.#nc.publish(this.subjects.state(node), toBytes(msg));
    } catch { /* NATS is away: the next heartbeat says it again */ }
  }

  async #ensureStream(): Promise<void> {
    const s = this.#opts.stream ?? {};
    const jsm = await jetstreamManager(this.#nc);
    const ms = 1_000_000;
    const config = {
      name: this.subjects.stream,
      subjects: this.subjects.streamSubjects(),
      max_age: (s.maxAgeMs ?? 24 * 3600_000) * ms,
      max_bytes: s.maxBytes ?? 1024 ** 3,
      duplicate_window: (s.duplicateWindowMs ?? 120_000) * ms,
      storage: (s.storage ?? "file") as never,
      num_replicas: s.replicas ?? 1,
    };
    try {
      await jsm.streams.info(config.name);
    } catch {
      try {
        await jsm.streams.add(config);
      } catch (e) {
        // Another gateway may have created it meanwhile.
        await jsm.streams.info(config.name).catch(() => {
          throw new LocalProtocolError(
            `cannot create the JetStream stream ${config.name} (max ${config.max_bytes} bytes, ${config.storage} storage; see the stream options): ${
              (e as Error).message
            }`,
          );
        });
      }
    }
  }
}

/**
 * Starts a gateway: makes sure the event stream and the lease bucket exist,
 * then competes for the nodes' leases.
 *
 * @param options the NATS connection, the nodes, limits
 * @returns the running gateway
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const gateway = new Gateway(
    options,
    (g) => new LeaseDriver(g, { ...options, nats: options.nats as NatsConnection }),
  );
  await gateway.start();
  return gateway;
}

function logRefusals(summary: RefusalSummary, why?: string): void {
  logger.warn(
    "refused {count} request(s) from {identity} since the last report (latest: {action} on {node}{why})",
    {
      count: summary.refused,
      identity: summary.identity,
      action: summary.last.action,
      node: summary.last.node,
      why: why === undefined ? "" : `: ${why}`,
    },
  );
}

/** Every AMI secret of the config (redacted by value from what is published). */
function secretsOf(options: GatewayOptions): string[] {
  const out = new Set<string>();
  for (const o of [options.defaults, ...Object.values(options.nodes)]) {
    const secret = (o as { secret?: unknown } | undefined)?.secret;
    if (typeof secret === "string" && secret.length > 0) out.add(secret);
  }
  return [...out];
}

function randomId(): string {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return "gw-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
