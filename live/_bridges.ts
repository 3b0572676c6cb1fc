/**
 * The live model's bridges: records by id with their members, the
 * tombstones of destroyed ids, BridgeMerge, and the merge of a bridges list.
 *
 * @module
 */

import type { AmiMessage } from "../core/message.ts";
import { own } from "./_channels.ts";
import { bump, type ModelContext } from "./_context.ts";
import { type BridgeSnapshot, readBridge, TombstoneRing } from "./_snapshot.ts";
import type { LiveBridge, LiveChannel, LiveModelOptions, LiveRemoveReason } from "./types.ts";

/** What the bridges need of the channels. */
export interface BridgeChannels {
  /** Channels by Uniqueid. */
  readonly map: ReadonlyMap<string, LiveChannel>;
  /** Stores a channel's new record. */
  commit(old: LiveChannel | undefined, next: LiveChannel, at: number, now: number): void;
  /** A channel's bridge is gone. */
  leaveBridge(id: string, bridgeId: string, now: number): void;
}

/** The bridges of one server's model. */
export class BridgeStore {
  readonly #ctx: ModelContext;
  readonly #max: number;
  readonly #bridges = new Map<string, LiveBridge>();
  readonly #seq = new Map<string, number>();
  readonly #tomb: TombstoneRing;
  #channels: BridgeChannels | undefined;

  /**
   * @param ctx the model's shared state
   * @param options the caps
   */
  constructor(ctx: ModelContext, options: LiveModelOptions) {
    this.#ctx = ctx;
    this.#max = options.maxBridges ?? 10_000;
    this.#tomb = new TombstoneRing(options.tombstones ?? 4_096);
  }

  /** Gives the store the channels (made after it: each needs the other). */
  bind(channels: BridgeChannels): void {
    this.#channels = channels;
  }

  /** Bridges by id. */
  get map(): ReadonlyMap<string, LiveBridge> {
    return this.#bridges;
  }

  /** Makes sure a bridge record exists (a placeholder when only its id is known). */
  ensure(id: string, at: number, now: number): boolean {
    if (this.#bridges.has(id)) return true;
    return this.upsert({ id, type: "", technology: "", name: "", creator: "" }, at, now);
  }

  /** Inserts or updates a bridge; `false` when refused or destroyed. */
  upsert(b: BridgeSnapshot, at: number, now: number): boolean {
    if (this.#tomb.has(b.id)) {
      this.#ctx.absorbed++;
      return false;
    }
    const old = this.#bridges.get(b.id);
    if (old === undefined && this.#bridges.size >= this.#max) {
      this.#ctx.refuse("maxBridges", now);
      return false;
    }
    bump(this.#seq, b.id, at);
    // A placeholder's empty fields do not overwrite known ones.
    if (
      old !== undefined && (b.type || old.type) === old.type &&
      (b.technology || old.technology) === old.technology && (b.name || old.name) === old.name &&
      (b.creator || old.creator) === old.creator
    ) return true;
    const next: LiveBridge = {
      node: this.#ctx.node,
      id: old?.id ?? own(b.id),
      type: old?.type === b.type ? old.type : own(b.type || old?.type || ""),
      technology: old?.technology === b.technology
        ? old.technology
        : own(b.technology || old?.technology || ""),
      name: old?.name === b.name ? old.name : own(b.name || old?.name || ""),
      creator: old?.creator === b.creator ? old.creator : own(b.creator || old?.creator || ""),
      members: old?.members ?? [],
    };
    if (
      old !== undefined && old.type === next.type && old.technology === next.technology &&
      old.name === next.name && old.creator === next.creator
    ) return true;
    this.#commit(old, next, now);
    return true;
  }

  /** Adds or removes a member of a known bridge. */
  members(id: string, member: string, join: boolean, at: number, now: number): void {
    const old = this.#bridges.get(id);
    if (old === undefined) return;
    const has = old.members.includes(member);
    if (has === join) return;
    bump(this.#seq, id, at);
    const members = join ? [...old.members, member] : old.members.filter((m) => m !== member);
    this.#commit(old, { ...old, members: Object.freeze(members) }, now);
  }

  /** Removes a bridge (its members lose their bridge id); the id is ended for good. */
  remove(id: string, reason: LiveRemoveReason, at: number, now: number): void {
    this.#tomb.add(id, at);
    const old = this.#bridges.get(id);
    if (old === undefined) return;
    for (const member of old.members) this.#channels?.leaveBridge(member, id, now);
    this.#bridges.delete(id);
    this.#seq.delete(id);
    this.#ctx.removed("bridge", old, reason, now);
  }

  /** A BridgeMerge: the From bridge's members move to the To bridge. */
  merged(m: AmiMessage, at: number, now: number): void {
    const to = readBridge(m, "To");
    const from = readBridge(m, "From");
    if (to === undefined || from === undefined) return;
    if (!this.upsert(to, at, now)) return;
    const src = this.#bridges.get(from.id);
    const channels = this.#channels;
    if (src === undefined || channels === undefined) return;
    for (const member of src.members) {
      const ch = channels.map.get(member);
      if (ch !== undefined) channels.commit(ch, { ...ch, bridgeId: to.id }, at, now);
    }
  }

  /** Merges a bridges list (BridgeListItem items) at its position. */
  merge(items: readonly AmiMessage[], at: number, now: number): void {
    const listed = new Map<string, BridgeSnapshot>();
    for (const m of items) {
      const b = readBridge(m, "");
      if (b !== undefined) listed.set(b.id, b);
    }
    for (const id of [...this.#bridges.keys()]) {
      if (!listed.has(id) && (this.#seq.get(id) ?? 0) <= at) {
        this.remove(id, "vanished", this.#ctx.seq, now);
      }
    }
    for (const [id, b] of listed) {
      if ((this.#seq.get(id) ?? -1) > at) continue;
      this.upsert(b, at, now);
    }
  }

  /** Emits `removed` for every bridge (reason `serverRestart`) and forgets everything. */
  purge(now: number): void {
    for (const b of this.#bridges.values()) {
      this.#ctx.removed("bridge", b, "serverRestart", now);
    }
    this.#bridges.clear();
    this.#seq.clear();
    this.#tomb.clear();
  }

  #commit(old: LiveBridge | undefined, next: LiveBridge, now: number): void {
    const rec = Object.freeze(next);
    this.#bridges.set(rec.id, rec);
    this.#ctx.push({
      type: old === undefined ? "added" : "updated",
      kind: "bridge",
      record: rec,
      previous: old,
      reason: undefined,
      at: now,
    });
  }
}
