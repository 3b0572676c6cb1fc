/**
 * JetStream publishing with acknowledgements matched on one subscription:
 * each message is published with a reply subject `<inbox>.<n>` and the
 * stream's acknowledgement comes back there. One wildcard subscription and
 * one sweep timer serve every message in flight, instead of a request (a
 * reply subscription, a timer and a promise chain) per message, which is
 * what caps `js.publish` at a few thousand messages a second.
 *
 * @module
 */

import { createInbox, headers as natsHeaders } from "@nats-io/nats-core";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Clock } from "../client/clock.ts";

/** A stream's acknowledgement. */
export interface PubAck {
  /** The stream. */
  readonly stream: string;
  /** The message's sequence in the stream. */
  readonly seq: number;
  /** Whether it was a duplicate (its message id was seen within the window). */
  readonly duplicate?: boolean;
}

interface Waiting {
  readonly at: number;
  readonly resolve: (ack: PubAck) => void;
  readonly reject: (error: Error) => void;
}

/** Publishes to JetStream with acknowledgements on one subscription. */
export class JsAckPublisher {
  readonly #nc: NatsConnection;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #waiting = new Map<number, Waiting>();
  readonly #decoder = new TextDecoder();
  #next = 0;
  #timer: unknown;
  #closed = false;

  /**
   * @param nc the NATS connection
   * @param clock the time source
   * @param timeoutMs how long an acknowledgement may take
   */
  constructor(nc: NatsConnection, clock: Clock, timeoutMs: number) {
    this.#nc = nc;
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
    this.#inbox = createInbox();
    this.#sub = nc.subscribe(`${this.#inbox}.*`, {
      callback: (err, msg) => {
        if (err !== null) return;
        const n = Number(msg.subject.slice(this.#inbox.length + 1));
        const w = this.#waiting.get(n);
        if (w === undefined) return; // timed out already
        this.#waiting.delete(n);
        if (msg.headers?.hasError) {
          w.reject(new Error(`JetStream: ${msg.headers.code} ${msg.headers.description}`));
          return;
        }
        let ack: {
          stream?: string;
          seq?: number;
          duplicate?: boolean;
          error?: { description?: string };
        };
        try {
          ack = JSON.parse(this.#decoder.decode(msg.data));
        } catch {
          w.reject(new Error("JetStream: unreadable acknowledgement"));
          return;
        }
        if (ack.error !== undefined) w.reject(new Error(`JetStream: ${ack.error.description}`));
        else w.resolve({ stream: ack.stream ?? "", seq: ack.seq ?? 0, duplicate: ack.duplicate });
      },
    });
    this.#arm();
  }

  /**
   * Publishes one message; resolves with the stream's acknowledgement.
   *
   * @param subject the subject
   * @param data the payload
   * @param msgId the message id (`Nats-Msg-Id`: duplicates within the window are dropped)
   * @param hs other headers
   * @returns the acknowledgement
   */
  publish(
    subject: string,
    data: Uint8Array,
    msgId: string,
    hs: ReadonlyArray<readonly [string, string]>,
  ): Promise<PubAck> {
    if (this.#closed) return Promise.reject(new Error("publisher closed"));
    const n = ++this.#next;
    const h = natsHeaders();
    h.set("Nats-Msg-Id", msgId);
    for (const [k, v] of hs) h.set(k, v);
    return new Promise<PubAck>((resolve, reject) => {
      try {
        this.#nc.publish(subject, data, { headers: h, reply: `${this.#inbox}.${n}` });
      } catch (error) {
        reject(error as Error);
        return;
      }
      this.#waiting.set(n, { at: this.#clock.now(), resolve, reject });
    });
  }

  /** Acknowledgements awaited now. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Stops: whatever waits is rejected. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimer(this.#timer);
    this.#sub.unsubscribe();
    for (const w of this.#waiting.values()) w.reject(new Error("publisher closed"));
    this.#waiting.clear();
  }

  /** One sweep per second rejects what waited past the timeout (oldest first: insertion order). */
  #arm(): void {
    this.#timer = this.#clock.setTimer(Math.min(1000, this.#timeoutMs), () => {
      const limit = this.#clock.now() - this.#timeoutMs;
      for (const [n, w] of this.#waiting) {
        if (w.at > limit) break;
        this.#waiting.delete(n);
        w.reject(new Error(`JetStream: no acknowledgement within ${this.#timeoutMs} ms`));
      }
      if (!this.#closed) this.#arm();
    });
  }
}
