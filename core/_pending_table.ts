/**
 * The engine's pending actions by counter (the number at the end of each
 * ActionID): an open-addressing table with linear probing and
 * backward-shift deletion, so it never holds tombstones and never rehashes
 * except to grow. Counters are scattered by Fibonacci hashing: sent in
 * sequence, they would otherwise form one run as long as the table's
 * contents, and every deletion would shift through all of it.
 *
 * Why not a `Map`: with a steady churn of sets and deletes, V8 rehashes a
 * Map's backing table every few hundred entries and links each old table to
 * its successor (for live iterators). Once one table has been promoted to
 * the old generation (a session idle through login is enough), every later
 * table and every pending action they reference stays reachable from it
 * until a full collection: measured on Node 20 with 100 actions always in
 * flight, a quarter to half of the young generation then survived each
 * scavenge instead of ~2%, and garbage collection took a quarter of the CPU.
 * This table's arrays link to nothing, and a removed entry's slot is cleared.
 *
 * @module
 */

/** Something kept under its counter. */
export interface Counted {
  /** The key: a non-negative safe integer, unique among the entries held. */
  readonly counter: number;
}

const MIN_CAPACITY = 16;

/** 2^32 / φ: multiplying by it scatters consecutive integers. */
const GOLDEN = 0x9e3779b9;

/** The home slot of `counter` in a table of 2^(32 - shift) slots. */
function home(counter: number, shift: number): number {
  // Math.imul takes the low 32 bits: any safe integer hashes, and equal
  // counters always land on the same slot.
  return Math.imul(counter, GOLDEN) >>> shift;
}

/** The table (see the module doc). */
export class PendingTable<T extends Counted> {
  #slots: (T | undefined)[] = new Array(MIN_CAPACITY).fill(undefined);
  #shift = 32 - Math.log2(MIN_CAPACITY);
  #size = 0;

  /** How many entries are held. */
  get size(): number {
    return this.#size;
  }

  /** The entry under `counter`, if held (any other number, NaN included, finds nothing). */
  get(counter: number): T | undefined {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let i = home(counter, this.#shift);; i = (i + 1) & mask) {
      const e = slots[i];
      if (e === undefined || e.counter === counter) return e;
    }
  }

  /** Adds `entry` under its counter (not already held). */
  add(entry: T): void {
    if (2 * (this.#size + 1) > this.#slots.length) this.#grow();
    this.#place(this.#slots, this.#shift, entry);
    this.#size++;
  }

  /** Removes the entry under `counter`; returns whether one was held. */
  delete(counter: number): boolean {
    const slots = this.#slots;
    const shift = this.#shift;
    const mask = slots.length - 1;
    let i = home(counter, shift);
    for (;; i = (i + 1) & mask) {
      const e = slots[i];
      if (e === undefined) return false;
      if (e.counter === counter) break;
    }
    slots[i] = undefined;
    this.#size--;
    // Backward shift: move later entries of the run into the hole when the
    // hole lies between their home slot and where they sit.
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const e = slots[j];
      if (e === undefined) return true;
      const h = home(e.counter, shift);
      const stays = i <= j ? h > i && h <= j : h > i || h <= j;
      if (!stays) {
        slots[i] = e;
        slots[j] = undefined;
        i = j;
      }
    }
  }

  /** The entries held, in counter order (for closing: rare, so it may sort). */
  values(): T[] {
    const out: T[] = [];
    for (const e of this.#slots) if (e !== undefined) out.push(e);
    return out.sort((a, b) => a.counter - b.counter);
  }

  /** Removes every entry and shrinks back to the initial capacity. */
  clear(): void {
    this.#slots = new Array(MIN_CAPACITY).fill(undefined);
    this.#shift = 32 - Math.log2(MIN_CAPACITY);
    this.#size = 0;
  }

  #place(slots: (T | undefined)[], shift: number, entry: T): void {
    const mask = slots.length - 1;
    let i = home(entry.counter, shift);
    while (slots[i] !== undefined) i = (i + 1) & mask;
    slots[i] = entry;
  }

  #grow(): void {
    const old = this.#slots;
    const slots: (T | undefined)[] = new Array(old.length * 2).fill(undefined);
    const shift = this.#shift - 1;
    for (const e of old) if (e !== undefined) this.#place(slots, shift, e);
    old.fill(undefined);
    this.#slots = slots;
    this.#shift = shift;
  }
}
