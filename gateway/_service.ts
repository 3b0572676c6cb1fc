/**
 * One node's action service on NATS: requests on
 * `<prefix>.<node>.action.<Action>` (queue group of the gateways), aborts on
 * `<prefix>.<node>.abort.<Action>`. Each request is checked in this order,
 * and answered at once when a check fails (nothing reaches the PBX): size,
 * concurrency cap, well-formed JSON, the policy for the requester's
 * identity, the lease (fencing). Then the action goes to the node's client
 * and the reply carries its real result or its typed error.
 *
 * @module
 */

import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Client } from "../client/client.ts";
import type { ActionFields } from "../core/serializer.ts";
import type { ActionResult } from "../core/connection_types.ts";
import { GatewayError, PermissionError } from "../core/errors.ts";
import type { Subjects } from "./subjects.ts";
import {
  decodeRequest,
  encodeError,
  encodeResult,
  fromBytes,
  toBytes,
  type WireReply,
} from "./wire.ts";

/** What the policy says of one request. */
export type Decision = { readonly allowed: true } | {
  readonly allowed: false;
  readonly why: string;
};

/** Decides whether an identity may send an action to a node. */
export type Authorize = (request: { identity: string; node: string; action: string }) => Decision;

/**
 * Reads the requester's identity from a request's `Nats-Request-Info`
 * header (and its reply subject: one that crossed an import has `_R_.`).
 */
export type IdentityOf = (requestInfo: string | undefined, reply?: string) => string;

/** Shared by every node's service of one gateway. */
export interface ServiceContext {
  readonly nc: NatsConnection;
  readonly subjects: Subjects;
  readonly authorize: Authorize;
  readonly identityOf: IdentityOf;
  /** Called for each refusal (counted, logged once per interval per identity). */
  readonly refused: (identity: string, node: string, action: string, why: string) => void;
  /** Largest request payload, bytes. */
  readonly maxRequestBytes: number;
  /** Secrets redacted by value from every reply. */
  readonly secrets: readonly string[];
  /** Most requests in flight over every node of this gateway. */
  readonly maxInFlight: number;
  /** Requests in flight now (shared counter). */
  inFlight: number;
}

/** A service's counters. */
export interface ServiceStats {
  /** Requests answered with a result. */
  readonly ok: number;
  /** Requests answered with an error from the PBX or the client. */
  readonly failed: number;
  /** Refused by the policy. */
  readonly refused: number;
  /** Refused before reaching the client (size, cap, malformed, lease). */
  readonly rejected: number;
  /** Aborts received that found their request. */
  readonly aborted: number;
}

/** Serves one held node's actions. */
export class NodeService {
  readonly #subs: Subscription[] = [];
  readonly #running = new Map<string, AbortController>();
  #ok = 0;
  #failed = 0;
  #refused = 0;
  #rejected = 0;
  #aborted = 0;

  /**
   * Subscribes at once.
   *
   * @param ctx the gateway's shared context
   * @param node the node
   * @param client the node's client
   * @param mayAct the fencing check
   */
  constructor(
    readonly ctx: ServiceContext,
    readonly node: string,
    readonly client: Client,
    readonly mayAct: () => boolean,
  ) {
    const { nc, subjects } = ctx;
    this.#subs.push(
      nc.subscribe(subjects.action(node, "*"), {
        queue: subjects.queueGroup,
        callback: (err, msg) => {
          if (err === null) this.#request(msg);
        },
      }),
      nc.subscribe(subjects.abort(node, "*"), {
        callback: (err, msg) => {
          if (err === null) this.#abort(msg);
        },
      }),
    );
  }

  /** The counters. */
  stats(): ServiceStats {
    return {
      ok: this.#ok,
      failed: this.#failed,
      refused: this.#refused,
      rejected: this.#rejected,
      aborted: this.#aborted,
    };
  }

  /** Stops taking requests (those running still get their answer). */
  close(): void {
    for (const s of this.#subs) s.unsubscribe();
    this.#subs.length = 0;
  }

  #request(msg: Msg): void {
    if (!msg.reply) {
      this.#rejected++;
      return;
    }
    const action = msg.subject.slice(msg.subject.lastIndexOf(".") + 1);
    const reply = (r: WireReply) => {
      try {
        msg.respond(toBytes(r, this.ctx.secrets));
      } catch { /* the requester is gone */ }
    };
    const reject = (reason: GatewayError["reason"], why: string) => {
      this.#rejected++;
      reply({
        ok: false,
        error: encodeError(new GatewayError(reason, this.node, action, false, why)),
      });
    };
    const ctx = this.ctx;
    if (msg.data.length > ctx.maxRequestBytes) {
      return reject("tooLarge", `request of ${msg.data.length} bytes over ${ctx.maxRequestBytes}`);
    }
    if (ctx.inFlight >= ctx.maxInFlight) {
      return reject("busy", `${ctx.maxInFlight} requests already in flight on this gateway`);
    }
    let request;
    try {
      request = decodeRequest(fromBytes(msg.data));
    } catch (e) {
      return reject("badRequest", e instanceof Error ? e.message : String(e));
    }
    const identity = ctx.identityOf(
      msg.headers?.get("Nats-Request-Info") || undefined,
      msg.reply,
    );
    const decision = ctx.authorize({ identity, node: this.node, action });
    if (!decision.allowed) {
      this.#refused++;
      ctx.refused(identity, this.node, action, decision.why);
      reply({
        ok: false,
        error: encodeError(new PermissionError(this.node, action, identity, decision.why)),
      });
      return;
    }
    if (!this.mayAct()) {
      return reject("leaseLost", "this gateway no longer holds the node's lease");
    }
    const key = `${identity}\u0000${request.id}`;
    if (this.#running.has(key)) {
      return reject("badRequest", `request id ${request.id} is already in flight`);
    }
    const controller = new AbortController();
    this.#running.set(key, controller);
    ctx.inFlight++;
    const send = this.client.action as (
      name: string,
      fields?: ActionFields,
      options?: object,
    ) => Promise<ActionResult>;
    send.call(this.client, action, request.fields, {
      timeoutMs: request.timeoutMs,
      strategy: request.strategy,
      waitForConnection: request.waitForConnection,
      signal: controller.signal,
    }).then(
      (result) => {
        this.#ok++;
        reply({ ok: true, result: encodeResult(result) });
      },
      (error) => {
        this.#failed++;
        reply({ ok: false, error: encodeError(error) });
      },
    ).finally(() => {
      ctx.inFlight--;
      this.#running.delete(key);
    });
  }

  #abort(msg: Msg): void {
    let id: unknown;
    try {
      id = (fromBytes(msg.data) as { id?: unknown }).id;
    } catch {
      return;
    }
    if (typeof id !== "string") return;
    const identity = this.ctx.identityOf(
      msg.headers?.get("Nats-Request-Info") || undefined,
      msg.reply,
    );
    const controller = this.#running.get(`${identity}\u0000${id}`);
    if (controller === undefined) return;
    this.#aborted++;
    controller.abort();
  }
}
