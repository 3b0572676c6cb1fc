/**
 * How simulated components publish AMI events: one batch per simulated
 * instant, so a synchronous Originate's response can precede the channel
 * events of the same instant, as Asterisk delivers them.
 *
 * @module
 */

import type { Header } from "../core/message.ts";

/** Publishes events to the sessions. */
export interface Emitter {
  /** Broadcasts an event of class `cls` (`Privilege` is added). */
  event(name: string, cls: string, headers: Header[]): void;
  /** Runs `fn`, collecting what it emits, then delivers it. Nested calls join the outer batch. */
  batch(fn: () => void): void;
  /** Queues a response for the front of the current batch (sync Originate). */
  priority(send: () => void): void;
}
