/**
 * The engine's own deadlines as one table (in the manner of quinn-proto's
 * `connection/timer.rs`): a fixed set of timer kinds and one optional
 * deadline for each, so the earliest is one scan and nothing is listed by
 * hand twice. The actions' deadlines live in `_deadlines.ts`; the engine
 * takes the minimum of both.
 *
 * @module
 */

/**
 * The kinds of timer, in order of precedence: when several are due at once,
 * `handleTimeout` serves them in this order, and the actions' own deadlines
 * rank after the three that close the connection and before the others.
 */
export const Timer = {
  /** Banner and login answer (from construction until `ready`): closes `loginTimedOut`. */
  login: 0,
  /** A graceful close waiting for Goodbye or EOF: closes with the requested reason. */
  close: 1,
  /** The keepalive Ping's answer: closes `timedOut`. */
  keepaliveAnswer: 2,
  /** Idle time in `ready` with no Ping out: sends a keepalive Ping. */
  idle: 3,
  /** A drop summary is due: emits it. */
  dropSummary: 4,
} as const;

/** One of the {@link Timer} kinds. */
export type TimerKind = typeof Timer[keyof typeof Timer];

/** How many kinds of timer there are. */
export const TIMER_COUNT = 5;

/**
 * One optional absolute deadline (ms) per {@link Timer} kind, and the
 * earliest of them (kept until a change: `pollTimeout` runs after every
 * input, the timers change far less often).
 */
export class TimerTable {
  readonly #deadlines: (number | undefined)[] = [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ];
  #next: number | undefined = undefined;
  #stale = false;

  /**
   * The deadline of `kind`, if armed.
   *
   * @param kind the timer
   * @returns the absolute deadline, or `undefined`
   */
  get(kind: TimerKind): number | undefined {
    return this.#deadlines[kind];
  }

  /**
   * Arms `kind` for `deadline`, or stops it with `undefined`.
   *
   * @param kind the timer
   * @param deadline the absolute deadline, ms
   */
  set(kind: TimerKind, deadline: number | undefined): void {
    if (this.#deadlines[kind] === deadline) return;
    this.#deadlines[kind] = deadline;
    this.#stale = true;
  }

  /**
   * Whether `kind` is armed and due at `now`.
   *
   * @param kind the timer
   * @param now the current time, ms
   * @returns true when its deadline is at or before `now`
   */
  expired(kind: TimerKind, now: number): boolean {
    const d = this.#deadlines[kind];
    return d !== undefined && now >= d;
  }

  /**
   * The earliest armed deadline.
   *
   * @returns the deadline, or `undefined` when none is armed
   */
  next(): number | undefined {
    if (!this.#stale) return this.#next;
    const d = this.#deadlines;
    let t: number | undefined;
    for (let k = 0; k < TIMER_COUNT; k++) {
      const x = d[k];
      if (x !== undefined && (t === undefined || x < t)) t = x;
    }
    this.#stale = false;
    return this.#next = t;
  }

  /** Stops every timer. */
  clear(): void {
    this.#deadlines.fill(undefined);
    this.#next = undefined;
    this.#stale = false;
  }
}
