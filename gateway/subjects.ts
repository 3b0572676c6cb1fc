/**
 * The gateway's subject scheme on NATS. Every subject starts with a prefix
 * (default `amikit`) and names the node, so NATS permissions can say which
 * consumer may send which action to which node and read which events:
 *
 * | subject | what | how |
 * | --- | --- | --- |
 * | `<prefix>.<node>.event.<Event>` | each AMI event | JetStream stream, one message per event |
 * | `<prefix>.<node>.event._gap` | events the gateway could not publish (count, range) | same stream |
 * | `<prefix>.<node>.action.<Action>` | an action request; the reply is its result | request/reply, queue group |
 * | `<prefix>.<node>.abort.<Action>` | abort an action in flight (by request id) | plain publish |
 * | `<prefix>.<node>.state` | the node's session state, on change and every heartbeat | plain publish |
 *
 * Node names, action names and the prefix are single NATS tokens: letters,
 * digits, `-` and `_` only. An event name that is not a token (a module's
 * odd name) has each other character replaced by `_` in its subject; the
 * payload keeps the real name. The token `_gap` is reserved (AMI event names
 * start with a letter), so a consumer of `<prefix>.<node>.event.>` sees the
 * gap notices among the events, in order.
 *
 * @module
 */

import { LocalProtocolError } from "../core/errors.ts";

/** The default subject prefix. */
export const DEFAULT_PREFIX = "amikit";

const TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * Checks that a name can stand as one subject token.
 *
 * @param what what the name is, for the error (`node`, `action`, `prefix`)
 * @param name the name
 * @returns the name
 * @throws {LocalProtocolError} when it is empty or has other characters than letters, digits, `-`, `_`
 */
export function token(what: string, name: string): string {
  if (!TOKEN.test(name)) {
    throw new LocalProtocolError(
      `${what} ${
        JSON.stringify(name)
      } cannot be a NATS subject token: use letters, digits, - and _`,
    );
  }
  return name;
}

/**
 * An event name as a subject token (other characters become `_`).
 *
 * @param name the event's name
 * @returns the token
 */
export function eventToken(name: string): string {
  const t = TOKEN.test(name) ? name : name.replace(/[^A-Za-z0-9_-]/g, "_");
  // `_gap` is reserved for gap notices; no AMI event name starts with `_`.
  return t.startsWith("_") || t === "" ? "x" + t : t;
}

/** The subjects of one prefix. */
export class Subjects {
  /** The prefix every subject starts with. */
  readonly prefix: string;

  /**
   * The subjects under a prefix.
   *
   * @param prefix the prefix (one token)
   * @throws {LocalProtocolError} when the prefix is not one token
   */
  constructor(prefix: string = DEFAULT_PREFIX) {
    this.prefix = token("prefix", prefix);
  }

  /** `<prefix>.<node>.event.<Event>`. */
  event(node: string, event: string): string {
    return `${this.prefix}.${node}.event.${eventToken(event)}`;
  }

  /** Every event of a node (`*` for every node). */
  events(node = "*"): string {
    return `${this.prefix}.${node}.event.>`;
  }

  /** `<prefix>.<node>.event._gap`. */
  gap(node: string): string {
    return `${this.prefix}.${node}.event._gap`;
  }

  /** `<prefix>.<node>.action.<Action>` (`*` for every action). */
  action(node: string, action: string): string {
    return `${this.prefix}.${node}.action.${action}`;
  }

  /** `<prefix>.<node>.abort.<Action>` (`*` for every action). */
  abort(node: string, action: string): string {
    return `${this.prefix}.${node}.abort.${action}`;
  }

  /** `<prefix>.<node>.state` (`*` for every node). */
  state(node: string): string {
    return `${this.prefix}.${node}.state`;
  }

  /** The subjects the event stream captures. */
  streamSubjects(): string[] {
    return [this.events("*")];
  }

  /** The JetStream stream's name: the prefix in upper case, then `_EVENTS`. */
  get stream(): string {
    return `${this.prefix.toUpperCase().replace(/-/g, "_")}_EVENTS`;
  }

  /** The lease bucket's name. */
  get leaseBucket(): string {
    return `${this.prefix.replace(/-/g, "_")}_leases`;
  }

  /** The queue group the gateways serve actions in. */
  get queueGroup(): string {
    return `${this.prefix}-gateways`;
  }

  /**
   * The node named by a subject of this prefix.
   *
   * @param subject a subject
   * @returns its node token, or `undefined` when it is not one of ours
   */
  nodeOf(subject: string): string | undefined {
    if (!subject.startsWith(this.prefix + ".")) return undefined;
    const rest = subject.slice(this.prefix.length + 1);
    const dot = rest.indexOf(".");
    return dot > 0 ? rest.slice(0, dot) : undefined;
  }
}
