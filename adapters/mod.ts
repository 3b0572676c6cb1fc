/**
 * The runtime adapters: one {@link TransportConnector} per runtime, and
 * {@link defaultConnector} that picks the one for the running runtime. The
 * Deno and Bun adapters reach their runtime through `globalThis` only when
 * called, so importing this module is safe everywhere.
 *
 * @module
 */

import { connectBun } from "./bun.ts";
import { connectDeno } from "./deno.ts";
import { connectNode } from "./node.ts";
import type { TransportConnector } from "../client/transport.ts";

export type * from "../client/transport.ts";
export { connectBun } from "./bun.ts";
export { connectDeno } from "./deno.ts";
export { connectNode } from "./node.ts";

/** The runtimes amikit knows. */
export type Runtime = "deno" | "bun" | "node";

/** Which runtime runs this code, from its global (`Deno`, `Bun`), else `node`. */
export function detectRuntime(): Runtime {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/** The transport connector for the running runtime. */
export function defaultConnector(): TransportConnector {
  switch (detectRuntime()) {
    case "deno":
      return connectDeno;
    case "bun":
      return connectBun;
    default:
      return connectNode;
  }
}
