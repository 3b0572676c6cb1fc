/**
 * Event delivery: listeners by name, `"*"` or predicate, isolated from each
 * other (a throwing or rejecting handler is reported and counted, never
 * breaks dispatch), and async iterators with their own bounded buffer and
 * drop counter.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { DropPolicy } from "../core/connection_types.ts";
import type { AmiMessage } from "../core/message.ts";
import type { Clock } from "./clock.ts";

const logger = getLogger(["amikit", "events"]);

/** How often a stream that drops events logs a summary, at most, ms. */
export const STREAM_DROP_SUMMARY_MS = 5_000;

/** Which events a listener or iterator gets: an event name, `"*"` for all, or a predicate. */
export type EventFilter = string | ((event: AmiMessage) => boolean);

/**
 * An event handler; `node` names the server the event came from. What it
 * returns is ignored, but a returned promise's rejection is reported.
 */
export type EventHandler = (event: AmiMessage, node: string) => unknown;

/** Options of an event iterator. */
export interface EventStreamOptions {
  /** Which events to buffer. Default all. */
  readonly filter?: EventFilter;
  /** Most events buffered for this iterator. Default 10,000. */
  readonly capacity?: number;
  /** What a full buffer drops. Default `dropOldest`. */
  readonly policy?: DropPolicy;
}

/** An async iterator over events with a bounded buffer and a drop counter. */
export interface EventStream<T> extends AsyncIterableIterator<T> {
  /** Events dropped because the buffer was full. */
  readonly dropped: number;
  /** Events buffered now. */
  readonly depth: number;
  /** Stops the stream: the iterator finishes after the buffered events. */
  close(): void;
}

/** Turns a filter into a fast test. */
export function matcher(filter: EventFilter | undefined): (event: AmiMessage) => boolean {
  if (filter === undefined || filter === "*") return () => true;
  if (typeof filter === "function") return filter;
  return (event) => event.name === filter;
}

/** A bounded ring buffer exposed as an async iterator. */
export class BoundedStream<T> implements EventStream<T> {
  /** Events dropped because the buffer was full. */
  dropped = 0;
  readonly #buf: (T | undefined)[];
  readonly #cap: number;
  readonly #policy: DropPolicy;
  readonly #onClose: () => void;
  readonly #clock: Clock | undefined;
  readonly #label: string;
  #head = 0;
  #len = 0;
  #done = false;
  #waiter: ((r: IteratorResult<T>) => void) | undefined;
  #dropsSince = 0;
  #lastSummary = -Infinity;
  #summaryTimer: unknown = undefined;

  /**
   * @param options capacity and policy, what to run when the stream closes,
   *   and for drop summaries a clock and a label (the node)
   */
  constructor(options: {
    capacity?: number;
    policy?: DropPolicy;
    onClose: () => void;
    clock?: Clock;
    label?: string;
  }) {
    this.#cap = Math.max(1, options.capacity ?? 10_000);
    this.#policy = options.policy ?? "dropOldest";
    this.#buf = new Array(Math.min(this.#cap, 1024));
    this.#onClose = options.onClose;
    this.#clock = options.clock;
    this.#label = options.label ?? "events";
  }

  /** Events buffered now. */
  get depth(): number {
    return this.#len;
  }

  /** Adds an item, or drops one by the policy when full. @param item the item */
  push(item: T): void {
    if (this.#done) return;
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w({ value: item, done: false });
      return;
    }
    if (this.#len === this.#cap) {
      this.#drop();
      if (this.#policy === "dropNewest") return;
      this.#buf[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#buf.length;
      this.#len--;
    }
    if (this.#len === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#len) % this.#buf.length] = item;
    this.#len++;
  }

  /** Ends the stream (the buffered items are still delivered). */
  close(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#summaryTimer !== undefined) {
      this.#clock?.clearTimer(this.#summaryTimer);
      this.#summaryTimer = undefined;
    }
    this.#summarize();
    this.#onClose();
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.({ value: undefined, done: true });
  }

  /** @returns the next item, waiting for one; done once closed and drained */
  next(): Promise<IteratorResult<T>> {
    if (this.#len > 0) {
      const value = this.#buf[this.#head] as T;
      this.#buf[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#buf.length;
      this.#len--;
      return Promise.resolve({ value, done: false });
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** Called by `break` in a `for await`: closes the stream and drops the buffer. */
  return(): Promise<IteratorResult<T>> {
    this.close();
    this.#buf.fill(undefined);
    this.#len = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  /** @returns this iterator */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * Counts a drop; logs one summary per {@link STREAM_DROP_SUMMARY_MS} at
   * most (the first at once, later ones when the interval is over, with one
   * timer held only while drops are unreported).
   */
  #drop(): void {
    this.dropped++;
    this.#dropsSince++;
    const clock = this.#clock;
    if (clock === undefined || this.#summaryTimer !== undefined) return;
    const wait = this.#lastSummary + STREAM_DROP_SUMMARY_MS - clock.now();
    if (wait <= 0) this.#summarize();
    else {
      this.#summaryTimer = clock.setTimer(wait, () => {
        this.#summaryTimer = undefined;
        this.#summarize();
      });
    }
  }

  #summarize(): void {
    if (this.#dropsSince === 0 || this.#clock === undefined) return;
    logger.warn(
      "{label}: an event iterator dropped {dropped} events ({total} in total; buffer depth {depth}); read faster or raise its capacity",
      { label: this.#label, dropped: this.#dropsSince, total: this.dropped, depth: this.#len },
    );
    this.#dropsSince = 0;
    this.#lastSummary = this.#clock.now();
  }

  #grow(): void {
    const size = Math.min(this.#cap, this.#buf.length * 2);
    const items: (T | undefined)[] = [];
    for (let i = 0; i < this.#len; i++) items.push(this.#buf[(this.#head + i) % this.#buf.length]);
    this.#buf.length = 0;
    this.#buf.push(...items);
    this.#buf.length = size;
    this.#head = 0;
  }
}

interface Listener {
  readonly test: (event: AmiMessage) => boolean;
  readonly handler: EventHandler;
}

/** What the dispatcher does with a failing handler. */
export type ListenerErrorSink = (error: unknown) => void;

/**
 * Listeners by exact event name (one map lookup per event), plus `"*"` and
 * predicate listeners, and streams. Each handler runs in its own try/catch;
 * a returned promise's rejection is caught too.
 */
export class Dispatcher {
  readonly #byName = new Map<string, Listener[]>();
  #generic: Listener[] = [];
  readonly #onError: ListenerErrorSink;
  readonly #catch: (error: unknown) => void;

  /** @param onError where handler failures are reported */
  constructor(onError: ListenerErrorSink) {
    this.#onError = onError;
    this.#catch = (error) => this.#onError(error);
  }

  /** Number of listeners. */
  get size(): number {
    let n = this.#generic.length;
    for (const l of this.#byName.values()) n += l.length;
    return n;
  }

  /**
   * Adds a listener.
   *
   * @param filter name, `"*"` or predicate
   * @param handler called with each matching event
   * @returns a function that removes the listener (idempotent)
   */
  on(filter: EventFilter, handler: EventHandler): () => void {
    if (typeof filter === "string" && filter !== "*") {
      const entry: Listener = { test: () => true, handler };
      // Copy on write: dispatch iterates a stable array.
      this.#byName.set(filter, [...(this.#byName.get(filter) ?? []), entry]);
      return () => {
        const list = this.#byName.get(filter);
        if (list === undefined) return;
        const next = list.filter((l) => l !== entry);
        if (next.length === 0) this.#byName.delete(filter);
        else this.#byName.set(filter, next);
      };
    }
    const entry: Listener = { test: matcher(filter), handler };
    this.#generic = [...this.#generic, entry];
    return () => {
      this.#generic = this.#generic.filter((l) => l !== entry);
    };
  }

  /**
   * Delivers one event to every matching listener, in the order added
   * (named ones first).
   *
   * @param event the event
   * @param node the node it came from
   */
  dispatch(event: AmiMessage, node: string): void {
    const named = this.#byName.size === 0 ? undefined : this.#byName.get(event.name);
    if (named !== undefined) {
      for (let i = 0; i < named.length; i++) this.#call(named[i], event, node);
    }
    const generic = this.#generic;
    for (let i = 0; i < generic.length; i++) {
      const l = generic[i];
      let match: boolean;
      try {
        match = l.test(event);
      } catch (error) {
        this.#onError(error);
        continue;
      }
      if (match) this.#call(l, event, node);
    }
  }

  #call(l: Listener, event: AmiMessage, node: string): void {
    try {
      const r = l.handler(event, node);
      // Only a returned promise matters (its rejection is reported); other values are ignored.
      if (r != null && typeof (r as Promise<void>).then === "function") {
        (r as Promise<void>).then(undefined, this.#catch);
      }
    } catch (error) {
      this.#onError(error);
    }
  }
}

/** An owner's event streams: the open ones, and the drops of those already closed. */
export class StreamSet<T> {
  /** The open streams. */
  readonly open: Set<BoundedStream<T>> = new Set();
  /** Drops counted by streams that have closed. */
  closedDrops = 0;

  /** Drops of every stream so far, open or closed. */
  get dropped(): number {
    let n = this.closedDrops;
    for (const s of this.open) n += s.dropped;
    return n;
  }

  /** Ends every open stream. */
  closeAll(): void {
    for (const s of [...this.open]) s.close();
  }
}

/** How {@link openStream} makes a stream. */
export interface OpenStreamOptions<T> {
  /** Whether the owner is already closed (the stream then has ended). */
  readonly closed: boolean;
  /** The owner's clock (drop summaries). */
  readonly clock: Clock;
  /** Names the owner in drop summaries. */
  readonly label: string;
  /** What the stream yields for an event and its node. */
  readonly map: (event: AmiMessage, node: string) => T;
}

/**
 * Opens a bounded stream fed by a listener on `dispatcher` and kept in
 * `streams` while open (so its owner can count its drops and close it);
 * closing or breaking out of it removes both. An owner already closed gets
 * a stream that has ended.
 *
 * @param dispatcher where the events come from
 * @param streams the owner's streams
 * @param options filter, capacity, drop policy
 * @param how owner state, clock, label, and the item for an event
 * @returns the stream
 */
export function openStream<T>(
  dispatcher: Dispatcher,
  streams: StreamSet<T>,
  options: EventStreamOptions,
  how: OpenStreamOptions<T>,
): BoundedStream<T> {
  let off = (): void => {};
  const stream: BoundedStream<T> = new BoundedStream<T>({
    capacity: options.capacity,
    policy: options.policy,
    clock: how.clock,
    label: how.label,
    onClose: () => {
      off();
      if (streams.open.delete(stream)) streams.closedDrops += stream.dropped;
    },
  });
  if (how.closed) {
    stream.close();
    return stream;
  }
  streams.open.add(stream);
  const map = how.map;
  off = dispatcher.on(options.filter ?? "*", (event, node) => stream.push(map(event, node)));
  return stream;
}
