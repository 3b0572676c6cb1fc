/**
 * The dialer: takes ready leads from the {@link LeadBook} as fast as the
 * pacing controller of each server allows, journals each call before its
 * Originate, follows it on that server's live model, measures abandons from
 * the queue's `AgentConnect`, and records the outcome. Runtime-neutral: time
 * comes from the clients' clock, the journal's disk from an injected sink.
 *
 * @module
 */

import type { Client, Clock } from "amikit";
import type { LiveOriginateEnd, LiveOriginateHandle, LiveState } from "amikit/live";
import { LeadBook, type LeadState } from "./book.ts";
import { type CampaignConfig, channelFor, type Outcome, zeroOutcomes } from "./campaign.ts";
import type { DialingRecord, Journal, LeadHistory } from "./journal.ts";
import type { Lead } from "./leads.ts";
import {
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

/** One server the campaign dials through. */
export interface DialerSite {
  /** Its name (journal, progress). */
  readonly name: string;
  /** Its client. Every site's client runs on the same clock (the first one's drives the timers). */
  readonly client: Client;
  /** The live state made on that client. */
  readonly live: LiveState;
}

/** What a {@link Dialer} needs. */
export interface DialerOptions {
  /** The campaign. */
  readonly config: CampaignConfig;
  /** The leads, in file order: shared by every site. */
  readonly leads: readonly Lead[];
  /** The servers, each with its client and live state; each paces by its own queue's agents. */
  readonly sites: readonly DialerSite[];
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

/** One site's pacing and the calls being journalled for it. */
interface Site {
  readonly name: string;
  readonly client: Client;
  readonly live: LiveState;
  pacing: PacingState;
  reserved: number;
}

/** One call the dialer placed. */
interface Call {
  readonly site: Site;
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

/** A campaign run over one or more servers. */
export class Dialer {
  readonly #config: CampaignConfig;
  readonly #clock: Clock;
  readonly #sites: Site[];
  readonly #journal: Journal;
  readonly #wallNow: () => number;
  readonly #book: LeadBook;
  readonly #settings: PacingSettings;
  readonly #onProgress: ((p: Progress) => void) | undefined;
  readonly #progressEveryMs: number;
  readonly #calls = new Map<string, Call>();
  readonly #offs: Array<() => void> = [];
  #started = 0;
  #turn = 0;
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
   * @param options the campaign, leads, sites, journal
   */
  constructor(options: DialerOptions) {
    const c = options.config;
    if (options.sites.length === 0) throw new Error("dialer: no site");
    this.#config = c;
    this.#clock = options.sites[0].client.clock;
    this.#journal = options.journal;
    this.#wallNow = options.wallNow ?? Date.now;
    this.#onProgress = options.onProgress;
    this.#progressEveryMs = options.progressEveryMs ?? 1_000;
    const now = this.#clock.now();
    this.#book = new LeadBook(options.leads, c, options.history, now, this.#wallNow());
    this.#settings = pacingSettings({
      maxConcurrent: c.maxConcurrent,
      minRatio: c.minRatio,
      maxRatio: c.maxRatio,
      ceiling: c.abandonCeiling,
      drainTimeoutMs: c.drainTimeoutMs,
      ...options.pacing,
    });
    this.#sites = options.sites.map((site) => ({
      name: site.name,
      client: site.client,
      live: site.live,
      pacing: pacingStart(c.ratio, this.#settings, now),
      reserved: 0,
    }));
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** The leads' states. */
  get book(): LeadBook {
    return this.#book;
  }
  /** The first site's pacing state (ratio, measured abandons, phase). */
  get pacing(): PacingState {
    return this.#sites[0].pacing;
  }
  /**
   * A site's pacing state.
   *
   * @param site the site's name
   * @returns its state, or `undefined`
   */
  pacingOf(site: string): PacingState | undefined {
    return this.#sites.find((s) => s.name === site)?.pacing;
  }
  /** The pacing settings in force. */
  get settings(): PacingSettings {
    return this.#settings;
  }
  /** Calls dialled (or being journalled) that have not ended nor reached an agent, every site. */
  get inFlight(): number {
    return this.#sites.reduce((n, site) => n + this.#inFlight(site), 0);
  }
  /** Calls not ended, agents' included, every site. */
  get open(): number {
    return this.#sites.reduce((n, site) => n + this.#open(site), 0);
  }

  #inFlight(site: Site): number {
    let n = site.reserved;
    for (const call of this.#calls.values()) {
      if (call.site === site && call.connectedAt === undefined) n++;
    }
    return n;
  }

  #open(site: Site): number {
    let n = site.reserved;
    for (const call of this.#calls.values()) if (call.site === site) n++;
    return n;
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
    this.#startedAt = this.#clock.now();
    for (const site of this.#sites) {
      this.#offs.push(
        site.live.on("queue", () => this.#schedule()),
        site.live.on("status", () => this.#schedule()),
        site.client.on(
          "AgentConnect",
          (e) => this.#agentConnect(e.get("Uniqueid"), e.get("Linkedid")),
        ),
      );
    }
    if (this.#onProgress !== undefined) this.#tickProgress();
    this.#schedule();
    return this.done;
  }

  /** Stops gracefully: no new calls; the calls in flight are waited for (bounded by `drainTimeoutMs`). */
  stop(): void {
    const at = this.#clock.now();
    for (const site of this.#sites) this.#input(site, { type: "stop", at });
    this.#schedule();
  }

  /** The figures of the progress line now. */
  progress(): Progress {
    const now = this.#clock.now();
    const outcomes = zeroOutcomes();
    let left = 0;
    for (const s of this.#book.states) {
      if (s.outcome !== undefined) outcomes[s.outcome]++;
      if (s.status === "ready" || s.status === "waiting") left++;
    }
    const elapsed = Math.max(1, now - this.#startedAt);
    let answered = 0, abandoned = 0, ratio = 0;
    for (const site of this.#sites) {
      answered += site.pacing.answered;
      abandoned += site.pacing.abandoned;
      ratio += site.pacing.ratio / this.#sites.length;
    }
    return {
      elapsedMs: now - this.#startedAt,
      perMinute: (this.#started * 60_000) / elapsed,
      inFlight: this.inFlight,
      freeAgents: this.#sites.reduce((n, site) => n + this.#freeAgents(site), 0),
      ratio,
      outcomes,
      abandonRate: answered === 0 ? 0 : abandoned / answered,
      left,
    };
  }

  #input(site: Site, input: PacingInput): void {
    site.pacing = pacingStep(site.pacing, this.#settings, input);
  }

  #freeAgents(site: Site): number {
    return site.live.freeMembers(this.#config.queue).length;
  }

  #schedule(): void {
    if (this.#scheduled || this.#finished) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  /**
   * The decision, site by site (starting with a different one each time, so
   * that scarce leads are shared): finish, or start as many calls as each
   * site's pacing allows.
   */
  #pump(): void {
    if (this.#finished) return;
    const now = this.#clock.now();
    this.#book.promote(now);
    const count = this.#sites.length;
    this.#turn = (this.#turn + 1) % count;
    for (let i = 0; i < count; i++) {
      const site = this.#sites[(this.#turn + i) % count];
      const ready = site.live.status === "live";
      const view: PacingView = {
        freeAgents: ready ? this.#freeAgents(site) : 0,
        inFlight: this.#inFlight(site),
        leadsReady: this.#book.hasReady,
      };
      this.#input(site, { type: "tick", at: now });
      this.#input(site, { type: "observe", at: now, ...view });
      const phase = site.pacing.phase;
      const nothingLeft = !this.#book.hasReady && this.#book.nextRetryAt === undefined;
      if (
        this.#open(site) === 0 && (phase === "draining" || (phase === "running" && nothingLeft))
      ) {
        this.#input(site, { type: "drained", at: now });
      }
      if (ready && this.#error === undefined) {
        const n = pacingAllowance(site.pacing, this.#settings, view);
        if (n > 0) this.#dial(site, this.#book.take(n));
      }
    }
    if (this.#sites.every((site) => site.pacing.phase === "stopped")) return this.#finish();
    this.#armWake();
  }

  #armWake(): void {
    let at = this.#book.nextRetryAt ?? Infinity;
    for (const site of this.#sites) {
      at = Math.min(at, pacingDeadline(site.pacing, this.#settings) ?? Infinity);
    }
    if (at === this.#wakeAt) return;
    const clock = this.#clock;
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
    this.#progressTimer = this.#clock.setTimer(this.#progressEveryMs, () => {
      if (this.#finished) return;
      this.#onProgress?.(this.progress());
      this.#tickProgress();
    });
  }

  /** Journals the calls (one write, one sync), then sends their Originates through `site`. */
  #dial(site: Site, leads: LeadState[]): void {
    if (leads.length === 0) return;
    const wall = this.#wallNow();
    const records: DialingRecord[] = leads.map((s) => ({
      t: "dialing",
      lead: s.lead.id,
      attempt: s.attempts,
      channelId: `${this.#config.name}-${s.lead.id}-${s.attempts}`,
      node: site.name,
      wall,
    }));
    site.reserved += leads.length;
    this.#journal.write(records).then(
      () => {
        site.reserved -= leads.length;
        for (const [i, s] of leads.entries()) this.#originate(site, s, records[i].channelId);
        this.#schedule();
      },
      (error: unknown) => {
        // Nothing was sent: the leads stay as they were, and the campaign stops.
        site.reserved -= leads.length;
        for (const s of leads) this.#book.giveBack(s.lead.id);
        this.#fail(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  #originate(site: Site, s: LeadState, channelId: string): void {
    const c = this.#config;
    const call: Call = {
      site,
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
      call.handle = site.live.originate({
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
      call.answeredAt = this.#clock.now();
      call.abandonTimer = this.#clock.setTimer(c.abandonAfterMs, () => {
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
    call.connectedAt = this.#clock.now();
    this.#measure(call, false);
    this.#schedule();
  }

  /** Counts an answered call in the abandon rate, once. */
  #measure(call: Call, abandoned: boolean): void {
    if (call.abandonTimer !== undefined) this.#clock.clearTimer(call.abandonTimer);
    call.abandonTimer = undefined;
    if (call.measured || call.dropped) return;
    call.measured = true;
    call.abandoned = abandoned;
    this.#input(call.site, { type: "measured", abandoned, at: this.#clock.now() });
  }

  /** A call is over (or was never sent: `end` undefined, `refused` says why). */
  #ended(call: Call, end: LiveOriginateEnd | undefined, refused: string): void {
    if (call.dropped || this.#finished) return;
    const now = this.#clock.now();
    const outcome: Outcome = end?.outcome ?? "failed";
    // An answered call that never reached an agent was abandoned (hung up first).
    if (outcome === "answered" && !call.measured) this.#measure(call, true);
    if (call.abandonTimer !== undefined) this.#clock.clearTimer(call.abandonTimer);
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
    this.#book.finish(call.lead.lead.id, r, this.#clock.now());
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
    const clock = this.#clock;
    if (this.#wake !== undefined) clock.clearTimer(this.#wake);
    if (this.#progressTimer !== undefined) clock.clearTimer(this.#progressTimer);
    for (const off of this.#offs.splice(0)) off();
    const summary = summarize(this.#book.states);
    this.#journal.flushed().then(() => {
      if (this.#error !== undefined) this.#reject(this.#error);
      else this.#resolve(summary);
    });
  }

  /**
   * The pacing bound of a site with the given free agents.
   *
   * @param freeAgents free agents
   * @param site the site's name (default the first)
   * @returns the bound
   */
  boundFor(freeAgents: number, site?: string): number {
    const state = site === undefined ? this.pacing : this.pacingOf(site);
    return state === undefined ? 0 : pacingBound(state, this.#settings, freeAgents);
  }
}
