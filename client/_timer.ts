/**
 * One timer for the earliest of a changing set of deadlines (a client's
 * engine and supervisor, a cluster's reconnect gate): re-armed only when the
 * deadline moves earlier, cleared when there is none, so asking after every
 * input costs no timer churn and an idle owner holds no timer at all
 * (invariant 11). Delays above the runtimes' limit (2^31-1 ms) are clamped
 * and the timer re-armed when it fires early; `Infinity` arms nothing.
 *
 * @module
 */

import type { Clock } from "./clock.ts";

/** The longest delay every runtime's timer takes (about 24.8 days), ms. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** The timer (see the module doc). */
export class DeadlineTimer {
  /** Times the timer fired (early wake-ups of a clamped delay included). */
  wakeups = 0;
  #handle: unknown;
  #armed = false;
  #at = Infinity;
  readonly #clock: Clock;
  readonly #fire: () => void;

  /**
   * @param clock the time source and timers
   * @param onFire called when the armed deadline is reached
   */
  constructor(clock: Clock, onFire: () => void) {
    this.#clock = clock;
    this.#fire = () => {
      this.#armed = false;
      this.wakeups++;
      const at = this.#at;
      this.#at = Infinity;
      // A clamped delay fires early: wait on for the rest.
      if (at > this.#clock.now()) this.arm(at);
      else onFire();
    };
  }

  /** The deadline armed for, or `Infinity`. */
  get at(): number {
    return this.#at;
  }

  /**
   * Arms for `deadline` (absolute ms of the clock), or clears when it is
   * `undefined` or `Infinity`.
   *
   * @param deadline the earliest deadline, if any
   */
  arm(deadline: number | undefined): void {
    if (deadline === undefined || deadline === Infinity) {
      this.clear();
      return;
    }
    if (this.#armed && this.#at <= deadline) return;
    if (this.#armed) this.#clock.clearTimer(this.#handle);
    this.#at = deadline;
    this.#armed = true;
    const delay = Math.min(
      MAX_TIMER_DELAY_MS,
      Math.max(0, Math.ceil(deadline - this.#clock.now())),
    );
    this.#handle = this.#clock.setTimer(delay, this.#fire);
  }

  /** Cancels the timer, if armed. */
  clear(): void {
    if (!this.#armed) return;
    this.#clock.clearTimer(this.#handle);
    this.#armed = false;
    this.#at = Infinity;
  }
}
