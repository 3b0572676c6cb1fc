/**
 * Facts about every AMI action and event, generated from Asterisk's own
 * documentation (`scripts/gen_ami.ts`): names, fields, headers, enumerations
 * and how each action completes, as types and as small frozen tables.
 *
 * @module
 */

import { AMI_ACTIONS } from "./generated/ami_actions.ts";
import type { AmiActionName } from "./generated/ami_actions.ts";
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
export { AMI_EVENTS } from "./generated/ami_events.ts";
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
