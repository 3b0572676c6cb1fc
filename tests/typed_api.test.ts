/**
 * The typed API (issue: typed actions and events from Asterisk's docs), at
 * compile time: what must compile, and (`@ts-expect-error`) what must not.
 * `deno check` and the npm build's `tsc` fail on this file if a line that
 * must fail compiles, or one that must compile fails. The functions are
 * never called; the one runtime test shows typed events are plain messages.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { AmiEvent, Client, Cluster, EventStream } from "../mod.ts";
import { AmiMessage } from "../core/message.ts";

/** Lines that must compile. */
export async function compiles(client: Client, cluster: Cluster): Promise<void> {
  // A documented action: fields checked, result typed by its completion.
  const call = await client.action("Originate", {
    Channel: "PJSIP/1000",
    Context: "outbound",
    Exten: "5551234",
    Priority: 1,
    Async: true,
    Variable: ["CAMPAIGN=42", "LEAD=9001"],
  });
  if (call.kind === "originate") call.event.get("Uniqueid");
  const list = await client.action("CoreShowChannels");
  const items: readonly AmiMessage[] = list.events; // an event list, no narrowing needed
  void items;
  const out = await client.action("Command", { Command: "core show uptime" });
  const lines: readonly string[] = out.output;
  void lines;
  const ping = await client.action("Ping");
  if (ping.kind === "response") ping.response.get("Ping");
  // Extra fields on a documented action (newer Asterisk, modules) are allowed.
  await client.action("Hangup", { Channel: "PJSIP/1000-0001", Cause: 16, X_Custom: "1" });
  // An undocumented action (a module's, a new version's) goes untyped.
  const any = await client.action("MyModuleAction", { Foo: "bar" });
  void any.kind;
  const dynamic: string = "Ping";
  await client.action(dynamic);
  const mixed = Math.random() > 0.5 ? "Ping" : "MyModuleAction"; // a known and an unknown name
  await client.action(mixed);
  // An explicit completion strategy works for any action.
  await client.action("Ping", undefined, { strategy: "response" });
  // Typed events: name narrowed, headers completed.
  client.on("Hangup", (e) => {
    const n: "Hangup" = e.name;
    void n;
    e.get("Cause-txt");
    e.get("ChanVariable(CAMPAIGN)"); // channelvars
  });
  client.on("DialBegin", (e) => e.get("DestChanVariable"));
  client.on("UserEvent", (e) => e.get("AnythingTheSenderSet"));
  client.on("MyModuleEvent", (e) => e.get("Whatever")); // undocumented: untyped
  client.on("*", (e) => e.name);
  client.on((e) => e.name.startsWith("Dial"), (e) => e.get("DialStatus"));
  const hangups: EventStream<AmiEvent<"Hangup">> = client.events({ filter: "Hangup" });
  for await (const e of hangups) e.get("Cause");
  cluster.on("Newchannel", (e, node) => `${node} ${e.get("Uniqueid")}`);
  await cluster.action("pbx1", "Hangup", { Channel: "x" });
  await cluster.action("pbx1", "MyModuleAction");
}

/** Lines that must not compile. */
export async function fails(client: Client, cluster: Cluster): Promise<void> {
  // @ts-expect-error a required field (Channel) is missing: a typo in its name
  await client.action("Originate", { Chanel: "PJSIP/1000", Exten: "100" });
  // @ts-expect-error a documented action with required fields needs them
  await client.action("Originate");
  // @ts-expect-error an event list's result has no `output`
  void (await client.action("CoreShowChannels")).output;
  const ping = await client.action("Ping");
  // @ts-expect-error a result must be narrowed by `kind` before `events`
  void ping.events;
  // @ts-expect-error a field value must be text, a number or a boolean
  await client.action("Hangup", { Channel: { nested: true } });
  // @ts-expect-error an unknown header on a documented event
  client.on("Hangup", (e) => e.get("Cuase-txt"));
  // @ts-expect-error the event's name is narrowed
  client.on("Hangup", (e) => e.name === "Newchannel");
  // @ts-expect-error the cluster checks fields the same way
  await cluster.action("pbx1", "Originate", { Exten: "100" });
}

test("typed events are the same messages at run time (no wrapper, no cost)", () => {
  const msg = new AmiMessage([["Event", "Hangup"], ["Cause-txt", "Normal Clearing"]]);
  const typed = msg as AmiEvent<"Hangup">;
  assert.equal(typed.get("Cause-txt"), "Normal Clearing");
  assert.equal(msg.get("cause-txt"), "Normal Clearing", "lookups stay case-insensitive");
  assert.equal(typed.name, "Hangup");
  assert.equal(typeof compiles, "function");
  assert.equal(typeof fails, "function");
});
