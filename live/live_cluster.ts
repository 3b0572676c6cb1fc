/**
 * The live model of a whole {@link Cluster}: one live state per node, read
 * through one set of views whose records carry their `node`.
 *
 * @module
 */

import type { Cluster } from "../client/cluster.ts";
import type { Clock } from "../client/clock.ts";
import { ConnectError, LocalProtocolError, NotReadyError } from "../core/errors.ts";
import type {
  LiveState,
  LiveStateStats,
  LiveStateStatus,
  LiveSyncedOptions,
  LiveSyncStatus,
  LiveView,
} from "./live_state.ts";
import type {
  LiveBridge,
  LiveCall,
  LiveChannel,
  LiveQueue,
  LiveQueueMember,
  LiveStatus,
} from "./types.ts";

/**
 * The live state of every node of a cluster. Its maps hold every node's
 * records under the key `<node>/<id>` (Uniqueids repeat across servers);
 * each record carries its `node`. {@link LiveClusterState.node} gives one
 * node's own {@link LiveState} (keyed by plain ids, with `originate`).
 *
 * `status` is `stale` while no node is ready, `live` once every ready node
 * merged its lists, else `syncing`; `health` is `degraded` if any node's is.
 */
export interface LiveClusterState extends LiveView {
  /** The node names, in the cluster's order. */
  readonly nodes: readonly string[];
  /**
   * One node's live state.
   *
   * @param name the node's name
   * @returns its live state
   * @throws {LocalProtocolError} an unknown node
   */
  node(name: string): LiveState;
  /**
   * Every node's latest status, in the cluster's order.
   *
   * @returns a new array
   */
  nodeStatus(): LiveStateStatus[];
  /**
   * Every node's counters.
   *
   * @returns a new object, by node name
   */
  stats(): Record<string, LiveStateStats>;
}

/**
 * A read-only map over every node's map, keyed `<node>/<id>`: nothing is
 * copied, a lookup tries the nodes whose name prefixes the key.
 */
class NodesMap<V> implements ReadonlyMap<string, V> {
  readonly #parts: () => Iterable<readonly [string, ReadonlyMap<string, V>]>;

  constructor(parts: () => Iterable<readonly [string, ReadonlyMap<string, V>]>) {
    this.#parts = parts;
  }
  get size(): number {
    let n = 0;
    for (const [, m] of this.#parts()) n += m.size;
    return n;
  }
  get(key: string): V | undefined {
    for (const [node, m] of this.#parts()) {
      if (key.length > node.length && key[node.length] === "/" && key.startsWith(node)) {
        const v = m.get(key.slice(node.length + 1));
        if (v !== undefined) return v;
      }
    }
    return undefined;
  }
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
  *entries(): MapIterator<[string, V]> {
    for (const [node, m] of this.#parts()) {
      for (const [k, v] of m) yield [`${node}/${k}`, v];
    }
  }
  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }
  *values(): MapIterator<V> {
    for (const [, m] of this.#parts()) yield* m.values();
  }
  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}

type Kind = "channel" | "bridge" | "queue" | "status";
// deno-lint-ignore no-explicit-any
type AnyListener = (change: any) => void;

/** The cluster's live state: one {@link LiveState} per node. */
export class LiveClusterStateImpl implements LiveClusterState {
  readonly #cluster: Cluster;
  readonly #clock: Clock;
  readonly #states = new Map<string, LiveState>();
  readonly #last = new Map<string, LiveStateStatus>();
  readonly #offs: Array<() => void> = [];
  readonly #waiters = new Set<() => boolean>();
  readonly #channels: NodesMap<LiveChannel>;
  readonly #bridges: NodesMap<LiveBridge>;
  readonly #queues: NodesMap<LiveQueue>;
  #closed = false;

  /**
   * @param cluster the cluster
   * @param clock the cluster's clock (every node's client shares it)
   * @param bind makes one node's live state
   */
  constructor(cluster: Cluster, clock: Clock, bind: (node: string) => LiveState) {
    this.#cluster = cluster;
    this.#clock = clock;
    for (const node of cluster.nodes) {
      const state = bind(node);
      this.#states.set(node, state);
      this.#last.set(node, {
        type: "status",
        node,
        status: state.status,
        health: state.health,
        since: state.since,
        detail: "",
      });
      this.#offs.push(state.on("status", (c) => {
        this.#last.set(node, c);
        this.#wake();
      }));
    }
    this.#offs.push(cluster.onStateChange(() => this.#wake()));
    const parts = <V>(pick: (s: LiveState) => ReadonlyMap<string, V>) => () =>
      [...this.#states].map(([n, s]) => [n, pick(s)] as const);
    this.#channels = new NodesMap(parts((s) => s.channels));
    this.#bridges = new NodesMap(parts((s) => s.bridges));
    this.#queues = new NodesMap(parts((s) => s.queues));
  }

  get nodes(): readonly string[] {
    return [...this.#states.keys()];
  }
  node(name: string): LiveState {
    const s = this.#states.get(name);
    if (s === undefined) throw new LocalProtocolError(`unknown node ${name}`);
    return s;
  }
  get status(): LiveSyncStatus {
    const ready = this.#readyNodes();
    if (ready.length === 0) return "stale";
    return this.#notLive(ready).length === 0 ? "live" : "syncing";
  }
  get health(): LiveStatus {
    for (const s of this.#states.values()) if (s.health === "degraded") return "degraded";
    return "ok";
  }
  get channels(): ReadonlyMap<string, LiveChannel> {
    return this.#channels;
  }
  get bridges(): ReadonlyMap<string, LiveBridge> {
    return this.#bridges;
  }
  get queues(): ReadonlyMap<string, LiveQueue> {
    return this.#queues;
  }
  get calls(): ReadonlyMap<string, LiveCall> {
    const out = new Map<string, LiveCall>();
    for (const [node, s] of this.#states) {
      for (const [k, v] of s.calls) out.set(`${node}/${k}`, v);
    }
    return out;
  }
  byName(name: string): LiveChannel | undefined {
    for (const s of this.#states.values()) {
      const c = s.byName(name);
      if (c !== undefined) return c;
    }
    return undefined;
  }
  freeMembers(queue: string): LiveQueueMember[] {
    return [...this.#states.values()].flatMap((s) => s.freeMembers(queue));
  }
  nodeStatus(): LiveStateStatus[] {
    return [...this.#last.values()];
  }
  stats(): Record<string, LiveStateStats> {
    const out: Record<string, LiveStateStats> = {};
    for (const [n, s] of this.#states) out[n] = s.stats();
    return out;
  }

  on(kind: Kind, listener: AnyListener): () => void {
    const offs = [...this.#states.values()].map((s) => s.on(kind as "channel", listener));
    return () => {
      for (const off of offs) off();
    };
  }

  synced(options: LiveSyncedOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(closedError("the live state was closed"));
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      let timer: unknown = undefined;
      const check = (): boolean => {
        let error: Error | undefined;
        if (this.#closed) error = closedError("the live state was closed");
        else if (this.nodes.every((n) => this.#cluster.state(n) === "closed")) {
          error = closedError("every node's client closed before the live state synced");
        } else if (this.status !== "live") return false;
        this.#waiters.delete(check);
        this.#clock.clearTimer(timer);
        if (error === undefined) resolve();
        else reject(error);
        return true;
      };
      if (check()) return;
      this.#waiters.add(check);
      if (timeoutMs !== Infinity) {
        timer = this.#clock.setTimer(timeoutMs, () => {
          this.#waiters.delete(check);
          const ready = this.#readyNodes();
          reject(
            new NotReadyError(ready.length === 0 ? this.nodes : this.#notLive(ready), timeoutMs),
          );
        });
      }
    });
  }

  resync(): void {
    for (const s of this.#states.values()) s.resync();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#offs) off();
    for (const s of this.#states.values()) s.close();
    this.#wake();
  }

  #readyNodes(): string[] {
    return this.nodes.filter((n) => this.#cluster.state(n) === "ready");
  }

  #notLive(nodes: readonly string[]): string[] {
    return nodes.filter((n) => this.#states.get(n)?.status !== "live");
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

function closedError(message: string): ConnectError {
  return new ConnectError("closed", message);
}
