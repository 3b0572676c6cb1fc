/**
 * The live model of one Asterisk server: its channels, bridges, calls and
 * queues, kept from the AMI event stream and repaired by lists.
 *
 * A pure reducer in the manner of `core/`: no sockets, timers, clocks or
 * randomness; `now` is passed in and only stamped on records and changes.
 *
 * Inputs, in wire order: {@link LiveModel.apply} for every event of the
 * session; {@link LiveModel.applyList} for a list's items (CoreShowChannels or
 * Status, BridgeList, QueueStatus) with the {@link LiveModel.position} read
 * when the list completed on the wire; {@link LiveModel.purge} when the server
 * restarted (FullyBooted with a smaller Uptime, a new CoreStartupTime).
 * Outputs are pulled: {@link LiveModel.pollChange} until `undefined`, after
 * each input or batch of inputs, then read the views (`channels`, `bridges`,
 * `calls`, `queues`).
 *
 * The facts it relies on (see the research notes on the live model):
 * channels are keyed by Uniqueid; every channel event carries the whole
 * snapshot, also under prefixes inside others (Dest, LocalOne, LocalTwo,
 * Source, Transferer, ...), and any of them inserts or updates the channel;
 * masquerades move names with no Rename; Linkedid is rewritten on bridge join;
 * only Hangup ends a channel (HangupRequest and SoftHangupRequest do not);
 * Cdr, DeviceStateChange and OriginateResponse carry no snapshot and may come
 * after the Hangup, and ended ids sit in a bounded tombstone ring so that no
 * late event brings a channel back.
 *
 * The merge rule: a list is a snapshot of the server at the position where it
 * completed in the event stream (Asterisk writes a list's items with no event
 * in between, and never older than the events before it). Merging it at that
 * position: a record an event touched after the position keeps the event's
 * state; a listed record is inserted or updated (fields the list lacks, such as
 * variables, are kept); an unlisted record last touched at or before the
 * position is removed as `vanished`; a listed id whose Hangup was seen stays
 * ended.
 *
 * Every store is bounded (channels, bridges, queues, members, callers,
 * tombstones, variables, pending changes); a cap that refuses a record turns
 * the status `degraded` until a channels list merges with nothing refused.
 *
 * @example
 * ```ts
 * import { LiveModel } from "./model.ts";
 * import { AmiMessage } from "../core/message.ts";
 * const model = new LiveModel({ variables: ["CAMPAIGN"] });
 * model.apply(new AmiMessage([["Event", "Newchannel"], ["Channel", "PJSIP/a-1"],
 *   ["ChannelState", "0"], ["Uniqueid", "1.1"], ["Linkedid", "1.1"]]), 0);
 * for (let c = model.pollChange(); c; c = model.pollChange()) console.log(c.type);
 * ```
 *
 * @module
 */

import type { AmiMessage } from "../core/message.ts";
import {
  type BridgeSnapshot,
  CHANNEL_PREFIXES,
  type ChannelSnapshot,
  listedBridgeId,
  readBridge,
  readChannel,
  TombstoneRing,
} from "./_snapshot.ts";
import type {
  LiveBridge,
  LiveCall,
  LiveChange,
  LiveChannel,
  LiveChannelChange,
  LiveListKind,
  LiveModelOptions,
  LiveQueue,
  LiveQueueMember,
  LiveRemoveReason,
  LiveStatus,
} from "./types.ts";

/** Events that are list items: they reach the model through {@link LiveModel.applyList}. */
const LIST_ITEMS: ReadonlySet<string> = new Set([
  "CoreShowChannel",
  "Status",
  "BridgeListItem",
  "BridgeInfoChannel",
  "QueueParams",
  "QueueMember",
  "QueueEntry",
]);

const MEMBER_EVENTS: ReadonlySet<string> = new Set([
  "QueueMemberAdded",
  "QueueMemberStatus",
  "QueueMemberPause",
  "QueueMemberPaused",
  "QueueMemberPenalty",
  "QueueMemberRinginuse",
]);

/** Counters of what the model absorbed or refused. */
export interface LiveModelStats {
  /** Snapshots and list items for ended ids, absorbed by the tombstones. */
  readonly absorbed: number;
  /** Records refused by a cap. */
  readonly refused: number;
  /** Variables not kept (count or byte cap). */
  readonly droppedVariables: number;
  /** Changes dropped because nobody pulled them. */
  readonly droppedChanges: number;
}

/** What an event or list adds to a channel snapshot. */
interface ChannelPatch {
  application?: string;
  appData?: string;
  /** A bridge id, `null` for none, `undefined` to keep. */
  bridgeId?: string | null;
  variable?: readonly [string, string];
}

const EMPTY_VARS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The live model of ONE server. Feed it the session's events in order with
 * {@link LiveModel.apply}, merge lists with {@link LiveModel.applyList}, pull
 * changes with {@link LiveModel.pollChange}.
 */
export class LiveModel {
  readonly #maxChannels: number;
  readonly #maxBridges: number;
  readonly #maxQueues: number;
  readonly #maxMembers: number;
  readonly #maxCallers: number;
  readonly #maxVariables: number;
  readonly #maxVariableBytes: number;
  readonly #maxPending: number;
  readonly #allowed: ReadonlySet<string>;

  readonly #channels = new Map<string, LiveChannel>();
  readonly #chanSeq = new Map<string, number>();
  readonly #byName = new Map<string, string>();
  readonly #byLinked = new Map<string, Set<string>>();
  readonly #bridges = new Map<string, LiveBridge>();
  readonly #bridgeSeq = new Map<string, number>();
  readonly #queues = new Map<string, LiveQueue>();
  readonly #queueSeq = new Map<string, number>();
  readonly #memberSeq = new Map<string, Map<string, number>>();
  readonly #callersSeq = new Map<string, number>();
  /** Uniqueid -> the queues it waits in. */
  readonly #callerQueues = new Map<string, Set<string>>();
  readonly #chanTomb: TombstoneRing;
  readonly #bridgeTomb: TombstoneRing;

  #changes: LiveChange[] = [];
  #head = 0;
  #seq = 0;
  #status: LiveStatus = "ok";
  #refusedSinceList = false;
  #absorbed = 0;
  #refused = 0;
  #droppedVariables = 0;
  #droppedChanges = 0;
  #overflow = 0;

  /** @param options caps and the variables allow-list */
  constructor(options: LiveModelOptions = {}) {
    this.#maxChannels = options.maxChannels ?? 20_000;
    this.#maxBridges = options.maxBridges ?? 10_000;
    this.#maxQueues = options.maxQueues ?? 1_000;
    this.#maxMembers = options.maxQueueMembers ?? 1_000;
    this.#maxCallers = options.maxQueueCallers ?? 1_000;
    this.#maxVariables = options.maxVariables ?? 16;
    this.#maxVariableBytes = options.maxVariableBytes ?? 2_048;
    this.#maxPending = options.maxPendingChanges ?? 100_000;
    this.#allowed = new Set((options.variables ?? []).map(bareName));
    const tombs = options.tombstones ?? 4_096;
    this.#chanTomb = new TombstoneRing(tombs);
    this.#bridgeTomb = new TombstoneRing(tombs);
  }

  // ---- views ----

  /** Channels by Uniqueid. */
  get channels(): ReadonlyMap<string, LiveChannel> {
    return this.#channels;
  }

  /** Bridges by id. */
  get bridges(): ReadonlyMap<string, LiveBridge> {
    return this.#bridges;
  }

  /** Queues by name. */
  get queues(): ReadonlyMap<string, LiveQueue> {
    return this.#queues;
  }

  /** Calls by current Linkedid (built on each read: O(channels)). */
  get calls(): ReadonlyMap<string, LiveCall> {
    const out = new Map<string, LiveCall>();
    for (const [linkedid, ids] of this.#byLinked) {
      out.set(linkedid, { linkedid, channels: [...ids] });
    }
    return out;
  }

  /**
   * The channel now named `name`, if any.
   *
   * @param name a channel name
   * @returns the channel, or `undefined`
   */
  byName(name: string): LiveChannel | undefined {
    const id = this.#byName.get(name);
    const ch = id === undefined ? undefined : this.#channels.get(id);
    return ch !== undefined && ch.name === name ? ch : undefined;
  }

  /**
   * A queue's members that can take a call now: not paused, not in a call,
   * device not in use (status 1).
   *
   * @param queue the queue's name
   * @returns the members, in the queue's order (empty for an unknown queue)
   */
  freeMembers(queue: string): LiveQueueMember[] {
    const q = this.#queues.get(queue);
    if (q === undefined) return [];
    return [...q.members.values()].filter((m) => !m.paused && !m.inCall && m.status === 1);
  }

  /** How many events were applied: read it when a list completes, pass it to {@link applyList}. */
  get position(): number {
    return this.#seq;
  }

  /** `ok`, or `degraded` after a cap refused a record. */
  get status(): LiveStatus {
    return this.#status;
  }

  /** What the model absorbed, refused and dropped. */
  get stats(): LiveModelStats {
    return {
      absorbed: this.#absorbed,
      refused: this.#refused,
      droppedVariables: this.#droppedVariables,
      droppedChanges: this.#droppedChanges,
    };
  }

  // ---- outputs ----

  /**
   * The next change, in the order it happened; `undefined` when none is left.
   * Drain it after every input (or batch of inputs).
   */
  pollChange(): LiveChange | undefined {
    if (this.#head < this.#changes.length) {
      const c = this.#changes[this.#head++];
      if (this.#head === this.#changes.length) {
        this.#changes = [];
        this.#head = 0;
      }
      return c;
    }
    if (this.#overflow > 0) {
      const dropped = this.#overflow;
      this.#overflow = 0;
      return { type: "overflow", dropped };
    }
    return undefined;
  }

  // ---- inputs ----

  /**
   * Applies one event of the session, in wire order.
   *
   * @param event the event (list items are ignored here: see {@link applyList})
   * @param now monotonic milliseconds, stamped on changes
   */
  apply(event: AmiMessage, now: number): void {
    const at = ++this.#seq;
    const name = event.name;
    if (LIST_ITEMS.has(name)) return;
    switch (name) {
      case "Hangup": {
        const id = event.get("Uniqueid");
        if (id !== undefined && id !== "") {
          this.#hangup(id, Number(event.get("Cause")) || 0, event.get("Cause-txt") ?? "", at, now);
        }
        for (const p of CHANNEL_PREFIXES) {
          if (p !== "") this.#snapshot(event, p, undefined, at, now);
        }
        return;
      }
      case "Rename": {
        const id = event.get("Uniqueid");
        const newName = event.get("Newname");
        const old = id === undefined ? undefined : this.#channels.get(id);
        if (old !== undefined && newName !== undefined) {
          this.#commitChannel(old, { ...old, name: newName }, at, now);
        }
        return;
      }
      case "BridgeDestroy": {
        const b = readBridge(event, "");
        if (b !== undefined) this.#removeBridge(b.id, "destroyed", at, now);
        return;
      }
      case "BridgeMerge": {
        this.#bridgeMerge(event, at, now);
        return;
      }
    }
    let patch: ChannelPatch | undefined;
    switch (name) {
      case "BridgeCreate":
      case "BridgeEnter":
      case "BridgeLeave": {
        const b = readBridge(event, "");
        if (b === undefined) break;
        const known = this.#upsertBridge(b, at, now);
        if (name === "BridgeEnter") patch = { bridgeId: known ? b.id : null };
        else if (name === "BridgeLeave") {
          const id = event.get("Uniqueid");
          const ch = id === undefined ? undefined : this.#channels.get(id);
          if (ch?.bridgeId === b.id) patch = { bridgeId: null };
        }
        break;
      }
      case "Newexten":
        patch = {
          application: event.get("Application") ?? "",
          appData: event.get("AppData") ?? "",
        };
        break;
      case "VarSet": {
        const v = event.get("Variable");
        if (v !== undefined) patch = { variable: [v, event.get("Value") ?? ""] };
        break;
      }
    }
    this.#snapshot(event, "", patch, at, now);
    for (let i = 1; i < CHANNEL_PREFIXES.length; i++) {
      this.#snapshot(event, CHANNEL_PREFIXES[i], undefined, at, now);
    }
    if (name.startsWith("Queue")) this.#queueEvent(name, event, at, now);
  }

  /**
   * Merges a complete list at the position where it completed on the wire
   * (see the module's merge rule). Lists must be unfiltered: an unlisted record
   * vanishes.
   *
   * @param kind `channels` (CoreShowChannel or Status items), `bridges`
   *   (BridgeListItem items), `queues` (QueueParams, QueueMember, QueueEntry)
   * @param items the list's items, without the response and the Complete event
   * @param at {@link position} read when the list's Complete event arrived
   * @param now monotonic milliseconds
   * @throws RangeError if `at` is ahead of the events applied
   */
  applyList(kind: LiveListKind, items: readonly AmiMessage[], at: number, now: number): void {
    if (!(at >= 0 && at <= this.#seq)) {
      throw new RangeError(`list position ${at} is not within 0..${this.#seq}`);
    }
    if (kind === "channels") this.#mergeChannels(items, at, now);
    else if (kind === "bridges") this.#mergeBridges(items, at, now);
    else this.#mergeQueues(items, at, now);
  }

  /**
   * Removes every record (reason `serverRestart`) and forgets the tombstones
   * (a restarted server reuses Uniqueids). Call it when the server restarted,
   * before the new session's events.
   *
   * @param reason why: the server restarted
   * @param now monotonic milliseconds
   */
  purge(reason: "serverRestart", now: number): void {
    for (const ch of this.#channels.values()) {
      this.#emitChannel("removed", ch, ch, reason, now);
    }
    for (const b of this.#bridges.values()) {
      this.#push({ type: "removed", kind: "bridge", record: b, previous: b, reason, at: now });
    }
    for (const q of this.#queues.values()) {
      this.#push({ type: "removed", kind: "queue", record: q, previous: q, reason, at: now });
    }
    this.#channels.clear();
    this.#chanSeq.clear();
    this.#byName.clear();
    this.#byLinked.clear();
    this.#bridges.clear();
    this.#bridgeSeq.clear();
    this.#queues.clear();
    this.#queueSeq.clear();
    this.#memberSeq.clear();
    this.#callersSeq.clear();
    this.#callerQueues.clear();
    this.#chanTomb.clear();
    this.#bridgeTomb.clear();
    this.#refusedSinceList = false;
    this.#setStatus("ok", "purged", now);
  }

  // ---- channels ----

  #snapshot(
    m: AmiMessage,
    prefix: string,
    patch: ChannelPatch | undefined,
    at: number,
    now: number,
  ): void {
    const snap = readChannel(m, prefix);
    if (snap !== undefined) this.#upsertChannel(snap, patch, at, now);
  }

  /** Inserts or updates a channel from a snapshot; `false` when refused or ended. */
  #upsertChannel(
    snap: ChannelSnapshot,
    patch: ChannelPatch | undefined,
    at: number,
    now: number,
  ): boolean {
    const id = snap.uniqueid;
    if (this.#chanTomb.has(id)) {
      this.#absorbed++;
      return false;
    }
    const old = this.#channels.get(id);
    if (old === undefined && this.#channels.size >= this.#maxChannels) {
      this.#refuse("maxChannels", now);
      return false;
    }
    let variables = old?.variables ?? EMPTY_VARS;
    for (const [k, v] of snap.variables) variables = this.#setVariable(variables, k, v);
    if (patch?.variable) variables = this.#setVariable(variables, ...patch.variable);
    let bridgeId = old?.bridgeId;
    if (patch?.bridgeId !== undefined) bridgeId = patch.bridgeId ?? undefined;
    const next: LiveChannel = {
      uniqueid: id,
      name: snap.name,
      state: snap.state,
      stateDesc: snap.stateDesc,
      linkedid: snap.linkedid,
      bridgeId,
      callerId: snap.callerId,
      connectedLine: snap.connectedLine,
      accountCode: snap.accountCode,
      context: snap.context,
      exten: snap.exten,
      priority: snap.priority,
      application: patch?.application ?? old?.application,
      appData: patch?.appData ?? old?.appData,
      variables,
      seenAt: old?.seenAt ?? now,
    };
    this.#commitChannel(old, next, at, now);
    return true;
  }

  /** Stores a channel's new record, keeps the indexes and bridges, emits the change. */
  #commitChannel(old: LiveChannel | undefined, next: LiveChannel, at: number, now: number): void {
    const id = next.uniqueid;
    bump(this.#chanSeq, id, at);
    // Two records may briefly claim one name (a masquerade half seen): the latest snapshot wins.
    if (old !== undefined && sameChannel(old, next)) {
      if (this.#byName.get(old.name) !== id) this.#byName.set(old.name, id);
      return;
    }
    // A bridge that is gone (or refused) is not joined.
    let bridgeId = next.bridgeId;
    if (bridgeId !== undefined && bridgeId !== old?.bridgeId) {
      if (!this.#ensureBridge(bridgeId, at, now)) bridgeId = undefined;
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
    this.#emitChannel(old === undefined ? "added" : "updated", rec, old, undefined, now);
    if (old?.bridgeId !== rec.bridgeId) {
      if (old?.bridgeId !== undefined) this.#bridgeMembers(old.bridgeId, id, false, at, now);
      if (rec.bridgeId !== undefined) this.#bridgeMembers(rec.bridgeId, id, true, at, now);
    }
  }

  #unlink(linkedid: string, id: string): void {
    const set = this.#byLinked.get(linkedid);
    if (set === undefined) return;
    set.delete(id);
    if (set.size === 0) this.#byLinked.delete(linkedid);
  }

  #hangup(id: string, cause: number, causeText: string, at: number, now: number): void {
    this.#chanTomb.add(id, at);
    const old = this.#channels.get(id);
    if (old !== undefined) this.#removeChannel(old, "hangup", at, now, cause, causeText);
  }

  #removeChannel(
    ch: LiveChannel,
    reason: LiveRemoveReason,
    at: number,
    now: number,
    cause?: number,
    causeText?: string,
  ): void {
    const id = ch.uniqueid;
    this.#chanTomb.add(id, at);
    if (ch.bridgeId !== undefined) this.#bridgeMembers(ch.bridgeId, id, false, at, now);
    const queues = this.#callerQueues.get(id);
    if (queues !== undefined) {
      for (const q of [...queues]) this.#removeCaller(q, id, at, now, false);
    }
    this.#channels.delete(id);
    this.#chanSeq.delete(id);
    if (this.#byName.get(ch.name) === id) this.#byName.delete(ch.name);
    this.#unlink(ch.linkedid, id);
    this.#emitChannel("removed", ch, ch, reason, now, cause, causeText);
  }

  #emitChannel(
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
    this.#push(c);
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
      this.#droppedVariables++;
      return vars;
    }
    return Object.freeze({ ...vars, [key]: value });
  }

  #mergeChannels(items: readonly AmiMessage[], at: number, now: number): void {
    const listed = new Map<string, AmiMessage>();
    for (const m of items) {
      const id = m.get("Uniqueid");
      if (id !== undefined && id !== "") listed.set(id, m);
    }
    // Removals first, so that the listed records find room under the cap.
    for (const ch of [...this.#channels.values()]) {
      if (!listed.has(ch.uniqueid) && (this.#chanSeq.get(ch.uniqueid) ?? 0) <= at) {
        this.#removeChannel(ch, "vanished", this.#seq, now);
      }
    }
    this.#refusedSinceList = false;
    for (const [id, m] of listed) {
      if ((this.#chanSeq.get(id) ?? -1) > at) continue;
      const snap = readChannel(m, "");
      if (snap === undefined) continue;
      const bridge = listedBridgeId(m);
      const app = m.get("Application");
      const patch: ChannelPatch = {
        application: app,
        appData: app === undefined ? undefined : m.get("ApplicationData") ?? m.get("Data") ?? "",
        bridgeId: bridge === undefined ? undefined : bridge === "" ? null : bridge,
      };
      this.#upsertChannel(snap, patch, at, now);
    }
    if (!this.#refusedSinceList) this.#setStatus("ok", "channels list merged", now);
  }

  // ---- bridges ----

  /** Makes sure a bridge record exists (a placeholder when only its id is known). */
  #ensureBridge(id: string, at: number, now: number): boolean {
    if (this.#bridges.has(id)) return true;
    return this.#upsertBridge({ id, type: "", technology: "", name: "", creator: "" }, at, now);
  }

  #upsertBridge(b: BridgeSnapshot, at: number, now: number): boolean {
    if (this.#bridgeTomb.has(b.id)) {
      this.#absorbed++;
      return false;
    }
    const old = this.#bridges.get(b.id);
    if (old === undefined && this.#bridges.size >= this.#maxBridges) {
      this.#refuse("maxBridges", now);
      return false;
    }
    bump(this.#bridgeSeq, b.id, at);
    // A placeholder's empty fields do not overwrite known ones.
    const next: LiveBridge = {
      id: b.id,
      type: b.type || old?.type || "",
      technology: b.technology || old?.technology || "",
      name: b.name || old?.name || "",
      creator: b.creator || old?.creator || "",
      members: old?.members ?? [],
    };
    if (
      old !== undefined && old.type === next.type && old.technology === next.technology &&
      old.name === next.name && old.creator === next.creator
    ) return true;
    this.#commitBridge(old, next, now);
    return true;
  }

  #commitBridge(old: LiveBridge | undefined, next: LiveBridge, now: number): void {
    const rec = Object.freeze(next);
    this.#bridges.set(rec.id, rec);
    this.#push({
      type: old === undefined ? "added" : "updated",
      kind: "bridge",
      record: rec,
      previous: old,
      reason: undefined,
      at: now,
    });
  }

  #bridgeMembers(id: string, member: string, join: boolean, at: number, now: number): void {
    const old = this.#bridges.get(id);
    if (old === undefined) return;
    const has = old.members.includes(member);
    if (has === join) return;
    bump(this.#bridgeSeq, id, at);
    const members = join ? [...old.members, member] : old.members.filter((m) => m !== member);
    this.#commitBridge(old, { ...old, members: Object.freeze(members) }, now);
  }

  #removeBridge(id: string, reason: LiveRemoveReason, at: number, now: number): void {
    this.#bridgeTomb.add(id, at);
    const old = this.#bridges.get(id);
    if (old === undefined) return;
    for (const member of old.members) {
      const ch = this.#channels.get(member);
      if (ch !== undefined && ch.bridgeId === id) {
        const rec = Object.freeze({ ...ch, bridgeId: undefined });
        this.#channels.set(member, rec);
        this.#emitChannel("updated", rec, ch, undefined, now);
      }
    }
    this.#bridges.delete(id);
    this.#bridgeSeq.delete(id);
    this.#push({ type: "removed", kind: "bridge", record: old, previous: old, reason, at: now });
  }

  #bridgeMerge(m: AmiMessage, at: number, now: number): void {
    const to = readBridge(m, "To");
    const from = readBridge(m, "From");
    if (to === undefined || from === undefined) return;
    if (!this.#upsertBridge(to, at, now)) return;
    const src = this.#bridges.get(from.id);
    if (src === undefined) return;
    for (const member of src.members) {
      const ch = this.#channels.get(member);
      if (ch !== undefined) this.#commitChannel(ch, { ...ch, bridgeId: to.id }, at, now);
    }
  }

  #mergeBridges(items: readonly AmiMessage[], at: number, now: number): void {
    const listed = new Map<string, BridgeSnapshot>();
    for (const m of items) {
      const b = readBridge(m, "");
      if (b !== undefined) listed.set(b.id, b);
    }
    for (const id of [...this.#bridges.keys()]) {
      if (!listed.has(id) && (this.#bridgeSeq.get(id) ?? 0) <= at) {
        this.#removeBridge(id, "vanished", this.#seq, now);
      }
    }
    for (const [id, b] of listed) {
      if ((this.#bridgeSeq.get(id) ?? -1) > at) continue;
      this.#upsertBridge(b, at, now);
    }
  }

  // ---- queues ----

  #ensureQueue(name: string, at: number, now: number): LiveQueue | undefined {
    bump(this.#queueSeq, name, at);
    const q = this.#queues.get(name);
    if (q !== undefined) return q;
    if (this.#queues.size >= this.#maxQueues) {
      this.#queueSeq.delete(name);
      this.#refuse("maxQueues", now);
      return undefined;
    }
    const rec: LiveQueue = Object.freeze({
      name,
      params: EMPTY_VARS,
      members: new Map(),
      callers: [],
    });
    this.#queues.set(name, rec);
    this.#memberSeq.set(name, new Map());
    this.#push({
      type: "added",
      kind: "queue",
      record: rec,
      previous: undefined,
      reason: undefined,
      at: now,
    });
    return rec;
  }

  #commitQueue(old: LiveQueue, next: LiveQueue, now: number): void {
    const rec = Object.freeze(next);
    this.#queues.set(rec.name, rec);
    this.#push({
      type: "updated",
      kind: "queue",
      record: rec,
      previous: old,
      reason: undefined,
      at: now,
    });
  }

  #queueEvent(name: string, m: AmiMessage, at: number, now: number): void {
    const queue = m.get("Queue");
    if (queue === undefined || queue === "") return;
    if (name === "QueueCallerJoin") {
      const id = m.get("Uniqueid");
      if (id === undefined || !this.#channels.has(id)) {
        // A caller the model does not hold (ended, refused): the queue is still seen.
        this.#ensureQueue(queue, at, now);
        return;
      }
      this.#addCaller(queue, id, Number(m.get("Position")) || Infinity, at, now);
    } else if (name === "QueueCallerLeave" || name === "QueueCallerAbandon") {
      const id = m.get("Uniqueid");
      if (this.#ensureQueue(queue, at, now) !== undefined && id !== undefined) {
        this.#removeCaller(queue, id, at, now, true);
      }
    } else if (MEMBER_EVENTS.has(name)) {
      this.#upsertMember(queue, m, false, at, now);
    } else if (name === "QueueMemberRemoved") {
      const iface = m.get("Interface");
      const q = this.#ensureQueue(queue, at, now);
      if (q === undefined || iface === undefined) return;
      this.#memberSeq.get(queue)?.set(iface, at);
      if (!q.members.has(iface)) return;
      const members = new Map(q.members);
      members.delete(iface);
      this.#memberSeq.get(queue)?.delete(iface);
      this.#commitQueue(q, { ...q, members }, now);
    } else {
      this.#ensureQueue(queue, at, now);
    }
  }

  #addCaller(queue: string, id: string, position: number, at: number, now: number): void {
    const q = this.#ensureQueue(queue, at, now);
    if (q === undefined) return;
    this.#callersSeq.set(queue, at);
    const callers = q.callers.filter((c) => c !== id);
    if (callers.length >= this.#maxCallers) {
      this.#refuse("maxQueueCallers", now);
      return;
    }
    callers.splice(Math.max(0, Math.min(callers.length, position - 1)), 0, id);
    this.#setCallers(q, callers, now);
  }

  #removeCaller(queue: string, id: string, at: number, now: number, touch: boolean): void {
    const q = this.#queues.get(queue);
    if (q === undefined) return;
    if (touch) this.#callersSeq.set(queue, at);
    if (!q.callers.includes(id)) return;
    this.#setCallers(q, q.callers.filter((c) => c !== id), now);
  }

  /** Replaces a queue's callers and keeps the Uniqueid -> queues index. */
  #setCallers(q: LiveQueue, callers: string[], now: number): void {
    for (const id of q.callers) this.#callerQueues.get(id)?.delete(q.name);
    for (const id of callers) {
      let set = this.#callerQueues.get(id);
      if (set === undefined) this.#callerQueues.set(id, set = new Set());
      set.add(q.name);
    }
    for (const id of q.callers) {
      if (this.#callerQueues.get(id)?.size === 0) this.#callerQueues.delete(id);
    }
    this.#commitQueue(q, { ...q, callers: Object.freeze(callers) }, now);
  }

  /** Upserts a member from an event (MemberName/Interface) or a list item (Name/Location). */
  #upsertMember(queue: string, m: AmiMessage, listItem: boolean, at: number, now: number): void {
    const iface = listItem ? m.get("Location") : m.get("Interface");
    if (iface === undefined || iface === "") return;
    const q = this.#ensureQueue(queue, at, now);
    if (q === undefined) return;
    const seqs = this.#memberSeq.get(queue);
    if (seqs !== undefined) bump(seqs, iface, at);
    const old = q.members.get(iface);
    if (old === undefined && q.members.size >= this.#maxMembers) {
      this.#memberSeq.get(queue)?.delete(iface);
      this.#refuse("maxQueueMembers", now);
      return;
    }
    const num = (key: string, prev: number): number => {
      const v = m.get(key);
      return v === undefined || v === "" || Number.isNaN(Number(v)) ? prev : Number(v);
    };
    const flag = (key: string, prev: boolean): boolean => {
      const v = m.get(key);
      return v === undefined || v === "" ? prev : v !== "0";
    };
    const next: LiveQueueMember = Object.freeze({
      interface: iface,
      name: (listItem ? m.get("Name") : m.get("MemberName")) ?? old?.name ?? "",
      stateInterface: m.get("StateInterface") ?? old?.stateInterface ?? "",
      status: num("Status", old?.status ?? 0),
      paused: flag("Paused", old?.paused ?? false),
      pausedReason: m.get("PausedReason") ?? old?.pausedReason ?? "",
      inCall: flag("InCall", old?.inCall ?? false),
      callsTaken: num("CallsTaken", old?.callsTaken ?? 0),
      penalty: num("Penalty", old?.penalty ?? 0),
      membership: m.get("Membership") ?? old?.membership ?? "",
    });
    if (old !== undefined && sameMember(old, next)) return;
    const members = new Map(q.members);
    members.set(iface, next);
    this.#commitQueue(q, { ...q, members }, now);
  }

  #mergeQueues(items: readonly AmiMessage[], at: number, now: number): void {
    const params = new Map<string, AmiMessage>();
    const members = new Map<string, AmiMessage[]>();
    const entries = new Map<string, AmiMessage[]>();
    const names = new Set<string>();
    for (const m of items) {
      const queue = m.get("Queue");
      if (queue === undefined || queue === "") continue;
      names.add(queue);
      if (m.name === "QueueParams") params.set(queue, m);
      else if (m.name === "QueueMember") push(members, queue, m);
      else if (m.name === "QueueEntry") push(entries, queue, m);
    }
    for (const q of [...this.#queues.values()]) {
      if (!names.has(q.name) && (this.#queueSeq.get(q.name) ?? 0) <= at) {
        this.#removeQueue(q, "vanished", now);
      }
    }
    for (const name of names) {
      const q = this.#queues.get(name) ?? this.#ensureQueue(name, at, now);
      if (q === undefined) continue;
      // No event carries QueueParams' fields: the list's are always the newest.
      const p = params.get(name);
      if (p !== undefined) {
        const next: Record<string, string> = { ...q.params };
        for (const [k, v] of p.headers) {
          if (!/^(event|actionid|queue|privilege)$/i.test(k)) next[k] = v;
        }
        if (!sameRecord(q.params, next)) {
          this.#commitQueue(q, { ...q, params: Object.freeze(next) }, now);
        }
      }
      // Members: each by its own position.
      const seqs = this.#memberSeq.get(name) ?? new Map<string, number>();
      const listedMembers = members.get(name) ?? [];
      const listedIfaces = new Set(listedMembers.map((m) => m.get("Location") ?? ""));
      const current = this.#queues.get(name) as LiveQueue;
      const kept = new Map(current.members);
      let removed = false;
      for (const iface of current.members.keys()) {
        if (!listedIfaces.has(iface) && (seqs.get(iface) ?? 0) <= at) {
          kept.delete(iface);
          seqs.delete(iface);
          removed = true;
        }
      }
      if (removed) this.#commitQueue(current, { ...current, members: kept }, now);
      for (const m of listedMembers) {
        const iface = m.get("Location") ?? "";
        if ((seqs.get(iface) ?? -1) > at) continue;
        this.#upsertMember(name, m, true, at, now);
      }
      // Callers: the whole order, unless an event moved it after the list.
      if ((this.#callersSeq.get(name) ?? -1) <= at) {
        const q2 = this.#queues.get(name) as LiveQueue;
        const listed = (entries.get(name) ?? [])
          .map((m) => ({ id: m.get("Uniqueid") ?? "", pos: Number(m.get("Position")) || 0 }))
          .filter((e) => e.id !== "" && this.#channels.has(e.id))
          .sort((a, b) => a.pos - b.pos)
          .map((e) => e.id)
          .slice(0, this.#maxCallers);
        this.#callersSeq.set(name, at);
        if (!sameList(q2.callers, listed)) this.#setCallers(q2, listed, now);
      }
    }
  }

  #removeQueue(q: LiveQueue, reason: LiveRemoveReason, now: number): void {
    for (const id of q.callers) {
      const set = this.#callerQueues.get(id);
      set?.delete(q.name);
      if (set?.size === 0) this.#callerQueues.delete(id);
    }
    this.#queues.delete(q.name);
    this.#queueSeq.delete(q.name);
    this.#memberSeq.delete(q.name);
    this.#callersSeq.delete(q.name);
    this.#push({ type: "removed", kind: "queue", record: q, previous: q, reason, at: now });
  }

  // ---- status and output ----

  #refuse(what: string, now: number): void {
    this.#refused++;
    this.#refusedSinceList = true;
    this.#setStatus("degraded", what, now);
  }

  #setStatus(status: LiveStatus, detail: string, now: number): void {
    if (this.#status === status) return;
    this.#status = status;
    this.#push({ type: "status", status, detail, at: now });
  }

  #push(c: LiveChange): void {
    if (this.#changes.length - this.#head >= this.#maxPending) {
      this.#droppedChanges++;
      this.#overflow++;
      return;
    }
    this.#changes.push(c);
  }
}

/** Raises a record's last-touched position (never lowers it: a list merged late is older). */
function bump(map: Map<string, number>, key: string, at: number): void {
  const old = map.get(key);
  if (old === undefined || old < at) map.set(key, at);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** A variable's name without the inheritance underscores (`__X` and `_X` are `X`). */
function bareName(name: string): string {
  return name.replace(/^_{1,2}/, "");
}

function sameRecord(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
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

function sameMember(a: LiveQueueMember, b: LiveQueueMember): boolean {
  return a.name === b.name && a.stateInterface === b.stateInterface && a.status === b.status &&
    a.paused === b.paused && a.pausedReason === b.pausedReason && a.inCall === b.inCall &&
    a.callsTaken === b.callsTaken && a.penalty === b.penalty && a.membership === b.membership;
}
