/**
 * amikit's AMI simulator: an in-process server that behaves like Asterisk
 * (banner, logins, permissions, actions, simulated Local channels with the
 * events of a real call) and injects faults on demand, for tests and demos.
 *
 * @example
 * import { AmiSimulator, ManualClock } from "@amikit/amikit/testing";
 * const clock = new ManualClock();
 * const sim = await AmiSimulator.start({ clock });
 * // ... connect a client to sim.host / sim.port as admin / amp111 ...
 * clock.advance(2000);
 * await sim.stop();
 *
 * @module
 */

export { AmiSimulator, floodChunks } from "./_server.ts";
export type {
  FloodOptions,
  QueueMemberBehaviour,
  RestartOptions,
  SessionFilter,
  SessionInfo,
  SimulatorOptions,
} from "./_server.ts";
export type { SimulatorStats, SimUser } from "./_engine.ts";
export type { ChannelInfo } from "./_channels.ts";
export type { BridgeInfo } from "./_bridges.ts";
export { LAB_QUEUES } from "./_queues.ts";
export type { QueueInfo, QueueMemberInfo, QueueMemberOptions, QueueOptions } from "./_queues.ts";
export {
  answerAndWait,
  busy,
  dial,
  hangupWithCause,
  LAB_DIALPLAN,
  noAnswer,
  queueCall,
} from "./_dialplan.ts";
export type { AnswerAndWaitOptions, Dialplan, DialplanStep } from "./_dialplan.ts";
export { ManualClock, RealClock } from "./clock.ts";
export type { Header } from "../core/message.ts";
export type { ManualClockOptions, SimClock, TimerHandle } from "./clock.ts";
