/**
 * The remote client: the API of a `Cluster` (`action`, `on`, `events`,
 * state changes, typed errors) over NATS, served by one or more `amikit
 * gateway`s. An application moves from an in-process cluster to a fleet by
 * changing how it connects.
 *
 * Events come from a plain subscription (live, from now on) or, with
 * `durable`, from a JetStream durable consumer per node: a worker that
 * restarts with the same name resumes where it stopped, within the stream's
 * retention. A durable consumer starts pulling when the first listener or
 * iterator is attached, so no event is acknowledged before anyone heard it. Either way each event carries its node's lease and sequence
 * number in its message id (`Nats-Msg-Id: <node>:<lease>:<seq>`); a hole in the sequence, or a gap notice
 * from the gateway, is counted in `stats().missed`.
 *
 * @module
 */

import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import {
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
} from "@nats-io/nats-core";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { getLogger } from "@logtape/logtape";
import type { ActionOptions, TypedActionArgs } from "../client/client.ts";
import type { ClusterEvent } from "../client/cluster.ts";
import { type Clock, REAL_CLOCK } from "../client/clock.ts";
import {
  Dispatcher,
  type EventFilter,
  type EventHandler,
  type EventStream,
  type EventStreamOptions,
  openStream,
  StreamSet,
} from "../client/_events.ts";
import type { ClientState, StateChange } from "../client/supervisor.ts";
import type { AmiActionName, AmiActionResultFor, AmiEvent, AmiEventName } from "../core/ami.ts";
import type { ActionResult, CompletionStrategy } from "../core/connection_types.ts";
import {
  AbortedError,
  type AmiError,
  GatewayError,
  LocalProtocolError,
  PermissionError,
} from "../core/errors.ts";
import type { AmiMessage } from "../core/message.ts";
import type { ActionFields } from "../core/serializer.ts";
import { DEFAULT_PREFIX, Subjects, token } from "./subjects.ts";
import {
  decodeError,
  decodeMessage,
  decodeResult,
  encodeRequest,
  fromBytes,
  toBytes,
  type WireGap,
  type WireReply,
  type WireState,
} from "./wire.ts";
import type { NatsConnectionLike } from "./wire.ts";

const logger = getLogger(["amikit", "remote"]);

/** Options of {@link connectRemote}. */
export interface RemoteOptions {
  /** An open NATS connection (credentials and TLS are the caller's). */
  readonly nats: NatsConnectionLike;
  /** The nodes to follow (events and state). Actions may go to any node. */
  readonly nodes: readonly string[];
  /** Subject prefix. Default `amikit`. */
  readonly prefix?: string;
  /**
   * A durable consumer name: events come from JetStream and resume where
   * this name stopped. Default none: a live subscription.
   */
  readonly durable?: string;
  /** For a new durable consumer: `"new"` events only (default) or `"all"` the stream holds. */
  readonly deliver?: "new" | "all";
  /**
   * For a durable consumer: how long an event delivered but not yet
   * acknowledged (a worker that died mid-way) waits before it is delivered
   * again, ms. Default 10,000.
   */
  readonly ackWaitMs?: number;
  /** An action's deadline when none is given, ms. Default 10,000. */
  readonly defaultTimeoutMs?: number;
  /** Added to an action's deadline for the NATS request (the gateway answers the deadline itself). Default 2,000. */
  readonly graceMs?: number;
  /** A node with no state message for this long is `reconnecting` (`noGateway`). Default 6,000. */
  readonly stateStaleMs?: number;
  /** The time source. Default real time. */
  readonly clock?: Clock;
}

/** A remote client's counters. */
export interface RemoteStats {
  /** Events delivered. */
  readonly events: number;
  /** Events known missing (sequence holes and gateway gap notices). */
  readonly missed: number;
  /** Actions sent. */
  readonly actions: number;
  /** Actions that failed. */
  readonly failed: number;
  /** Events dropped by this client's own iterators. */
  readonly streamDrops: number;
  /** Listener failures. */
  readonly listenerErrors: number;
}

interface NodeView {
  state: ClientState;
  lastState: number;
  lease: number;
  seq: number;
}

/** A cluster served by gateways over NATS. */
export class RemoteCluster implements AsyncDisposable {
  /** The subject scheme it uses. */
  readonly subjects: Subjects;
  readonly #nc: NatsConnection;
  readonly #opts: RemoteOptions;
  readonly #clock: Clock;
  readonly #dispatcher: Dispatcher;
  readonly #streams = new StreamSet<ClusterEvent>();
  readonly #stateListeners = new Set<(node: string, change: StateChange) => void>();
  readonly #nodes = new Map<string, NodeView>();
  readonly #subs: Subscription[] = [];
  readonly #stops: Array<() => Promise<void> | void> = [];
  /** Starts a durable consumer's pulls (on the first listener or iterator). */
  readonly #pullers: Array<() => void> = [];
  #pulling = false;
  readonly #instance: string;
  #timer: unknown;
  #requestSeq = 0;
  #events = 0;
  #missed = 0;
  #actions = 0;
  #failed = 0;
  #listenerErrors = 0;
  /** No new pulls, requests or timers; events already pulled are still dispatched. */
  #closing = false;
  #closed = false;

  /** Use {@link connectRemote}. */
  constructor(options: RemoteOptions) {
    this.#opts = options;
    this.#nc = options.nats as NatsConnection;
    this.#clock = options.clock ?? REAL_CLOCK;
    this.subjects = new Subjects(options.prefix ?? DEFAULT_PREFIX);
    this.#dispatcher = new Dispatcher((error) => {
      this.#listenerErrors++;
      logger.error("a remote event listener failed: {error}", { error });
    });
    const bytes = new Uint8Array(6);
    crypto.getRandomValues(bytes);
    this.#instance = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    for (const node of options.nodes) {
      token("node", node);
      this.#nodes.set(node, { state: "connecting", lastState: -Infinity, lease: 0, seq: 0 });
    }
  }

  /** The followed nodes. */
  get nodes(): string[] {
    return [...this.#nodes.keys()];
  }

  /** @internal Subscribes to states and events. */
  async start(): Promise<void> {
    // A closed NATS connection ends this client too (no timer or pull left behind).
    this.#nc.closed().then(() => this.close(), () => this.close());
    for (const node of this.#nodes.keys()) {
      this.#subs.push(this.#nc.subscribe(this.subjects.state(node), {
        callback: (err, msg) => {
          if (err === null) this.#onState(node, msg);
        },
      }));
    }
    if (this.#opts.durable === undefined) {
      for (const node of this.#nodes.keys()) {
        this.#subs.push(this.#nc.subscribe(this.subjects.events(node), {
          callback: (err, msg) => {
            if (err === null) this.#onStreamMessage(node, msg);
          },
        }));
      }
    } else await this.#startDurable(this.#opts.durable);
    const stale = this.#opts.stateStaleMs ?? 6000;
    const check = () => {
      if (this.#closing) return;
      const now = this.#clock.now();
      for (const [node, v] of this.#nodes) {
        if (v.state === "ready" && now - v.lastState > stale) {
          this.#setState(node, "reconnecting", "noGateway");
        }
      }
      this.#timer = this.#clock.setTimer(Math.max(100, stale / 4), check);
    };
    this.#timer = this.#clock.setTimer(Math.max(100, stale / 4), check);
    await this.#nc.flush();
  }

  /**
   * Sends a documented action to one node, typed (see `Client.action`).
   *
   * @param node the node's name
   * @param name the action
   * @param args its fields, then options
   * @returns the result
   */
  action<N extends AmiActionName>(
    node: string,
    name: N,
    ...args: TypedActionArgs<N>
  ): Promise<AmiActionResultFor<N>>;
  /**
   * Sends an undocumented action (untyped) to one node.
   *
   * @param node the node's name
   * @param name the action
   * @param fields its fields
   * @param options deadline, signal, strategy, waiting for a connection
   * @returns the result
   */
  action<N extends string>(
    node: string,
    name: [N] extends [AmiActionName] ? never : N,
    fields?: ActionFields,
    options?: ActionOptions,
  ): Promise<ActionResult>;
  /**
   * Sends any action with an explicit completion `strategy` to one node.
   *
   * @param node the node's name
   * @param name the action
   * @param fields its fields
   * @param options with `strategy`
   * @returns the result
   */
  action(
    node: string,
    name: string,
    fields: ActionFields | undefined,
    options: ActionOptions & { readonly strategy: CompletionStrategy },
  ): Promise<ActionResult>;
  action(
    node: string,
    name: string,
    fields?: ActionFields,
    options: ActionOptions = {},
  ): Promise<ActionResult> {
    try {
      token("node", node);
      token("action", name);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#closing) {
      return Promise.reject(
        new GatewayError("unreachable", node, name, false, "remote client closed"),
      );
    }
    if (options.signal?.aborted) return Promise.reject(new AbortedError(name, false));
    const id = `${this.#instance}-${++this.#requestSeq}`;
    const timeoutMs = options.timeoutMs ?? options.timeout ?? this.#opts.defaultTimeoutMs ?? 10_000;
    let payload: Uint8Array;
    try {
      payload = toBytes(encodeRequest(id, fields, {
        timeoutMs,
        strategy: options.strategy,
        waitForConnection: options.waitForConnection,
      }));
    } catch (e) {
      return Promise.reject(new LocalProtocolError(`${name}: ${(e as Error).message}`));
    }
    this.#actions++;
    const requestTimeout = Number.isFinite(timeoutMs)
      ? timeoutMs + (this.#opts.graceMs ?? 2000)
      : 2 ** 31 - 1;
    const request = this.#nc.request(this.subjects.action(node, name), payload, {
      timeout: Math.min(requestTimeout, 2 ** 31 - 1),
    }).then(
      (msg) => this.#reply(node, name, msg),
      (error) => {
        throw this.#requestFailed(node, name, error);
      },
    );
    const signal = options.signal;
    if (signal === undefined) return this.#count(request);
    return this.#count(
      new Promise<ActionResult>((resolve, reject) => {
        const onAbort = () => {
          // Tell the gateway; its answer (AbortedError with an honest `written`)
          // settles the request. If no answer comes, the outcome is unknown.
          try {
            this.#nc.publish(this.subjects.abort(node, name), toBytes({ id }));
          } catch { /* NATS away: the request's own deadline settles it */ }
          const t = this.#clock.setTimer(this.#opts.graceMs ?? 2000, () => {
            reject(new AbortedError(name, true));
          });
          request.finally(() => this.#clock.clearTimer(t)).catch(() => {});
        };
        signal.addEventListener("abort", onAbort, { once: true });
        request.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
      }),
    );
  }

  /**
   * Listens to one documented event of every followed node, typed.
   *
   * @param filter the event's name
   * @param handler called with the event and its node's name
   * @returns a function that removes the listener
   */
  on<N extends AmiEventName>(
    filter: N,
    handler: (event: AmiEvent<N>, node: string) => unknown,
  ): () => void;
  /**
   * Listens to an undocumented event, `"*"`, or a predicate's events.
   *
   * @param filter an event name, `"*"`, or a predicate
   * @param handler called with the event and its node's name
   * @returns a function that removes the listener
   */
  on<F extends string>(
    filter: (F extends AmiEventName ? never : F) | ((event: AmiMessage) => boolean),
    handler: EventHandler,
  ): () => void;
  on(filter: EventFilter, handler: EventHandler): () => void {
    const off = this.#dispatcher.on(filter, handler);
    this.#startPulling();
    return off;
  }

  /**
   * The merged event stream of every followed node, with its own bounded
   * buffer and drop counter.
   *
   * @param options filter, capacity, drop policy
   * @returns the stream
   */
  events<N extends AmiEventName>(
    options: EventStreamOptions & { readonly filter: N },
  ): EventStream<ClusterEvent<AmiEvent<N>>>;
  /**
   * The merged event stream of every followed node.
   *
   * @param options filter, capacity, drop policy
   * @returns the stream
   */
  events(options?: EventStreamOptions): EventStream<ClusterEvent>;
  events(options: EventStreamOptions = {}): EventStream<ClusterEvent> {
    const stream = openStream(this.#dispatcher, this.#streams, options, {
      closed: this.#closed,
      clock: this.#clock,
      label: "remote",
      map: (event, node) => ({ node, event }),
    });
    this.#startPulling();
    return stream;
  }

  /** A durable consumer pulls once someone listens, so no event is acknowledged unheard. */
  #startPulling(): void {
    if (this.#pulling || this.#closing) return;
    this.#pulling = true;
    for (const pull of this.#pullers) pull();
  }

  /**
   * Observes every followed node's state, as its gateway reports it.
   *
   * @param listener called with the node's name and the change
   * @returns a function that removes the listener
   */
  onStateChange(listener: (node: string, change: StateChange) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /**
   * One followed node's state.
   *
   * @param node the node
   * @returns its state
   * @throws {LocalProtocolError} for a node not followed
   */
  state(node: string): ClientState {
    const v = this.#nodes.get(node);
    if (v === undefined) throw new LocalProtocolError(`unknown node ${node}`);
    return v.state;
  }

  /**
   * Resolves once every followed node is ready, or rejects after `timeoutMs`.
   *
   * @param options the deadline
   */
  ready(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const check = () => [...this.#nodes.values()].every((v) => v.state === "ready");
      if (check()) return resolve();
      const off = this.onStateChange(() => {
        if (check()) {
          off();
          this.#clock.clearTimer(t);
          resolve();
        }
      });
      const t = this.#clock.setTimer(timeoutMs, () => {
        off();
        reject(
          new GatewayError(
            "noGateway",
            [...this.#nodes].filter(([, v]) => v.state !== "ready").map(([n]) => n).join(","),
            "ready",
            false,
            `not ready within ${timeoutMs} ms`,
          ),
        );
      });
    });
  }

  /** The counters. */
  stats(): RemoteStats {
    return {
      events: this.#events,
      missed: this.#missed,
      actions: this.#actions,
      failed: this.#failed,
      streamDrops: this.#streams.dropped,
      listenerErrors: this.#listenerErrors,
    };
  }

  /** Stops: unsubscribes, stops consumers, ends iterators. The NATS connection stays the caller's. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#clock.clearTimer(this.#timer);
    for (const s of this.#subs) s.unsubscribe();
    for (const stop of this.#stops) await stop();
    this.#closed = true;
    this.#streams.closeAll();
  }

  /** `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #count(p: Promise<ActionResult>): Promise<ActionResult> {
    return p.catch((e) => {
      this.#failed++;
      throw e;
    });
  }

  #reply(node: string, action: string, msg: Msg): ActionResult {
    let reply: WireReply;
    try {
      reply = fromBytes(msg.data) as WireReply;
    } catch {
      throw new GatewayError("badRequest", node, action, true, "the gateway's reply is not JSON");
    }
    if (reply.ok === true) return decodeResult(reply.result);
    throw decodeError(reply.error, node, action);
  }

  #requestFailed(node: string, action: string, error: unknown): AmiError {
    const cause = error instanceof RequestError && error.cause !== undefined ? error.cause : error;
    if (
      cause instanceof NoRespondersError ||
      (error instanceof RequestError && error.isNoResponders())
    ) {
      return new GatewayError(
        "noGateway",
        node,
        action,
        false,
        "no gateway holds this node now (never sent; safe to retry)",
        { cause: error },
      );
    }
    if (cause instanceof PermissionViolationError) {
      return new PermissionError(
        node,
        action,
        "",
        `the NATS server denies publishing to ${cause.subject}`,
      );
    }
    if (cause instanceof TimeoutError) {
      return new GatewayError(
        "timedOut",
        node,
        action,
        true,
        "no answer from the gateway in time; the outcome is unknown",
        { cause: error },
      );
    }
    return new GatewayError(
      "unreachable",
      node,
      action,
      true,
      `the request failed: ${(error as Error)?.message ?? String(error)}; the outcome is unknown`,
      { cause: error },
    );
  }

  #onState(node: string, msg: Msg): void {
    let s: WireState;
    try {
      s = fromBytes(msg.data) as WireState;
    } catch {
      return;
    }
    const v = this.#nodes.get(node)!;
    v.lastState = this.#clock.now();
    const state: ClientState = s.state === "unheld" || s.state === "closed" || s.state === "closing"
      ? "reconnecting"
      : s.state as ClientState;
    this.#setState(node, state, s.reason);
  }

  #setState(node: string, state: ClientState, reason?: string): void {
    const v = this.#nodes.get(node)!;
    if (v.state === state) return;
    const change = { state, previous: v.state, reason } as StateChange;
    v.state = state;
    for (const l of this.#stateListeners) {
      try {
        l(node, change);
      } catch (error) {
        this.#listenerErrors++;
        logger.error("a remote state listener failed: {error}", { error });
      }
    }
  }

  /** An event or a gap notice, from a subscription or a consumer. */
  #onStreamMessage(
    node: string,
    msg: { subject: string; data: Uint8Array; headers?: Msg["headers"] },
  ): void {
    if (this.#closed) return;
    if (msg.subject === this.subjects.gap(node)) {
      try {
        // A `publish` gap is also a hole in the sequence (counted there).
        const gap = fromBytes(msg.data) as WireGap;
        if (gap.reason === "session") this.#missed += gap.dropped;
      } catch { /* malformed notice: ignored */ }
      return;
    }
    if (!msg.subject.startsWith(`${this.subjects.prefix}.${node}.event.`)) return;
    let event: AmiMessage;
    try {
      event = decodeMessage(fromBytes(msg.data));
    } catch {
      this.#missed++;
      return;
    }
    const v = this.#nodes.get(node)!;
    // `Nats-Msg-Id` is `<node>:<lease>:<seq>`.
    const id = msg.headers?.get("Nats-Msg-Id") ?? "";
    const c2 = id.lastIndexOf(":");
    const c1 = id.lastIndexOf(":", c2 - 1);
    const lease = Number(id.slice(c1 + 1, c2)) || 0;
    const seq = Number(id.slice(c2 + 1)) || 0;
    if (lease !== v.lease) {
      v.lease = lease;
      v.seq = seq;
    } else if (seq > v.seq) {
      if (seq > v.seq + 1) this.#missed += seq - v.seq - 1;
      v.seq = seq;
    } else if (this.#missed > 0) this.#missed--; // a late redelivery fills a hole

    this.#events++;
    this.#dispatcher.dispatch(event, node);
  }

  async #startDurable(durable: string): Promise<void> {
    token("durable name", durable);
    const jsm = await jetstreamManager(this.#nc);
    const js = jetstream(this.#nc);
    const stream = this.subjects.stream;
    for (const node of this.#nodes.keys()) {
      const name = `${durable}_${node}`;
      // The consumer, once the stream exists (a gateway creates it: a worker
      // may start first, and waits).
      const ready = (async () => {
        for (let warned = false; !this.#closing; warned = true) {
          try {
            await jsm.consumers.info(stream, name);
            return await js.consumers.get(stream, name);
          } catch (error) {
            if (!/consumer not found/i.test(String((error as Error)?.message))) {
              if (!/stream not found/i.test(String((error as Error)?.message))) throw error;
              if (!warned) {
                logger.info("{stream}: no stream yet; waiting for a gateway", { stream });
              }
              await new Promise((r) => this.#clock.setTimer(500, () => r(undefined)));
              continue;
            }
          }
          try {
            await jsm.consumers.add(stream, {
              durable_name: name,
              ack_policy: AckPolicy.All,
              deliver_policy: this.#opts.deliver === "all" ? DeliverPolicy.All : DeliverPolicy.New,
              filter_subject: this.subjects.events(node),
              max_ack_pending: 10_000,
              ack_wait: (this.#opts.ackWaitMs ?? 10_000) * 1_000_000,
            });
          } catch { /* made meanwhile by another worker of this name: read it again */ }
        }
        return undefined;
      })();
      // Discrete pulls (fetch) rather than a standing one: on close, the pull
      // in progress is finished and every event it brought is dispatched and
      // acknowledged, so the next worker of this name resumes exactly after
      // the last one, in order. After a crash, events delivered to the dead
      // worker and not acknowledged come again after `ackWaitMs` (possibly
      // after later ones: their message id tells their place).
      const pull = () => {
        const loop = (async () => {
          const consumer = await ready;
          while (consumer !== undefined && !this.#closing) {
            try {
              const batch = await consumer.fetch({ max_messages: 500, expires: 1000 });
              // One acknowledgement per batch (the consumer acknowledges all
              // up to it), after every event of the batch was dispatched.
              let last: { ack(): void } | undefined;
              for await (const m of batch) {
                this.#onStreamMessage(node, m);
                last = m;
              }
              last?.ack();
            } catch (error) {
              if (this.#nc.isClosed()) break;
              // NATS away or the pull failed: try again shortly (what was not
              // acknowledged is delivered again).
              logger.debug("{node}: pull failed: {error}", { node, error });
              await new Promise((r) => this.#clock.setTimer(250, () => r(undefined)));
            }
          }
        })().catch((error) => {
          if (!this.#closed) {
            logger.error("{node}: durable consumer failed: {error}", { node, error });
          }
        });
        this.#stops.push(() => loop);
      };
      this.#pullers.push(pull);
      ready.catch(() => {});
    }
  }
}

/**
 * Connects to a fleet of gateways: follows the nodes' states and events.
 *
 * @param options the NATS connection, the nodes, durable consumer
 * @returns the remote cluster
 */
export async function connectRemote(options: RemoteOptions): Promise<RemoteCluster> {
  const remote = new RemoteCluster(options);
  await remote.start();
  return remote;
}
