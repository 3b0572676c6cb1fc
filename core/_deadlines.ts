/**
 * The deadlines of pending actions, so that thousands of them cost one
 * timer, not one each: {@link Deadlines} (what the engine keeps, one per
 * connection) puts them in a FIFO while they come in deadline order (actions
 * sent with the same timeout do, as `now` never goes backwards) and in an
 * indexed min-heap ({@link DeadlineHeap}) otherwise. Push, remove and peek
 * are O(1) for the FIFO (amortised), O(log n) for the heap.
 *
 * @module
 */

/** Something with a deadline that the heap can find again. */
export interface HeapEntry {
  /** Absolute deadline, ms. */
  deadline: number;
  /** Position in the FIFO or heap; -1 when in neither. Owned by them. */
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

/**
 * Entries in non-decreasing deadline order, removable from anywhere: a
 * removed entry leaves a hole, skipped at the head; the array is compacted
 * once its holes (before the head or after it) outnumber the entries, so it
 * stays within about twice the entries however long the head waits or
 * however many pass through.
 */
class DeadlineFifo<T extends HeapEntry> {
  #items: (T | undefined)[] = [];
  #head = 0;
  #size = 0;
  /** The deadline pushed last (a later hole keeps its place in the order). */
  #last = -Infinity;

  get size(): number {
    return this.#size;
  }

  /** The earliest entry (the head is never a hole). */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** Whether `entry` can go last without breaking the order. */
  accepts(entry: T): boolean {
    return this.#size === 0 || this.#last <= entry.deadline;
  }

  push(entry: T): void {
    this.#last = entry.deadline;
    entry.heapIndex = this.#items.length;
    this.#items.push(entry);
    this.#size++;
  }

  /** Removes `entry` if it is here; returns whether it was. */
  remove(entry: T): boolean {
    const items = this.#items;
    const i = entry.heapIndex;
    if (i < this.#head || items[i] !== entry) return false;
    items[i] = undefined;
    entry.heapIndex = -1;
    this.#size--;
    if (i === this.#head) {
      let h = i + 1;
      while (h < items.length && items[h] === undefined) h++;
      this.#head = h;
    }
    // The array counts the holes before the head too: a window that never
    // drains (always some in flight) must not grow with every action sent.
    if (this.#size === 0) {
      this.#items = [];
      this.#head = 0;
    } else if (items.length > 2 * this.#size + 32) this.#compact();
    return true;
  }

  /** Empties the FIFO and returns what it held, in order. */
  drain(): T[] {
    const out: T[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const e = this.#items[i];
      if (e !== undefined) {
        e.heapIndex = -1;
        out.push(e);
      }
    }
    this.#items = [];
    this.#head = this.#size = 0;
    return out;
  }

  #compact(): void {
    const live: T[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const e = this.#items[i];
      if (e !== undefined) {
        e.heapIndex = live.length;
        live.push(e);
      }
    }
    this.#items = live;
    this.#head = 0;
  }
}

/** A FIFO for entries that come in deadline order, a heap for the others. */
export class Deadlines<T extends HeapEntry> {
  readonly #fifo = new DeadlineFifo<T>();
  readonly #heap = new DeadlineHeap<T>();

  /** How many entries are held. */
  get size(): number {
    return this.#fifo.size + this.#heap.size;
  }

  /** The entry with the earliest deadline, if any. */
  peek(): T | undefined {
    const a = this.#fifo.peek();
    const b = this.#heap.peek();
    if (a === undefined) return b;
    return b === undefined || a.deadline <= b.deadline ? a : b;
  }

  /** Adds an entry (not already held). */
  push(entry: T): void {
    if (this.#fifo.accepts(entry)) this.#fifo.push(entry);
    else this.#heap.push(entry);
  }

  /** Removes an entry if it is held. */
  remove(entry: T): void {
    if (!this.#fifo.remove(entry)) this.#heap.remove(entry);
  }

  /** Empties both and returns what they held. */
  drain(): T[] {
    return this.#fifo.drain().concat(this.#heap.drain());
  }
}
