/**
 * amikit: an Asterisk Manager Interface client for Deno, Bun and Node.
 *
 * `connect` logs in to one server and returns a {@link Client};
 * `createCluster` manages many. Both pick the socket adapter of the running
 * runtime; `connectWith` and `createClusterWith` take your own transport.
 * Every name exported here is part of the stable API. The sans-IO engine is
 * in `amikit/core`, the simulator in `amikit/testing`, the Prometheus text
 * in `amikit/metrics`.
 *
 * @example
 * ```ts
 * import { connect } from "amikit";
 * const client = await connect({ host: "127.0.0.1", username: "admin", secret: "amp111" });
 * try {
 *   const res = await client.action("Ping");
 *   console.log(res.kind, res.response.get("Ping"));
 * } finally {
 *   await client.close();
 * }
 * ```
 *
 * @module
 */

import { defaultConnector } from "./adapters/mod.ts";
import {
  type Client,
  type ClientOptions,
  type Cluster,
  type ClusterOptions,
  connectWith,
  createClusterWith,
} from "./client/mod.ts";

export {
  type ActionOptions,
  Client,
  type ClientOptions,
  type ClientState,
  type ClientStats,
  type Clock,
  Cluster,
  type ClusterEvent,
  type ClusterNodeOptions,
  type ClusterOptions,
  connectWith,
  createClusterWith,
  type EventFilter,
  type EventHandler,
  type EventStream,
  type EventStreamOptions,
  type NodeHealth,
  type ReconnectGateOptions,
  type ReconnectGateStats,
  type ReconnectOptions,
  type SessionTotals,
  type StateChange,
  type TlsOptions,
  type Transport,
  type TransportConnector,
  type TransportHandlers,
  type TransportOptions,
} from "./client/mod.ts";
export {
  AbortedError,
  ActionError,
  type ActionFields,
  type ActionResult,
  ActionTimeoutError,
  AmiError,
  type AmiErrorCode,
  AmiMessage,
  AuthError,
  type CloseReason,
  type CommandResult,
  type CompletionStrategy,
  ConnectError,
  type ConnectFailure,
  ConnectionLostError,
  type ConnectionLostReason,
  type ConnectionStats,
  type DropPolicy,
  type EventListResult,
  type FieldValue,
  type Header,
  LocalProtocolError,
  type LogoffResult,
  type MessageType,
  NotReadyError,
  type OriginateFailure,
  type OriginateFailureKind,
  type OriginateResult,
  type ParserBound,
  type ParserOptions,
  RemoteProtocolError,
  type ResponseResult,
} from "./core/mod.ts";

/**
 * Connects to one Asterisk server and logs in, with the running runtime's
 * socket adapter.
 *
 * @param options server, credentials, TLS, reconnect and engine options
 * @returns the logged-in client
 * @throws {ConnectError} `reason` says why: refused, timedOut, tls, closed, protocol
 * @throws {AuthError} the server refused the credentials
 */
export function connect(options: ClientOptions): Promise<Client> {
  return connectWith(defaultConnector(), options);
}

/**
 * Creates a cluster of named servers that connect in the background, with
 * the running runtime's socket adapter.
 *
 * @param options nodes, shared defaults, reconnect gate caps
 * @returns the cluster
 */
export function createCluster(options: ClusterOptions): Cluster {
  return createClusterWith(defaultConnector(), options);
}
