/**
 * The pacing controller, pure: how many calls may start now, and how the
 * dial ratio follows the abandon rate. No clock, no I/O: every input
 * carries `at` (ms, monotonic), {@link pacingStep} returns the next state,
 * {@link pacingDeadline} says when the controller wants to be ticked.
 *
 * - The bound: calls in flight (dialled, not yet ended nor with an agent)
 *   never grow past `min(maxConcurrent, floor(ratio x free agents))`.
 * - The ratio comes down when the abandon rate nears the ceiling (down to
 *   `minRatio` past it), and goes up by a small step when agents sat idle
 *   for `idleAfterMs` while the ratio held the dialer back. The rules are
 *   the table {@link RATIO_RULES}; the phases and their transitions the
 *   table {@link PACING_TRANSITIONS}.
 *
 * @module
 */

/** The controller's phases: dialling, stopping (no new calls), stopped. */
export type PacingPhase = "running" | "draining" | "stopped";

/** Every allowed phase change; {@link pacingStep} throws on any other. */
export const PACING_TRANSITIONS: Readonly<Record<PacingPhase, readonly PacingPhase[]>> = {
  running: ["draining", "stopped"],
  draining: ["stopped"],
  stopped: [],
};

/** The controller's settings (see {@link pacingSettings} for the defaults). */
export interface PacingSettings {
  /** Calls in flight at most. */
  readonly maxConcurrent: number;
  /** Ratio bounds. */
  readonly minRatio: number;
  /** See {@link PacingSettings.minRatio}. */
  readonly maxRatio: number;
  /** The abandon rate not to reach (0.03). */
  readonly ceiling: number;
  /** "Near the ceiling" starts at this fraction of it. Default 0.66. */
  readonly nearFraction: number;
  /** Answered calls measured before the rate moves the ratio. Default 10. */
  readonly minSample: number;
  /** The recent answered calls the window rate is measured on. Default 50. */
  readonly window: number;
  /** Ratio taken off per answered call while near the ceiling. Default 0.2. */
  readonly stepDown: number;
  /** Ratio added after agents sat idle for `idleAfterMs`. Default 0.1. */
  readonly stepUp: number;
  /** Idle time (agents free, dialer held by the ratio) before a step up, ms. Default 15,000. */
  readonly idleAfterMs: number;
  /** How long a stop waits for the calls in flight, ms. */
  readonly drainTimeoutMs: number;
}

/** The controller's state: plain data. */
export interface PacingState {
  /** The phase. */
  readonly phase: PacingPhase;
  /** Calls per free agent. */
  readonly ratio: number;
  /** Answered calls measured (connected to an agent in time, or abandoned). */
  readonly answered: number;
  /** Of those, abandoned. */
  readonly abandoned: number;
  /** The last `window` answered calls, oldest first: `true` for abandoned. */
  readonly recent: readonly boolean[];
  /** Since when agents sit free while the ratio holds the dialer back, or `undefined`. */
  readonly idleSince: number | undefined;
  /** When the ratio last moved (or the start). */
  readonly adjustedAt: number;
  /** When a drain gives up waiting (phase `draining`). */
  readonly drainDeadline: number | undefined;
  /** The last rule that moved the ratio (`""` at first). */
  readonly lastRule: string;
}

/** What the dialer sees at a decision point. */
export interface PacingView {
  /** Free agents in the queue (live model). */
  readonly freeAgents: number;
  /** Calls dialled, not yet ended nor connected to an agent. */
  readonly inFlight: number;
  /** Whether a lead is waiting to be dialled now. */
  readonly leadsReady: boolean;
}

/** An input of the controller. */
export type PacingInput =
  /** An answered call was classified: with an agent in time, or abandoned. */
  | { readonly type: "measured"; readonly abandoned: boolean; readonly at: number }
  /** The dialer looked at its view (call before {@link pacingAllowance}). */
  | ({ readonly type: "observe"; readonly at: number } & PacingView)
  /** Stop: no new calls; wait for those in flight. */
  | { readonly type: "stop"; readonly at: number }
  /** No call is in flight any more (or none is left to dial): stop for good. */
  | { readonly type: "drained"; readonly at: number }
  /** Time passed (a deadline from {@link pacingDeadline}). */
  | { readonly type: "tick"; readonly at: number };

/** What the ratio rules look at. */
export interface RatioMeasure {
  /** The larger of the campaign's and the recent window's abandon rate. */
  readonly rate: number;
  /** Answered calls measured so far. */
  readonly sample: number;
  /** How long agents sat idle with the ratio holding back (0 if not idle), ms. */
  readonly idleMs: number;
}

/** One row of the ratio table: when it applies and the ratio it sets. */
export interface RatioRule {
  /** Its name (kept in {@link PacingState.lastRule}). */
  readonly name: string;
  /** Which inputs it is tried on. */
  readonly on: "measured" | "idle";
  /** Whether it applies. */
  readonly when: (m: RatioMeasure, s: PacingSettings) => boolean;
  /** The new ratio (clamped to the bounds afterwards). */
  readonly next: (ratio: number, s: PacingSettings) => number;
}

/**
 * The ratio adaptation, first matching row wins: past the ceiling, drop to
 * the minimum (no overdial); near it, step down; idle agents and a rate well
 * under it, step up.
 */
export const RATIO_RULES: readonly RatioRule[] = [
  {
    name: "over",
    on: "measured",
    when: (m, s) => m.sample >= s.minSample && m.rate >= s.ceiling,
    next: (_r, s) => s.minRatio,
  },
  {
    name: "near",
    on: "measured",
    when: (m, s) => m.sample >= s.minSample && m.rate >= s.ceiling * s.nearFraction,
    next: (r, s) => r - s.stepDown,
  },
  {
    name: "idle",
    on: "idle",
    when: (m, s) => m.idleMs >= s.idleAfterMs && m.rate < s.ceiling * s.nearFraction,
    next: (r, s) => r + s.stepUp,
  },
];

/**
 * Settings with the defaults filled in.
 *
 * @param s the required ones and any others
 * @returns the settings
 */
export function pacingSettings(
  s:
    & Pick<PacingSettings, "maxConcurrent" | "minRatio" | "maxRatio" | "ceiling">
    & Partial<PacingSettings>,
): PacingSettings {
  return {
    nearFraction: 0.66,
    minSample: 10,
    window: 50,
    stepDown: 0.2,
    stepUp: 0.1,
    idleAfterMs: 15_000,
    drainTimeoutMs: 60_000,
    ...s,
  };
}

/**
 * The starting state.
 *
 * @param ratio the starting ratio (clamped to the bounds)
 * @param s the settings
 * @param at now
 * @returns the state
 */
export function pacingStart(ratio: number, s: PacingSettings, at: number): PacingState {
  return {
    phase: "running",
    ratio: clamp(ratio, s),
    answered: 0,
    abandoned: 0,
    recent: [],
    idleSince: undefined,
    adjustedAt: at,
    drainDeadline: undefined,
    lastRule: "",
  };
}

function clamp(ratio: number, s: PacingSettings): number {
  return Math.round(Math.min(s.maxRatio, Math.max(s.minRatio, ratio)) * 1000) / 1000;
}

/**
 * The calls-in-flight bound: `min(maxConcurrent, floor(ratio x free))`.
 *
 * @param state the state
 * @param s the settings
 * @param freeAgents free agents now
 * @returns the bound (0 when not running)
 */
export function pacingBound(state: PacingState, s: PacingSettings, freeAgents: number): number {
  if (state.phase !== "running") return 0;
  return Math.min(s.maxConcurrent, Math.floor(state.ratio * Math.max(0, freeAgents) + 1e-9));
}

/**
 * How many calls may start now: the bound less the calls in flight, never
 * below 0.
 *
 * @param state the state
 * @param s the settings
 * @param view free agents and calls in flight
 * @returns the number of calls to start
 */
export function pacingAllowance(state: PacingState, s: PacingSettings, view: PacingView): number {
  return Math.max(0, pacingBound(state, s, view.freeAgents) - view.inFlight);
}

/**
 * The campaign's abandon rate: abandoned over answered calls measured.
 *
 * @param state the state
 * @returns the rate (0 before any answered call)
 */
export function abandonRate(state: PacingState): number {
  return state.answered === 0 ? 0 : state.abandoned / state.answered;
}

/** The rate the rules use: the campaign's or the recent window's, whichever is higher. */
function measuredRate(state: PacingState): number {
  const n = state.recent.length;
  const recent = n === 0 ? 0 : state.recent.filter((a) => a).length / n;
  return Math.max(abandonRate(state), recent);
}

function move(state: PacingState, phase: PacingPhase): PacingState {
  if (phase === state.phase) return state;
  if (!PACING_TRANSITIONS[state.phase].includes(phase)) {
    throw new Error(`pacing: ${state.phase} -> ${phase} is not a transition`);
  }
  return { ...state, phase, idleSince: undefined };
}

function applyRules(
  state: PacingState,
  s: PacingSettings,
  on: RatioRule["on"],
  at: number,
): PacingState {
  const idleMs = state.idleSince === undefined
    ? 0
    : at - Math.max(state.idleSince, state.adjustedAt);
  const m: RatioMeasure = { rate: measuredRate(state), sample: state.answered, idleMs };
  for (const rule of RATIO_RULES) {
    if (rule.on !== on || !rule.when(m, s)) continue;
    const ratio = clamp(rule.next(state.ratio, s), s);
    if (ratio === state.ratio && on === "measured") return state;
    return { ...state, ratio, adjustedAt: at, lastRule: rule.name };
  }
  return state;
}

/**
 * The next state after one input.
 *
 * @param state the state
 * @param s the settings
 * @param input what happened
 * @returns the next state (the same object when nothing changed)
 */
export function pacingStep(state: PacingState, s: PacingSettings, input: PacingInput): PacingState {
  switch (input.type) {
    case "measured": {
      const recent = [...state.recent, input.abandoned];
      if (recent.length > s.window) recent.splice(0, recent.length - s.window);
      const next: PacingState = {
        ...state,
        answered: state.answered + 1,
        abandoned: state.abandoned + (input.abandoned ? 1 : 0),
        recent,
      };
      return state.phase === "running" ? applyRules(next, s, "measured", input.at) : next;
    }
    case "observe": {
      if (state.phase !== "running") return state;
      const held = input.freeAgents > 0 && input.leadsReady &&
        input.inFlight >= pacingBound(state, s, input.freeAgents) &&
        pacingBound(state, s, input.freeAgents) < s.maxConcurrent;
      if (!held) return state.idleSince === undefined ? state : { ...state, idleSince: undefined };
      const idle = state.idleSince === undefined ? { ...state, idleSince: input.at } : state;
      return applyRules(idle, s, "idle", input.at);
    }
    case "stop":
      if (state.phase !== "running") return state;
      return { ...move(state, "draining"), drainDeadline: input.at + s.drainTimeoutMs };
    case "drained":
      return move(state, "stopped");
    case "tick": {
      if (state.phase === "draining" && input.at >= (state.drainDeadline ?? Infinity)) {
        return move(state, "stopped");
      }
      return state.phase === "running" ? applyRules(state, s, "idle", input.at) : state;
    }
  }
}

/**
 * When the controller wants a `tick`: the drain deadline, or when idle
 * agents would earn a step up.
 *
 * @param state the state
 * @param s the settings
 * @returns a time, or `undefined`
 */
export function pacingDeadline(state: PacingState, s: PacingSettings): number | undefined {
  if (state.phase === "draining") return state.drainDeadline;
  if (state.phase === "running" && state.idleSince !== undefined && state.ratio < s.maxRatio) {
    return Math.max(state.idleSince, state.adjustedAt) + s.idleAfterMs;
  }
  return undefined;
}
