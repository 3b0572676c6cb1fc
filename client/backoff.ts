/**
 * Reconnect delays: exponential backoff with full jitter above a floor,
 * reset after a stable session. Pure: time is passed in and randomness
 * injected, so a test reproduces every delay exactly.
 *
 * @module
 */

/** Reconnect timing. */
export interface BackoffOptions {
  /** The shortest delay before a reconnect attempt, ms. Default 500. */
  readonly minDelayMs?: number;
  /** The longest delay, ms; a failed login waits this long. Default 30,000. */
  readonly maxDelayMs?: number;
  /** A session up this long resets the backoff, ms. Default 10,000. */
  readonly stableAfterMs?: number;
  /** Uniform randomness in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/** Why the next attempt is needed. */
export type FailureKind = "connectFailed" | "lost" | "authFailed";

/** Default reconnect timing. */
export const DEFAULT_BACKOFF: Readonly<Required<Omit<BackoffOptions, "random">>> = {
  minDelayMs: 500,
  maxDelayMs: 30_000,
  stableAfterMs: 10_000,
};

/**
 * The delay of the n-th consecutive attempt (0-based): uniform in
 * `[min, min(max, min * 2^(n+1))]`.
 *
 * @param attempt consecutive failures so far
 * @param options timing and a value `r` in [0, 1)
 * @returns the delay in ms
 */
export function backoffDelay(
  attempt: number,
  options: { minDelayMs: number; maxDelayMs: number; r: number },
): number {
  const { minDelayMs: min, maxDelayMs: max } = options;
  const ceiling = Math.min(max, min * 2 ** Math.min(attempt + 1, 52));
  return Math.max(min, Math.min(max, min + options.r * (ceiling - min)));
}

/** The backoff state of one node. */
export class Backoff {
  /** Consecutive failures since the last stable session. */
  attempt = 0;
  readonly #min: number;
  readonly #max: number;
  readonly #stable: number;
  readonly #random: () => number;
  #upSince: number | undefined;

  /** Creates the backoff state with its timing and randomness. */
  constructor(options: BackoffOptions = {}) {
    this.#min = options.minDelayMs ?? DEFAULT_BACKOFF.minDelayMs;
    this.#max = Math.max(this.#min, options.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs);
    this.#stable = options.stableAfterMs ?? DEFAULT_BACKOFF.stableAfterMs;
    this.#random = options.random ?? Math.random;
  }

  /** Call when a session is logged in. @param now monotonic ms */
  up(now: number): void {
    this.#upSince = now;
  }

  /**
   * Call when an attempt failed or a session ended; returns how long to wait.
   * A session that stayed up `stableAfterMs` resets the count first; a
   * failed login waits the maximum (do not hammer a server with bad
   * credentials); a server that accepts and drops at once keeps growing the
   * delay like a refused connect.
   *
   * @param kind what happened
   * @param now monotonic ms
   * @returns the delay before the next attempt, ms
   */
  failure(kind: FailureKind, now: number): number {
    if (this.#upSince !== undefined && now - this.#upSince >= this.#stable) this.attempt = 0;
    this.#upSince = undefined;
    const delay = kind === "authFailed" ? this.#max : backoffDelay(this.attempt, {
      minDelayMs: this.#min,
      maxDelayMs: this.#max,
      r: this.#random(),
    });
    this.attempt++;
    return delay;
  }
}
