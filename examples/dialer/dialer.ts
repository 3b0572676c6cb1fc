/**
 * The dialer: takes ready leads from the {@link LeadBook} as fast as the
 * pacing controller allows, journals each call before its Originate, follows
 * it on the live model, measures abandons from the queue's `AgentConnect`,
 * and records the outcome. Runtime-neutral: time comes from the client's
 * clock, the journal's disk from an injected sink.
 *
 * @module
 */

import type { Client } from "amikit";
import type { LiveOriginateEnd, LiveOriginateHandle, LiveState } from "amikit/live";
import { LeadBook, type LeadState } from "./book.ts";
import { type CampaignConfig, channelFor, type Outcome } from "./campaign.ts";
import type { DialingRecord, Journal, LeadHistory } from "./journal.ts";
import type { Lead } from "./leads.ts";
import {
  abandonRate,
  pacingAllowance,
  pacingBound,
  pacingDeadline,
  type PacingInput,
  type PacingSettings,
  pacingSettings,
  pacingStart,
  type PacingState,
  pacingStep,
  type PacingView,
} from "./pacing.ts";
import { type Progress, summarize, type Summary } from "./summary.ts";

/** What a {@link Dialer} needs. */
export interface DialerOptions {
  /** The campaign. */
  readonly config: CampaignConfig;
  /** The leads, in file order. */
  readonly leads: readonly Lead[];
  /** The connected (or connecting) client: its clock drives every timer. */
  readonly client: Client;
  /** The live state made on that client. */
  readonly live: LiveState;
  /** Where `dialing` and `outcome` records go. */
  readonly journal: Journal;
  /** What the journal said at start (see `resumeFrom`). */
  readonly history?: ReadonlyMap<string, LeadHistory>;
  /** Wall-clock ms for the journal. Default `Date.now`. */
  readonly wallNow?: () => number;
  /** Called with the figures every `progressEveryMs`. */
  readonly onProgress?: (p: Progress) => void;
  /** Default 1,000 ms. */
  readonly progressEveryMs?: number;
  /** Pacing settings beyond the campaign's (window, steps, idle time). */
  readonly pacing?: Partial<PacingSettings>;
}

/** One call the dialer placed. */
interface Call {
  readonly lead: LeadState;
  readonly attempt: number;
  readonly channelId: string;
  handle: LiveOriginateHandle | undefined;
  answeredAt: number | undefined;
  connectedAt: number | undefined;
  /** Whether the abandon measure has this call (connected in time, or abandoned). */
  measured: boolean;
  abandoned: boolean;
  abandonTimer: unknown;
  /** Given up by a stop that timed out: its late end is ignored. */
  dropped: boolean;
}

/** A campaign run over one server. */
export class Dialer {
  readonly #config: CampaignConfig;
  readonly #client: Client;
  readonly #live: LiveState;
  readonly #journal: Journal;
  readonly #wallNow: () => number;
  readonly #book: LeadBook;
  readonly #settings: PacingSettings;
  readonly #onProgress: ((p: Progress) => void) | undefined;
  readonly #progressEveryMs: number;
  readonly #calls = new Map<string, Call>();
  readonly #offs: Array<() => void> = [];
  #pacing: PacingState;
  #reserved = 0;
  #started = 0;
  #startedAt = 0;
  #wake: unknown = undefined;
  #wakeAt = Infinity;
  #progressTimer: unknown = undefined;
  #scheduled = false;
  #finished = false;
  #error: Error | undefined;
  #resolve!: (s: Summary) => void;
  #reject!: (e: Error) => void;
  /** Resolves with the summary when the campaign is over (or stopped); rejects if the journal failed. */
  readonly done: Promise<Summary>;

  /**
   * Prepares a campaign; {@link Dialer.start} runs it.
   *
   * @param options the campaign, leads, client, live state, journal
   */
  constructor(options: DialerOptions) {
    const c = options.config;
    this.#config = c;
    this.#client = options.client;
    this.#live = options.live;
    this.#journal = options.journal;
    this.#wallNow = options.wallNow ?? Date.now;
    this.#onProgress = options.onProgress;
    this.#progressEveryMs = options.progressEveryMs ?? 1_000;
    const now = this.#client.clock.now();
    this.#book = new LeadBook(options.leads, c, options.history, now, this.#wallNow());
    this.#settings = pacingSettings({
      maxConcurrent: c.maxConcurrent,
      minRatio: c.minRatio,
      maxRatio: c.maxRatio,
      ceiling: c.abandonCeiling,
      drainTimeoutMs: c.drainTimeoutMs,
      ...options.pacing,
    });
    this.#pacing = pacingStart(c.ratio, this.#settings, now);
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** The leads' states. */
  get book(): LeadBook {
    return this.#book;
  }
  /** The pacing state (ratio, measured abandons, phase). */
  get pacing(): PacingState {
    return this.#pacing;
  }
  /** The pacing settings in force. */
  get settings(): PacingSettings {
    return this.#settings;
  }
  /** Calls dialled (or being journalled) that have not ended nor reached an agent. */
  get inFlight(): number {
    let n = this.#reserved;
    for (const call of this.#calls.values()) if (call.connectedAt === undefined) n++;
    return n;
  }
  /** Calls not ended, agents' included. */
  get open(): number {
    return this.#calls.size + this.#reserved;
  }
  /** Originates sent in this run. */
  get started(): number {
    return this.#started;
  }

  /**
   * Starts dialling (once the live state is `live`).
   *
   * @returns {@link Dialer.done}
   */
  start(): Promise<Summary> {
    const clock = this.#client.clock;
    this.#startedAt = clock.now();
    this.#offs.push(
      this.#live.on("queue", () => this.#schedule()),
      this.#live.on("status", () => this.#schedule()),
      this.#client.on(
        "AgentConnect",
        (e) => this.#agentConnect(e.get("Uniqueid"), e.get("Linkedid")),
      ),
    );
    if (this.#onProgress !== undefined) this.#tickProgress();
    this.#schedule();
    return this.done;
  }

  /** Stops gracefully: no new calls; the calls in flight are waited for (bounded by `drainTimeoutMs`). */
  stop(): void {
    this.#input({ type: "stop", at: this.#client.clock.now() });
    this.#schedule();
  }

  /** The figures of the progress line now. */
  progress(): Progress {
    const now = this.#client.clock.now();
    const outcomes: Record<Outcome, number> = {
      answered: 0,
      busy: 0,
      noAnswer: 0,
      congestion: 0,
      failed: 0,
      unknown: 0,
    };
    let left = 0;
    for (const s of this.#book.states) {
      if (s.outcome !== undefined) outcomes[s.outcome]++;
      if (s.status === "ready" || s.status === "waiting") left++;
    }
    const elapsed = Math.max(1, now - this.#startedAt);
    return {
      elapsedMs: now - this.#startedAt,
      perMinute: (this.#started * 60_000) / elapsed,
      inFlight: this.inFlight,
      freeAgents: this.#freeAgents(),
      ratio: this.#pacing.ratio,
      outcomes,
      abandonRate: abandonRate(this.#pacing),
      left,
    };
  }

  #input(input: PacingInput): void {
    this.#pacing = pacingStep(this.#pacing, this.#settings, input);
  }

  #freeAgents(): number {
    return this.#live.freeMembers(this.#config.queue).length;
  }

  #schedule(): void {
    if (this.#scheduled || this.#finished) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  /** The decision: finish, or start as many calls as the pacing allows. */
  #pump(): void {
    if (this.#finished) return;
    const now = this.#client.clock.now();
    this.#book.promote(now);
    const ready = this.#live.status === "live";
    const view: PacingView = {
      freeAgents: ready ? this.#freeAgents() : 0,
      inFlight: this.inFlight,
      leadsReady: this.#book.hasReady,
    };
    this.#input({ type: "tick", at: now });
    this.#input({ type: "observe", at: now, ...view });
    const phase = this.#pacing.phase;
    const nothingLeft = !this.#book.hasReady && this.#book.nextRetryAt === undefined;
    if (this.open === 0 && (phase === "draining" || (phase === "running" && nothingLeft))) {
      this.#input({ type: "drained", at: now });
    }
    if (this.#pacing.phase === "stopped") return this.#finish();
    if (ready && this.#error === undefined) {
      const n = pacingAllowance(this.#pacing, this.#settings, view);
      if (n > 0) this.#dial(this.#book.take(n));
    }
    this.#armWake();
  }

  #armWake(): void {
    const at = Math.min(
      this.#book.nextRetryAt ?? Infinity,
      pacingDeadline(this.#pacing, this.#settings) ?? Infinity,
    );
    if (at === this.#wakeAt) return;
    const clock = this.#client.clock;
    if (this.#wake !== undefined) clock.clearTimer(this.#wake);
    this.#wake = undefined;
    this.#wakeAt = at;
    if (at === Infinity) return;
    this.#wake = clock.setTimer(Math.max(0, at - clock.now()), () => {
      this.#wake = undefined;
      this.#wakeAt = Infinity;
      this.#schedule();
    });
  }

  #tickProgress(): void {
    this.#progressTimer = this.#client.clock.setTimer(this.#progressEveryMs, () => {
      if (this.#finished) return;
      this.#onProgress?.(this.progress());
      this.#tickProgress();
    });
  }

  /** Journals the calls (one write, one sync), then sends their Originates. */
  #dial(leads: LeadState[]): void {
    if (leads.length === 0) return;
    const wall = this.#wallNow();
    const records: DialingRecord[] = leads.map((s) => ({
      t: "dialing",
      lead: s.lead.id,
      attempt: s.attempts,
      channelId: `${this.#config.name}-${s.lead.id}-${s.attempts}`,
      wall,
    }));
    this.#reserved += leads.length;
    this.#journal.write(records).then(
      () => {
        this.#reserved -= leads.length;
        for (const [i, s] of leads.entries()) this.#originate(s, records[i].channelId);
        this.#schedule();
      },
      (error: unknown) => {
        // Nothing was sent: the leads stay as they were, and the campaign stops.
        this.#reserved -= leads.length;
        for (const s of leads) this.#book.giveBack(s.lead.id);
        this.#fail(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  #originate(s: LeadState, channelId: string): void {
    const c = this.#config;
    const call: Call = {
      lead: s,
      attempt: s.attempts,
      channelId,
      handle: undefined,
      answeredAt: undefined,
      connectedAt: undefined,
      measured: false,
      abandoned: false,
      abandonTimer: undefined,
      dropped: false,
    };
    const variables = [
      `CAMPAIGN=${c.name}`,
      `LEAD_ID=${s.lead.id}`,
      ...Object.entries(s.lead.variables).map(([k, v]) => `${k}=${v}`),
    ];
    this.#calls.set(channelId, call);
    try {
      call.handle = this.#live.originate({
        Channel: channelFor(c, s.lead.number),
        Context: c.context,
        Exten: c.exten,
        Priority: c.priority,
        Timeout: c.ringTimeoutMs,
        ChannelId: channelId,
        Variable: variables,
        ...(c.callerId === undefined ? {} : { CallerID: c.callerId }),
      }, { timeoutMs: c.callTimeoutMs });
    } catch (error) {
      // Refused before anything was written (closed, too many, id in use).
      this.#ended(call, undefined, error instanceof Error ? error.message : String(error));
      return;
    }
    this.#started++;
    call.handle.answered.then((ch) => {
      if (ch === undefined || call.dropped) return;
      call.answeredAt = this.#client.clock.now();
      call.abandonTimer = this.#client.clock.setTimer(c.abandonAfterMs, () => {
        call.abandonTimer = undefined;
        this.#measure(call, true); // no agent within the threshold
      });
    });
    call.handle.ended.then((end) => this.#ended(call, end, ""));
  }

  /** An AgentConnect: the queue handed a caller to an agent. */
  #agentConnect(uniqueid: string | undefined, linkedid: string | undefined): void {
    const id = (uniqueid ?? "").replace(/;2$/, "");
    const call = this.#calls.get(id) ?? this.#calls.get(linkedid ?? "");
    if (call === undefined || call.connectedAt !== undefined) return;
    call.connectedAt = this.#client.clock.now();
    this.#measure(call, false);
    this.#schedule();
  }

  /** Counts an answered call in the abandon rate, once. */
  #measure(call: Call, abandoned: boolean): void {
    if (call.abandonTimer !== undefined) this.#client.clock.clearTimer(call.abandonTimer);
    call.abandonTimer = undefined;
    if (call.measured || call.dropped) return;
    call.measured = true;
    call.abandoned = abandoned;
    this.#input({ type: "measured", abandoned, at: this.#client.clock.now() });
  }

  /** A call is over (or was never sent: `end` undefined, `refused` says why). */
  #ended(call: Call, end: LiveOriginateEnd | undefined, refused: string): void {
    if (call.dropped || this.#finished) return;
    const now = this.#client.clock.now();
    const outcome: Outcome = end?.outcome ?? "failed";
    // An answered call that never reached an agent was abandoned (hung up first).
    if (outcome === "answered" && !call.measured) this.#measure(call, true);
    if (call.abandonTimer !== undefined) this.#client.clock.clearTimer(call.abandonTimer);
    const notSent = end === undefined ||
      (outcome === "failed" && (end.error as { written?: boolean } | undefined)?.written === false);
    const detail = end === undefined
      ? `notSent: ${refused}`
      : notSent
      ? "notSent"
      : end.detail !== ""
      ? end.detail
      : outcome === "unknown"
      ? "connection"
      : outcome === "failed"
      ? (end.error?.message ?? "").slice(0, 120)
      : "";
    const talkMs = call.connectedAt === undefined
      ? 0
      : Math.round(Math.max(0, (end?.endedAt ?? now) - call.connectedAt));
    this.#record(call, { outcome, abandoned: call.abandoned, talkMs, cause: end?.cause, detail });
  }

  #record(
    call: Call,
    r: {
      outcome: Outcome;
      abandoned: boolean;
      talkMs: number;
      cause: number | undefined;
      detail: string;
    },
  ): void {
    this.#calls.delete(call.channelId);
    this.#book.finish(call.lead.lead.id, r, this.#client.clock.now());
    this.#journal.write([{
      t: "outcome",
      lead: call.lead.lead.id,
      attempt: call.attempt,
      ...r,
      wall: this.#wallNow(),
    }]).catch((e: unknown) => this.#fail(e instanceof Error ? e : new Error(String(e))));
    this.#schedule();
  }

  #fail(error: Error): void {
    this.#error ??= error;
    this.stop();
  }

  #finish(): void {
    if (this.#finished) return;
    // A stop that timed out: the calls still open are given up as unknown.
    for (const call of [...this.#calls.values()]) {
      this.#record(call, {
        outcome: "unknown",
        abandoned: call.abandoned,
        talkMs: 0,
        cause: undefined,
        detail: "stopped",
      });
      call.dropped = true;
    }
    this.#finished = true;
    const clock = this.#client.clock;
    if (this.#wake !== undefined) clock.clearTimer(this.#wake);
    if (this.#progressTimer !== undefined) clock.clearTimer(this.#progressTimer);
    for (const off of this.#offs.splice(0)) off();
    const summary = summarize(this.#book.states);
    this.#journal.flushed().then(() => {
      if (this.#error !== undefined) this.#reject(this.#error);
      else this.#resolve(summary);
    });
  }

  /** For tests: the pacing bound with the given free agents. */
  boundFor(freeAgents: number): number {
    return pacingBound(this.#pacing, this.#settings, freeAgents);
  }
}
