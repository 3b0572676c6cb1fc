/**
 * The runtime-neutral client over the sans-IO engine: {@link Client} (one
 * server), {@link Cluster} (many), the reconnect backoff and gate, and the
 * event listener/iterator types. Pass a transport connector from
 * `adapters/`, or use `connect`/`createCluster` from the package entry,
 * which pick the adapter of the running runtime.
 *
 * @module
 */

export {
  type ActionOptions,
  Client,
  type ClientOptions,
  type ClientState,
  type ClientStats,
  type ClientWiring,
  type ConnectPermit,
  connectWith,
  type ReconnectOptions,
  type SessionTotals,
  type StateChange,
} from "./client.ts";
export {
  Cluster,
  type ClusterEvent,
  type ClusterNodeOptions,
  type ClusterOptions,
  createClusterWith,
  type NodeHealth,
} from "./cluster.ts";
export { type Clock, REAL_CLOCK } from "./clock.ts";
export {
  Backoff,
  backoffDelay,
  type BackoffOptions,
  DEFAULT_BACKOFF,
  type FailureKind,
} from "./backoff.ts";
export {
  ReconnectGate,
  type ReconnectGateOptions,
  type ReconnectGateStats,
} from "./reconnect_gate.ts";
export type { EventFilter, EventHandler, EventStream, EventStreamOptions } from "./_events.ts";
