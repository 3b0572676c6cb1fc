/**
 * Test helpers for the live model: a call world's truth and its rendering
 * into AMI events and list items, with the headers Asterisk writes.
 *
 * @module
 */

import { AmiMessage, type Header } from "../core/message.ts";

/** A channel as the server knows it. */
export interface TruthChannel {
  uniqueid: string;
  name: string;
  state: number;
  linkedid: string;
  context: string;
  exten: string;
  bridgeId?: string;
}

/** A queue member as the server knows it. */
export interface TruthMember {
  iface: string;
  status: number;
  paused: boolean;
}

const STATE_DESC: Record<number, string> = { 0: "Down", 4: "Ring", 5: "Ringing", 6: "Up" };

/** A channel snapshot's headers under a prefix. */
export function snapshot(ch: TruthChannel, prefix = ""): Header[] {
  return [
    [`${prefix}Channel`, ch.name],
    [`${prefix}ChannelState`, String(ch.state)],
    [`${prefix}ChannelStateDesc`, STATE_DESC[ch.state] ?? "Unknown"],
    [`${prefix}CallerIDNum`, "<unknown>"],
    [`${prefix}CallerIDName`, "<unknown>"],
    [`${prefix}ConnectedLineNum`, "<unknown>"],
    [`${prefix}ConnectedLineName`, "<unknown>"],
    [`${prefix}Language`, "en"],
    [`${prefix}AccountCode`, ""],
    [`${prefix}Context`, ch.context],
    [`${prefix}Exten`, ch.exten],
    [`${prefix}Priority`, "1"],
    [`${prefix}Uniqueid`, ch.uniqueid],
    [`${prefix}Linkedid`, ch.linkedid],
  ];
}

function bridgeHeaders(id: string, members: number, prefix = ""): Header[] {
  return [
    [`${prefix}BridgeUniqueid`, id],
    [`${prefix}BridgeType`, "basic"],
    [`${prefix}BridgeTechnology`, "simple_bridge"],
    [`${prefix}BridgeCreator`, "<unknown>"],
    [`${prefix}BridgeName`, "<unknown>"],
    [`${prefix}BridgeNumChannels`, String(members)],
    [`${prefix}BridgeVideoSourceMode`, "none"],
  ];
}

/** An event: `Event: name`, then headers. */
export function event(name: string, ...headers: Header[][]): AmiMessage {
  return new AmiMessage([["Event", name], ["Privilege", "call,all"], ...headers.flat()]);
}

/** An event made of one channel snapshot (Newchannel, Newstate, NewConnectedLine, ...). */
export function channelEvent(name: string, ch: TruthChannel, extra: Header[] = []): AmiMessage {
  return event(name, snapshot(ch), extra);
}

/** Hangup with a cause. */
export function hangup(ch: TruthChannel, cause = 16): AmiMessage {
  return event("Hangup", snapshot(ch), [["Cause", String(cause)], [
    "Cause-txt",
    "Normal Clearing",
  ]]);
}

/** LocalBridge of a Local pair. */
export function localBridge(one: TruthChannel, two: TruthChannel): AmiMessage {
  return event("LocalBridge", snapshot(one, "LocalOne"), snapshot(two, "LocalTwo"), [
    ["Context", one.context],
    ["Exten", one.exten],
    ["LocalOptimization", "No"],
  ]);
}

/** BridgeCreate, BridgeDestroy. */
export function bridgeEvent(name: string, id: string, members: number): AmiMessage {
  return event(name, bridgeHeaders(id, members));
}

/** BridgeEnter, BridgeLeave. */
export function bridgeChannel(
  name: string,
  id: string,
  members: number,
  ch: TruthChannel,
): AmiMessage {
  return event(name, bridgeHeaders(id, members), snapshot(ch));
}

/** Rename (no snapshot: Channel, Newname, Uniqueid). */
export function rename(ch: TruthChannel, newName: string): AmiMessage {
  return event("Rename", [["Channel", ch.name], ["Newname", newName], ["Uniqueid", ch.uniqueid]]);
}

/** QueueCallerJoin and QueueCallerLeave. */
export function queueCaller(
  name: string,
  queue: string,
  ch: TruthChannel,
  position: number,
  count: number,
): AmiMessage {
  return event(name, snapshot(ch), [
    ["Queue", queue],
    ["Position", String(position)],
    ["Count", String(count)],
  ]);
}

function memberHeaders(m: TruthMember, list: boolean): Header[] {
  return [
    [list ? "Name" : "MemberName", m.iface.toLowerCase()],
    [list ? "Location" : "Interface", m.iface],
    ["StateInterface", m.iface],
    ["Membership", "dynamic"],
    ["Penalty", "0"],
    ["CallsTaken", "0"],
    ["LastCall", "0"],
    ["LastPause", "0"],
    ["InCall", "0"],
    ["Status", String(m.status)],
    ["Paused", m.paused ? "1" : "0"],
    ["PausedReason", ""],
    ["Wrapuptime", "0"],
  ];
}

/** QueueMemberAdded, QueueMemberStatus, QueueMemberPause, QueueMemberRemoved. */
export function queueMember(name: string, queue: string, m: TruthMember): AmiMessage {
  return event(name, [["Queue", queue]], memberHeaders(m, false));
}

/** A late Cdr (no snapshot; `UniqueID` spelt as Asterisk does). */
export function cdr(ch: TruthChannel): AmiMessage {
  return event("Cdr", [
    ["AccountCode", ""],
    ["Source", ""],
    ["Destination", ch.exten],
    ["DestinationContext", ch.context],
    ["Channel", ch.name],
    ["Disposition", "ANSWERED"],
    ["UniqueID", ch.uniqueid],
  ]);
}

/** A late OriginateResponse (no snapshot). */
export function originateResponse(ch: TruthChannel): AmiMessage {
  return event("OriginateResponse", [
    ["ActionID", "x"],
    ["Response", "Success"],
    ["Channel", ch.name],
    ["Context", ch.context],
    ["Exten", ch.exten],
    ["Reason", "4"],
    ["Uniqueid", ch.uniqueid],
    ["CallerIDNum", "<unknown>"],
    ["CallerIDName", "<unknown>"],
  ]);
}

/** A CoreShowChannel list item. */
export function coreShowChannel(ch: TruthChannel): AmiMessage {
  return event("CoreShowChannel", [["ActionID", "csc"]], snapshot(ch), [
    ["Application", "Wait"],
    ["ApplicationData", "30"],
    ["Duration", "00:00:01"],
    ["BridgeId", ch.bridgeId ?? ""],
  ]);
}

/** A BridgeListItem list item. */
export function bridgeListItem(id: string, members: number): AmiMessage {
  return event("BridgeListItem", [["ActionID", "bl"]], bridgeHeaders(id, members));
}

/** QueueStatus items for one queue: QueueParams, QueueMember (Name/Location), QueueEntry. */
export function queueStatus(
  queue: string,
  members: readonly TruthMember[],
  callers: readonly TruthChannel[],
): AmiMessage[] {
  return [
    event("QueueParams", [["ActionID", "qs"], ["Queue", queue], ["Max", "0"], [
      "Strategy",
      "ringall",
    ], ["Calls", String(callers.length)]]),
    ...members.map((m) =>
      event("QueueMember", [["ActionID", "qs"], ["Queue", queue]], memberHeaders(m, true))
    ),
    ...callers.map((ch, i) =>
      event("QueueEntry", [
        ["ActionID", "qs"],
        ["Queue", queue],
        ["Position", String(i + 1)],
        ["Channel", ch.name],
        ["Uniqueid", ch.uniqueid],
        ["CallerIDNum", "unknown"],
        ["Wait", "1"],
      ])
    ),
  ];
}
