/**
 * The records, changes and options of the live model ({@link LiveModel} in
 * `live/model.ts`). Records are frozen plain objects: a change replaces a
 * record, so a change's `previous` is exactly what was there before.
 *
 * @module
 */

/** A caller id or connected line: `<unknown>` from Asterisk is read as `""`. */
export interface LiveParty {
  /** The number. */
  readonly num: string;
  /** The name. */
  readonly name: string;
}

/** One channel, keyed by its Uniqueid (never by name: names move in masquerades). */
export interface LiveChannel {
  /** The node (server) the record belongs to: the client's `node` name. */
  readonly node: string;
  /** The Uniqueid (`[systemname-]epoch.counter`; reused after a restart). */
  readonly uniqueid: string;
  /** The channel name (`PJSIP/100-00000001`, `Local/100@lab-00000058;1`). */
  readonly name: string;
  /** The ChannelState number (0 down, 4 ring, 5 ringing, 6 up, ...). */
  readonly state: number;
  /** The ChannelStateDesc text (`Up`, `Ring`, ...). */
  readonly stateDesc: string;
  /** The current Linkedid (rewritten to the oldest one when bridged). */
  readonly linkedid: string;
  /** The bridge the channel is in, if any. */
  readonly bridgeId: string | undefined;
  /** CallerIDNum and CallerIDName. */
  readonly callerId: LiveParty;
  /** ConnectedLineNum and ConnectedLineName. */
  readonly connectedLine: LiveParty;
  /** AccountCode. */
  readonly accountCode: string;
  /** Dialplan context. */
  readonly context: string;
  /** Dialplan extension. */
  readonly exten: string;
  /** Dialplan priority. */
  readonly priority: number;
  /** The running application, where an event or list said (Newexten, CoreShowChannel, Status). */
  readonly application: string | undefined;
  /** The application's data, where known. */
  readonly appData: string | undefined;
  /** Variables from the allow-list ({@link LiveModelOptions.variables}), within the caps. */
  readonly variables: Readonly<Record<string, string>>;
  /** `now` when the model first saw the channel. */
  readonly seenAt: number;
}

/** One bridge, keyed by its BridgeUniqueid. */
export interface LiveBridge {
  /** The node (server) the record belongs to: the client's `node` name. */
  readonly node: string;
  /** BridgeUniqueid (also spelt BridgeId and BridgeID in lists). */
  readonly id: string;
  /** BridgeType (`basic`, ...); `""` when only known from a channel's BridgeId. */
  readonly type: string;
  /** BridgeTechnology (`simple_bridge`, `native_rtp`, ...). */
  readonly technology: string;
  /** BridgeName. */
  readonly name: string;
  /** BridgeCreator. */
  readonly creator: string;
  /** Uniqueids of the member channels, in joining order. */
  readonly members: readonly string[];
}

/** One queue member, keyed by its interface within a queue. */
export interface LiveQueueMember {
  /** The node (server) the record belongs to: the client's `node` name. */
  readonly node: string;
  /** Interface (QueueStatus lists call it Location). */
  readonly interface: string;
  /** MemberName (QueueStatus lists call it Name). */
  readonly name: string;
  /** StateInterface. */
  readonly stateInterface: string;
  /** The device state number (1 not in use, 2 in use, 6 ringing, ...). */
  readonly status: number;
  /** Whether the member is paused. */
  readonly paused: boolean;
  /** PausedReason. */
  readonly pausedReason: string;
  /** InCall (seen only in QueueStatus lists on the lab's Asterisk). */
  readonly inCall: boolean;
  /** CallsTaken. */
  readonly callsTaken: number;
  /** Penalty. */
  readonly penalty: number;
  /** Membership (`static`, `dynamic`, `realtime`). */
  readonly membership: string;
}

/** One queue, keyed by name; created when first seen in an event or a list. */
export interface LiveQueue {
  /** The node (server) the record belongs to: the client's `node` name. */
  readonly node: string;
  /** The queue's name. */
  readonly name: string;
  /** QueueParams' fields (Max, Strategy, Calls, ...), as received; empty until a list says. */
  readonly params: Readonly<Record<string, string>>;
  /** Members by interface. */
  readonly members: ReadonlyMap<string, LiveQueueMember>;
  /** Uniqueids of the waiting callers, in position order. */
  readonly callers: readonly string[];
}

/** One call: the channels sharing a Linkedid. */
export interface LiveCall {
  /** The node (server) the record belongs to: the client's `node` name. */
  readonly node: string;
  /** The Linkedid. */
  readonly linkedid: string;
  /** Uniqueids of its channels. */
  readonly channels: readonly string[];
}

/**
 * Why a record left the model: `hangup` (a Hangup event), `destroyed` (a
 * BridgeDestroy), `vanished` (a list that should have shown it did not), `serverRestart` ({@link LiveModel.purge}).
 */
export type LiveRemoveReason = "hangup" | "destroyed" | "vanished" | "serverRestart";

/** The lists a resync merges. */
export type LiveListKind = "channels" | "bridges" | "queues";

/** What every record change has: the change, the record's kind, the record now and before. */
export interface LiveRecordChangeBase<K extends string, R> {
  /** What happened to the record. */
  readonly type: "added" | "updated" | "removed";
  /** The record's kind. */
  readonly kind: K;
  /** The record now (for `removed`, the record as it last was). */
  readonly record: R;
  /** The record before (`undefined` for `added`). */
  readonly previous: R | undefined;
  /** Set on `removed` only. */
  readonly reason: LiveRemoveReason | undefined;
  /** `now` of the input that made the change. */
  readonly at: number;
}

/** A channel added, updated or removed; a hangup carries the cause. */
export interface LiveChannelChange extends LiveRecordChangeBase<"channel", LiveChannel> {
  /** The Hangup's Cause, for `reason: "hangup"`. */
  readonly cause?: number;
  /** The Hangup's Cause-txt, for `reason: "hangup"`. */
  readonly causeText?: string;
}

/** A bridge added, updated (members, fields) or removed. */
export type LiveBridgeChange = LiveRecordChangeBase<"bridge", LiveBridge>;

/** A queue added, updated (params, members, callers) or removed. */
export type LiveQueueChange = LiveRecordChangeBase<"queue", LiveQueue>;

/**
 * The model's health: `ok`, or `degraded` once a cap refused a record (the
 * model is incomplete until a channels list merges with nothing refused, or a
 * purge).
 */
export type LiveStatus = "ok" | "degraded";

/** The model's status changed. */
export interface LiveStatusChange {
  /** Always `status`. */
  readonly type: "status";
  /** The new status. */
  readonly status: LiveStatus;
  /** What refused a record, for `degraded`. */
  readonly detail: string;
  /** `now` of the input that made the change. */
  readonly at: number;
}

/**
 * Changes were dropped because nobody pulled them ({@link LiveModelOptions.maxPendingChanges}):
 * the consumer must re-read the views.
 */
export interface LiveOverflowChange {
  /** Always `overflow`. */
  readonly type: "overflow";
  /** How many changes were dropped. */
  readonly dropped: number;
}

/** What {@link LiveModel.pollChange} hands out, in the order it happened. */
export type LiveChange =
  | LiveChannelChange
  | LiveBridgeChange
  | LiveQueueChange
  | LiveStatusChange
  | LiveOverflowChange;

/** Caps and the variables allow-list. Every store of the model is bounded. */
export interface LiveModelOptions {
  /** Channels held at most; past it inserts are refused and the status is `degraded`. Default 20,000. */
  readonly maxChannels?: number;
  /** Bridges held at most (same rule). Default 10,000. */
  readonly maxBridges?: number;
  /** Queues held at most (same rule). Default 1,000. */
  readonly maxQueues?: number;
  /** Members per queue (same rule). Default 1,000. */
  readonly maxQueueMembers?: number;
  /** Callers per queue (same rule). Default 1,000. */
  readonly maxQueueCallers?: number;
  /** Ended channel and bridge ids remembered to absorb late events. Default 4,096. */
  readonly tombstones?: number;
  /** Variable names kept on channels (leading `_`/`__` ignored). Default none. */
  readonly variables?: readonly string[];
  /** Variables kept per channel. Default 16. */
  readonly maxVariables?: number;
  /** Bytes of names and values kept per channel. Default 2,048. */
  readonly maxVariableBytes?: number;
  /** Changes waiting to be pulled; past it they are dropped and one `overflow` says how many. Default 100,000. */
  readonly maxPendingChanges?: number;
}
