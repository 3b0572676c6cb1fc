/**
 * The sans-IO core of amikit, for a custom driver or transport: the AMI codec
 * ({@link AmiParser}, {@link serializeAction}, {@link AmiMessage}), the
 * connection engine ({@link AmiConnection}) with its states as data, and the
 * error tree. No sockets, timers, clocks or runtime APIs: bytes and time go
 * in, bytes and results come out. Every name exported here is part of the
 * stable API.
 *
 * @module
 */

export {
  AbortedError,
  ActionError,
  ActionTimeoutError,
  AmiError,
  type AmiErrorCode,
  AuthError,
  ConnectError,
  type ConnectFailure,
  ConnectionLostError,
  type ConnectionLostReason,
  GatewayError,
  type GatewayFailure,
  LocalProtocolError,
  MessageTooLargeError,
  NotReadyError,
  type OriginateFailure,
  originateFailure,
  type OriginateFailureKind,
  type ParserBound,
  PermissionError,
  RemoteProtocolError,
} from "./errors.ts";
export { AmiMessage, type Header, type MessageType } from "./message.ts";
export {
  AmiParser,
  type Banner,
  DEFAULT_PARSER_LIMITS,
  type OversizedMessage,
  type ParsedItem,
  type ParserOptions,
} from "./parser.ts";
export { type Action, type ActionFields, type FieldValue, serializeAction } from "./serializer.ts";
export { AmiConnection } from "./connection.ts";
export type {
  ActionHandle,
  ActionIdParts,
  ActionResult,
  CloseReason,
  CommandResult,
  CompletionStrategy,
  ConnectionNotice,
  ConnectionOptions,
  ConnectionState,
  ConnectionStats,
  DropPolicy,
  DropSummaryNotice,
  EventListResult,
  LogoffResult,
  OriginateResult,
  ResponseResult,
  SendOptions,
  SettledNotice,
  StateNotice,
} from "./connection_types.ts";
export { CONNECTION_TRANSITIONS, isConnectionTransition } from "./connection_states.ts";
export {
  AMI_ACTIONS,
  AMI_DOCS_BASE,
  AMI_EVENT_DOCS_NAMES,
  AMI_EVENTS,
  amiActionDocsUrl,
  amiEventDocsUrl,
  isAmiActionName,
  isAmiEventName,
} from "./ami.ts";
export type {
  AmiActionCompletions,
  AmiActionFields,
  AmiActionFieldsFor,
  AmiActionInfo,
  AmiActionName,
  AmiActionResultFor,
  AmiCommonHeader,
  AmiCompletion,
  AmiEnum,
  AmiEvent,
  AmiEventClass,
  AmiEventHeader,
  AmiEventHeaders,
  AmiEventHeaderValues,
  AmiEventInfo,
  AmiEventName,
  AmiValue,
} from "./ami.ts";
