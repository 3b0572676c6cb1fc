/**
 * The live model: a view of one Asterisk server's channels, bridges, calls
 * and queues, kept from a client's events and repaired by lists at
 * each (re)connect. Start with {@link createLiveState}.
 *
 * @example
 * ```ts
 * import { connect } from "amikit";
 * import { createLiveState } from "amikit/live";
 * const client = await connect({ host: "127.0.0.1", username: "admin", secret: "amp111" });
 * const live = createLiveState(client, { variables: ["CAMPAIGN"] });
 * live.on("channel", (c) => {
 *   if (c.type === "removed") console.log(c.record.name, c.reason, c.causeText ?? "");
 * });
 * await live.synced({ timeoutMs: 10_000 });
 * for (const call of live.calls.values()) console.log(call.linkedid, call.channels.length);
 * live.close();
 * await client.close();
 * ```
 *
 * @module
 */

export {
  createLiveState,
  type LiveState,
  type LiveStateOptions,
  type LiveStateStats,
  type LiveStateStatus,
  type LiveSyncedOptions,
  type LiveSyncStatus,
  type LiveView,
} from "./live_state.ts";
export type { LiveClusterState } from "./live_cluster.ts";
export { LiveEventsHiddenError } from "./_requirements.ts";
export type { LiveModelStats } from "./model.ts";
export {
  type LiveOriginateEnd,
  type LiveOriginateHandle,
  type LiveOriginateOptions,
  type LiveOriginateOutcome,
  type OriginateRefusal,
  OriginateRefusedError,
} from "./_originate.ts";
export type {
  LiveBridge,
  LiveBridgeChange,
  LiveCall,
  LiveChannel,
  LiveChannelChange,
  LiveModelOptions,
  LiveParty,
  LiveQueue,
  LiveQueueChange,
  LiveQueueMember,
  LiveRecordChangeBase,
  LiveRemoveReason,
  LiveStatus,
} from "./types.ts";
