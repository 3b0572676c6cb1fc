/**
 * How a gateway chooses which free nodes to acquire, so that nodes spread
 * across the live gateways: pure, given what the gateway sees in the lease
 * bucket (which nodes have no lease, and since when; how many gateways keep a
 * live heartbeat key `gateway.<id>`).
 *
 * The rule: the fair share is `ceil(nodes / liveGateways)`; a gateway
 * acquires free nodes while it holds fewer than its share, and acquires a
 * node seen free for longer than `graceMs` whatever it holds, so that a stale
 * count (heartbeats of dead gateways not yet expired make the share too
 * small) never leaves a node unheld for more than the grace period. Among the
 * nodes it may take, each gateway prefers its own (highest random weight of
 * gateway id and node name), so that gateways starting together mostly try
 * different nodes instead of racing for the same ones.
 *
 * "Seen free" means a read of the node's key found no entry. On
 * nats-server 2.9 a lease that expires by `max_age` makes no watch event, so
 * the gateway reads the keys (every `retryEveryMs` of its lease machines, say)
 * rather than waiting for a watcher to tell it.
 *
 * Nodes are spread when they are acquired and never rebalanced by releasing
 * one: a release stops the node's session until another gateway has logged
 * in, and AMI events in that gap are lost. An uneven spread (after a failover,
 * or when a gateway joins) evens out as holders restart or fail.
 *
 * @module
 */

import { LocalProtocolError } from "../core/errors.ts";

/** What a gateway sees, for {@link nodesToAcquire}. */
export interface SpreadInput {
  /** Every node's name (the cluster's configuration). */
  readonly nodes: readonly string[];
  /** The nodes this gateway holds or is acquiring. */
  readonly holding: ReadonlySet<string>;
  /** Gateways with a live heartbeat, this one included (0 counts as 1: this one is alive). */
  readonly liveGateways: number;
  /** For every node seen with no lease: for how long, ms (nodes absent here are held). */
  readonly freeForMs: ReadonlyMap<string, number>;
  /** This gateway's id (orders its preferences). */
  readonly gatewayId: string;
  /** A node free for this long or longer is acquired whatever this gateway holds, ms. */
  readonly graceMs: number;
}

/**
 * The most nodes each gateway should hold: `ceil(nodes / liveGateways)`.
 *
 * @param nodes how many nodes
 * @param liveGateways how many live gateways (0 counts as 1)
 * @returns the fair share
 * @throws {LocalProtocolError} when a count is not a non-negative integer
 */
export function fairShare(nodes: number, liveGateways: number): number {
  count("nodes", nodes);
  count("liveGateways", liveGateways);
  return Math.ceil(nodes / Math.max(1, liveGateways));
}

/**
 * The free nodes this gateway should try to acquire now (see the module doc):
 * first every node free for `graceMs` or longer (by name), then its preferred
 * other free nodes while below its fair share.
 *
 * @param input what the gateway sees
 * @returns node names to acquire, in order
 * @throws {LocalProtocolError} on duplicate node names or a bad number
 */
export function nodesToAcquire(input: SpreadInput): string[] {
  const { nodes, holding, freeForMs, gatewayId } = input;
  if (new Set(nodes).size !== nodes.length) {
    throw new LocalProtocolError("spread: node names must be unique");
  }
  const graceMs = input.graceMs;
  if (typeof graceMs !== "number" || !(graceMs >= 0)) {
    throw new LocalProtocolError(`spread: graceMs must be a number >= 0, got ${String(graceMs)}`);
  }
  const share = fairShare(nodes.length, input.liveGateways);
  let held = 0;
  const overdue: string[] = [];
  const others: string[] = [];
  for (const node of nodes) {
    if (holding.has(node)) {
      held++;
      continue;
    }
    const free = freeForMs.get(node);
    if (free === undefined) continue;
    if (typeof free !== "number" || Number.isNaN(free)) {
      throw new LocalProtocolError(`spread: freeForMs of ${node} must be a number`);
    }
    (free >= graceMs ? overdue : others).push(node);
  }
  overdue.sort();
  const room = Math.max(0, share - held - overdue.length);
  if (room === 0) return overdue;
  const ranked = others
    .map((node) => ({ node, weight: weight(gatewayId, node) }))
    .sort((a, b) => b.weight - a.weight || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  return [...overdue, ...ranked.slice(0, room).map((r) => r.node)];
}

function count(name: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new LocalProtocolError(`spread: ${name} must be an integer >= 0, got ${String(v)}`);
  }
}

/** A stable pseudo-random weight of a (gateway, node) pair: 32-bit FNV-1a, mixed. */
function weight(gatewayId: string, node: string): number {
  let h = 0x811c9dc5;
  const s = `${gatewayId}\u0000${node}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche, so that names differing in the last character spread too.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
