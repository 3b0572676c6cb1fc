/**
 * A bounded FIFO ring buffer with a drop policy. It never grows past its
 * capacity; what it drops is counted by the caller.
 *
 * @module
 */

import type { DropPolicy } from "./connection_types.ts";

/** A bounded queue: `push` reports whether something was dropped. */
export class BoundedQueue<T> {
  readonly capacity: number;
  readonly #policy: DropPolicy;
  #buf: (T | undefined)[] = [];
  #head = 0;
  #size = 0;

  /**
   * @param capacity the most items held (at least 1)
   * @param policy what to drop when full
   */
  constructor(capacity: number, policy: DropPolicy) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this.#policy = policy;
  }

  /** Items held now. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds an item; when full, drops the oldest or the new one per the policy.
   *
   * @returns `true` when an item was dropped
   */
  push(item: T): boolean {
    let buf = this.#buf;
    if (this.#size === this.capacity) {
      if (this.#policy === "dropNewest") return true;
      // dropOldest: overwrite the head.
      buf[this.#head] = item;
      this.#head = (this.#head + 1) % buf.length;
      return true;
    }
    if (this.#size === buf.length) {
      // Grow (up to capacity), unrolling the ring.
      const grown: (T | undefined)[] = new Array(
        Math.min(this.capacity, Math.max(16, buf.length * 2)),
      );
      for (let i = 0; i < this.#size; i++) grown[i] = buf[(this.#head + i) % buf.length];
      this.#buf = buf = grown;
      this.#head = 0;
    }
    buf[(this.#head + this.#size) % buf.length] = item;
    this.#size++;
    return false;
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const buf = this.#buf;
    const item = buf[this.#head];
    buf[this.#head] = undefined;
    this.#head = (this.#head + 1) % buf.length;
    this.#size--;
    return item;
  }
}
