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

  /**
   * Bridges a caller with the callee that answered it (Dial, Queue), in the
   * order of fixture 21: BridgeCreate, the callee's `Newexten` (its
   * extension cleared), BridgeEnter of the callee then of the caller, and
   * `BRIDGEPEER` set on both.
   */
  connect(
    caller: SimChannel,
    callee: SimChannel,
    onEnd: (firstLeaver: SimChannel | undefined) => void,
  ): SimBridge {
    const h = this.#host;
    const n = this.#serial++;
    const hex = n.toString(16).padStart(12, "0");
    const bridge = new SimBridge(`5e1b0000-0000-4000-8000-${hex}`, onEnd);
    this.#bridges.set(bridge.id, bridge);
    h.emitter.event("BridgeCreate", "call", bridge.headers());
    callee.exten = "";
    h.emitter.event("Newexten", "dialplan", [
      ...callee.snapshot("", h.channelVars),
      ["Extension", ""],
      ["Application", callee.application],
      ["AppData", callee.appData],
    ]);
    for (const c of [callee, caller]) {
      bridge.channels.push(c);
      c.bridge = bridge;
      h.emitter.event("BridgeEnter", "call", [
        ...bridge.headers(),
        ...c.snapshot("", h.channelVars),
      ]);
    }
    this.#peerVars(bridge, false);
    return bridge;
  }

  /** Sets (or clears) `BRIDGEPEER` on each channel of a two-party bridge. */
  #peerVars(bridge: SimBridge, clear: boolean): void {
    const [a, b] = bridge.channels;
    if (a === undefined || b === undefined) return;
    for (const [c, peer] of [[a, b], [b, a]]) {
      const value = clear ? "" : peer.name;
      c.setVar("BRIDGEPEER", value);
      this.#host.emitter.event("VarSet", "dialplan", [
        ...c.snapshot("", this.#host.channelVars),
        ["Variable", "BRIDGEPEER"],
        ["Value", value],
      ]);
    }
  }

  /**
   * Takes `c` out of its bridge (BridgeLeave, after `BRIDGEPEER` is
   * cleared); a bridge left alone dissolves once the current step is over
   * (the other side's BridgeLeave, BridgeDestroy), then its owner is told.
   */
  leave(c: SimChannel): void {
    const bridge = c.bridge;
    if (bridge === undefined) return;
    if (bridge.firstLeaver === undefined) this.#peerVars(bridge, true);
    this.#out(bridge, c);
    bridge.firstLeaver ??= c;
    if (!bridge.dissolved && bridge.channels.length < 2) {
      bridge.dissolved = true;
      this.#host.defer(() => this.#dissolve(bridge));
    }
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
    if (!this.#bridges.has(bridge.id)) return; // cleared by a restart meanwhile
    for (const c of [...bridge.channels]) this.#out(bridge, c);
    this.#host.emitter.event("BridgeDestroy", "call", bridge.headers());
    this.#bridges.delete(bridge.id);
    bridge.onEnd(bridge.firstLeaver);
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
