/**
 * An indexed binary min-heap of deadlines: push, remove and pop in
 * O(log n), peek in O(1). The engine keeps one per connection so that
 * thousands of pending actions cost one timer, not one each.
 *
 * @module
 */

/** Something with a deadline that the heap can find again. */
export interface HeapEntry {
  /** Absolute deadline, ms. */
  deadline: number;
  /** Position in the heap; -1 when not in it. Owned by the heap. */
  heapIndex: number;
}

/** A min-heap ordered by `deadline`; entries know their own index. */
export class DeadlineHeap<T extends HeapEntry> {
  readonly #items: T[] = [];

  /** How many entries are in the heap. */
  get size(): number {
    return this.#items.length;
  }

  /** The entry with the earliest deadline, if any. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds an entry (not already in the heap). */
  push(entry: T): void {
    const items = this.#items;
    entry.heapIndex = items.length;
    items.push(entry);
    this.#up(entry.heapIndex);
  }

  /** Removes and returns the earliest entry. */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    if (top === undefined) return undefined;
    this.remove(top);
    return top;
  }

  /** Removes an entry if it is in the heap. */
  remove(entry: T): void {
    const i = entry.heapIndex;
    const items = this.#items;
    if (i < 0 || items[i] !== entry) return;
    entry.heapIndex = -1;
    const last = items.pop() as T;
    if (last === entry) return;
    items[i] = last;
    last.heapIndex = i;
    this.#down(i);
    this.#up(last.heapIndex);
  }

  /** Empties the heap and returns what it held. */
  drain(): T[] {
    const items = this.#items.splice(0);
    for (const e of items) e.heapIndex = -1;
    return items;
  }

  #up(i: number): void {
    const items = this.#items;
    const e = items[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p];
      if (parent.deadline <= e.deadline) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    items[i] = e;
    e.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const e = items[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && items[r].deadline < items[l].deadline ? r : l;
      if (items[c].deadline >= e.deadline) break;
      items[i] = items[c];
      items[i].heapIndex = i;
      i = c;
    }
    items[i] = e;
    e.heapIndex = i;
  }
}
