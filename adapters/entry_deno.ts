/**
 * The package entry for Deno (npm conditional export "deno"): everything of
 * `mod.ts`, with `connect` and `createCluster` bound to the Deno
 * transport instead of a runtime check.
 *
 * @module
 */

import { connectDeno } from "./deno.ts";
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
 * Connects to one Asterisk server and logs in over the Deno transport.
 *
 * @param options server, credentials, TLS, reconnect and engine options
 * @returns the logged-in client
 * @throws {ConnectError} `reason` says why: refused, timedOut, tls, closed, protocol
 * @throws {AuthError} the server refused the credentials
 */
export function connect(options: ClientOptions): Promise<Client> {
  return connectWith(connectDeno, options);
}

/**
 * Creates a cluster of named servers over the Deno transport.
 *
 * @param options nodes, shared defaults, reconnect gate caps
 * @returns the cluster
 */
export function createCluster(options: ClusterOptions): Cluster {
  return createClusterWith(connectDeno, options);
}
