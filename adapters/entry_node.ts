/**
 * The package entry for Node (npm conditional export "node"): everything of
 * `mod.ts`, with `connect` and `createCluster` bound to the Node
 * transport instead of a runtime check.
 *
 * @module
 */

import { connectNode } from "./node.ts";
import {
  type Client,
  type ClientOptions,
  type Cluster,
  type ClusterOptions,
  connectWith,
  createClusterWith,
} from "../client/mod.ts";

export * from "../mod.ts";

/**
 * Connects to one Asterisk server and logs in over the Node transport.
 *
 * @param options server, credentials, TLS, reconnect and engine options
 * @returns the logged-in client
 * @throws {ConnectError} `reason` says why: refused, timedOut, tls, closed, protocol
 * @throws {AuthError} the server refused the credentials
 */
export function connect(options: ClientOptions): Promise<Client> {
  return connectWith(connectNode, options);
}

/**
 * Creates a cluster of named servers over the Node transport.
 *
 * @param options nodes, shared defaults, reconnect gate caps
 * @returns the cluster
 */
export function createCluster(options: ClusterOptions): Cluster {
  return createClusterWith(connectNode, options);
}
