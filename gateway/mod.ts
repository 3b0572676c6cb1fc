/**
 * `amikit/gateway`: share Asterisk servers across a fleet through NATS
 * JetStream. {@link startGateway} holds each server's one AMI session (a
 * lease per node makes exactly one gateway hold it), publishes its events to
 * a stream and serves actions under a policy; {@link connectRemote} gives
 * workers the API of a `Cluster` over NATS.
 *
 * This entry point alone imports the NATS client packages
 * (`@nats-io/transport-node`, `@nats-io/jetstream`, `@nats-io/kv`,
 * `@nats-io/nats-core`, v3), which are optional peer dependencies: install
 * them where the gateway or a remote client runs.
 *
 * @example
 * import { connect } from "@nats-io/transport-node";
 * import { connectRemote } from "@amikit/amikit/gateway";
 * const nc = await connect({ servers: "127.0.0.1:4222" });
 * const fleet = await connectRemote({ nats: nc, nodes: ["pbx1"] });
 * fleet.on("Hangup", (e, node) => console.log(node, e.get("Channel")));
 * const res = await fleet.action("pbx1", "Ping");
 *
 * @module
 */

export { Gateway, startGateway } from "./gateway.ts";
export { GatewayError, type GatewayFailure, PermissionError } from "../core/errors.ts";
export type { GatewayOptions, GatewayStats, HeldNodeStats, StreamOptions } from "./gateway.ts";
export type { LeaseOptions } from "./_leases.ts";
export type { PublisherStats } from "./_publisher.ts";
export type { ServiceStats } from "./_service.ts";
export { connectRemote, RemoteCluster } from "./remote.ts";
export type { RemoteOptions, RemoteStats } from "./remote.ts";
export { DEFAULT_PREFIX, Subjects } from "./subjects.ts";
export {
  compilePolicy,
  decide,
  DEFAULT_POLICY,
  describePolicy,
  identityFromHeaders,
  INVALID_IDENTITY,
  LOCAL_IDENTITY,
} from "./policy.ts";
export type {
  Grant,
  GrantClass,
  GrantConfig,
  Policy,
  PolicyConfig,
  PolicyDecision,
  PolicyEntry,
  PolicyRequest,
} from "./policy.ts";
export { ACTION_CLASSES, AMI_WRITE_CLASSES } from "./generated/action_classes.ts";
export type { AmiWriteClass } from "./generated/action_classes.ts";
export type { NatsConnectionLike } from "./wire.ts";
export type { WireGap, WireState } from "./wire.ts";
