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
  // One pass over the headers (a lookup per field would scan them a dozen times).
  const headers = m.headers;
  const pl = prefix.length;
  const v: (string | undefined)[] = new Array(FIELD_COUNT);
  const variables: [string, string][] = [];
  for (let i = 0; i < headers.length; i++) {
    const k = headers[i][0];
    if (pl > 0 && (k.length <= pl || !startsWithIgnoreCase(k, prefix))) continue;
    const field = pl === 0 ? k : k.slice(pl);
    let f = FIELDS_EXACT.get(field);
    if (f === undefined) {
      if (!FIELD_LENGTHS.has(field.length)) continue;
      f = FIELDS_LOWER.get(field.toLowerCase());
      if (f === undefined) continue;
    }
    if (f === F_VAR) {
      const kv = headers[i][1];
      const eq = kv.indexOf("=");
      if (eq > 0) variables.push([kv.slice(0, eq), kv.slice(eq + 1)]);
    } else if (v[f] === undefined) v[f] = headers[i][1];
  }
  const uniqueid = v[F_UNIQUEID];
  if (uniqueid === undefined || uniqueid === "" || uniqueid === "<unknown>") return undefined;
  const state = v[F_STATE];
  if (state === undefined) return undefined;
  return {
    uniqueid,
    name: v[F_CHANNEL] ?? "",
    state: Number(state) || 0,
    stateDesc: v[F_STATE_DESC] ?? "",
    linkedid: v[F_LINKEDID] ?? uniqueid,
    callerId: party(v[F_CID_NUM], v[F_CID_NAME]),
    connectedLine: party(v[F_CL_NUM], v[F_CL_NAME]),
    accountCode: v[F_ACCOUNT] ?? "",
    context: v[F_CONTEXT] ?? "",
    exten: v[F_EXTEN] ?? "",
    priority: Number(v[F_PRIORITY]) || 0,
    variables,
  };
}

/** The channel snapshot's fields, in slot order (the scan in `_scan.ts` uses the same slots). */
export const FIELD_NAMES = [
  "Uniqueid",
  "ChannelState",
  "Channel",
  "ChannelStateDesc",
  "Linkedid",
  "CallerIDNum",
  "CallerIDName",
  "ConnectedLineNum",
  "ConnectedLineName",
  "AccountCode",
  "Context",
  "Exten",
  "Priority",
  "ChanVariable",
] as const;
const [
  F_UNIQUEID,
  F_STATE,
  F_CHANNEL,
  F_STATE_DESC,
  F_LINKEDID,
  F_CID_NUM,
  F_CID_NAME,
  F_CL_NUM,
  F_CL_NAME,
  F_ACCOUNT,
  F_CONTEXT,
  F_EXTEN,
  F_PRIORITY,
  F_VAR,
] = FIELD_NAMES.map((_, i) => i);
const FIELD_COUNT = FIELD_NAMES.length;
const FIELDS_EXACT: ReadonlyMap<string, number> = new Map(FIELD_NAMES.map((n, i) => [n, i]));
const FIELDS_LOWER: ReadonlyMap<string, number> = new Map(
  FIELD_NAMES.map((n, i) => [n.toLowerCase(), i]),
);
const FIELD_LENGTHS: ReadonlySet<number> = new Set(FIELD_NAMES.map((n) => n.length));

/** Whether `key` starts with `prefix` in any case (ASCII letters); allocates nothing. */
function startsWithIgnoreCase(key: string, prefix: string): boolean {
  for (let i = 0; i < prefix.length; i++) {
    const x = key.charCodeAt(i);
    const y = prefix.charCodeAt(i);
    if (x !== y && (x | 0x20) !== (y | 0x20)) return false;
  }
  return true;
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
    id = id.length < 13 ? id : (" " + id).slice(1); // a copy: a slice would pin its message
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
