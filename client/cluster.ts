/**
 * Many servers at once: a {@link Cluster} holds N named nodes, each a
 * {@link Client} with its own engine, ActionID space, queues and state; one
 * merged event stream tagged by node; per-node state and health. Every
 * connection attempt goes through one {@link ReconnectGate}, so reconnects
 * are capped globally and per node and served in rotation.
 *
 * @module
 */

import type { ActionResult } from "../core/connection_types.ts";
import { LocalProtocolError, NotReadyError } from "../core/errors.ts";
import type { AmiMessage } from "../core/message.ts";
import type { AmiActionName, AmiActionResultFor, AmiEvent, AmiEventName } from "../core/ami.ts";
import type { CompletionStrategy } from "../core/connection_types.ts";
import type { ActionFields } from "../core/serializer.ts";
import type { TransportConnector } from "./transport.ts";
import {
  type ActionOptions,
  type Client,
  type ClientOptions,
  type ClientState,
  type ClientStats,
  nodeClient,
  type StateChange,
  type TypedActionArgs,
} from "./client.ts";
import {
  Dispatcher,
  type EventFilter,
  type EventHandler,
  type EventStream,
  type EventStreamOptions,
  openStream,
  StreamSet,
} from "./_events.ts";
import {
  ReconnectGate,
  type ReconnectGateOptions,
  type ReconnectGateStats,
} from "./reconnect_gate.ts";
import { type Clock, REAL_CLOCK } from "./clock.ts";
import { DeadlineTimer } from "./_timer.ts";
import { getLogger } from "@logtape/logtape";

/** One node's settings: anything of {@link ClientOptions}; unset ones come from `defaults`. */
export type ClusterNodeOptions = Partial<Omit<ClientOptions, "node">>;

/** Options of a {@link Cluster}. */
export interface ClusterOptions {
  /** The nodes by name (the name tags events and goes into ActionIDs). */
  readonly nodes: Readonly<Record<string, ClusterNodeOptions>>;
  /** Settings shared by every node (credentials, timeouts…). */
  readonly defaults?: ClusterNodeOptions;
  /** Caps on connection attempts across the cluster. */
  readonly gate?: ReconnectGateOptions;
  /** The time source of the cluster and every node (default real time). */
  readonly clock?: Clock;
}

/** An event tagged with its node. */
export interface ClusterEvent<E extends AmiMessage = AmiMessage> {
  /** The node's name. */
  readonly node: string;
  /** The event. */
  readonly event: E;
}

/** One node's health. */
export interface NodeHealth {
  /** The node's name. */
  readonly node: string;
  /** Its state. */
  readonly state: ClientState;
  /** Since when (monotonic ms, as `performance.now()`). */
  readonly since: number;
  /** The last state change's reason, if any. */
  readonly reason?: string;
  /** The last error's message, if any. */
  readonly lastError?: string;
  /** Attempts made. */
  readonly attempts: number;
  /** Sessions that logged in. */
  readonly sessions: number;
  /** Actions pending now. */
  readonly actionsPending: number;
  /** Round-trip time of the last keepalive Ping, ms. */
  readonly keepaliveRttMs: number | undefined;
}

interface NodeEntry {
  readonly client: Client;
  since: number;
  reason?: string;
  lastError?: string;
}

const logger = getLogger(["amikit", "cluster"]);

/** N named Asterisk servers behind one object. */
export class Cluster implements AsyncDisposable {
  readonly #nodes = new Map<string, NodeEntry>();
  readonly #gate: ReconnectGate;
  readonly #grants = new Map<string, () => void>();
  readonly #dispatcher: Dispatcher;
  readonly #streams = new StreamSet<ClusterEvent>();
  readonly #stateListeners = new Set<(node: string, change: StateChange) => void>();
  readonly #clock: Clock;
  readonly #gateTimer: DeadlineTimer;
  #listenerErrors = 0;
  #closed = false;

  /**
   * Creates the nodes and starts connecting them in the background (through
   * the gate). Prefer `createCluster`.
   *
   * @param options nodes, shared defaults, gate caps
   * @param connector the runtime adapter
   */
  constructor(options: ClusterOptions, connector: TransportConnector) {
    this.#gate = new ReconnectGate(options.gate);
    const clock = this.#clock = options.clock ?? REAL_CLOCK;
    this.#gateTimer = new DeadlineTimer(clock, () => this.#pumpGate());
    this.#dispatcher = new Dispatcher((error) => {
      this.#listenerErrors++;
      logger.error("a cluster event listener failed: {error}", { error });
    });
    const sink: EventHandler = (event, node) => this.#dispatcher.dispatch(event, node);
    const permit = {
      request: (node: string, failures: number, grant: () => void) => {
        this.#grants.set(node, grant);
        this.#gate.request(node, failures, this.#clock.now());
        this.#pumpGate();
      },
      cancel: (node: string) => {
        this.#grants.delete(node);
        this.#gate.cancel(node);
        this.#pumpGate();
      },
      release: (node: string) => {
        this.#gate.release(node);
        this.#pumpGate();
      },
    };
    const starts: Array<() => void> = [];
    for (const [name, nodeOptions] of Object.entries(options.nodes)) {
      const merged = { clock, ...options.defaults, ...nodeOptions, node: name } as ClientOptions;
      if (merged.host === undefined || merged.username === undefined) {
        throw new LocalProtocolError(`node ${name}: host and username are required`);
      }
      const { client, start } = nodeClient(merged, { connector, permit, sink });
      starts.push(start);
      const entry: NodeEntry = { client, since: clock.now() };
      client.onStateChange((change) => {
        entry.since = clock.now();
        entry.reason = change.reason;
        if (change.error !== undefined) entry.lastError = change.error.message;
        for (const l of [...this.#stateListeners]) {
          try {
            l(name, change);
          } catch (error) {
            this.#listenerErrors++;
            logger.error("a cluster state listener failed: {error}", { error });
          }
        }
      });
      this.#nodes.set(name, entry);
    }
    for (const start of starts) start();
  }

  /** The cluster's clock (every node's client runs on it unless its options give another). */
  get clock(): Clock {
    return this.#clock;
  }

  /** The node names, in the order given. */
  get nodes(): readonly string[] {
    return [...this.#nodes.keys()];
  }

  /**
   * One node's client (for everything a {@link Client} offers).
   *
   * @param name the node's name
   * @returns its client
   * @throws {LocalProtocolError} for an unknown node
   */
  node(name: string): Client {
    const entry = this.#nodes.get(name);
    if (entry === undefined) throw new LocalProtocolError(`unknown node ${name}`);
    return entry.client;
  }

  /**
   * Sends an action to one node.
   *
   * @param node the node's name
   * @param name the action
   * @param fields its fields
   * @param options deadline, signal, strategy, waiting for a connection
   * @returns the result
   * @throws the errors of {@link Client.action}; {@link LocalProtocolError} for an unknown node
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
    options?: ActionOptions,
  ): Promise<ActionResult> {
    const entry = this.#nodes.get(node);
    if (entry === undefined) return Promise.reject(new LocalProtocolError(`unknown node ${node}`));
    return (entry.client.action as (n: string, f?: ActionFields, o?: ActionOptions) => Promise<
      ActionResult
    >)(name, fields, options);
  }

  /**
   * Listens to one documented event of every node, typed (see {@link Client.on}).
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
   * Listens to an undocumented event, `"*"`, or a predicate's events of every node.
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
    return this.#dispatcher.on(filter, handler);
  }

  /**
   * The merged event stream of every node, tagged by node, with its own
   * bounded buffer and drop counter.
   *
   * @param options filter, capacity, drop policy
   * @returns the stream
   */
  events<N extends AmiEventName>(
    options: EventStreamOptions & { readonly filter: N },
  ): EventStream<ClusterEvent<AmiEvent<N>>>;
  /**
   * The merged event stream of every node (or those a filter selects).
   *
   * @param options filter, capacity, drop policy
   * @returns the stream
   */
  events(options?: EventStreamOptions): EventStream<ClusterEvent>;
  events(options: EventStreamOptions = {}): EventStream<ClusterEvent> {
    return openStream(this.#dispatcher, this.#streams, options, {
      closed: this.#closed,
      clock: this.#clock,
      label: "cluster",
      map: (event, node) => ({ node, event }),
    });
  }

  /**
   * Observes every node's state changes.
   *
   * @param listener called with the node's name and the change
   * @returns a function that removes the listener
   */
  onStateChange(listener: (node: string, change: StateChange) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** One node's state. */
  state(node: string): ClientState {
    return this.node(node).state;
  }

  /** Every node's health, in node order. */
  health(): NodeHealth[] {
    const out: NodeHealth[] = [];
    for (const [node, e] of this.#nodes) {
      const s = e.client.stats();
      out.push({
        node,
        state: s.state,
        since: e.since,
        reason: e.reason,
        lastError: e.lastError,
        attempts: s.attempts,
        sessions: s.sessions,
        actionsPending: s.session?.actionsPending ?? 0,
        keepaliveRttMs: s.session?.keepaliveRttMs,
      });
    }
    return out;
  }

  /**
   * Waits until the given nodes (default all) are ready.
   *
   * @param options `nodes` to wait for, `timeoutMs` (rejects after it)
   * @throws {NotReadyError} `timeoutMs` passed first (`nodes` names the missing ones)
   * @throws {LocalProtocolError} an unknown node name
   */
  ready(options: { nodes?: readonly string[]; timeoutMs?: number } = {}): Promise<void> {
    const names = options.nodes ?? this.nodes;
    for (const n of names) this.node(n);
    const clock = this.#clock;
    return new Promise<void>((resolve, reject) => {
      let timer: unknown;
      const check = (): boolean => {
        if (!names.every((n) => this.node(n).state === "ready")) return false;
        off();
        if (timer !== undefined) clock.clearTimer(timer);
        resolve();
        return true;
      };
      const off = this.onStateChange(() => check());
      if (check()) return;
      if (options.timeoutMs !== undefined) {
        timer = clock.setTimer(options.timeoutMs, () => {
          off();
          const missing = names.filter((n) => this.node(n).state !== "ready");
          reject(new NotReadyError(missing, options.timeoutMs as number));
        });
      }
    });
  }

  /** Every node's counters, the gate's, and the cluster's listener failures. */
  stats(): { nodes: ClientStats[]; gate: ReconnectGateStats; listenerErrors: number } {
    return {
      nodes: [...this.#nodes.values()].map((e) => e.client.stats()),
      gate: this.#gate.stats(),
      listenerErrors: this.#listenerErrors,
    };
  }

  /** Logs every node off gracefully and stops reconnecting. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#nodes.values()].map((e) => e.client.close()));
    this.#stop();
  }

  /** Closes every node at once. */
  destroy(): void {
    this.#closed = true;
    for (const e of this.#nodes.values()) e.client.destroy();
    this.#stop();
  }

  /** `await using cluster = createCluster(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #stop(): void {
    this.#gateTimer.clear();
    this.#streams.closeAll();
  }

  /** Grants what the gate allows, then re-arms the gate's one timer. */
  #pumpGate(): void {
    const t = this.#clock.now();
    for (const node of this.#gate.poll(t)) {
      const grant = this.#grants.get(node);
      this.#grants.delete(node);
      if (grant !== undefined) grant();
      else this.#gate.release(node);
    }
    this.#gateTimer.arm(this.#closed ? undefined : this.#gate.pollTimeout(this.#clock.now()));
  }
}

/**
 * Creates a cluster with the given transport; nodes connect in the background.
 *
 * @param connector the runtime adapter
 * @param options nodes, shared defaults, gate caps
 * @returns the cluster
 */
export function createClusterWith(connector: TransportConnector, options: ClusterOptions): Cluster {
  return new Cluster(options, connector);
}
