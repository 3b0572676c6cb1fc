import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AuthError, ConnectError } from "../core/errors.ts";
import { connectFailureLine } from "../cli/_failure.ts";
import { Redactor } from "../cli/redact.ts";

describe("error lines", () => {
  test("errorText: one line, a cause already in the message is not repeated", () => {
    const r = new Redactor();
    const root = new Error("connect ECONNREFUSED 127.0.0.1:5038");
    const mid = new Error(`socket error: ${root.message}`, { cause: root });
    const top = new ConnectError("refused", `connect to 127.0.0.1:5038 failed: ${mid.message}`, {
      cause: mid,
    });
    assert.equal(
      r.errorText(top),
      "ConnectError: connect to 127.0.0.1:5038 failed: socket error: connect ECONNREFUSED 127.0.0.1:5038",
    );
    const other = new Error("outer", { cause: new Error("inner") });
    assert.equal(r.errorText(other), "Error: outer: caused by inner");
  });

  test("connect failures: what failed, where, and the root cause, once", () => {
    const r = new Redactor();
    const root = new Error("connect ECONNREFUSED 127.0.0.1:5038");
    const e = new ConnectError(
      "refused",
      `connect to 127.0.0.1:5038 failed (refused): ${root.message}`,
      {
        cause: root,
      },
    );
    assert.equal(
      connectFailureLine(e, { where: "127.0.0.1:5038", username: "admin" }, r),
      "cannot connect to 127.0.0.1:5038 (refused): connect ECONNREFUSED 127.0.0.1:5038",
    );
    assert.equal(
      connectFailureLine(new AuthError("Authentication failed"), {
        where: "node pbx1 (127.0.0.1:5038)",
        username: "admin",
      }, r),
      "login refused for admin on node pbx1 (127.0.0.1:5038): Authentication failed",
    );
    const timeout = new ConnectError("timedOut", "connect to 10.0.0.1:5038 timed out after 10 s");
    assert.equal(
      connectFailureLine(timeout, { where: "10.0.0.1:5038", username: "u" }, r),
      "cannot connect to 10.0.0.1:5038 (timedOut): timed out after 10 s",
    );
  });
});
