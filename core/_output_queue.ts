/**
 * The queue behind a state machine's pulled outputs (the engine's notices,
 * the client supervisor's outputs): pushed as they are decided, drained in
 * order by `poll`. Unbounded by design: its owner drains it after every
 * input, so it holds only what one input produced.
 *
 * @module
 */

/** An array read from a head index, reset when drained (no `shift` copying). */
export class OutputQueue<T> {
  #items: T[] = [];
  #head = 0;

  /** Adds an output. @param item the output */
  push(item: T): void {
    this.#items.push(item);
  }

  /** @returns the oldest output, or `undefined` when drained */
  poll(): T | undefined {
    const q = this.#items;
    if (this.#head >= q.length) return undefined;
    const item = q[this.#head++];
    if (this.#head === q.length) {
      this.#items = [];
      this.#head = 0;
    }
    return item;
  }
}
