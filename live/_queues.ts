/**
 * The live model's queues: records by name with their members (by
 * interface) and callers (in position order), the queue events, and the
 * merge of a QueueStatus list.
 *
 * @module
 */

import type { AmiMessage } from "../core/message.ts";
import { bump, EMPTY_VARS, type ModelContext, sameRecord } from "./_context.ts";
import type { LiveModelOptions, LiveQueue, LiveQueueMember, LiveRemoveReason } from "./types.ts";

const MEMBER_EVENTS: ReadonlySet<string> = new Set([
  "QueueMemberAdded",
  "QueueMemberStatus",
  "QueueMemberPause",
  "QueueMemberPaused",
  "QueueMemberPenalty",
  "QueueMemberRinginuse",
]);

/** The queues of one server's model. */
export class QueueStore {
  readonly #ctx: ModelContext;
  readonly #hasChannel: (id: string) => boolean;
  readonly #max: number;
  readonly #maxMembers: number;
  readonly #maxCallers: number;
  readonly #queues = new Map<string, LiveQueue>();
  readonly #queueSeq = new Map<string, number>();
  readonly #memberSeq = new Map<string, Map<string, number>>();
  readonly #callersSeq = new Map<string, number>();
  /** Uniqueid -> the queues it waits in. */
  readonly #callerQueues = new Map<string, Set<string>>();

  /**
   * @param ctx the model's shared state
   * @param options the caps
   * @param hasChannel whether the model holds a channel (callers must be held channels)
   */
  constructor(ctx: ModelContext, options: LiveModelOptions, hasChannel: (id: string) => boolean) {
    this.#ctx = ctx;
    this.#hasChannel = hasChannel;
    this.#max = options.maxQueues ?? 1_000;
    this.#maxMembers = options.maxQueueMembers ?? 1_000;
    this.#maxCallers = options.maxQueueCallers ?? 1_000;
  }

  /** Queues by name. */
  get map(): ReadonlyMap<string, LiveQueue> {
    return this.#queues;
  }

  /** A queue's members that can take a call now: not paused, not in a call, status 1. */
  freeMembers(queue: string): LiveQueueMember[] {
    const q = this.#queues.get(queue);
    if (q === undefined) return [];
    return [...q.members.values()].filter((m) => !m.paused && !m.inCall && m.status === 1);
  }

  /** Applies a `Queue*` event (joins, leaves, member changes; any other creates the queue). */
  event(name: string, m: AmiMessage, at: number, now: number): void {
    const queue = m.get("Queue");
    if (queue === undefined || queue === "") return;
    if (name === "QueueCallerJoin") {
      const id = m.get("Uniqueid");
      if (id === undefined || !this.#hasChannel(id)) {
        // A caller the model does not hold (ended, refused): the queue is still seen.
        this.#ensure(queue, at, now);
        return;
      }
      this.#addCaller(queue, id, Number(m.get("Position")) || Infinity, at, now);
    } else if (name === "QueueCallerLeave" || name === "QueueCallerAbandon") {
      const id = m.get("Uniqueid");
      if (this.#ensure(queue, at, now) !== undefined && id !== undefined) {
        this.#removeCaller(queue, id, at, now, true);
      }
    } else if (MEMBER_EVENTS.has(name)) {
      this.#upsertMember(queue, m, false, at, now);
    } else if (name === "QueueMemberRemoved") {
      const iface = m.get("Interface");
      const q = this.#ensure(queue, at, now);
      if (q === undefined || iface === undefined) return;
      this.#memberSeq.get(queue)?.set(iface, at);
      if (!q.members.has(iface)) return;
      const members = new Map(q.members);
      members.delete(iface);
      this.#memberSeq.get(queue)?.delete(iface);
      this.#commit(q, { ...q, members }, now);
    } else {
      this.#ensure(queue, at, now);
    }
  }

  /** An ended channel leaves every queue it waits in. */
  forgetCaller(id: string, at: number, now: number): void {
    const queues = this.#callerQueues.get(id);
    if (queues === undefined) return;
    for (const q of [...queues]) this.#removeCaller(q, id, at, now, false);
  }

  /** Merges a QueueStatus list (QueueParams, QueueMember, QueueEntry) at its position. */
  merge(items: readonly AmiMessage[], at: number, now: number): void {
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
        this.#remove(q, "vanished", now);
      }
    }
    for (const name of names) {
      const q = this.#queues.get(name) ?? this.#ensure(name, at, now);
      if (q === undefined) continue;
      // No event carries QueueParams' fields: the list's are always the newest.
      const p = params.get(name);
      if (p !== undefined) {
        const next: Record<string, string> = { ...q.params };
        for (const [k, v] of p.headers) {
          if (!/^(event|actionid|queue|privilege)$/i.test(k)) next[k] = v;
        }
        if (!sameRecord(q.params, next)) {
          this.#commit(q, { ...q, params: Object.freeze(next) }, now);
        }
      }
      this.#mergeMembers(name, members.get(name) ?? [], at, now);
      // Callers: the whole order, unless an event moved it after the list.
      if ((this.#callersSeq.get(name) ?? -1) <= at) {
        const q2 = this.#queues.get(name) as LiveQueue;
        const listed = (entries.get(name) ?? [])
          .map((m) => ({ id: m.get("Uniqueid") ?? "", pos: Number(m.get("Position")) || 0 }))
          .filter((e) => e.id !== "" && this.#hasChannel(e.id))
          .sort((a, b) => a.pos - b.pos)
          .map((e) => e.id)
          .slice(0, this.#maxCallers);
        this.#callersSeq.set(name, at);
        if (!sameList(q2.callers, listed)) this.#setCallers(q2, listed, now);
      }
    }
  }

  /** Emits `removed` for every queue (reason `serverRestart`) and forgets everything. */
  purge(now: number): void {
    for (const q of this.#queues.values()) {
      this.#ctx.removed("queue", q, "serverRestart", now);
    }
    this.#queues.clear();
    this.#queueSeq.clear();
    this.#memberSeq.clear();
    this.#callersSeq.clear();
    this.#callerQueues.clear();
  }

  /** Members of a listed queue: each by its own position. */
  #mergeMembers(name: string, listedMembers: AmiMessage[], at: number, now: number): void {
    const seqs = this.#memberSeq.get(name) ?? new Map<string, number>();
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
    if (removed) this.#commit(current, { ...current, members: kept }, now);
    for (const m of listedMembers) {
      const iface = m.get("Location") ?? "";
      if ((seqs.get(iface) ?? -1) > at) continue;
      this.#upsertMember(name, m, true, at, now);
    }
  }

  #ensure(name: string, at: number, now: number): LiveQueue | undefined {
    bump(this.#queueSeq, name, at);
    const q = this.#queues.get(name);
    if (q !== undefined) return q;
    if (this.#queues.size >= this.#max) {
      this.#queueSeq.delete(name);
      this.#ctx.refuse("maxQueues", now);
      return undefined;
    }
    const rec: LiveQueue = Object.freeze({
      node: this.#ctx.node,
      name,
      params: EMPTY_VARS,
      members: new Map(),
      callers: [],
    });
    this.#queues.set(name, rec);
    this.#memberSeq.set(name, new Map());
    this.#ctx.push({
      type: "added",
      kind: "queue",
      record: rec,
      previous: undefined,
      reason: undefined,
      at: now,
    });
    return rec;
  }

  #commit(old: LiveQueue, next: LiveQueue, now: number): void {
    const rec = Object.freeze(next);
    this.#queues.set(rec.name, rec);
    this.#ctx.push({
      type: "updated",
      kind: "queue",
      record: rec,
      previous: old,
      reason: undefined,
      at: now,
    });
  }

  #addCaller(queue: string, id: string, position: number, at: number, now: number): void {
    const q = this.#ensure(queue, at, now);
    if (q === undefined) return;
    this.#callersSeq.set(queue, at);
    const callers = q.callers.filter((c) => c !== id);
    if (callers.length >= this.#maxCallers) {
      this.#ctx.refuse("maxQueueCallers", now);
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
    this.#commit(q, { ...q, callers: Object.freeze(callers) }, now);
  }

  /** Upserts a member from an event (MemberName/Interface) or a list item (Name/Location). */
  #upsertMember(queue: string, m: AmiMessage, listItem: boolean, at: number, now: number): void {
    const iface = listItem ? m.get("Location") : m.get("Interface");
    if (iface === undefined || iface === "") return;
    const q = this.#ensure(queue, at, now);
    if (q === undefined) return;
    const seqs = this.#memberSeq.get(queue);
    if (seqs !== undefined) bump(seqs, iface, at);
    const old = q.members.get(iface);
    if (old === undefined && q.members.size >= this.#maxMembers) {
      this.#memberSeq.get(queue)?.delete(iface);
      this.#ctx.refuse("maxQueueMembers", now);
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
      node: this.#ctx.node,
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
    this.#commit(q, { ...q, members }, now);
  }

  #remove(q: LiveQueue, reason: LiveRemoveReason, now: number): void {
    for (const id of q.callers) {
      const set = this.#callerQueues.get(id);
      set?.delete(q.name);
      if (set?.size === 0) this.#callerQueues.delete(id);
    }
    this.#queues.delete(q.name);
    this.#queueSeq.delete(q.name);
    this.#memberSeq.delete(q.name);
    this.#callersSeq.delete(q.name);
    this.#ctx.removed("queue", q, reason, now);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameMember(a: LiveQueueMember, b: LiveQueueMember): boolean {
  return a.name === b.name && a.stateInterface === b.stateInterface && a.status === b.status &&
    a.paused === b.paused && a.pausedReason === b.pausedReason && a.inCall === b.inCall &&
    a.callsTaken === b.callsTaken && a.penalty === b.penalty && a.membership === b.membership;
}
