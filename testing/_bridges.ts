/**
 * Simulated bridges: the basic bridge that Dial and Queue put a caller and
 * the answering channel in, with the events Asterisk's manager_bridges.c
 * writes (BridgeCreate, BridgeEnter, BridgeLeave, BridgeDestroy).
 *
 * @module
 */

import type { Header } from "../core/message.ts";
import type { SimChannel } from "./_channels.ts";
import type { Emitter } from "./_emitter.ts";

/** A read-only view of one simulated bridge. */
export interface BridgeInfo {
  /** `BridgeUniqueid`, a UUID. */
  readonly id: string;
  /** `BridgeType` (`basic`). */
  readonly type: string;
  /** `BridgeTechnology` (`simple_bridge`). */
  readonly technology: string;
  /** Names of the channels in the bridge, in the order they entered. */
  readonly channels: readonly string[];
}

/** A live bridge. */
export class SimBridge {
  readonly type = "basic";
  readonly technology = "simple_bridge";
  readonly channels: SimChannel[] = [];
  /** The first channel that left (decides who ended a call). */
  firstLeaver: SimChannel | undefined;
  dissolved = false;

  constructor(
    readonly id: string,
    /** Called (deferred) once the bridge is gone, with the channel that left first. */
    readonly onEnd: (firstLeaver: SimChannel | undefined) => void,
  ) {}

  /** The bridge snapshot headers, as `ast_manager_build_bridge_state_string`. */
  headers(prefix = ""): Header[] {
    return [
      [prefix + "BridgeUniqueid", this.id],
      [prefix + "BridgeType", this.type],
      [prefix + "BridgeTechnology", this.technology],
      [prefix + "BridgeCreator", "<unknown>"],
      [prefix + "BridgeName", "<unknown>"],
      [prefix + "BridgeNumChannels", String(this.channels.length)],
      [prefix + "BridgeVideoSourceMode", "none"],
    ];
  }

  /** A read-only copy. */
  info(): BridgeInfo {
    return {
      id: this.id,
      type: this.type,
      technology: this.technology,
      channels: this.channels.map((c) => c.name),
    };
  }
}

/** What the bridge table needs from the engine. */
export interface BridgeHost {
  readonly emitter: Emitter;
  readonly channelVars: readonly string[];
  /** Runs `fn` once the current simulated step is over (same batch). */
  defer(fn: () => void): void;
}

/**
 * The live bridges. A two-party bridge dissolves as soon as one side leaves:
 * the other is put out (BridgeLeave), the bridge destroyed, and its owner told.
 */
export class BridgeTable {
  readonly #host: BridgeHost;
  readonly #bridges = new Map<string, SimBridge>();
  #serial = 0;

  constructor(host: BridgeHost) {
    this.#host = host;
  }

  /** Live bridges in creation order. */
  list(): SimBridge[] {
    return [...this.#bridges.values()];
  }

  /** A bridge by id. */
  get(id: string): SimBridge | undefined {
    return this.#bridges.get(id);
  }

  /** Number of live bridges. */
  get size(): number {
    return this.#bridges.size;
  }

  /** Creates a bridge (BridgeCreate) for `a` and `b` and puts both in (BridgeEnter each). */
  connect(
    a: SimChannel,
    b: SimChannel,
    onEnd: (firstLeaver: SimChannel | undefined) => void,
  ): SimBridge {
    const n = this.#serial++;
    const hex = n.toString(16).padStart(12, "0");
    const bridge = new SimBridge(`5e1b0000-0000-4000-8000-${hex}`, onEnd);
    this.#bridges.set(bridge.id, bridge);
    this.#host.emitter.event("BridgeCreate", "call", bridge.headers());
    for (const c of [a, b]) {
      bridge.channels.push(c);
      c.bridge = bridge;
      this.#host.emitter.event("BridgeEnter", "call", [
        ...bridge.headers(),
        ...c.snapshot("", this.#host.channelVars),
      ]);
    }
    return bridge;
  }

  /** Takes `c` out of its bridge (BridgeLeave); a bridge left alone dissolves. */
  leave(c: SimChannel): void {
    const bridge = c.bridge;
    if (bridge === undefined) return;
    this.#out(bridge, c);
    bridge.firstLeaver ??= c;
    if (!bridge.dissolved && bridge.channels.length < 2) this.#dissolve(bridge);
  }

  #out(bridge: SimBridge, c: SimChannel): void {
    const i = bridge.channels.indexOf(c);
    if (i >= 0) bridge.channels.splice(i, 1);
    c.bridge = undefined;
    this.#host.emitter.event("BridgeLeave", "call", [
      ...bridge.headers(),
      ...c.snapshot("", this.#host.channelVars),
    ]);
  }

  #dissolve(bridge: SimBridge): void {
    bridge.dissolved = true;
    for (const c of [...bridge.channels]) this.#out(bridge, c);
    this.#host.emitter.event("BridgeDestroy", "call", bridge.headers());
    this.#bridges.delete(bridge.id);
    this.#host.defer(() => bridge.onEnd(bridge.firstLeaver));
  }

  /** Forgets every bridge silently (restart). */
  clear(): void {
    for (const b of this.#bridges.values()) {
      b.dissolved = true;
      for (const c of b.channels) c.bridge = undefined;
    }
    this.#bridges.clear();
  }
}
