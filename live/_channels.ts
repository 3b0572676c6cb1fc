/**
 * The live model's channels: records by Uniqueid, the name and Linkedid
 * indexes, the tombstones of ended ids, the variables allow-list, and the
 * merge of a channels list.
 *
 * @module
 */

import type { AmiMessage } from "../core/message.ts";
import { bump, EMPTY_VARS, type ModelContext, sameRecord } from "./_context.ts";
import {
  S_ACCOUNT,
  S_CHANNEL,
  S_CID_NAME,
  S_CID_NUM,
  S_CL_NAME,
  S_CL_NUM,
  S_CONTEXT,
  S_EXTEN,
  S_LINKEDID,
  S_PRIORITY,
  S_STATE,
  S_STATE_DESC,
  S_UNIQUEID,
  type SnapshotScan,
} from "./_scan.ts";
import { type ChannelSnapshot, listedBridgeId, readChannel, TombstoneRing } from "./_snapshot.ts";
import type {
  LiveCall,
  LiveChannel,
  LiveChannelChange,
  LiveModelOptions,
  LiveParty,
  LiveRemoveReason,
} from "./types.ts";

/** What an event or list adds to a channel snapshot. */
export interface ChannelPatch {
  /** The running application. */
  application?: string;
  /** Its data. */
  appData?: string;
  /** A bridge id, `null` for none, `undefined` to keep. */
  bridgeId?: string | null;
  /** A variable set (VarSet). */
  variable?: readonly [string, string];
}

/** What the channels need of the bridges. */
export interface ChannelBridges {
  /** Makes sure a bridge exists (a placeholder if only its id is known); `false` if refused or ended. */
  ensure(id: string, at: number, now: number): boolean;
  /** Adds or removes a member. */
  members(id: string, member: string, join: boolean, at: number, now: number): void;
}

/** What the channels need of the queues. */
export interface ChannelQueues {
  /** Removes an ended channel from every queue it waits in. */
  forgetCaller(id: string, at: number, now: number): void;
}

/** The channels of one server's model. */
export class ChannelStore {
  readonly #ctx: ModelContext;
  readonly #bridges: ChannelBridges;
  readonly #queues: ChannelQueues;
  readonly #max: number;
  readonly #maxVariables: number;
  readonly #maxVariableBytes: number;
  readonly #allowed: ReadonlySet<string>;
  readonly #channels = new Map<string, LiveChannel>();
  readonly #seq = new Map<string, number>();
  readonly #byName = new Map<string, string>();
  readonly #byLinked = new Map<string, Set<string>>();
  readonly #tomb: TombstoneRing;
  /** The snapshot read from a scan, reused (upsert keeps none of it). */
  readonly #scratch: ChannelSnapshot = {
    uniqueid: "",
    name: "",
    state: 0,
    stateDesc: "",
    linkedid: "",
    callerId: { num: "", name: "" },
    connectedLine: { num: "", name: "" },
    accountCode: "",
    context: "",
    exten: "",
    priority: 0,
    variables: [],
  };

  /**
   * @param ctx the model's shared state
   * @param options caps and the allow-list
   * @param bridges the bridge store
   * @param queues the queue store
   */
  constructor(
    ctx: ModelContext,
    options: LiveModelOptions,
    bridges: ChannelBridges,
    queues: ChannelQueues,
  ) {
    this.#ctx = ctx;
    this.#bridges = bridges;
    this.#queues = queues;
    this.#max = options.maxChannels ?? 20_000;
    this.#maxVariables = options.maxVariables ?? 16;
    this.#maxVariableBytes = options.maxVariableBytes ?? 2_048;
    this.#allowed = new Set((options.variables ?? []).map(bareName));
    this.#tomb = new TombstoneRing(options.tombstones ?? 4_096);
  }

  /** Channels by Uniqueid. */
  get map(): ReadonlyMap<string, LiveChannel> {
    return this.#channels;
  }

  /** Calls by current Linkedid (built on each read: O(channels)). */
  calls(): ReadonlyMap<string, LiveCall> {
    const out = new Map<string, LiveCall>();
    for (const [linkedid, ids] of this.#byLinked) {
      out.set(linkedid, { node: this.#ctx.node, linkedid, channels: [...ids] });
    }
    return out;
  }

  /** The channel now named `name`, if any. */
  byName(name: string): LiveChannel | undefined {
    const id = this.#byName.get(name);
    const ch = id === undefined ? undefined : this.#channels.get(id);
    return ch !== undefined && ch.name === name ? ch : undefined;
  }

  /**
   * Inserts or updates the channel of a scanned group (when it has a Uniqueid
   * and a ChannelState): a value equal to the record's is the record's (no
   * copy, and no new record when nothing changed).
   */
  scanned(
    scan: SnapshotScan,
    g: number,
    patch: ChannelPatch | undefined,
    at: number,
    now: number,
  ): void {
    const id = scan.value(g, S_UNIQUEID);
    if (id === undefined || id === "" || id === "<unknown>" || !scan.has(g, S_STATE)) return;
    const old = this.#channels.get(id);
    const snap = this.#scratch;
    snap.uniqueid = id;
    snap.name = pick(scan, g, S_CHANNEL, old?.name);
    snap.state = scan.number(g, S_STATE);
    snap.stateDesc = pick(scan, g, S_STATE_DESC, old?.stateDesc);
    snap.linkedid = scan.has(g, S_LINKEDID) ? pick(scan, g, S_LINKEDID, old?.linkedid) : id;
    const cid = snap.callerId as { num: string; name: string };
    cid.num = pickParty(scan, g, S_CID_NUM, old?.callerId.num);
    cid.name = pickParty(scan, g, S_CID_NAME, old?.callerId.name);
    const cl = snap.connectedLine as { num: string; name: string };
    cl.num = pickParty(scan, g, S_CL_NUM, old?.connectedLine.num);
    cl.name = pickParty(scan, g, S_CL_NAME, old?.connectedLine.name);
    snap.accountCode = pick(scan, g, S_ACCOUNT, old?.accountCode);
    snap.context = pick(scan, g, S_CONTEXT, old?.context);
    snap.exten = pick(scan, g, S_EXTEN, old?.exten);
    snap.priority = scan.number(g, S_PRIORITY);
    snap.variables.length = 0;
    scan.variables(g, snap.variables);
    this.upsert(snap, patch, at, now);
  }

  /** Inserts or updates a channel from a snapshot; `false` when refused or ended. */
  upsert(snap: ChannelSnapshot, patch: ChannelPatch | undefined, at: number, now: number): boolean {
    const id = snap.uniqueid;
    if (this.#tomb.has(id)) {
      this.#ctx.absorbed++;
      return false;
    }
    const old = this.#channels.get(id);
    if (old === undefined && this.#channels.size >= this.#max) {
      this.#ctx.refuse("maxChannels", now);
      return false;
    }
    let variables = old?.variables ?? EMPTY_VARS;
    const vs = snap.variables;
    for (let i = 0; i < vs.length; i++) {
      variables = this.#setVariable(variables, vs[i][0], vs[i][1]);
    }
    if (patch?.variable) variables = this.#setVariable(variables, ...patch.variable);
    let bridgeId = old?.bridgeId;
    if (patch?.bridgeId !== undefined) bridgeId = patch.bridgeId ?? undefined;
    if (old !== undefined && unchanged(old, snap, patch, variables, bridgeId)) {
      this.#touch(old, at);
      return true;
    }
    // Unchanged values are the old record's; new ones are copied (see `own`).
    const next: LiveChannel = {
      node: this.#ctx.node,
      uniqueid: old?.uniqueid ?? own(id),
      name: keep(old?.name, snap.name),
      state: snap.state,
      stateDesc: keep(old?.stateDesc, snap.stateDesc),
      linkedid: keep(old?.linkedid, snap.linkedid),
      bridgeId: bridgeId === undefined ? undefined : keep(old?.bridgeId, bridgeId),
      callerId: keepParty(old?.callerId, snap.callerId),
      connectedLine: keepParty(old?.connectedLine, snap.connectedLine),
      accountCode: keep(old?.accountCode, snap.accountCode),
      context: keep(old?.context, snap.context),
      exten: keep(old?.exten, snap.exten),
      priority: snap.priority,
      application: patch?.application === undefined
        ? old?.application
        : keep(old?.application, patch.application),
      appData: patch?.appData === undefined ? old?.appData : keep(old?.appData, patch.appData),
      variables,
      seenAt: old?.seenAt ?? now,
    };
    this.commit(old, next, at, now);
    return true;
  }

  /** Stores a channel's new record, keeps the indexes and bridges, emits the change. */
  commit(old: LiveChannel | undefined, next: LiveChannel, at: number, now: number): void {
    const id = next.uniqueid;
    if (old !== undefined && sameChannel(old, next)) {
      this.#touch(old, at);
      return;
    }
    bump(this.#seq, id, at);
    // A bridge that is gone (or refused) is not joined.
    let bridgeId = next.bridgeId;
    if (bridgeId !== undefined && bridgeId !== old?.bridgeId) {
      if (!this.#bridges.ensure(bridgeId, at, now)) bridgeId = undefined;
    }
    const rec: LiveChannel = Object.freeze(
      bridgeId === next.bridgeId ? next : { ...next, bridgeId },
    );
    this.#channels.set(id, rec);
    if (old !== undefined && old.name !== rec.name && this.#byName.get(old.name) === id) {
      this.#byName.delete(old.name);
    }
    this.#byName.set(rec.name, id);
    if (old === undefined || old.linkedid !== rec.linkedid) {
      if (old !== undefined) this.#unlink(old.linkedid, id);
      let set = this.#byLinked.get(rec.linkedid);
      if (set === undefined) this.#byLinked.set(rec.linkedid, set = new Set());
      set.add(id);
    }
    this.#emit(old === undefined ? "added" : "updated", rec, old, undefined, now);
    if (old?.bridgeId !== rec.bridgeId) {
      if (old?.bridgeId !== undefined) this.#bridges.members(old.bridgeId, id, false, at, now);
      if (rec.bridgeId !== undefined) this.#bridges.members(rec.bridgeId, id, true, at, now);
    }
  }

  /** A snapshot that changed nothing: the record's position rises, its name is its own. */
  #touch(old: LiveChannel, at: number): void {
    const id = old.uniqueid;
    bump(this.#seq, id, at);
    // Two records may briefly claim one name (a masquerade half seen): the latest snapshot wins.
    if (this.#byName.get(old.name) !== id) this.#byName.set(old.name, id);
  }

  /** A channel's bridge is gone: its record loses the bridge id (no position bump). */
  leaveBridge(id: string, bridgeId: string, now: number): void {
    const ch = this.#channels.get(id);
    if (ch === undefined || ch.bridgeId !== bridgeId) return;
    const rec = Object.freeze({ ...ch, bridgeId: undefined });
    this.#channels.set(id, rec);
    this.#emit("updated", rec, ch, undefined, now);
  }

  /** A Hangup: the id is ended for good (tombstone) and its record removed. */
  hangup(id: string, cause: number, causeText: string, at: number, now: number): void {
    this.#tomb.add(id, at);
    const old = this.#channels.get(id);
    if (old !== undefined) this.#remove(old, "hangup", at, now, cause, causeText);
  }

  /** Merges a channels list (CoreShowChannel or Status items) at its position. */
  merge(items: readonly AmiMessage[], at: number, now: number): void {
    const listed = new Map<string, AmiMessage>();
    for (const m of items) {
      const id = m.get("Uniqueid");
      if (id !== undefined && id !== "") listed.set(id, m);
    }
    // Removals first, so that the listed records find room under the cap.
    for (const ch of [...this.#channels.values()]) {
      if (!listed.has(ch.uniqueid) && (this.#seq.get(ch.uniqueid) ?? 0) <= at) {
        this.#remove(ch, "vanished", this.#ctx.seq, now);
      }
    }
    this.#ctx.refusedSinceList = false;
    for (const [id, m] of listed) {
      if ((this.#seq.get(id) ?? -1) > at) continue;
      const snap = readChannel(m, "");
      if (snap === undefined) continue;
      const bridge = listedBridgeId(m);
      const app = m.get("Application");
      const patch: ChannelPatch = {
        application: app,
        appData: app === undefined ? undefined : m.get("ApplicationData") ?? m.get("Data") ?? "",
        bridgeId: bridge === undefined ? undefined : bridge === "" ? null : bridge,
      };
      this.upsert(snap, patch, at, now);
    }
    if (!this.#ctx.refusedSinceList) this.#ctx.setStatus("ok", "channels list merged", now);
  }

  /** Emits `removed` for every channel (reason `serverRestart`) and forgets everything. */
  purge(now: number): void {
    for (const ch of this.#channels.values()) {
      this.#emit("removed", ch, ch, "serverRestart", now);
    }
    this.#channels.clear();
    this.#seq.clear();
    this.#byName.clear();
    this.#byLinked.clear();
    this.#tomb.clear();
  }

  #unlink(linkedid: string, id: string): void {
    const set = this.#byLinked.get(linkedid);
    if (set === undefined) return;
    set.delete(id);
    if (set.size === 0) this.#byLinked.delete(linkedid);
  }

  #remove(
    ch: LiveChannel,
    reason: LiveRemoveReason,
    at: number,
    now: number,
    cause?: number,
    causeText?: string,
  ): void {
    const id = ch.uniqueid;
    this.#tomb.add(id, at);
    if (ch.bridgeId !== undefined) this.#bridges.members(ch.bridgeId, id, false, at, now);
    this.#queues.forgetCaller(id, at, now);
    this.#channels.delete(id);
    this.#seq.delete(id);
    if (this.#byName.get(ch.name) === id) this.#byName.delete(ch.name);
    this.#unlink(ch.linkedid, id);
    this.#emit("removed", ch, ch, reason, now, cause, causeText);
  }

  #emit(
    type: "added" | "updated" | "removed",
    record: LiveChannel,
    previous: LiveChannel | undefined,
    reason: LiveRemoveReason | undefined,
    now: number,
    cause?: number,
    causeText?: string,
  ): void {
    const c: LiveChannelChange = reason === "hangup"
      ? { type, kind: "channel", record, previous, reason, at: now, cause, causeText }
      : { type, kind: "channel", record, previous, reason, at: now };
    this.#ctx.push(c);
  }

  #setVariable(
    vars: Readonly<Record<string, string>>,
    name: string,
    value: string,
  ): Readonly<Record<string, string>> {
    const key = bareName(name);
    if (!this.#allowed.has(key)) return vars;
    if (vars[key] === value) return vars;
    const keys = Object.keys(vars);
    let bytes = 0;
    for (const k of keys) if (k !== key) bytes += k.length + vars[k].length;
    const isNew = !(key in vars);
    if (
      (isNew && keys.length >= this.#maxVariables) ||
      bytes + key.length + value.length > this.#maxVariableBytes
    ) {
      this.#ctx.droppedVariables++;
      return vars;
    }
    return Object.freeze({ ...vars, [own(key)]: own(value) });
  }
}

/**
 * A copy of a string read from a message. A header value is a slice of its
 * message's text, and V8 keeps the whole text alive for a slice of 13
 * characters or more: a record holding slices would pin the text of every
 * event it was built from (about 700 bytes each). Records hold copies.
 */
export function own(s: string): string {
  return s.length < 13 ? s : (" " + s).slice(1);
}

/** A scanned field: absent is `""`, the record's value when equal, else a slice. */
function pick(scan: SnapshotScan, g: number, field: number, old: string | undefined): string {
  if (!scan.has(g, field)) return "";
  if (old !== undefined && scan.equals(g, field, old)) return old;
  return scan.value(g, field) as string;
}

/** A scanned caller id field: absent and `<unknown>` are `""` (see unknownToEmpty). */
function pickParty(scan: SnapshotScan, g: number, field: number, old: string | undefined): string {
  if (!scan.has(g, field) || scan.equals(g, field, "<unknown>")) return "";
  if (old !== undefined && scan.equals(g, field, old)) return old;
  return scan.value(g, field) as string;
}

/** Whether a snapshot and patch leave a record as it is (what sameChannel says of the result). */
function unchanged(
  old: LiveChannel,
  snap: ChannelSnapshot,
  patch: ChannelPatch | undefined,
  variables: Readonly<Record<string, string>>,
  bridgeId: string | undefined,
): boolean {
  return old.name === snap.name && old.state === snap.state &&
    old.stateDesc === snap.stateDesc && old.linkedid === snap.linkedid &&
    old.bridgeId === bridgeId && old.variables === variables &&
    old.callerId.num === snap.callerId.num && old.callerId.name === snap.callerId.name &&
    old.connectedLine.num === snap.connectedLine.num &&
    old.connectedLine.name === snap.connectedLine.name &&
    old.accountCode === snap.accountCode && old.context === snap.context &&
    old.exten === snap.exten && old.priority === snap.priority &&
    (patch?.application === undefined || patch.application === old.application) &&
    (patch?.appData === undefined || patch.appData === old.appData);
}

/** The old value when equal (already a copy), else a copy of the new one. */
function keep(old: string | undefined, v: string): string {
  return old === v ? old : own(v);
}

function keepParty(old: LiveParty | undefined, p: LiveParty): LiveParty {
  return old !== undefined && old.num === p.num && old.name === p.name
    ? old
    : { num: own(p.num), name: own(p.name) };
}

/** A variable's name without the inheritance underscores (`__X` and `_X` are `X`). */
function bareName(name: string): string {
  return name.replace(/^_{1,2}/, "");
}

function sameChannel(a: LiveChannel, b: LiveChannel): boolean {
  return a.name === b.name && a.state === b.state && a.stateDesc === b.stateDesc &&
    a.linkedid === b.linkedid && a.bridgeId === b.bridgeId &&
    a.callerId.num === b.callerId.num && a.callerId.name === b.callerId.name &&
    a.connectedLine.num === b.connectedLine.num && a.connectedLine.name === b.connectedLine.name &&
    a.accountCode === b.accountCode && a.context === b.context && a.exten === b.exten &&
    a.priority === b.priority && a.application === b.application && a.appData === b.appData &&
    sameRecord(a.variables, b.variables);
}
