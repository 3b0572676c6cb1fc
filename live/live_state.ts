/**
 * The live model bound to a {@link Client}: every event of the client feeds a
 * {@link LiveModel}, each (re)connect runs the lists that repair it, and the
 * model's changes go to listeners.
 *
 * @module
 */

import type { Client, StateChange } from "../client/client.ts";
import type { Cluster } from "../client/cluster.ts";
import type { Clock } from "../client/clock.ts";
import { ActionError, ConnectError, NotReadyError } from "../core/errors.ts";
import type { AmiMessage } from "../core/message.ts";
import { type ActionFields, fieldEntries } from "../core/serializer.ts";
import { type LiveClusterState, LiveClusterStateImpl } from "./live_cluster.ts";
import { LiveModel, type LiveModelStats } from "./model.ts";
import { AutoResync, type ResyncAction } from "./_resync.ts";
import { hiddenEvents, LiveEventsHiddenError } from "./_requirements.ts";
import {
  type LiveOriginateHandle,
  type LiveOriginateOptions,
  MAX_CHANNEL_ID,
  OriginateCall,
  OriginateRefusedError,
  OriginateRegistry,
} from "./_originate.ts";
import type {
  LiveBridge,
  LiveBridgeChange,
  LiveCall,
  LiveChannel,
  LiveChannelChange,
  LiveListKind,
  LiveModelOptions,
  LiveQueue,
  LiveQueueChange,
  LiveQueueMember,
  LiveStatus,
} from "./types.ts";

/**
 * Whether the view follows the server: `syncing` (the client is ready, the
 * lists are running), `live` (the lists merged; events keep it current) or
 * `stale` (the client is not ready: the model is kept as it was, unchanged).
 */
export type LiveSyncStatus = "syncing" | "live" | "stale";

/** What `on("status")` listeners receive: the sync status or the model's health changed. */
export interface LiveStateStatus {
  /** Always `status`. */
  readonly type: "status";
  /** The node (the client's `node` name). */
  readonly node: string;
  /** The sync status. */
  readonly status: LiveSyncStatus;
  /** The model's health: `degraded` once a cap refused a record. */
  readonly health: LiveStatus;
  /** The client clock's time when `status` last changed. */
  readonly since: number;
  /** Why (a client state, a sync error, what a cap refused), or `""`. */
  readonly detail: string;
}

/** Options of {@link createLiveState}: the model's caps and allow-list, and the sync's. */
export interface LiveStateOptions extends LiveModelOptions {
  /** Deadline of each list action, ms. Default the client's action deadline. */
  readonly listTimeoutMs?: number;
  /** Delay before a failed sync is tried again while the client stays ready, ms. Default 5,000. */
  readonly retryMs?: number;
  /**
   * Resync by itself when the session dropped events (`Client.onDrops`) or
   * the model turned `degraded`. Default `true`.
   */
  readonly autoResync?: boolean;
  /**
   * The least time between the starts of two automatic resyncs, ms (at most
   * one sync runs at a time; a flood of drops cannot loop). Default 10,000.
   */
  readonly autoResyncIntervalMs?: number;
  /** Run `QueueStatus` in each sync (skipped for good if the server refuses it). Default `true`. */
  readonly queues?: boolean;
  /** Originate handles open at once; {@link LiveState.originate} refuses beyond. Default 1,000. */
  readonly maxOriginates?: number;
  /**
   * The start of each generated `ChannelId` (a sequence number follows).
   * Default `amikit-<n>-<clock time in base 36>-`, unique within this
   * process; give one unique across processes (a host name, a random id)
   * when several processes originate on one server.
   */
  readonly channelIdPrefix?: string;
}

/** Options of {@link LiveState.synced}. */
export interface LiveSyncedOptions {
  /** How long to wait, ms (client clock). Default 30,000. */
  readonly timeoutMs?: number;
}

/** Counters of a live state, as a plain snapshot. */
export interface LiveStateStats extends LiveModelStats {
  /** The sync status. */
  readonly status: LiveSyncStatus;
  /** Syncs that merged every list. */
  readonly syncs: number;
  /** Syncs that failed while the client stayed ready (each is retried). */
  readonly syncFailures: number;
  /** Server restarts detected (the model was purged). */
  readonly restarts: number;
  /** Listener exceptions (isolated: counted, never rethrown). */
  readonly listenerErrors: number;
  /** Resyncs started by drops or a degraded model ({@link LiveStateOptions.autoResync}). */
  readonly autoResyncs: number;
  /** Lists whose item count differed from their `ListItems` (not merged; the sync is tried again). */
  readonly shortLists: number;
  /** Events the session dropped (from its drop summaries): each summary asks for a resync. */
  readonly eventDrops: number;
  /** Lists whose position was past the events applied (a queue dropped events), merged at the last event. */
  readonly clampedLists: number;
  /** Originate handles still open. */
  readonly originates: number;
  /** Actions the server refused, no longer sent (`QueueStatus` without app_queue, `CoreStatus` without the `system` class). */
  readonly unsupported: readonly string[];
}

/**
 * What a live state of one server and of a cluster have in common: the
 * views, the listeners, `synced`, `resync` and `close`.
 */
export interface LiveView {
  /** The sync status (see {@link LiveSyncStatus}). */
  readonly status: LiveSyncStatus;
  /** The model's health: `degraded` once a cap refused a record, until a channels list merges clean. */
  readonly health: LiveStatus;
  /** Channels by Uniqueid. */
  readonly channels: ReadonlyMap<string, LiveChannel>;
  /** Bridges by id. */
  readonly bridges: ReadonlyMap<string, LiveBridge>;
  /** Calls (channels sharing a Linkedid) by Linkedid, built on each read. */
  readonly calls: ReadonlyMap<string, LiveCall>;
  /** Queues by name. */
  readonly queues: ReadonlyMap<string, LiveQueue>;
  /**
   * The channel now called `name`.
   *
   * @param name the channel name
   * @returns the channel, or `undefined`
   */
  byName(name: string): LiveChannel | undefined;
  /**
   * The members of `queue` that are not paused, not in a call and not in use.
   *
   * @param queue the queue's name
   * @returns the members (a new array)
   */
  freeMembers(queue: string): LiveQueueMember[];
  /**
   * Observes channel changes (added, updated, removed with a reason).
   *
   * @param kind `channel`
   * @param listener called with each change, synchronously, in wire order
   * @returns a function that removes the listener
   */
  on(kind: "channel", listener: (change: LiveChannelChange) => void): () => void;
  /**
   * Observes bridge changes.
   *
   * @param kind `bridge`
   * @param listener called with each change
   * @returns a function that removes the listener
   */
  on(kind: "bridge", listener: (change: LiveBridgeChange) => void): () => void;
  /**
   * Observes queue changes.
   *
   * @param kind `queue`
   * @param listener called with each change
   * @returns a function that removes the listener
   */
  on(kind: "queue", listener: (change: LiveQueueChange) => void): () => void;
  /**
   * Observes the sync status and the model's health.
   *
   * @param kind `status`
   * @param listener called with each change
   * @returns a function that removes the listener
   */
  on(kind: "status", listener: (change: LiveStateStatus) => void): () => void;
  /**
   * Resolves when the view is `live`: at once if it is, else when the next
   * sync merged (the first one, after a reconnect the next one).
   *
   * @param options how long to wait
   * @returns a promise of nothing
   * @throws {NotReadyError} not live within `timeoutMs`
   * @throws {ConnectError} the client or the live state closed first (`reason: "closed"`)
   */
  synced(options?: LiveSyncedOptions): Promise<void>;
  /** Runs the lists again (say, after `health` turned `degraded`); nothing when the client is not ready. */
  resync(): void;
  /** Detaches from the client (every listener removed, no timer left); the views stay readable. Idempotent. */
  close(): void;
}

/**
 * A live view of one server's channels, bridges, calls and queues, kept by
 * the client's events and repaired by lists at each (re)connect. Made by
 * {@link createLiveState}.
 */
export interface LiveState extends LiveView {
  /** The client clock's time when {@link LiveState.status} last changed. */
  readonly since: number;
  /**
   * Sends an async Originate tagged with a `ChannelId` and returns its
   * handle at once. The channels whose Uniqueid is the ChannelId (or the
   * given `OtherChannelId`) or whose Linkedid is the ChannelId (the channels
   * the call creates or dials) belong to the handle; it ends once the
   * Originate settled and none of them is left (or at its deadline, or on
   * {@link LiveState.close}), then it is dropped. `Async` is set to `true`;
   * `ChannelId` is generated unless given; `OtherChannelId` is sent only if
   * given (Asterisk then names the second channel `<ChannelId>;2`). The
   * Originate is never retried: a connection lost after it was written ends
   * `unknown`; one never written ends `failed` with the error attached
   * (nothing was sent).
   *
   * @param fields the Originate's fields (`Channel`, and `Exten`/`Context` or `Application`)
   * @param options the handle's inactivity deadline and the action's deadline
   * @returns the handle
   * @throws {OriginateRefusedError} `Async` false, a ChannelId in use (a tracked channel or an
   *   open handle) or longer than 149 characters, `maxOriginates` handles open, or closed;
   *   nothing was sent
   */
  originate(fields: ActionFields, options?: LiveOriginateOptions): LiveOriginateHandle;
  /**
   * The counters.
   *
   * @returns a new object
   */
  stats(): LiveStateStats;
}

/** Added to the Originate's ring timeout for the action's deadline, and to that for the handle's. */
const ORIGINATE_GRACE_MS = 30_000;
let liveStates = 0;

/** Seconds of slack when telling a restart from rounding and latency in FullyBooted's Uptime. */
const RESTART_SLACK_S = 2;

type Kind = "channel" | "bridge" | "queue" | "status";
// deno-lint-ignore no-explicit-any
type AnyListener = (change: any) => void;

/** Thrown inside a sync that a newer sync or a disconnect made pointless. */
const SUPERSEDED: unique symbol = Symbol("superseded");

/** The live state of one client (exported for the cluster's live state only). */
export class LiveStateImpl implements LiveState {
  readonly #client: Client;
  readonly #clock: Clock;
  readonly #model: LiveModel;
  readonly #listTimeoutMs: number | undefined;
  readonly #retryMs: number;
  readonly #wantQueues: boolean;
  readonly #listeners: Record<Kind, AnyListener[]> = {
    channel: [],
    bridge: [],
    queue: [],
    status: [],
  };
  readonly #offEvent: () => void;
  readonly #offState: () => void;
  readonly #offDrops: () => void;
  readonly #auto: AutoResync | undefined;
  /** When a failed sync is tried again, if it is to be. */
  #retryAt: number | undefined;
  /** The one timer, armed for the earliest of `#retryAt` and the auto policy's deadline. */
  #timer: unknown = undefined;
  #timerAt: number | undefined;
  #autoResyncs = 0;
  #shortLists = 0;
  #eventDrops = 0;
  #status: LiveSyncStatus = "stale";
  #since: number;
  #detail = "";
  #gen = 0;
  #closed = false;
  #clientClosed = false;
  #waiters = new Set<{ resolve(): void; reject(e: Error): void }>();
  #lastUptime: number | undefined;
  #lastUptimeAt = 0;
  #startupKey: string | undefined;
  readonly #unsupported = new Set<string>();
  #syncs = 0;
  #syncFailures = 0;
  #restarts = 0;
  #listenerErrors = 0;
  #clamped = 0;
  readonly #originates: OriginateRegistry;
  readonly #maxOriginates: number;
  readonly #idPrefix: string;
  #idSeq = 0;

  constructor(client: Client, options: LiveStateOptions) {
    const hidden = hiddenEvents(client, options.queues ?? true);
    if (hidden.length > 0) throw new LiveEventsHiddenError(client.node, hidden);
    this.#client = client;
    this.#clock = client.clock;
    this.#model = new LiveModel(options, client.node);
    this.#listTimeoutMs = options.listTimeoutMs;
    this.#retryMs = options.retryMs ?? 5_000;
    this.#wantQueues = options.queues ?? true;
    this.#since = this.#clock.now();
    this.#originates = new OriginateRegistry(this.#clock);
    this.#maxOriginates = options.maxOriginates ?? 1_000;
    this.#idPrefix = options.channelIdPrefix ??
      `amikit-${++liveStates}-${Math.floor(this.#since).toString(36)}-`;
    this.#offEvent = client.on("*", (event) => this.#onEvent(event));
    this.#offState = client.onStateChange((change) => this.#onState(change));
    this.#auto = options.autoResync === false
      ? undefined
      : new AutoResync(options.autoResyncIntervalMs ?? 10_000);
    this.#offDrops = client.onDrops((notice) => {
      this.#eventDrops += notice.dropped;
      this.#wantResync();
    });
    if (client.state === "ready") this.#scheduleSync();
    else if (client.state === "closed") this.#clientClosed = true;
  }

  get status(): LiveSyncStatus {
    return this.#status;
  }
  get since(): number {
    return this.#since;
  }
  get health(): LiveStatus {
    return this.#model.status;
  }
  get channels(): ReadonlyMap<string, LiveChannel> {
    return this.#model.channels;
  }
  get bridges(): ReadonlyMap<string, LiveBridge> {
    return this.#model.bridges;
  }
  get calls(): ReadonlyMap<string, LiveCall> {
    return this.#model.calls;
  }
  get queues(): ReadonlyMap<string, LiveQueue> {
    return this.#model.queues;
  }
  byName(name: string): LiveChannel | undefined {
    return this.#model.byName(name);
  }
  freeMembers(queue: string): LiveQueueMember[] {
    return this.#model.freeMembers(queue);
  }

  on(kind: Kind, listener: AnyListener): () => void {
    this.#listeners[kind] = [...this.#listeners[kind], listener];
    return () => {
      this.#listeners[kind] = this.#listeners[kind].filter((l) => l !== listener);
    };
  }

  synced(options: LiveSyncedOptions = {}): Promise<void> {
    if (this.#closed || this.#clientClosed) return Promise.reject(this.#closedError());
    if (this.#status === "live") return Promise.resolve();
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      let timer: unknown = undefined;
      const w = {
        resolve: () => {
          this.#clock.clearTimer(timer);
          resolve();
        },
        reject: (e: Error) => {
          this.#clock.clearTimer(timer);
          reject(e);
        },
      };
      this.#waiters.add(w);
      if (timeoutMs !== Infinity) {
        timer = this.#clock.setTimer(timeoutMs, () => {
          this.#waiters.delete(w);
          reject(new NotReadyError([this.#client.node], timeoutMs));
        });
      }
    });
  }

  resync(): void {
    if (!this.#closed && this.#client.state === "ready") this.#scheduleSync();
  }

  stats(): LiveStateStats {
    return {
      ...this.#model.stats,
      status: this.#status,
      syncs: this.#syncs,
      syncFailures: this.#syncFailures,
      restarts: this.#restarts,
      listenerErrors: this.#listenerErrors,
      clampedLists: this.#clamped,
      autoResyncs: this.#autoResyncs,
      shortLists: this.#shortLists,
      eventDrops: this.#eventDrops,
      originates: this.#originates.size,
      unsupported: [...this.#unsupported],
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#status = "stale";
    this.#gen++;
    this.#offEvent();
    this.#offState();
    this.#offDrops();
    this.#retryAt = undefined;
    this.#auto?.reset();
    this.#arm();
    for (const k of Object.keys(this.#listeners) as Kind[]) this.#listeners[k] = [];
    this.#rejectWaiters();
    this.#originates.close();
  }

  originate(fields: ActionFields, options: LiveOriginateOptions = {}): LiveOriginateHandle {
    if (this.#closed) throw new OriginateRefusedError("closed", "the live state was closed");
    if (this.#originates.size >= this.#maxOriginates) {
      throw new OriginateRefusedError(
        "tooMany",
        `${this.#originates.size} handles open (maxOriginates ${this.#maxOriginates})`,
      );
    }
    const entries: Array<[string, string]> = [];
    let channelId: string | undefined;
    let otherId: string | undefined;
    let ringMs = 30_000;
    for (const [k, v] of fieldEntries(fields)) {
      const key = k.toLowerCase();
      if (key === "async") {
        if (!/^(true|yes|1|y|t|on)$/i.test(v.trim())) {
          throw new OriginateRefusedError("notAsync", `Async: ${v} (a handle needs Async: true)`);
        }
        continue;
      }
      if (key === "channelid") channelId = v;
      else if (key === "otherchannelid") otherId = v;
      else if (key === "timeout" && Number(v) > 0) ringMs = Number(v);
      if (key !== "channelid") entries.push([k, v]);
    }
    if (channelId === undefined) {
      do channelId = `${this.#idPrefix}${++this.#idSeq}`; while (this.#idInUse(channelId));
    } else if (this.#idInUse(channelId)) {
      throw new OriginateRefusedError("channelIdInUse", `ChannelId ${channelId} is in use`);
    }
    for (const id of [channelId, otherId]) {
      if (id !== undefined && (id.length === 0 || id.length > MAX_CHANNEL_ID)) {
        throw new OriginateRefusedError(
          "channelIdInvalid",
          `a ChannelId is 1 to ${MAX_CHANNEL_ID} characters (got ${id.length})`,
        );
      }
    }
    if (otherId !== undefined && (otherId === channelId || this.#idInUse(otherId))) {
      throw new OriginateRefusedError("channelIdInUse", `OtherChannelId ${otherId} is in use`);
    }
    entries.push(["ChannelId", channelId], ["Async", "true"]);
    const actionTimeoutMs = options.actionTimeoutMs ?? ringMs + ORIGINATE_GRACE_MS;
    const timeoutMs = options.timeoutMs ?? actionTimeoutMs + ORIGINATE_GRACE_MS;
    const call = new OriginateCall(
      channelId,
      otherId === undefined ? [] : [otherId],
      this.#clock.now(),
    );
    this.#originates.add(call, timeoutMs);
    const send = this.#client.action as (
      name: string,
      fields: ActionFields,
      options: { timeoutMs: number },
    ) => Promise<unknown>;
    send.call(this.#client, "Originate", entries, { timeoutMs: actionTimeoutMs }).then(
      () => this.#originates.settle(call, undefined),
      (error: unknown) =>
        this.#originates.settle(call, error instanceof Error ? error : new Error(String(error))),
    );
    return call;
  }

  #idInUse(id: string): boolean {
    return this.#originates.has(id) || this.#model.channels.has(id);
  }

  // ---- inputs ----

  #onEvent(event: AmiMessage): void {
    const now = this.#clock.now();
    if (event.name === "FullyBooted") this.#fullyBooted(event, now);
    this.#model.apply(event, now);
    this.#drain();
  }

  /**
   * FullyBooted is sent at each login: an Uptime below the last one plus the
   * time since means Asterisk restarted, and its Uniqueids start over.
   */
  #fullyBooted(event: AmiMessage, now: number): void {
    const up = Number(event.get("Uptime"));
    if (!Number.isFinite(up)) return;
    if (
      this.#lastUptime !== undefined &&
      up + RESTART_SLACK_S < this.#lastUptime + (now - this.#lastUptimeAt) / 1000
    ) {
      this.#restarts++;
      this.#model.purge("serverRestart", now);
      this.#startupKey = undefined; // CoreStatus takes its new baseline without a second purge
    }
    this.#lastUptime = up;
    this.#lastUptimeAt = now;
  }

  #onState(change: StateChange): void {
    if (change.state === "ready") {
      this.#scheduleSync();
      return;
    }
    this.#gen++;
    this.#retryAt = undefined;
    this.#auto?.reset();
    this.#arm();
    this.#setStatus("stale", change.state);
    if (change.state === "closed") {
      this.#clientClosed = true;
      this.#rejectWaiters();
    }
  }

  // ---- sync ----

  /**
   * Starts a sync once the current dispatch is over (a microtask later), so
   * that no event is half-delivered when the list's base is read.
   */
  #scheduleSync(): void {
    const gen = ++this.#gen;
    this.#retryAt = undefined;
    this.#auto?.started(this.#clock.now());
    this.#arm();
    this.#setStatus("syncing", "");
    Promise.resolve().then(() => {
      if (gen !== this.#gen) return;
      this.#sync(gen).then(
        () => {
          if (gen !== this.#gen) return;
          this.#syncs++;
          this.#setStatus("live", "");
          const ws = [...this.#waiters];
          this.#waiters.clear();
          for (const w of ws) w.resolve();
          this.#syncEnded();
        },
        (error: unknown) => {
          if (error === SUPERSEDED || gen !== this.#gen) return;
          this.#syncFailures++;
          this.#detail = error instanceof Error ? error.message : String(error);
          if (error instanceof LiveEventsHiddenError) {
            // Not retried: nothing changes until the user fixes the mask or the Filters.
            const ws = [...this.#waiters];
            this.#waiters.clear();
            for (const w of ws) w.reject(error);
            this.#setStatus("stale", error.message); // not kept current: blind to what it needs
          } else if (this.#client.state === "ready" && !this.#closed) {
            this.#retryAt = this.#clock.now() + this.#retryMs;
          }
          this.#syncEnded();
        },
      );
    });
  }

  async #sync(gen: number): Promise<void> {
    // A Filter or Events action sent since: fail fast rather than run blind.
    const hidden = hiddenEvents(this.#client, this.#wantQueues);
    if (hidden.length > 0) throw new LiveEventsHiddenError(this.#client.node, hidden);
    if (!this.#unsupported.has("CoreStatus")) await this.#startup(gen);
    await this.#list(gen, "CoreShowChannels", "channels");
    // The bridges' own fields (type, technology, name); members come with the channels.
    if (!this.#unsupported.has("BridgeList")) await this.#list(gen, "BridgeList", "bridges");
    if (this.#wantQueues && !this.#unsupported.has("QueueStatus")) {
      await this.#list(gen, "QueueStatus", "queues");
    }
  }

  /**
   * CoreStatus's startup date and time: when they differ from the last
   * session's, Asterisk restarted. This catches what FullyBooted cannot (its
   * first one missed, when the live state was made after `connect`; an event
   * mask without `system`). A restart FullyBooted already reported for this
   * session is not purged twice: it cleared the remembered startup.
   */
  async #startup(gen: number): Promise<void> {
    let result;
    try {
      result = await this.#client.action("CoreStatus", {}, { timeoutMs: this.#listTimeoutMs });
    } catch (error) {
      if (gen !== this.#gen) throw SUPERSEDED;
      if (error instanceof ActionError) {
        this.#unsupported.add("CoreStatus");
        return;
      }
      throw error;
    }
    if (gen !== this.#gen) throw SUPERSEDED;
    const r = result.response;
    const key = `${r.get("CoreStartupDate") ?? ""} ${r.get("CoreStartupTime") ?? ""}`;
    if (key === " ") return;
    if (this.#startupKey !== undefined && key !== this.#startupKey) {
      this.#restarts++;
      this.#model.purge("serverRestart", this.#clock.now());
      this.#drain();
    }
    this.#startupKey = key;
  }

  /**
   * Runs one list and merges it where it completed in the event stream.
   *
   * The position: the engine reports, on the list's result, how many of the
   * session's events were delivered or queued when the Complete was read
   * (`eventsBefore`). Every delivered event reaches this object's `"*"`
   * listener, one `model.apply` each, so during a session `model.position -
   * session.eventsDelivered` is a constant: the model's position when the
   * session began. It is read when the action is sent (outside any dispatch),
   * and the list's position is that base plus `eventsBefore`. This is exact
   * even though the client resolves the list before it dispatches the events
   * read with it: the events after the Complete in that read are already
   * applied when `await` resumes, and they are not counted in `eventsBefore`,
   * so they win over the list. Reading the client's dispatched count when the
   * promise settles would not do: events before the Complete in the same read
   * are not yet dispatched then.
   */
  async #list(gen: number, action: string, kind: LiveListKind): Promise<void> {
    const session = this.#client.stats().session;
    if (session === undefined) throw SUPERSEDED;
    const base = this.#model.position - session.eventsDelivered;
    let result;
    try {
      result = await this.#client.action(action as "CoreShowChannels", {}, {
        timeoutMs: this.#listTimeoutMs,
      });
    } catch (error) {
      if (gen !== this.#gen) throw SUPERSEDED;
      if (kind !== "channels" && error instanceof ActionError) {
        this.#unsupported.add(action);
        return;
      }
      throw error;
    }
    if (gen !== this.#gen) throw SUPERSEDED;
    // A list that lost items on the way would remove them as `vanished`: try again instead.
    // (QueueStatus's ListItems counts members and entries only, so it is not checked.)
    const said = result.complete.get("ListItems");
    if (kind !== "queues" && said !== undefined && Number(said) !== result.events.length) {
      this.#shortLists++;
      throw new Error(`${action}: ${result.events.length} items where ListItems says ${said}`);
    }
    let at = base + result.eventsBefore;
    if (at > this.#model.position || at < 0) {
      this.#clamped++;
      at = Math.max(0, Math.min(at, this.#model.position));
    }
    this.#model.applyList(kind, result.events, at, this.#clock.now());
    this.#drain();
  }

  // ---- outputs ----

  #drain(): void {
    for (let c = this.#model.pollChange(); c !== undefined; c = this.#model.pollChange()) {
      switch (c.type) {
        case "overflow":
          break; // counted in the model's stats (droppedChanges)
        case "status":
          this.#detail = c.detail;
          this.#emitStatus();
          if (c.status === "degraded") this.#wantResync();
          break;
        default:
          if (c.kind === "channel") this.#originates.channel(c);
          this.#emit(this.#listeners[c.kind], c);
      }
    }
  }

  #setStatus(status: LiveSyncStatus, detail: string): void {
    if (status === this.#status) return;
    this.#status = status;
    this.#since = this.#clock.now();
    this.#detail = detail;
    this.#emitStatus();
  }

  #emitStatus(): void {
    const ls = this.#listeners.status;
    if (ls.length === 0) return;
    this.#emit(
      ls,
      {
        type: "status",
        node: this.#client.node,
        status: this.#status,
        health: this.#model.status,
        since: this.#since,
        detail: this.#detail,
      } satisfies LiveStateStatus,
    );
  }

  #emit(listeners: readonly AnyListener[], change: unknown): void {
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i](change);
      } catch {
        this.#listenerErrors++;
      }
    }
  }

  // ---- automatic resync and the one timer ----

  /** Events were dropped or the model degraded: a resync is wanted (spaced, one at a time). */
  #wantResync(): void {
    if (this.#auto === undefined || this.#closed || this.#client.state !== "ready") return;
    this.#act(this.#auto.request(this.#clock.now()));
  }

  /** The current sync ended (merged or failed): the policy may want another. */
  #syncEnded(): void {
    if (this.#auto !== undefined) this.#act(this.#auto.ended(this.#clock.now()));
    else this.#arm();
  }

  #act(action: ResyncAction): void {
    if (action.type === "start") {
      if (this.#closed || this.#client.state !== "ready") this.#auto?.reset();
      else {
        this.#autoResyncs++;
        this.#scheduleSync();
        return;
      }
    }
    this.#arm();
  }

  /** Arms the one timer for the earliest deadline (a failed sync's retry, the auto policy's). */
  #arm(): void {
    const a = this.#retryAt;
    const b = this.#auto?.deadline;
    const at = a === undefined ? b : b === undefined ? a : Math.min(a, b);
    if (at === this.#timerAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === undefined) return;
    this.#timer = this.#clock.setTimer(Math.max(0, at - this.#clock.now()), () => {
      this.#timer = undefined;
      this.#timerAt = undefined;
      this.#onTimer();
    });
  }

  #onTimer(): void {
    const now = this.#clock.now();
    if (this.#retryAt !== undefined && now >= this.#retryAt) {
      this.#scheduleSync(); // covers an automatic resync waiting too
      return;
    }
    if (this.#auto !== undefined) this.#act(this.#auto.timeout(now));
    else this.#arm();
  }

  #closedError(): Error {
    return new ConnectError(
      "closed",
      this.#closed ? "the live state was closed" : "the client closed before the live state synced",
    );
  }

  #rejectWaiters(): void {
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w.reject(this.#closedError());
  }
}

/**
 * Binds a live model to every node of a cluster in one call: one live state
 * per node (as for a client, below), read through one set of views whose
 * records carry their `node` and whose maps are keyed `<node>/<id>`.
 *
 * @param cluster the cluster (its clock is used for every timestamp and timer)
 * @param options the model's caps and allow-list, and the sync's options (for every node)
 * @returns the cluster's live state
 * @example
 * ```ts
 * import { createCluster } from "amikit";
 * import { createLiveState } from "amikit/live";
 * const cluster = createCluster({
 *   defaults: { username: "admin", secret: "amp111" },
 *   nodes: { a: { host: "10.0.0.1" }, b: { host: "10.0.0.2" } },
 * });
 * const live = createLiveState(cluster);
 * await live.synced({ timeoutMs: 10_000 });
 * for (const ch of live.channels.values()) console.log(ch.node, ch.name);
 * ```
 */
export function createLiveState(cluster: Cluster, options?: LiveStateOptions): LiveClusterState;
/**
 * Binds a live model to a client. Create it before `client.start()` (or
 * right after `connect`) and keep it for the client's life: it listens to
 * every event and state change of the client.
 *
 * On every `ready` (the first and each after a reconnect) and on
 * {@link LiveState.resync}, it runs `CoreStatus`, `CoreShowChannels`,
 * `BridgeList`, then `QueueStatus`, and merges each list at the point where it completed in the
 * event stream (an event after the list wins over it). A restart of Asterisk
 * purges the model before the lists merge (`serverRestart`): a `FullyBooted`
 * (sent at each login) whose Uptime is below the last one plus the time
 * since, or else a new startup time in `CoreStatus`. Without either (neither
 * readable), what ended during the gap is removed by the lists as `vanished`.
 *
 * The model needs the `call`, `dialplan`, `system` and (with `queues`)
 * `agent` event classes: when the client's event mask or its `Filter`s
 * would hide them, it throws {@link LiveEventsHiddenError} here, and a sync
 * (each `ready`, `resync()`) fails with it, rejecting `synced()` at once.
 *
 * @param client the client (its clock is used for every timestamp and timer)
 * @param options the model's caps and allow-list, and the sync's options
 * @returns the live state
 * @throws {LiveEventsHiddenError} the client's mask or Filters hide events the model needs
 * @example
 * ```ts
 * import { connect } from "amikit";
 * import { createLiveState } from "amikit/live";
 * const client = await connect({ host: "127.0.0.1", username: "admin", secret: "amp111" });
 * const live = createLiveState(client);
 * live.on("channel", (c) => console.log(c.type, c.record.name, c.reason ?? ""));
 * await live.synced({ timeoutMs: 10_000 });
 * console.log(live.channels.size, "channels up");
 * ```
 */
export function createLiveState(client: Client, options?: LiveStateOptions): LiveState;
export function createLiveState(
  source: Client | Cluster,
  options: LiveStateOptions = {},
): LiveState | LiveClusterState {
  if (isCluster(source)) {
    // Checked for every node first, so that a refusal leaves no node's state attached.
    for (const node of source.nodes) {
      const client = source.node(node);
      const hidden = hiddenEvents(client, options.queues ?? true);
      if (hidden.length > 0) throw new LiveEventsHiddenError(node, hidden);
    }
    return new LiveClusterStateImpl(
      source,
      source.clock,
      (node) => new LiveStateImpl(source.node(node), options),
    );
  }
  return new LiveStateImpl(source, options);
}

/** A cluster has a list of nodes; a client has one node name. */
function isCluster(source: Client | Cluster): source is Cluster {
  return Array.isArray((source as Cluster).nodes);
}
