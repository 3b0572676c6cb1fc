/**
 * A socket-free harness for the simulator: one engine and one logged-in
 * session on a `ManualClock`, whose output is parsed as it is written. Every
 * action is answered synchronously, so tests read the effect of each step at
 * once and advance time by hand.
 *
 * @module
 */

import { AmiParser } from "../core/parser.ts";
import type { AmiMessage, Header } from "../core/message.ts";
import { messageText } from "../core/serializer.ts";
import { LAB_DIALPLAN } from "../testing/_dialplan.ts";
import type { Dialplan } from "../testing/_dialplan.ts";
import { SimEngine } from "../testing/_engine.ts";
import { LAB_QUEUES } from "../testing/_queues.ts";
import type { QueueOptions } from "../testing/_queues.ts";
import { SimSession } from "../testing/_session.ts";
import { ManualClock } from "../testing/clock.ts";

/** Options of {@link SimHarness}. */
export interface HarnessOptions {
  dialplan?: Dialplan;
  queues?: readonly QueueOptions[];
  channelVars?: string[];
}

/** An engine, a logged-in session and everything it received. */
export class SimHarness {
  readonly clock: ManualClock = new ManualClock();
  readonly engine: SimEngine;
  readonly session: SimSession;
  readonly messages: AmiMessage[] = [];
  readonly #parser = new AmiParser({ expectBanner: false, maxHeaders: 10_000 });
  readonly #encoder = new TextEncoder();
  readonly #answers = new Set<AmiMessage>();
  #n = 0;

  constructor(options: HarnessOptions = {}) {
    this.engine = new SimEngine({
      users: [{ username: "admin", secret: "amp111", read: "all", write: "all" }],
      dialplan: options.dialplan ?? LAB_DIALPLAN,
      clock: this.clock,
      channelVars: options.channelVars ?? [],
      asteriskVersion: "22.0.0",
      amiVersion: "13.0.0",
      loginFailureDelayMs: 1000,
      queues: options.queues ?? LAB_QUEUES,
    });
    this.session = new SimSession(this.engine, 1, {
      write: (text) =>
        this.#parser.push(this.#encoder.encode(text), (item) => {
          if (item.type !== "banner") this.messages.push(item);
        }),
      close: () => {},
    }, { local: "IPV4/TCP/127.0.0.1/5038", remote: "IPV4/TCP/127.0.0.1/40000" });
    this.action("Login", { Username: "admin", Secret: "amp111" });
  }

  /** Sends an action; returns its response (and, for a list, its items and Complete). */
  action(name: string, fields: Record<string, string> = {}): AmiMessage[] {
    const id = `a${++this.#n}`;
    const headers: Header[] = [["Action", name], ["ActionID", id], ...Object.entries(fields)];
    const from = this.messages.length;
    this.session.receive(this.#encoder.encode(messageText(headers)));
    const answer = this.messages.slice(from).filter((m) =>
      m.actionId === id && m.name !== "OriginateResponse"
    );
    for (const m of answer) this.#answers.add(m);
    return answer;
  }

  /** An async Originate of `Local/<exten>@<context>` running `Wait <seconds>` on `;1`. */
  originate(exten: string, extra: Record<string, string> = {}, waitSeconds = 600): AmiMessage {
    return this.action("Originate", {
      Channel: `Local/${exten}@lab`,
      Application: "Wait",
      Data: String(waitSeconds),
      Async: "true",
      ...extra,
    })[0];
  }

  /** Advances simulated time by `ms`, one second at a time. */
  advance(ms: number): void {
    for (let left = ms; left > 0; left -= 1000) this.clock.advance(Math.min(1000, left));
  }

  /** Events received (from index `from` on), optionally only those named. */
  events(name?: string, from = 0): AmiMessage[] {
    return this.messages.slice(from).filter((m) =>
      m.type === "event" && !this.#answers.has(m) && (name === undefined || m.name === name)
    );
  }

  /** The names of the events received from index `from` on, those in `only` if given. */
  names(from = 0, only?: ReadonlySet<string>): string[] {
    return this.events(undefined, from).map((m) => m.name ?? "").filter((n) =>
      only === undefined || only.has(n)
    );
  }

  /** Header keys of a message in order. */
  static keys(m: AmiMessage): string[] {
    return m.headers.map(([k]) => k);
  }
}
