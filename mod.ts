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
  type TypedActionArgs,
  type TypedActionOptions,
} from "./client/mod.ts";
export type {
  AmiActionCompletions,
  AmiActionFields,
  AmiActionFieldsFor,
  AmiActionName,
  AmiActionResultFor,
  AmiCommonHeader,
  AmiEnum,
  AmiEvent,
  AmiEventClass,
  AmiEventHeader,
  AmiEventHeaders,
  AmiEventHeaderValues,
  AmiEventName,
  AmiValue,
} from "./core/ami.ts";
// From the core's files, not core/mod.ts: the entry loads no more than the
// client needs (core/mod.ts also carries the generated AMI tables).
export {
  AbortedError,
  ActionError,
  ActionTimeoutError,
  AmiError,
  type AmiErrorCode,
  AuthError,
  ConnectError,
  type ConnectFailure,
  ConnectionLostError,
  type ConnectionLostReason,
  GatewayError,
  type GatewayFailure,
  LocalProtocolError,
  MessageTooLargeError,
  NotReadyError,
  type OriginateFailure,
  type OriginateFailureKind,
  type ParserBound,
  PermissionError,
  RemoteProtocolError,
} from "./core/errors.ts";
export { AmiMessage, type Header, type MessageType } from "./core/message.ts";
export type { ActionFields, FieldValue } from "./core/serializer.ts";
export type { ParserOptions } from "./core/parser.ts";
export type {
  ActionResult,
  CloseReason,
  CommandResult,
  CompletionStrategy,
  ConnectionStats,
  DropPolicy,
  DropSummaryNotice,
  EventListResult,
  LogoffResult,
  OriginateResult,
  ResponseResult,
} from "./core/connection_types.ts";

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
