/**
 * When the live state resyncs by itself (after the session dropped events,
 * or the model turned `degraded`): a pure policy on injected time. At most
 * one sync is in flight, and automatic syncs start at least `minIntervalMs`
 * apart, so a flood of drops cannot loop.
 *
 * @module
 */

/**
 * The policy's phases: `idle`; `waiting` for its deadline to start one;
 * `inFlight` (a sync runs); `inFlightWanted` (a sync runs and another was
 * asked for since it started: its lists may predate the request).
 */
export type ResyncPhase = "idle" | "waiting" | "inFlight" | "inFlightWanted";

/** The allowed transitions, by input: the code asserts every change against it. */
export const RESYNC_TRANSITIONS: Readonly<Record<ResyncPhase, readonly ResyncPhase[]>> = {
  idle: ["waiting", "inFlight"],
  waiting: ["inFlight", "idle"],
  inFlight: ["inFlightWanted", "idle"],
  inFlightWanted: ["waiting", "inFlight", "idle"],
};

/** What the policy asks of its driver after an input. */
export type ResyncAction =
  /** Start a sync now (the driver then reports {@link AutoResync.started}). */
  | { readonly type: "start" }
  /** Arm the timer for this time and call {@link AutoResync.timeout} then. */
  | { readonly type: "wait"; readonly until: number }
  /** Nothing to do. */
  | { readonly type: "none" };

const NONE: ResyncAction = { type: "none" };
const START: ResyncAction = { type: "start" };

/** The automatic resync policy of one live state. */
export class AutoResync {
  readonly #minIntervalMs: number;
  #phase: ResyncPhase = "idle";
  #lastStart = -Infinity;
  #deadline: number | undefined;
  /** Automatic syncs asked for that started (or will). */
  requested = 0;

  /** @param minIntervalMs the least time between the starts of two automatic syncs */
  constructor(minIntervalMs: number) {
    this.#minIntervalMs = Math.max(0, minIntervalMs);
  }

  /** The phase. */
  get phase(): ResyncPhase {
    return this.#phase;
  }

  /** When the policy wants {@link timeout} called, if it does. */
  get deadline(): number | undefined {
    return this.#deadline;
  }

  /**
   * A resync is wanted (events were dropped, the model degraded).
   *
   * @param now the clock's time
   * @returns what to do
   */
  request(now: number): ResyncAction {
    switch (this.#phase) {
      case "idle":
        this.requested++;
        return this.#due(now);
      case "inFlight":
        this.requested++;
        this.#go("inFlightWanted");
        return NONE;
      default:
        return NONE; // already wanted: absorbed
    }
  }

  /**
   * The timer armed for {@link deadline} fired.
   *
   * @param now the clock's time
   * @returns what to do
   */
  timeout(now: number): ResyncAction {
    if (this.#phase !== "waiting" || this.#deadline === undefined || now < this.#deadline) {
      return NONE;
    }
    return START;
  }

  /**
   * A sync started, whoever asked for it (a reconnect, the user, this policy):
   * it covers every request made before.
   *
   * @param now the clock's time
   */
  started(now: number): void {
    this.#lastStart = now;
    this.#deadline = undefined;
    this.#go("inFlight");
  }

  /**
   * The sync in flight ended (merged, failed or superseded).
   *
   * @param now the clock's time
   * @returns what to do
   */
  ended(now: number): ResyncAction {
    if (this.#phase === "inFlightWanted") return this.#due(now);
    if (this.#phase === "inFlight") this.#go("idle");
    return NONE;
  }

  /** The client is not ready: nothing is wanted any more (its next `ready` syncs). */
  reset(): void {
    this.#deadline = undefined;
    if (this.#phase !== "idle") this.#go("idle");
  }

  /** Waits until the spacing allows a start: at once (`start`) or at a deadline (`wait`). */
  #due(now: number): ResyncAction {
    const at = Math.max(now, this.#lastStart + this.#minIntervalMs);
    this.#deadline = at;
    this.#go("waiting");
    return at <= now ? START : { type: "wait", until: at };
  }

  #go(next: ResyncPhase): void {
    if (next === this.#phase) return;
    if (!RESYNC_TRANSITIONS[this.#phase].includes(next)) {
      throw new Error(`resync policy: ${this.#phase} -> ${next} is not a transition`);
    }
    this.#phase = next;
  }
}
