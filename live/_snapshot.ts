/**
 * Reading channel and bridge snapshots out of AMI messages, whatever the
 * prefix (`Dest`, `LocalOne`, ...) and spelling, and the tombstone ring.
 *
 * @module
 */

import type { AmiMessage } from "../core/message.ts";
import type { LiveParty } from "./types.ts";

/**
 * Prefixes under which events carry a whole channel snapshot
 * (`main/manager_channels.c`): the plain one first.
 */
export const CHANNEL_PREFIXES: readonly string[] = [
  "",
  "Dest",
  "LocalOne",
  "LocalTwo",
  "Source",
  "Transferer",
  "Transferee",
  "OrigTransferer",
  "SecondTransferer",
  "TransferTarget",
];

/** A channel snapshot as read from one message, before it is merged into a record. */
export interface ChannelSnapshot {
  uniqueid: string;
  name: string;
  state: number;
  stateDesc: string;
  linkedid: string;
  callerId: LiveParty;
  connectedLine: LiveParty;
  accountCode: string;
  context: string;
  exten: string;
  priority: number;
  /** `ChanVariable: k=v` pairs, in order. */
  variables: [string, string][];
}

function party(num: string | undefined, name: string | undefined): LiveParty {
  return { num: unknownToEmpty(num), name: unknownToEmpty(name) };
}

/** Asterisk writes an absent caller id as `<unknown>`. */
export function unknownToEmpty(v: string | undefined): string {
  return v === undefined || v === "<unknown>" ? "" : v;
}

/**
 * The channel snapshot under a prefix, when the message carries one: it needs
 * `<prefix>Uniqueid` and `<prefix>ChannelState` (so Cdr, OriginateResponse and
 * DeviceStateChange, which have no state, are never snapshots).
 */
export function readChannel(m: AmiMessage, prefix: string): ChannelSnapshot | undefined {
  const uniqueid = m.get(prefix + "Uniqueid");
  if (uniqueid === undefined || uniqueid === "" || uniqueid === "<unknown>") return undefined;
  const state = m.get(prefix + "ChannelState");
  if (state === undefined) return undefined;
  const variables: [string, string][] = [];
  for (const kv of m.getAll(prefix + "ChanVariable")) {
    const eq = kv.indexOf("=");
    if (eq > 0) variables.push([kv.slice(0, eq), kv.slice(eq + 1)]);
  }
  return {
    uniqueid,
    name: m.get(prefix + "Channel") ?? "",
    state: Number(state) || 0,
    stateDesc: m.get(prefix + "ChannelStateDesc") ?? "",
    linkedid: m.get(prefix + "Linkedid") ?? uniqueid,
    callerId: party(m.get(prefix + "CallerIDNum"), m.get(prefix + "CallerIDName")),
    connectedLine: party(m.get(prefix + "ConnectedLineNum"), m.get(prefix + "ConnectedLineName")),
    accountCode: m.get(prefix + "AccountCode") ?? "",
    context: m.get(prefix + "Context") ?? "",
    exten: m.get(prefix + "Exten") ?? "",
    priority: Number(m.get(prefix + "Priority")) || 0,
    variables,
  };
}

/** A bridge snapshot (`<prefix>BridgeUniqueid`, `BridgeType`, ...). */
export interface BridgeSnapshot {
  id: string;
  type: string;
  technology: string;
  name: string;
  creator: string;
}

/** The bridge snapshot under a prefix (`""`, `To`, `From`), when present. */
export function readBridge(m: AmiMessage, prefix: string): BridgeSnapshot | undefined {
  const id = m.get(prefix + "BridgeUniqueid");
  if (id === undefined || id === "") return undefined;
  return {
    id,
    type: m.get(prefix + "BridgeType") ?? "",
    technology: m.get(prefix + "BridgeTechnology") ?? "",
    name: m.get(prefix + "BridgeName") ?? "",
    creator: m.get(prefix + "BridgeCreator") ?? "",
  };
}

/**
 * The bridge a list item says a channel is in: CoreShowChannel's `BridgeId`,
 * Status's `BridgeID`, BridgeInfoChannel's `BridgeUniqueid` (get() ignores
 * case, so BridgeId and BridgeID are one lookup). `""` means none.
 */
export function listedBridgeId(m: AmiMessage): string | undefined {
  const v = m.get("BridgeId") ?? m.get("BridgeUniqueid");
  return v === undefined ? undefined : v;
}

/**
 * A bounded set of ended ids with the position each ended at: the oldest is
 * forgotten first. It absorbs late events (Cdr, a reordered snapshot) for
 * ended channels, so they cannot resurrect one.
 */
export class TombstoneRing {
  readonly #cap: number;
  readonly #ring: (string | undefined)[];
  #next = 0;
  readonly #at = new Map<string, number>();

  /** @param cap how many ids are remembered (at least 1) */
  constructor(cap: number) {
    this.#cap = Math.max(1, Math.floor(cap));
    this.#ring = new Array(this.#cap);
  }

  /** Remembers an id as ended at a position. */
  add(id: string, at: number): void {
    if (this.#at.has(id)) {
      this.#at.set(id, at);
      return;
    }
    const old = this.#ring[this.#next];
    if (old !== undefined) this.#at.delete(old);
    this.#ring[this.#next] = id;
    this.#next = (this.#next + 1) % this.#cap;
    this.#at.set(id, at);
  }

  /** Whether an id is remembered as ended. */
  has(id: string): boolean {
    return this.#at.has(id);
  }

  /** How many ids are remembered (never more than the cap). */
  get size(): number {
    return this.#at.size;
  }

  /** Forgets everything (a server restart reuses ids). */
  clear(): void {
    this.#at.clear();
    this.#ring.fill(undefined);
    this.#next = 0;
  }
}
