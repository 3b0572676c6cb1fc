/**
 * The simulator's clock: real time, or a manual clock that a test advances,
 * so channel life and login delays can be tested without sleeping.
 *
 * @module
 */

/** A handle returned by {@link SimClock.setTimer}. */
export type TimerHandle = number;

/** The time source and timer service the simulator runs on. */
export interface SimClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (for `Timestamp`, `Uniqueid`, CDR times). */
  wallNow(): number;
  /** Calls `fn` once after `ms` milliseconds of this clock. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Cancels a timer; unknown handles are ignored. */
  clearTimer(handle: TimerHandle): void;
}

/** Real time: `performance.now()`, `Date.now()` and `setTimeout`. */
export class RealClock implements SimClock {
  readonly #timers = new Map<number, ReturnType<typeof setTimeout>>();
  #next = 1;

  /**
   * Monotonic time.
   *
   * @returns milliseconds from `performance.now()`
   */
  now(): number {
    return performance.now();
  }

  /**
   * Wall-clock time.
   *
   * @returns milliseconds since the epoch
   */
  wallNow(): number {
    return Date.now();
  }

  /**
   * Calls `fn` once after `ms` real milliseconds.
   *
   * @param ms delay
   * @param fn callback
   * @returns a handle for {@link RealClock.clearTimer}
   */
  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.#next++;
    this.#timers.set(
      id,
      setTimeout(() => {
        this.#timers.delete(id);
        fn();
      }, Math.max(0, ms)),
    );
    return id;
  }

  /**
   * Cancels a timer.
   *
   * @param handle from {@link RealClock.setTimer}
   */
  clearTimer(handle: TimerHandle): void {
    const t = this.#timers.get(handle);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(handle);
  }

  /** Cancels every pending timer (the simulator calls this on stop). */
  clearAll(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}

/** Options of a {@link ManualClock}. */
export interface ManualClockOptions {
  /** Wall-clock time at monotonic 0, in epoch milliseconds. Default 1_795_782_000_000. */
  epochMs?: number;
}

interface ManualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that only moves when the test calls {@link ManualClock.advance}.
 * Timers fire in time order (then in the order they were set), synchronously
 * inside `advance`.
 *
 * @example
 * const clock = new ManualClock();
 * const sim = await AmiSimulator.start({ clock });
 * clock.advance(2000); // the 2-second Wait of the dialplan is over
 */
export class ManualClock implements SimClock {
  #now = 0;
  #next = 1;
  readonly #epoch: number;
  #timers: ManualTimer[] = [];

  /**
   * Creates a clock at monotonic 0.
   *
   * @param options the wall-clock origin
   */
  constructor(options: ManualClockOptions = {}) {
    this.#epoch = options.epochMs ?? 1_795_782_000_000;
  }

  /**
   * Monotonic time: only moves in {@link ManualClock.advance}.
   *
   * @returns the current manual time
   */
  now(): number {
    return this.#now;
  }

  /**
   * Wall-clock time.
   *
   * @returns the epoch origin plus the manual time
   */
  wallNow(): number {
    return this.#epoch + this.#now;
  }

  /**
   * Calls `fn` once the clock has been advanced by `ms`.
   *
   * @param ms delay
   * @param fn callback
   * @returns a handle
   */
  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.#next++;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  /**
   * Cancels a timer.
   *
   * @param handle from {@link ManualClock.setTimer}
   */
  clearTimer(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.#timers.length;
  }

  /** When the next timer fires (manual ms), or `undefined` when none is set. */
  get nextAt(): number | undefined {
    let at: number | undefined;
    for (const t of this.#timers) if (at === undefined || t.at < at) at = t.at;
    return at;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due, in order
   * (timers set by a firing timer fire too if they fall within the window).
   *
   * @param ms milliseconds to advance (>= 0)
   */
  advance(ms: number): void {
    const target = this.#now + Math.max(0, ms);
    for (;;) {
      let best: ManualTimer | undefined;
      for (const t of this.#timers) {
        if (t.at <= target && (!best || t.at < best.at || (t.at === best.at && t.id < best.id))) {
          best = t;
        }
      }
      if (!best) break;
      this.#timers = this.#timers.filter((t) => t !== best);
      this.#now = Math.max(this.#now, best.at);
      best.fn();
    }
    this.#now = target;
  }
}
