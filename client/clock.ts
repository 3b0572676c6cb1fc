/**
 * The time source the client and cluster run on: real time by default, or a
 * manual clock in tests (the simulator's `ManualClock` fits), so reconnects,
 * backoff and deadlines are tested without sleeping.
 *
 * @module
 */

/** Monotonic time and one-shot timers. */
export interface Clock {
  /** Monotonic milliseconds; never goes backwards. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds of this clock; returns a handle. */
  setTimer(ms: number, fn: () => void): unknown;
  /** Cancels a timer by its handle; unknown handles are ignored. */
  clearTimer(handle: unknown): void;
}

/** Real time: `performance.now()` and `setTimeout`. */
export const REAL_CLOCK: Clock = Object.freeze({
  now: (): number => performance.now(),
  setTimer: (ms: number, fn: () => void): unknown => setTimeout(fn, ms),
  clearTimer: (handle: unknown): void => clearTimeout(handle as ReturnType<typeof setTimeout>),
});
