/**
 * One node's event publisher: a bounded FIFO of events between the AMI
 * session (which is always read at full speed) and JetStream (which may be
 * slow or away). Publishes in order with a window of acknowledgements in
 * flight; each event's message id (`<node>:<lease>:<seq>`) lets JetStream
 * drop a retried duplicate. When the FIFO is full the oldest event is
 * dropped and counted; once publishing works again a gap notice
 * (`<prefix>.<node>.event._gap`) tells consumers which sequence numbers are
 * missing.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Clock } from "../client/clock.ts";
import type { AmiMessage } from "../core/message.ts";
import type { Subjects } from "./subjects.ts";
import { encodeMessage, toBytes, type WireGap } from "./wire.ts";

const logger = getLogger(["amikit", "gateway", "events"]);

/** Publishes one message to JetStream; resolves on the stream's acknowledgement. */
export type JsPublish = (
  subject: string,
  data: Uint8Array,
  msgId: string,
  headers: ReadonlyArray<readonly [string, string]>,
) => Promise<unknown>;

/** Bounds of a publisher. */
export interface PublisherLimits {
  /** Most events held while JetStream is slow or away. */
  readonly maxPending: number;
  /** Most publishes awaiting acknowledgement. */
  readonly window: number;
  /** Pause after a failed publish before retrying, ms. */
  readonly retryMs: number;
}

/** A publisher's counters. */
export interface PublisherStats {
  /** Events acknowledged by the stream. */
  readonly published: number;
  /** Acknowledged as duplicates (a retry of one already stored). */
  readonly duplicates: number;
  /** Events dropped because the FIFO was full. */
  readonly dropped: number;
  /** Events refused because the lease was not valid (fencing). */
  readonly fenced: number;
  /** Failed publish attempts (each retried). */
  readonly failures: number;
  /** Events waiting now. */
  readonly pending: number;
  /** Gap notices published. */
  readonly gaps: number;
  /** Events the AMI session dropped before they reached the publisher. */
  readonly sessionDropped: number;
}

/** Node, lease and sequence travel in the message id alone (one header per event). */
const NO_HEADERS: ReadonlyArray<readonly [string, string]> = [];

interface Item {
  readonly seq: number;
  /** The event, encoded when it is first sent (off the AMI read path). */
  event?: AmiMessage;
  subject: string;
  data: Uint8Array | undefined;
  readonly msgId: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** The publisher of one node. */
export class EventPublisher {
  #queue: Item[] = [];
  #head = 0;
  #inFlight = 0;
  #seq = 0;
  #lease = 0;
  #pausedUntil = 0;
  #retryTimer: unknown;
  #gap: { dropped: number; from: number; to: number } | undefined;
  #published = 0;
  #duplicates = 0;
  #dropped = 0;
  #fenced = 0;
  #failures = 0;
  #gaps = 0;
  #closed = false;
  #scheduled = false;
  #sessionDrops = 0;

  /**
   * @param node the node
   * @param gateway this gateway's id (goes into gap notices)
   * @param subjects the subject scheme
   * @param publish the JetStream publish
   * @param mayAct the fencing check: `false` drops the event
   * @param limits bounds
   * @param clock the time source
   * @param secrets secrets to redact by value from every payload
   */
  constructor(
    readonly node: string,
    readonly gateway: string,
    readonly subjects: Subjects,
    readonly publish: JsPublish,
    readonly mayAct: () => boolean,
    readonly limits: PublisherLimits,
    readonly clock: Clock,
    readonly secrets: readonly string[] = [],
  ) {}

  /**
   * Starts a new lease: sequence numbers restart at 1 under the new
   * revision (message ids stay unique: the revision is in them).
   *
   * @param revision the lease revision (fencing token)
   */
  startLease(revision: number): void {
    this.#lease = revision;
    this.#seq = 0;
  }

  /**
   * Takes one event (called for each event read; never blocks).
   *
   * @param event the event
   */
  push(event: AmiMessage): void {
    if (this.#closed) return;
    if (!this.mayAct()) {
      this.#fenced++;
      return;
    }
    const seq = ++this.#seq;
    const item: Item = {
      seq,
      event,
      subject: "",
      data: undefined,
      msgId: `${this.node}:${this.#lease}:${seq}`,
      headers: NO_HEADERS,
    };
    if (this.#queue.length - this.#head >= this.limits.maxPending) {
      const old = this.#queue[this.#head++];
      this.#dropped++;
      if (this.#gap === undefined) this.#gap = { dropped: 0, from: old.seq, to: old.seq };
      this.#gap.dropped++;
      this.#gap.to = old.seq;
    }
    this.#queue.push(item);
    this.#schedule();
  }

  /**
   * Notes events the AMI session dropped before they reached this publisher
   * (the client's drop summaries): a `session` gap notice goes out in order,
   * after the last event numbered so far.
   *
   * @param dropped how many
   */
  sessionDropped(dropped: number): void {
    if (this.#closed || dropped <= 0 || !this.mayAct()) return;
    this.#sessionDrops += dropped;
    const after = this.#seq;
    this.#queue.push({
      seq: after,
      subject: this.subjects.gap(this.node),
      data: toBytes(
        {
          reason: "session",
          dropped,
          fromSeq: after,
          toSeq: after,
          lease: this.#lease,
          gateway: this.gateway,
        } satisfies WireGap,
      ),
      msgId: `${this.node}:${this.#lease}:lost:${after}:${this.#sessionDrops}`,
      headers: NO_HEADERS,
    });
    this.#schedule();
  }

  /** The counters. */
  stats(): PublisherStats {
    return {
      published: this.#published,
      duplicates: this.#duplicates,
      dropped: this.#dropped,
      fenced: this.#fenced,
      failures: this.#failures,
      pending: this.#queue.length - this.#head,
      gaps: this.#gaps,
      sessionDropped: this.#sessionDrops,
    };
  }

  /**
   * Resolves once every event held has been acknowledged, or after `ms`.
   *
   * @param ms the most to wait
   */
  async drain(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    while ((this.#queue.length - this.#head > 0 || this.#inFlight > 0) && this.clock.now() < end) {
      await new Promise((r) => this.clock.setTimer(10, () => r(undefined)));
    }
  }

  /** Stops: nothing more is published; what is held is dropped. */
  close(): void {
    this.#closed = true;
    if (this.#retryTimer !== undefined) this.clock.clearTimer(this.#retryTimer);
    this.#queue = [];
    this.#head = 0;
  }

  #pump(): void {
    if (this.#closed) return;
    const wait = this.#pausedUntil - this.clock.now();
    if (wait > 0) {
      this.#armRetry(wait);
      return;
    }
    if (this.#gap !== undefined && this.#inFlight === 0) {
      const gap = this.#gap;
      this.#gap = undefined;
      this.#send({
        seq: 0,
        subject: this.subjects.gap(this.node),
        data: toBytes(
          {
            reason: "publish",
            dropped: gap.dropped,
            fromSeq: gap.from,
            toSeq: gap.to,
            lease: this.#lease,
            gateway: this.gateway,
          } satisfies WireGap,
        ),
        msgId: `${this.node}:${this.#lease}:gap:${gap.from}`,
        headers: NO_HEADERS,
      }, gap);
    }
    while (this.#inFlight < this.limits.window && this.#head < this.#queue.length) {
      const item = this.#queue[this.#head++];
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#send(item);
    }
  }

  /**
   * Publishing runs in its own turn of the event loop, never inside the AMI
   * read that delivered the event: the socket is read at full speed and a
   * slow JetStream only fills the bounded queue.
   */
  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    this.clock.setTimer(0, () => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #send(item: Item, gap?: { dropped: number; from: number; to: number }): void {
    if (item.data === undefined) {
      const event = item.event!;
      item.subject = this.subjects.event(this.node, event.name);
      item.data = toBytes(encodeMessage(event), this.secrets);
      item.event = undefined;
    }
    this.#inFlight++;
    this.publish(item.subject, item.data!, item.msgId, item.headers).then(
      (ack) => {
        this.#inFlight--;
        if (gap !== undefined) {
          this.#gaps++;
          // One line per gap notice: drops while NATS is away coalesce into one.
          logger.warn(
            "{node}: {dropped} event(s) dropped while JetStream was slow or away (seq {from}-{to})",
            {
              node: this.node,
              dropped: gap.dropped,
              from: gap.from,
              to: gap.to,
            },
          );
        } else if ((ack as { duplicate?: boolean } | undefined)?.duplicate) this.#duplicates++;
        else this.#published++;
        this.#schedule();
      },
      () => {
        this.#inFlight--;
        this.#failures++;
        if (this.#closed) return;
        // Put it back in front (in sequence order) and retry after a pause.
        if (gap !== undefined) {
          this.#gap = this.#gap === undefined ? gap : {
            dropped: gap.dropped + this.#gap.dropped,
            from: gap.from,
            to: this.#gap.to,
          };
        } else this.#requeue(item);
        this.#pausedUntil = this.clock.now() + this.limits.retryMs;
        this.#armRetry(this.limits.retryMs);
      },
    );
  }

  /** One retry timer at a time; the pump re-arms it while still paused. */
  #armRetry(ms: number): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = this.clock.setTimer(ms, () => {
      this.#retryTimer = undefined;
      this.#pump();
    });
  }

  #requeue(item: Item): void {
    // Insert by sequence among what is waiting, so retries keep their order.
    let i = this.#head;
    while (i < this.#queue.length && this.#queue[i].seq < item.seq) i++;
    if (this.#head > 0 && i === this.#head) this.#queue[--this.#head] = item;
    else this.#queue.splice(i, 0, item);
    if (this.#queue.length - this.#head > this.limits.maxPending) {
      const old = this.#queue[this.#head++];
      this.#dropped++;
      if (this.#gap === undefined) this.#gap = { dropped: 0, from: old.seq, to: old.seq };
      this.#gap.dropped++;
      this.#gap.to = Math.max(this.#gap.to, old.seq);
    }
  }
}
