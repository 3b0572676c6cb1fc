/**
 * The sans-IO core of amikit: the AMI codec (parser and serializer), the
 * message type and the error tree. No sockets, timers, clocks or runtime APIs.
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
