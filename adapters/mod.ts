/**
 * The runtime adapters, each implementing the client's `Transport`
 * (`client/transport.ts`), and {@link defaultConnector}: the one place that
 * picks the adapter of the running runtime. The Deno and Bun adapters reach
 * their runtime through `globalThis` only when called; the Node adapter
 * (`node:net`, `node:tls`) is imported on first use, on Node only, so Deno
 * and Bun never load it.
 *
 * @module
 */

import type { TransportConnector } from "../client/transport.ts";
import { connectBun } from "./bun.ts";
import { connectDeno } from "./deno.ts";

/** The runtimes amikit knows. */
export type Runtime = "deno" | "bun" | "node";

/** Which runtime runs this code, from its global (`Deno`, `Bun`), else `node`. */
export function detectRuntime(): Runtime {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/** The Node adapter, imported when first used. */
const connectNodeOnDemand: TransportConnector = async (options, handlers) => {
  const { connectNode } = await import("./node.ts");
  return connectNode(options, handlers);
};

/** The transport connector for the running runtime. */
export function defaultConnector(): TransportConnector {
  switch (detectRuntime()) {
    case "deno":
      return connectDeno;
    case "bun":
      return connectBun;
    default:
      return connectNodeOnDemand;
  }
}
