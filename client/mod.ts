/**
 * The runtime-neutral client layer: {@link Client} (one server), {@link Cluster}
 * (many), the transport contract the adapters implement, and the types of
 * their options, states, events and counters. The package entry (`mod.ts`)
 * re-exports what is public.
 *
 * @module
 */

export {
  type ActionOptions,
  Client,
  type ClientOptions,
  type ClientState,
  type ClientStats,
  connectWith,
  type ReconnectOptions,
  type SessionTotals,
  type StateChange,
  type TypedActionArgs,
  type TypedActionOptions,
} from "./client.ts";
export {
  Cluster,
  type ClusterEvent,
  type ClusterNodeOptions,
  type ClusterOptions,
  createClusterWith,
  type NodeHealth,
} from "./cluster.ts";
export type { Clock } from "./clock.ts";
export type { ReconnectGateOptions, ReconnectGateStats } from "./reconnect_gate.ts";
export type { EventFilter, EventHandler, EventStream, EventStreamOptions } from "./_events.ts";
export type {
  TlsOptions,
  Transport,
  TransportConnector,
  TransportHandlers,
  TransportOptions,
} from "./transport.ts";
