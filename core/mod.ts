/**
 * The sans-IO core of amikit: the AMI codec (parser, serializer, message),
 * the connection engine ({@link AmiConnection}), the error tree, MD5 for
 * challenge logins and the Prometheus text format. No sockets, timers,
 * clocks or runtime APIs: bytes and time go in, bytes and results come out.
 *
 * @module
 */

export * from "./errors.ts";
export * from "./message.ts";
export * from "./parser.ts";
export * from "./serializer.ts";
export * from "./connection.ts";
export * from "./connection_types.ts";
export * from "./md5.ts";
export * from "./prometheus.ts";
export * from "./originate.ts";
export * from "./connection_states.ts";
