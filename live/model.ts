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
 * The records live in one store per kind (`_channels.ts`, `_bridges.ts`,
 * `_queues.ts`) sharing `_context.ts` (position, pending changes, status);
 * this file dispatches events and lists to them.
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
import { BridgeStore } from "./_bridges.ts";
import { type ChannelPatch, ChannelStore } from "./_channels.ts";
import { type LiveModelStats, ModelContext } from "./_context.ts";
import { QueueStore } from "./_queues.ts";
import {
  EXTRA,
  S_UNIQUEID,
  SnapshotScan,
  X_APPDATA,
  X_APPLICATION,
  X_BRIDGE_CREATOR,
  X_BRIDGE_ID,
  X_BRIDGE_NAME,
  X_BRIDGE_TECH,
  X_BRIDGE_TYPE,
  X_UNIQUEID,
  X_VALUE,
  X_VARIABLE,
} from "./_scan.ts";
import type { BridgeSnapshot } from "./_snapshot.ts";
import type {
  LiveBridge,
  LiveCall,
  LiveChange,
  LiveChannel,
  LiveListKind,
  LiveModelOptions,
  LiveQueue,
  LiveQueueMember,
  LiveStatus,
} from "./types.ts";

export type { LiveModelStats } from "./_context.ts";

/**
 * Events the model skips unread, by name (the parser gives the name without
 * splitting anything): list items, which reach the model through
 * {@link LiveModel.applyList}, and events that carry no channel snapshot in
 * Asterisk's sources and that the model has no use for (device and endpoint
 * states, CDRs, security events, OriginateResponse).
 */
const SKIPPED: ReadonlySet<string> = new Set([
  "CoreShowChannel",
  "Status",
  "BridgeListItem",
  "BridgeInfoChannel",
  "QueueParams",
  "QueueMember",
  "QueueEntry",
  "Cdr",
  "DeviceStateChange",
  "PresenceStateChange",
  "ExtensionStatus",
  "PeerStatus",
  "ContactStatus",
  "Registry",
  "FullyBooted",
  "SuccessfulAuth",
  "ChallengeSent",
  "InvalidPassword",
  "InvalidAccountID",
  "ChallengeResponseFailed",
  "OriginateResponse",
]);

/**
 * The live model of ONE server. Feed it the session's events in order with
 * {@link LiveModel.apply}, merge lists with {@link LiveModel.applyList}, pull
 * changes with {@link LiveModel.pollChange}.
 */
export class LiveModel {
  readonly #ctx: ModelContext;
  readonly #channels: ChannelStore;
  readonly #bridges: BridgeStore;
  readonly #queues: QueueStore;
  readonly #scan = new SnapshotScan();
  /** The bridge snapshot read from a scan, reused (the store keeps none of it). */
  readonly #bridgeScratch: BridgeSnapshot = {
    id: "",
    type: "",
    technology: "",
    name: "",
    creator: "",
  };

  /**
   * @param options caps and the variables allow-list
   * @param node the node (server) name stamped on every record
   */
  constructor(options: LiveModelOptions = {}, node = "") {
    this.#ctx = new ModelContext(options.maxPendingChanges ?? 100_000, node);
    this.#bridges = new BridgeStore(this.#ctx, options);
    this.#queues = new QueueStore(this.#ctx, options, (id) => this.#channels.map.has(id));
    this.#channels = new ChannelStore(this.#ctx, options, this.#bridges, this.#queues);
    this.#bridges.bind(this.#channels);
  }

  // ---- views ----

  /** Channels by Uniqueid. */
  get channels(): ReadonlyMap<string, LiveChannel> {
    return this.#channels.map;
  }

  /** Bridges by id. */
  get bridges(): ReadonlyMap<string, LiveBridge> {
    return this.#bridges.map;
  }

  /** Queues by name. */
  get queues(): ReadonlyMap<string, LiveQueue> {
    return this.#queues.map;
  }

  /** Calls by current Linkedid (built on each read: O(channels)). */
  get calls(): ReadonlyMap<string, LiveCall> {
    return this.#channels.calls();
  }

  /**
   * The channel now named `name`, if any.
   *
   * @param name a channel name
   * @returns the channel, or `undefined`
   */
  byName(name: string): LiveChannel | undefined {
    return this.#channels.byName(name);
  }

  /**
   * A queue's members that can take a call now: not paused, not in a call,
   * device not in use (status 1).
   *
   * @param queue the queue's name
   * @returns the members, in the queue's order (empty for an unknown queue)
   */
  freeMembers(queue: string): LiveQueueMember[] {
    return this.#queues.freeMembers(queue);
  }

  /** How many events were applied: read it when a list completes, pass it to {@link applyList}. */
  get position(): number {
    return this.#ctx.seq;
  }

  /** `ok`, or `degraded` after a cap refused a record. */
  get status(): LiveStatus {
    return this.#ctx.status;
  }

  /** What the model absorbed, refused and dropped. */
  get stats(): LiveModelStats {
    return this.#ctx.stats();
  }

  // ---- outputs ----

  /**
   * The next change, in the order it happened; `undefined` when none is left.
   * Drain it after every input (or batch of inputs).
   */
  pollChange(): LiveChange | undefined {
    return this.#ctx.poll();
  }

  // ---- inputs ----

  /**
   * Applies one event of the session, in wire order.
   *
   * @param event the event (list items are ignored here: see {@link applyList})
   * @param now monotonic milliseconds, stamped on changes
   */
  apply(event: AmiMessage, now: number): void {
    const at = ++this.#ctx.seq;
    const name = event.name;
    if (SKIPPED.has(name)) return;
    const channels = this.#channels;
    switch (name) {
      case "Rename": {
        const id = event.get("Uniqueid");
        const newName = event.get("Newname");
        const old = id === undefined ? undefined : channels.map.get(id);
        if (old !== undefined && newName !== undefined) {
          channels.commit(old, { ...old, name: newName }, at, now);
        }
        return;
      }
      case "BridgeMerge": {
        this.#bridges.merged(event, at, now);
        return;
      }
    }
    // One pass over the event's lines; what follows reads the scan.
    const scan = this.#scan;
    scan.read(event);
    switch (name) {
      case "Hangup": {
        const id = scan.value(EXTRA, X_UNIQUEID);
        if (id !== undefined && id !== "") {
          channels.hangup(
            id,
            Number(event.get("Cause")) || 0,
            event.get("Cause-txt") ?? "",
            at,
            now,
          );
        }
        for (let i = 0; i < scan.groups; i++) {
          const g = scan.group(i);
          if (g !== 0) channels.scanned(scan, g, undefined, at, now);
        }
        return;
      }
      case "BridgeDestroy": {
        const id = scan.value(EXTRA, X_BRIDGE_ID);
        if (id !== undefined && id !== "") this.#bridges.remove(id, "destroyed", at, now);
        return;
      }
    }
    let patch: ChannelPatch | undefined;
    switch (name) {
      case "BridgeCreate":
      case "BridgeEnter":
      case "BridgeLeave": {
        const b = this.#readBridge(scan);
        if (b === undefined) break;
        const known = this.#bridges.upsert(b, at, now);
        if (name === "BridgeEnter") patch = { bridgeId: known ? b.id : null };
        else if (name === "BridgeLeave") {
          const id = scan.value(EXTRA, X_UNIQUEID);
          const ch = id === undefined ? undefined : channels.map.get(id);
          if (ch?.bridgeId === b.id) patch = { bridgeId: null };
        }
        break;
      }
      case "Newexten":
        patch = {
          application: scan.value(EXTRA, X_APPLICATION) ?? "",
          appData: scan.value(EXTRA, X_APPDATA) ?? "",
        };
        break;
      case "VarSet": {
        const v = scan.value(EXTRA, X_VARIABLE);
        if (v !== undefined) patch = { variable: [v, scan.value(EXTRA, X_VALUE) ?? ""] };
        break;
      }
    }
    // The plain snapshot first (with the patch), then the prefixed ones in header order.
    if (scan.has(0, S_UNIQUEID)) channels.scanned(scan, 0, patch, at, now);
    for (let i = 0; i < scan.groups; i++) {
      const g = scan.group(i);
      if (g !== 0) channels.scanned(scan, g, undefined, at, now);
    }
    if (name.startsWith("Queue")) this.#queues.event(name, event, at, now);
  }

  /** The scanned bridge snapshot (as `readBridge(event, "")`), values the record's when equal. */
  #readBridge(scan: SnapshotScan): BridgeSnapshot | undefined {
    const id = scan.value(EXTRA, X_BRIDGE_ID);
    if (id === undefined || id === "") return undefined;
    const old = this.#bridges.map.get(id);
    const b = this.#bridgeScratch;
    b.id = id;
    b.type = pickExtra(scan, X_BRIDGE_TYPE, old?.type);
    b.technology = pickExtra(scan, X_BRIDGE_TECH, old?.technology);
    b.name = pickExtra(scan, X_BRIDGE_NAME, old?.name);
    b.creator = pickExtra(scan, X_BRIDGE_CREATOR, old?.creator);
    return b;
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
    if (!(at >= 0 && at <= this.#ctx.seq)) {
      throw new RangeError(`list position ${at} is not within 0..${this.#ctx.seq}`);
    }
    if (kind === "channels") this.#channels.merge(items, at, now);
    else if (kind === "bridges") this.#bridges.merge(items, at, now);
    else this.#queues.merge(items, at, now);
  }

  /**
   * Removes every record (reason `serverRestart`) and forgets the tombstones
   * (a restarted server reuses Uniqueids). Call it when the server restarted,
   * before the new session's events.
   *
   * @param _reason why: the server restarted
   * @param now monotonic milliseconds
   */
  purge(_reason: "serverRestart", now: number): void {
    this.#channels.purge(now);
    this.#bridges.purge(now);
    this.#queues.purge(now);
    this.#ctx.refusedSinceList = false;
    this.#ctx.setStatus("ok", "purged", now);
  }
}

/** A scanned header of the EXTRA group: absent is `""`, the record's value when equal, else a slice. */
function pickExtra(scan: SnapshotScan, field: number, old: string | undefined): string {
  if (!scan.has(EXTRA, field)) return "";
  if (old !== undefined && scan.equals(EXTRA, field, old)) return old;
  return scan.value(EXTRA, field) as string;
}
