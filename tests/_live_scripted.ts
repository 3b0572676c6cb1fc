/**
 * A scripted AMI server for the live state's wire-level tests: it answers
 * Login, refuses what it does not script, answers each list from a
 * function (or holds it until released), and pushes events when told, each
 * push in one read.
 */
import type { TransportConnector } from "../client/transport.ts";
import { AmiMessage } from "../core/message.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One message's wire text. */
export function msg(headers: [string, string][]): string {
  return headers.map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
}

/** A channel snapshot's headers (Ring unless state 6). */
export function chan(
  id: string,
  state: number,
  extra: [string, string][] = [],
): [string, string][] {
  return [
    ["Channel", `PJSIP/${id}`],
    ["ChannelState", String(state)],
    ["ChannelStateDesc", state === 6 ? "Up" : "Ring"],
    ["Uniqueid", id],
    ["Linkedid", id],
    ...extra,
  ];
}

/** A whole CoreShowChannels reply listing `ids` (state 6), in one string. */
export function channelsList(actionId: string, ids: readonly string[]): string {
  return msg([["Response", "Success"], ["ActionID", actionId], ["EventList", "start"]]) +
    ids.map((id) => msg([["Event", "CoreShowChannel"], ["ActionID", actionId], ...chan(id, 6)]))
      .join("") +
    msg([["Event", "CoreShowChannelsComplete"], ["ActionID", actionId], ["EventList", "Complete"], [
      "ListItems",
      String(ids.length),
    ]]);
}

/** What the scripted server answers. */
export interface ScriptOptions {
  /** Text sent right after the login response, in the same read. */
  readonly afterLogin?: string;
  /** The reply to an action (its ActionID given), or `undefined` to refuse it. */
  readonly reply: (action: string, actionId: string) => string | undefined;
}

/** A scripted server: its connector, and `push` once connected. */
export class ScriptedServer {
  /** Actions received, by name, in order. */
  readonly received: string[] = [];
  /** Hold the replies to these actions until {@link release}. */
  readonly hold = new Set<string>();
  readonly #held: string[] = [];
  #data: ((chunk: Uint8Array) => void) | undefined;
  readonly #options: ScriptOptions;

  /** @param options the replies */
  constructor(options: ScriptOptions) {
    this.#options = options;
  }

  /** How many replies are held. */
  get heldCount(): number {
    return this.#held.length;
  }

  /** Sends text to the client in one read. */
  push(text: string): void {
    this.#data?.(enc.encode(text));
  }

  /** Sends every held reply. */
  release(): void {
    for (const text of this.#held.splice(0)) this.push(text);
  }

  /** The connector a client is made with. */
  readonly connector: TransportConnector = (_options, handlers) => {
    this.#data = (chunk) => handlers.data(chunk);
    queueMicrotask(() => handlers.data(enc.encode("Asterisk Call Manager/13.0.0\r\n")));
    return Promise.resolve({
      write: (bytes: Uint8Array): boolean => {
        for (const block of dec.decode(bytes).split("\r\n\r\n")) {
          if (block.trim() === "") continue;
          const m = new AmiMessage(
            block.split("\r\n").map((l) => {
              const i = l.indexOf(":");
              return [l.slice(0, i), l.slice(i + 1).trim()] as [string, string];
            }),
          );
          const id = m.actionId ?? "";
          this.received.push(m.name);
          const reply = m.name === "Login"
            ? msg([["Response", "Success"], ["ActionID", id], ["Message", "ok"]]) +
              (this.#options.afterLogin ?? "")
            : this.#options.reply(m.name, id) ??
              msg([["Response", "Error"], ["ActionID", id], [
                "Message",
                "Invalid/unknown command",
              ]]);
          if (this.hold.has(m.name)) this.#held.push(reply);
          else queueMicrotask(() => handlers.data(enc.encode(reply)));
        }
        return true;
      },
      end: () => handlers.closed(),
      destroy: () => {},
    });
  };
}
