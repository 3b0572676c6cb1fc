/**
 * What the live model must receive: the events (and their classes) it is
 * built from, checked against the client's event mask and Filters.
 *
 * @module
 */

import type { Client } from "../client/client.ts";
import { LocalProtocolError } from "../core/errors.ts";

/** Events the model needs, with their class: a sample of each class it reads. */
const NEEDED: ReadonlyArray<readonly [string, string]> = [
  ["Newchannel", "call"],
  ["Newstate", "call"],
  ["Hangup", "call"],
  ["BridgeEnter", "call"],
  ["BridgeLeave", "call"],
  ["OriginateResponse", "call"],
  ["Newexten", "dialplan"],
  ["VarSet", "dialplan"],
  ["FullyBooted", "system"],
];

/** Queue events, needed unless the live state's `queues` option is off. */
const NEEDED_QUEUES: ReadonlyArray<readonly [string, string]> = [
  ["QueueCallerJoin", "agent"],
  ["QueueMemberStatus", "agent"],
  ["AgentConnect", "agent"],
];

/**
 * The session would not receive events the live model is built from (its
 * event mask lacks a class, or a `Filter` hides them): the model would go
 * wrong in silence, so it refuses to run. `events` names what is hidden.
 */
export class LiveEventsHiddenError extends LocalProtocolError {
  /** The hidden events, as `Name (class)`. */
  readonly events: readonly string[];

  /**
   * Creates the error.
   *
   * @param node the client's node
   * @param events the hidden events
   */
  constructor(node: string, events: readonly string[]) {
    super(
      `${node}: the live model needs events this session would not receive: ${
        events.join(", ")
      }. Log in with an event mask that includes call, dialplan, agent and system, and let ` +
        `these events through any Filter (a whitelist must include them; no blacklist may match them)`,
    );
    this.events = events;
  }
}

/**
 * The needed events the client's mask and Filters would hide.
 *
 * @param client the client
 * @param queues whether queue events are needed
 * @returns the hidden ones, as `Name (class)` (empty when all pass)
 */
export function hiddenEvents(client: Client, queues: boolean): string[] {
  const needed = queues ? [...NEEDED, ...NEEDED_QUEUES] : NEEDED;
  return needed.filter(([name, cls]) => !client.receives(name, cls)).map(([n, c]) => `${n} (${c})`);
}
