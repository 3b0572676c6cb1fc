import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LocalProtocolError, serializeAction } from "../core/mod.ts";
import {
  actionText,
  actionTextWithId,
  MAX_ACTION_LINE_BYTES,
  messageText,
} from "../core/serializer.ts";
import { isAsyncOriginate, maskHasCallEvents } from "../core/originate.ts";
import type { Action } from "../core/mod.ts";

describe("serializer", () => {
  test("Action first, then ActionID, then the fields in order; arrays repeat the key", () => {
    const text = actionText({
      name: "Originate",
      actionId: "a.b.1.7",
      fields: {
        Channel: "Local/100@lab",
        Async: true,
        Timeout: 30000,
        Variable: ["LABVAR=1", "OTHER=x y"],
        Skipped: undefined,
      },
    });
    assert.equal(
      text,
      "Action: Originate\r\nActionID: a.b.1.7\r\nChannel: Local/100@lab\r\nAsync: true\r\n" +
        "Timeout: 30000\r\nVariable: LABVAR=1\r\nVariable: OTHER=x y\r\n\r\n",
    );
  });

  test("fields as [key, value] pairs keep duplicates and order", () => {
    const text = actionText({
      name: "Filter",
      fields: [["Operation", "Add"], ["Filter", "Event: Hangup"]],
    });
    assert.equal(text, "Action: Filter\r\nOperation: Add\r\nFilter: Event: Hangup\r\n\r\n");
  });

  test("serializeAction gives the UTF-8 bytes of actionText", () => {
    const action: Action = { name: "UserEvent", fields: { UserEvent: "Ünï", Body: "日本" } };
    assert.deepEqual(serializeAction(action), new TextEncoder().encode(actionText(action)));
  });

  const refused: Array<[string, Action, RegExp]> = [
    [
      "CR in a value",
      { name: "Ping", fields: { X: "a\rb" } },
      /value of field "X" contains CR, LF or NUL/,
    ],
    [
      "LF in a value (header injection)",
      { name: "Ping", fields: { X: "a\r\nAction: Originate" } },
      /field "X"/,
    ],
    ["NUL in a value", { name: "Ping", fields: { X: "a\0b" } }, /NUL/],
    ["LF in a key", { name: "Ping", fields: { "X\nY": "v" } }, /field key "X\\nY" contains/],
    ["an empty key", { name: "Ping", fields: { "": "v" } }, /empty key/],
    ["a colon in a key", { name: "Ping", fields: { "Evil: x": "v" } }, /contains ":"/],
    ["a space around a key", { name: "Ping", fields: { " X": "v" } }, /white space/],
    ["CR in the action name", { name: "Ping\r\nAction: Originate" }, /action name .*CR, LF or NUL/],
    ["NUL in the action name", { name: "Ping\0" }, /action name .*CR, LF or NUL/],
    ["a colon in the action name", { name: "Ping: x" }, /action name "Ping: x" contains ":"/],
    ["a space before the action name", { name: " Ping" }, /action name " Ping" has leading/],
    ["a tab after the action name", { name: "Ping\t" }, /action name "Ping\\t" has leading/],
    ["a white-space action name", { name: " " }, /action name " " has leading/],
    ["LF in the ActionID", { name: "Ping", actionId: "1\n2" }, /field "ActionID"/],
    [
      "Action among the fields",
      { name: "Ping", fields: { action: "Originate" } },
      /set by the action itself/,
    ],
    [
      "ActionID among the fields",
      { name: "Ping", fields: { ActionID: "x" } },
      /set by the action itself/,
    ],
    ["an empty action name", { name: "" }, /the action name is empty/],
  ];
  for (const [what, action, pattern] of refused) {
    test(`refuses ${what} with a LocalProtocolError naming the key`, () => {
      assert.throws(() => serializeAction(action), (e: unknown) => {
        assert.ok(e instanceof LocalProtocolError);
        assert.equal(e.code, "ERR_LOCAL_PROTOCOL");
        assert.match(e.message, pattern);
        return true;
      });
    });
  }

  test("action names Asterisk uses pass the name check", () => {
    for (const name of ["Ping", "PJSIPShowEndpoints", "DAHDIShowChannels", "X-Custom_1", "A"]) {
      assert.equal(actionText({ name }), `Action: ${name}\r\n\r\n`);
    }
  });

  test("never echoes a Secret or Key value in an error", () => {
    for (const key of ["Secret", "Key", "secret"]) {
      const value = "hunter2-TOPSECRET\r\n";
      assert.throws(
        () => serializeAction({ name: "Login", fields: { [key]: value } }),
        (e: unknown) => {
          assert.ok(e instanceof LocalProtocolError);
          assert.ok(!e.message.includes("hunter2"), e.message);
          return true;
        },
      );
      const long = "TOPSECRET".repeat(200);
      assert.throws(
        () => serializeAction({ name: "Login", fields: { [key]: long } }),
        (e: unknown) => {
          assert.ok(e instanceof LocalProtocolError);
          assert.ok(!e.message.includes("TOPSECRET"), e.message);
          return true;
        },
      );
    }
  });

  test("Asterisk's 1024-byte input line: 1023 bytes with CRLF pass, 1024 are refused", () => {
    const room = MAX_ACTION_LINE_BYTES - "X: ".length - 2;
    assert.doesNotThrow(() => serializeAction({ name: "Ping", fields: { X: "a".repeat(room) } }));
    assert.throws(
      () => serializeAction({ name: "Ping", fields: { X: "a".repeat(room + 1) } }),
      /field "X" makes a 1024-byte line/,
    );
    // Counted in bytes, not characters: 3-byte characters.
    const chars = Math.floor(room / 3);
    assert.doesNotThrow(() => serializeAction({ name: "Ping", fields: { X: "日".repeat(chars) } }));
    assert.throws(() => serializeAction({ name: "Ping", fields: { X: "日".repeat(chars + 1) } }));
  });

  test("messageText writes a server message and refuses control characters", () => {
    assert.equal(
      messageText([["Response", "Success"], ["Ping", "Pong"]]),
      "Response: Success\r\nPing: Pong\r\n\r\n",
    );
    assert.throws(() => messageText([["Event", "A\r\nB"]]), LocalProtocolError);
  });
});

describe("actionTextWithId", () => {
  test("writes the given ActionID instead of the action's own, validated the same way", () => {
    const action: Action = { name: "Ping", actionId: "ignored", fields: { A: "1" } };
    assert.equal(
      actionTextWithId(action, "x.y.1.2"),
      "Action: Ping\r\nActionID: x.y.1.2\r\nA: 1\r\n\r\n",
    );
    assert.equal(actionTextWithId({ name: "Ping" }, undefined), "Action: Ping\r\n\r\n");
    assert.throws(
      () => actionTextWithId({ name: "Ping" }, "a\r\nAction: Hangup"),
      LocalProtocolError,
    );
    assert.throws(() => actionTextWithId({ name: "Ping" }, "x".repeat(1024)), LocalProtocolError);
    assert.throws(() => actionTextWithId({ name: "Pi\nng" }, "1"), LocalProtocolError);
  });
});

describe("isAsyncOriginate", () => {
  test("true only for Originate with a true Async, in any spelling Asterisk accepts", () => {
    for (const v of [true, "true", "yes", "1", "Y", "t", "on", " TRUE "]) {
      assert.equal(isAsyncOriginate("Originate", { Async: v }), true, String(v));
      assert.equal(isAsyncOriginate("originate", [["async", String(v)]]), true, String(v));
    }
    for (const v of [false, "false", "no", "0", ""]) {
      assert.equal(isAsyncOriginate("Originate", { Async: v }), false, String(v));
    }
    assert.equal(isAsyncOriginate("Originate", { Channel: "Local/1@x" }), false);
    assert.equal(isAsyncOriginate("Ping", { Async: true }), false);
  });
});

describe("maskHasCallEvents", () => {
  test("reads an event mask as Asterisk does", () => {
    for (const m of [undefined, "on", "yes", "true", "all", "call", "user, call", "CALL", "7"]) {
      assert.equal(maskHasCallEvents(m), true, String(m));
    }
    for (const m of ["off", "no", "false", "0", "system,user", "nonsense", ""]) {
      assert.equal(maskHasCallEvents(m), false, String(m));
    }
  });
});
