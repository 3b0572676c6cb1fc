/**
 * The connection engine's state machine as data (in the manner of h11's
 * `_state.py`): every state {@link AmiConnection} can be in and the states
 * it may move to from there. The engine asserts each change against this
 * table, and the model tests take their specification from it.
 *
 * @module
 */

import type { ConnectionState } from "./connection_types.ts";

/**
 * The allowed transitions of a connection, `from` → the states it may move
 * to. A session starts in `awaitingBanner`; `closed` is final.
 *
 * - `awaitingBanner` → `authenticating`: the banner arrived (Login or Challenge sent).
 * - `authenticating` → `ready`: the server accepted the login.
 * - `ready` → `closing`: a graceful `close()` sent Logoff, or an application
 *   Logoff was answered `Goodbye`.
 * - any state but `closed` → `closed`: EOF, a deadline, a protocol error,
 *   a refused login or `close()`.
 */
export const CONNECTION_TRANSITIONS: Readonly<
  Record<ConnectionState, readonly ConnectionState[]>
> = Object.freeze({
  awaitingBanner: Object.freeze(["authenticating", "closed"] as const),
  authenticating: Object.freeze(["ready", "closed"] as const),
  ready: Object.freeze(["closing", "closed"] as const),
  closing: Object.freeze(["closed"] as const),
  closed: Object.freeze([] as const),
});

/**
 * Whether the table allows a connection in state `from` to move to `to`.
 *
 * @param from the current state
 * @param to the next state
 * @returns true when `to` is listed under `from` in {@link CONNECTION_TRANSITIONS}
 */
export function isConnectionTransition(from: ConnectionState, to: ConnectionState): boolean {
  return CONNECTION_TRANSITIONS[from].includes(to);
}
