import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect, ConnectError } from "../mod.ts";
import { detectRuntime } from "../adapters/mod.ts";
import { simOptions, withSim } from "./_client.ts";

// A CA and a leaf it signed (Deno's rustls refuses a self-signed CA as the server's certificate).
const dir = new URL("./fixtures/client_tls/", import.meta.url);
const ca = readFileSync(new URL("ca.pem", dir), "utf8");
const cert = readFileSync(new URL("cert.pem", dir), "utf8");
const key = readFileSync(new URL("key.pem", dir), "utf8");

describe(`TLS on ${detectRuntime()}`, () => {
  test("connects with the test CA, by IP and by name (SNI), and works", async () => {
    await withSim(async (sim) => {
      for (const tls of [{ ca }, { ca, servername: "localhost" }]) {
        const client = await connect(simOptions(sim, { tls, auth: "md5" }));
        try {
          assert.equal(client.state, "ready");
          const res = await client.action("Command", { Command: "core show version" });
          assert.equal(res.kind, "command");
        } finally {
          await client.close();
        }
      }
    }, { tls: { cert, key } });
  });

  test("an untrusted certificate or a wrong name fails with reason tls", async () => {
    await withSim(async (sim) => {
      await assert.rejects(
        connect(simOptions(sim, { tls: true, connectTimeoutMs: 3_000 })),
        (e: unknown) => e instanceof ConnectError && e.reason === "tls",
      );
      await assert.rejects(
        connect(simOptions(sim, { tls: { ca, servername: "wrong.example" } })),
        (e: unknown) => e instanceof ConnectError && e.reason === "tls",
      );
    }, { tls: { cert, key } });
  });

  test("TLS to a plain server fails, typed", async () => {
    await withSim(async (sim) => {
      await assert.rejects(
        connect(simOptions(sim, { tls: { ca }, connectTimeoutMs: 2_000 })),
        (e: unknown) => e instanceof ConnectError,
      );
    });
  });
});
