/**
 * The simulator's declarative dialplan: per context and extension, the
 * applications a `Local/<exten>@<context>` channel runs, in order.
 *
 * @module
 */

/** One dialplan application of an extension, run in order like Asterisk priorities. */
export type DialplanStep =
  | { readonly app: "Answer" }
  | { readonly app: "Set"; readonly name: string; readonly value: string }
  | {
    readonly app: "UserEvent";
    readonly name: string;
    readonly fields?: Readonly<Record<string, string>>;
  }
  | { readonly app: "Wait"; readonly seconds: number }
  | { readonly app: "Hangup"; readonly cause?: number }
  /** Never answers and never hangs up by itself: the originate times out. */
  | { readonly app: "Ring" }
  /** Indicates ringing (no state change is simulated). */
  | { readonly app: "Ringing" }
  /**
   * Dials `target` (`Local/<exten>@<context>[/n]` or `<exten>@<context>`) and
   * bridges the caller with it once it answers; the dialplan goes on when the
   * bridge ends or the dial fails (`DIALSTATUS` set).
   */
  | { readonly app: "Dial"; readonly target: string; readonly timeoutSeconds?: number }
  /**
   * Waits in queue `queue` (see `SimulatorOptions.queues`) until a member
   * answers and the call ends, or `timeoutSeconds` pass (`QUEUESTATUS` set).
   */
  | { readonly app: "Queue"; readonly queue: string; readonly timeoutSeconds?: number };

/** A dialplan: `dialplan[context][exten]` is the list of steps of that extension. */
export type Dialplan = Readonly<Record<string, Readonly<Record<string, readonly DialplanStep[]>>>>;

/** Options of {@link answerAndWait}. */
export interface AnswerAndWaitOptions {
  /** Hangup cause once the wait is over. Default 16 (Normal Clearing). */
  cause?: number;
  /** Variables set right after answering. */
  set?: Readonly<Record<string, string>>;
  /** A UserEvent raised after answering (name and fields). */
  userEvent?: { name: string; fields?: Readonly<Record<string, string>> };
}

/**
 * An extension that answers, waits `seconds`, then hangs up.
 *
 * @param seconds how long the call stays up
 * @param options hangup cause, variables, user event
 * @returns the steps
 */
export function answerAndWait(seconds: number, options: AnswerAndWaitOptions = {}): DialplanStep[] {
  const steps: DialplanStep[] = [{ app: "Answer" }];
  for (const [name, value] of Object.entries(options.set ?? {})) {
    steps.push({ app: "Set", name, value });
  }
  if (options.userEvent) {
    steps.push({
      app: "UserEvent",
      name: options.userEvent.name,
      fields: options.userEvent.fields,
    });
  }
  steps.push({ app: "Wait", seconds }, { app: "Hangup", cause: options.cause ?? 16 });
  return steps;
}

/**
 * An extension that hangs up busy (cause 17) without answering.
 *
 * @returns the steps
 */
export function busy(): DialplanStep[] {
  return [{ app: "Hangup", cause: 17 }];
}

/**
 * An extension that rings and never answers (the originate's Timeout ends it).
 *
 * @returns the steps
 */
export function noAnswer(): DialplanStep[] {
  return [{ app: "Ring" }];
}

/**
 * An extension that dials `target` and hangs up when the dial is over.
 *
 * @param target `Local/<exten>@<context>[/n]` or `<exten>@<context>`
 * @param timeoutSeconds ring timeout (default: until the callee gives up)
 * @returns the steps
 */
export function dial(target: string, timeoutSeconds?: number): DialplanStep[] {
  return [{ app: "Dial", target, timeoutSeconds }, { app: "Hangup" }];
}

/**
 * An extension that answers and waits in a queue, then hangs up.
 *
 * @param queue the queue's name
 * @param timeoutSeconds how long the caller waits at most (default: no limit)
 * @returns the steps
 */
export function queueCall(queue: string, timeoutSeconds?: number): DialplanStep[] {
  return [{ app: "Answer" }, { app: "Queue", queue, timeoutSeconds }, { app: "Hangup" }];
}

/**
 * An extension that hangs up at once with the given cause, without answering.
 *
 * @param cause Q.850 cause (e.g. 21 call rejected, 34 congestion)
 * @returns the steps
 */
export function hangupWithCause(cause: number): DialplanStep[] {
  return [{ app: "Hangup", cause }];
}

/**
 * The dialplan of the lab Asterisk that recorded the fixtures (context `lab`):
 * 100 answers, sets variables, raises a UserEvent, waits 2 s, hangs up (16);
 * 200 the same with a 10 s wait; 300 sets a variable, raises a UserEvent and
 * hangs up busy (17) without answering; 400 answers and waits 30 s; 500
 * rings 40 s and hangs up (19); 600 dials 100 and 610 dials `Local/200@lab/n`
 * (bridged calls); 700 answers and waits in queue `labq` (30 s at most), 720
 * in `labslow` (60 s); 710 (rings 1 s, answers, talks 4 s) and 711 (rings
 * 60 s, hangs up 19) are the queue members' extensions. 999 does not exist.
 */
export const LAB_DIALPLAN: Dialplan = {
  lab: {
    "100": [
      { app: "Answer" },
      { app: "Set", name: "LABVAR", value: "hello-100" },
      { app: "Set", name: "__LABINHERIT", value: "inherited" },
      { app: "UserEvent", name: "LabEvent", fields: { Exten: "100", Stage: "answered" } },
      { app: "Wait", seconds: 2 },
      { app: "Set", name: "LABVAR", value: "done-100" },
      { app: "Hangup", cause: 16 },
    ],
    "200": [
      { app: "Answer" },
      { app: "Set", name: "LABVAR", value: "hello-200" },
      { app: "UserEvent", name: "LabEvent", fields: { Exten: "200", Stage: "answered" } },
      { app: "Wait", seconds: 10 },
      { app: "Hangup", cause: 16 },
    ],
    "300": [
      { app: "Set", name: "LABVAR", value: "busy-300" },
      { app: "UserEvent", name: "LabEvent", fields: { Exten: "300", Stage: "rejecting" } },
      { app: "Hangup", cause: 17 },
    ],
    "400": [
      { app: "Answer" },
      { app: "Set", name: "LABVAR", value: "hello-400" },
      { app: "UserEvent", name: "LabEvent", fields: { Exten: "400", Stage: "answered" } },
      { app: "Wait", seconds: 30 },
      { app: "Hangup", cause: 16 },
    ],
    "500": [{ app: "Ringing" }, { app: "Wait", seconds: 40 }, { app: "Hangup", cause: 19 }],
    "600": [
      { app: "Set", name: "LABVAR", value: "dial-600" },
      { app: "Dial", target: "Local/100@lab", timeoutSeconds: 20 },
      { app: "Hangup" },
    ],
    "610": [
      { app: "Set", name: "LABVAR", value: "dial-610" },
      { app: "Dial", target: "Local/200@lab/n", timeoutSeconds: 20 },
      { app: "Hangup" },
    ],
    "700": [
      { app: "Answer" },
      { app: "Set", name: "LABVAR", value: "queue-700" },
      { app: "Queue", queue: "labq", timeoutSeconds: 30 },
      { app: "Hangup" },
    ],
    "710": [
      { app: "Ringing" },
      { app: "Wait", seconds: 1 },
      { app: "Answer" },
      { app: "Wait", seconds: 4 },
      { app: "Hangup", cause: 16 },
    ],
    "711": [{ app: "Ringing" }, { app: "Wait", seconds: 60 }, { app: "Hangup", cause: 19 }],
    "720": [
      { app: "Answer" },
      { app: "Set", name: "LABVAR", value: "queue-720" },
      { app: "Queue", queue: "labslow", timeoutSeconds: 60 },
      { app: "Hangup" },
    ],
  },
};

/** The text of a step as Asterisk shows it in `Newexten` (`Application`, `AppData`). */
export function stepAppData(step: DialplanStep): [app: string, data: string] {
  switch (step.app) {
    case "Answer":
      return ["Answer", ""];
    case "Set":
      return ["Set", `${step.name}=${step.value}`];
    case "UserEvent": {
      const parts = [step.name, ...Object.entries(step.fields ?? {}).map(([k, v]) => `${k}: ${v}`)];
      return ["UserEvent", parts.join(",")];
    }
    case "Wait":
      return ["Wait", String(step.seconds)];
    case "Hangup":
      return ["Hangup", step.cause === undefined ? "" : String(step.cause)];
    case "Ring":
      return ["Wait", "86400"];
    case "Ringing":
      return ["Ringing", ""];
    case "Dial":
      return ["Dial", `${step.target},${step.timeoutSeconds ?? ""}`];
    case "Queue":
      return ["Queue", `${step.queue},,,,${step.timeoutSeconds ?? ""}`];
  }
}

/** Q.850 cause texts as Asterisk prints them in `Cause-txt`. */
export function causeText(cause: number): string {
  return CAUSES[cause] ?? "Unknown";
}

const CAUSES: Record<number, string> = {
  0: "Unknown",
  1: "Unallocated (unassigned) number",
  3: "No route to destination",
  16: "Normal Clearing",
  17: "User busy",
  18: "No user responding",
  19: "User alerting, no answer",
  21: "Call Rejected",
  26: "Answered elsewhere",
  27: "Destination out of order",
  34: "Circuit/channel congestion",
  38: "Network out of order",
  127: "Interworking, unspecified",
};
