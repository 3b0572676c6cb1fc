/**
 * One timer for the earliest of a changing set of deadlines (a session's
 * engine, a cluster's reconnect gate): re-armed only when the deadline moves
 * earlier, cleared when there is none, so asking after every input costs no
 * timer churn and an idle owner holds no timer at all (invariant 11).
 *
 * @module
 */

/** The timer (see the module doc). */
export class DeadlineTimer {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #at = Infinity;
  readonly #fire: () => void;
  readonly #minDelayMs: number;

  /**
   * @param onFire called when the armed deadline is reached
   * @param minDelayMs the shortest delay ever asked of `setTimeout`
   */
  constructor(onFire: () => void, minDelayMs = 0) {
    this.#minDelayMs = minDelayMs;
    this.#fire = () => {
      this.#timer = undefined;
      this.#at = Infinity;
      onFire();
    };
  }

  /**
   * Arms for `deadline` (absolute ms), or clears when it is `undefined`.
   *
   * @param deadline the earliest deadline, if any
   * @param now the current time, ms (same clock as `deadline`)
   */
  arm(deadline: number | undefined, now: number): void {
    if (deadline === undefined) {
      this.clear();
      return;
    }
    if (this.#timer !== undefined && this.#at <= deadline) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#at = deadline;
    this.#timer = setTimeout(this.#fire, Math.max(this.#minDelayMs, Math.ceil(deadline - now)));
  }

  /** Cancels the timer, if armed. */
  clear(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Infinity;
  }
}
