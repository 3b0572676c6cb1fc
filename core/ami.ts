/**
 * Facts about every AMI action and event, generated from Asterisk's own
 * documentation (`scripts/gen_ami.ts`): names, fields, headers, enumerations
 * and how each action completes, as types and as small frozen tables.
 *
 * @module
 */

import { AMI_ACTIONS } from "./generated/ami_actions.ts";
import type {
  AmiActionCompletions,
  AmiActionFields,
  AmiActionName,
} from "./generated/ami_actions.ts";
import type { AmiEventHeaders } from "./generated/ami_events.ts";
import type { AmiMessage } from "./message.ts";
import type { FieldValue } from "./serializer.ts";
import type {
  CommandResult,
  EventListResult,
  LogoffResult,
  OriginateResult,
  ResponseResult,
} from "./connection_types.ts";
import { AMI_EVENT_DOCS_NAMES, AMI_EVENTS } from "./generated/ami_events.ts";
import type { AmiEventName } from "./generated/ami_events.ts";

export { AMI_ACTIONS } from "./generated/ami_actions.ts";
export type {
  AmiActionCompletions,
  AmiActionFields,
  AmiActionInfo,
  AmiActionName,
  AmiCompletion,
  AmiEnum,
  AmiValue,
} from "./generated/ami_actions.ts";
export { AMI_EVENT_DOCS_NAMES, AMI_EVENTS } from "./generated/ami_events.ts";
export type {
  AmiEventClass,
  AmiEventHeaders,
  AmiEventHeaderValues,
  AmiEventInfo,
  AmiEventName,
} from "./generated/ami_events.ts";

/** The root of the Asterisk 22 API pages on docs.asterisk.org. */
export const AMI_DOCS_BASE: string =
  "https://docs.asterisk.org/Asterisk_22_Documentation/API_Documentation";

/**
 * Whether Asterisk documents an action of this name (case as documented).
 *
 * @param name an action name, e.g. `"Originate"`
 * @returns true for a documented action
 * @example
 * ```ts
 * isAmiActionName("CoreShowChannels"); // true
 * ```
 */
export function isAmiActionName(name: string): name is AmiActionName {
  return Object.hasOwn(AMI_ACTIONS, name);
}

/**
 * Whether Asterisk documents an event of this name (case as documented).
 *
 * @param name an event name, e.g. `"Hangup"`
 * @returns true for a documented event
 */
export function isAmiEventName(name: string): name is AmiEventName {
  return Object.hasOwn(AMI_EVENTS, name);
}

/**
 * The page of an action in Asterisk's online documentation.
 *
 * @param name the action
 * @returns its URL
 */
export function amiActionDocsUrl(name: AmiActionName): string {
  return `${AMI_DOCS_BASE}/AMI_Actions/${name}`;
}

/**
 * The page of an event in Asterisk's online documentation.
 *
 * @param name the event
 * @returns its URL
 */
export function amiEventDocsUrl(name: AmiEventName): string {
  return `${AMI_DOCS_BASE}/AMI_Events/${AMI_EVENT_DOCS_NAMES[name] ?? name}`;
}

// ---- the typed API's types (no runtime cost: types only) ----

/**
 * Headers any event may carry besides its documented ones: the event name,
 * its class list, the ActionID of an answer, the system name and timestamp
 * (when enabled in manager.conf), and channel variables (`channelvars`),
 * prefixed inside snapshot blocks (`DestChanVariable`).
 */
export type AmiCommonHeader =
  | "Event"
  | "Privilege"
  | "ActionID"
  | "SystemName"
  | "Timestamp"
  | "ChanVariable"
  | `ChanVariable(${string})`
  | `${string}ChanVariable`
  | `${string}ChanVariable(${string})`;

/** A header name of a known event: documented or common (a UserEvent's are its sender's: any). */
export type AmiEventHeader<N extends AmiEventName> = N extends "UserEvent" ? string
  : AmiEventHeaders[N] | AmiCommonHeader;

/**
 * A known event as listeners and iterators see it: its `name` narrowed and
 * its header names checked and completed. At run time it is the same
 * {@link AmiMessage} (lookups stay case-insensitive).
 */
export interface AmiEvent<N extends AmiEventName = AmiEventName> extends AmiMessage {
  /** The event's name. */
  readonly name: N;
  /** The first value of a header (case-insensitive), or `undefined`. */
  get(name: AmiEventHeader<N>): string | undefined;
  /** Every value of a repeated header, in order. */
  getAll(name: AmiEventHeader<N>): string[];
  /** Whether the header is present. */
  has(name: AmiEventHeader<N>): boolean;
}

/**
 * The fields of a known action: its documented ones (required ones
 * required), and any other field too (newer Asterisk versions and modules
 * add some). The engine sets `ActionID` itself.
 */
export type AmiActionFieldsFor<N extends AmiActionName> =
  & Omit<AmiActionFields[N], "ActionID">
  & { readonly [field: string]: FieldValue | undefined };

/**
 * The result of a known action, by how its docs say it completes: an event
 * list, Command output, an async Originate's OriginateResponse (or its
 * response when not async), Logoff's Goodbye; any other action completes on
 * its response, or on an event list when the response says so (the wire
 * decides: the docs do not mark every list).
 */
export type AmiActionResultFor<N extends AmiActionName> = N extends "Logoff" ? LogoffResult
  : AmiActionCompletions[N] extends "eventList" ? EventListResult
  : AmiActionCompletions[N] extends "command" ? CommandResult
  : AmiActionCompletions[N] extends "originate" ? OriginateResult | ResponseResult
  : ResponseResult | EventListResult;
