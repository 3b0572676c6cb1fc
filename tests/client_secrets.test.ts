import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { AuthError, connect, LocalProtocolError } from "../mod.ts";
import { simOptions, until, withSim } from "./_client.ts";

const SECRET = "Zq8-secret-MUST-NOT-LEAK";
const WRONG = "Wr0ng-secret-MUST-NOT-LEAK";

/** Everything an error exposes: message, stack and causes, as text. */
function errorText(error: unknown, depth = 0): string {
  if (!(error instanceof Error) || depth > 5) return String(error);
  return `${error.name} ${error.message} ${error.stack ?? ""} ${
    errorText((error as { cause?: unknown }).cause, depth + 1)
  } ${JSON.stringify(error)}`;
}

describe("invariant 12: secrets never leave the library", () => {
  test("logs at debug level, errors and stats of full sessions never hold a secret", async () => {
    const records: LogRecord[] = [];
    await configure({
      reset: true,
      sinks: { memory: (r: LogRecord) => records.push(r) },
      loggers: [
        { category: ["amikit"], lowestLevel: "debug", sinks: ["memory"] },
        { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
      ],
    });
    const seen: string[] = [];
    try {
      await withSim(async (sim) => {
        // Plain and MD5 logins, actions, a throwing listener, a reconnect.
        for (const auth of ["plain", "md5"] as const) {
          const client = await connect(simOptions(sim, { secret: SECRET, auth }));
          client.on("*", () => {
            throw new Error("listener failure");
          });
          await client.action("Ping");
          await client.action("UserEvent", { UserEvent: "Probe", Header1: "x" });
          // A field named Secret with a bad value: refused without echoing it.
          await assert.rejects(
            client.action("UserEvent", { UserEvent: "X", Secret: `${SECRET}\r\nAction: Logoff` }),
            (e: unknown) => {
              assert.ok(e instanceof LocalProtocolError);
              seen.push(errorText(e));
              return true;
            },
          );
          await assert.rejects(
            client.action("Login", { Username: "admin", Secret: SECRET }),
            (e) => {
              seen.push(errorText(e));
              return true;
            },
          );
          await sim.restart();
          await until(
            () => client.stats().sessions === 2 && client.state === "ready",
            5_000,
            "reconnect",
          );
          seen.push(JSON.stringify(client.stats()));
          await client.close();
        }
        // A refused login.
        await assert.rejects(connect(simOptions(sim, { secret: WRONG })), (e: unknown) => {
          assert.ok(e instanceof AuthError);
          seen.push(errorText(e));
          return true;
        });
      }, {
        users: [{ username: "admin", secret: SECRET, read: "all", write: "all" }],
      });
    } finally {
      await reset();
    }
    assert.ok(records.length > 0, "the library logged something at debug level");
    for (const r of records) {
      const props = Object.entries(r.properties).map(([k, v]) => `${k}=${errorText(v)}`);
      seen.push(`${r.category.join(".")} ${r.message.map((m) => errorText(m)).join("")} ${props}`);
    }
    const all = seen.join("\n");
    assert.ok(!all.includes(SECRET), "the secret appears in a log record, error or stats");
    assert.ok(!all.includes(WRONG), "the refused secret appears in a log record or error");
  });
});
