/**
 * amikit: an Asterisk Manager Interface client for Deno, Bun and Node.
 *
 * `connect` logs in to one server and returns a {@link Client};
 * `createCluster` manages many. Both pick the socket adapter of the running
 * runtime. The sans-IO core (engine, codec, errors) is re-exported too.
 *
 * @example
 * ```ts
 * import { connect } from "amikit";
 * await using client = await connect({ host: "127.0.0.1", username: "admin", secret: "amp111" });
 * const res = await client.action("Ping");
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

export * from "./core/mod.ts";
export * from "./client/mod.ts";
export {
  connectBun,
  connectDeno,
  connectNode,
  defaultConnector,
  detectRuntime,
  type Runtime,
  type TlsOptions,
  type Transport,
  type TransportConnector,
  type TransportHandlers,
  type TransportOptions,
} from "./adapters/mod.ts";

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
