import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AmiMessage, AmiParser, RemoteProtocolError } from "../core/mod.ts";
import type { ParsedItem } from "../core/mod.ts";
import { fixture, fixtureIndex } from "./_fixtures.ts";
import { bytes, parseChunked, parseWhole, plain, randomSizes } from "./_codec.ts";

function messages(items: ParsedItem[]): AmiMessage[] {
  return items.filter((i): i is AmiMessage => i.type !== "banner");
}

describe("parser: every recorded capture", () => {
  for (const row of fixtureIndex()) {
    test(`${row.file}: whole, byte by byte and random chunks agree with INDEX.csv`, () => {
      const raw = fixture(row.file);
      assert.equal(raw.length, row.bytes);
      const whole = parseWhole(raw);
      const byByte = parseChunked(raw, [1]);
      const random = parseChunked(raw, randomSizes(row.bytes, 500, 97));
      assert.deepEqual(plain(byByte), plain(whole));
      assert.deepEqual(plain(random), plain(whole));
      assert.equal(whole[0].type, "banner");
      const msgs = messages(whole);
      assert.equal(msgs.length, row.messages);
      assert.equal(msgs.filter((m) => m.type === "event").length, row.events);
      assert.equal(msgs.filter((m) => m.type === "response").length, row.responses);
    });

    test(`${row.file}: trailing partial bytes are held, not emitted`, () => {
      const raw = fixture(row.file);
      const parser = new AmiParser();
      let n = 0;
      parser.push(raw, () => n++);
      parser.push(bytes("Event: Partial\r\nKey: val"), () => n++);
      assert.equal(n, row.messages + 1);
      assert.equal(parser.buffered, "Event: Partial\r\nKey: val".length);
      assert.equal(parser.hasPartial, true);
    });
  }
});

describe("parser: real values", () => {
  test("banner gives the protocol version", () => {
    const [banner] = parseWhole(fixture("01-login-ok.raw"));
    assert.deepEqual(banner, {
      type: "banner",
      line: "Asterisk Call Manager/13.0.0",
      protocolVersion: "13.0.0",
    });
  });

  test("OriginateResponse in 10 is an event carrying Response: Success", () => {
    const msgs = messages(parseWhole(fixture("10-originate-async-local-100.raw")));
    const ev = msgs.find((m) => m.name === "OriginateResponse");
    assert.ok(ev);
    assert.equal(ev.type, "event");
    assert.equal(ev.get("Response"), "Success");
    assert.equal(ev.get("response"), "Success");
    assert.equal(ev.get("Channel"), "Local/100@lab-00000058;1");
    assert.equal(ev.get("Reason"), "4");
    assert.equal(ev.actionId, "orig-async-1");
    assert.equal(ev.get("CallerIDName"), "Lab Orig");
  });

  test("Output lines of 07 are kept in order, the error keeps its Output too", () => {
    const msgs = messages(parseWhole(fixture("07-command-core-show-version.raw")));
    const ok = msgs.find((m) => m.actionId === "cmd-version");
    assert.ok(ok);
    assert.deepEqual(ok.getAll("Output"), [
      "Asterisk GIT-master-f0c1c1a7b7 built by root @ vm on a x86_64 running Linux on 2026-11-27 12:16:23 UTC",
    ]);
    const bad = msgs.find((m) => m.actionId === "cmd-bogus");
    assert.ok(bad);
    assert.equal(bad.name, "Error");
    assert.match(bad.getAll("Output")[0], /^No such command 'this is not a cli command'/);
  });

  test("the event list of 09: start, items with the ActionID, Complete", () => {
    const msgs = messages(parseWhole(fixture("09-coreshowchannels-3-calls.raw")));
    const start = msgs.findIndex((m) => m.get("EventList") === "start");
    assert.ok(start >= 0);
    const id = msgs[start].actionId;
    const rest = msgs.slice(start + 1).filter((m) => m.actionId === id);
    const complete = rest.findIndex((m) => m.get("EventList") === "Complete");
    assert.ok(complete > 0);
    assert.equal(rest[complete].name, "CoreShowChannelsComplete");
    const items = rest.slice(0, complete);
    assert.equal(items.length, 6);
    assert.ok(items.every((m) => m.name === "CoreShowChannel"));
    assert.equal(rest[complete].get("ListItems"), "6");
  });

  test("repeated ChanVariable keys with parentheses survive in order", () => {
    const msgs = messages(parseWhole(fixture("10-originate-async-local-100.raw")));
    const ev = msgs.find((m) => m.name === "OriginateResponse");
    assert.ok(ev);
    assert.deepEqual(ev.getAll("ChanVariable(Local/100@lab-00000058;1)"), [
      "LABVAR=",
      "LABINHERIT=",
    ]);
    assert.deepEqual(
      ev.headers.slice(-2).map(([k]) => k),
      ["ChanVariable(Local/100@lab-00000058;1)", "ChanVariable(Local/100@lab-00000058;1)"],
    );
  });
});

describe("parser: tolerance", () => {
  const cases: Array<[string, string, unknown[]]> = [
    [
      "bare LF and extra blank lines",
      "Asterisk Call Manager/13.0.0\n\n\nEvent: A\nX: 1\n\n\r\n\r\nEvent: B\r\n\r\n",
      [
        { banner: "Asterisk Call Manager/13.0.0", version: "13.0.0" },
        { type: "event", headers: [["Event", "A"], ["X", "1"]], body: [] },
        { type: "event", headers: [["Event", "B"]], body: [] },
      ],
    ],
    [
      "empty values, no space after the colon, colons in values, odd keys, trailing spaces",
      "Asterisk Call Manager/13.0.0\r\nEvent: V\r\nEmpty:\r\nTight:value\r\nURL: sip:1@h:5060\r\n" +
      "ChanVariable(PJSIP/x-01): a=b\r\nK@d;e/f: z\r\nTrail: keep  \r\nTwo:  spaces\r\n\r\n",
      [
        { banner: "Asterisk Call Manager/13.0.0", version: "13.0.0" },
        {
          type: "event",
          headers: [
            ["Event", "V"],
            ["Empty", ""],
            ["Tight", "value"],
            ["URL", "sip:1@h:5060"],
            ["ChanVariable(PJSIP/x-01)", "a=b"],
            ["K@d;e/f", "z"],
            ["Trail", "keep  "],
            ["Two", " spaces"],
          ],
          body: [],
        },
      ],
    ],
    [
      "a line without a colon is kept in body and does not disturb the next message",
      "Asterisk Call Manager/13.0.0\r\nResponse: Success\r\nno colon here\r\nX: 1\r\n\r\nEvent: Next\r\n\r\n",
      [
        { banner: "Asterisk Call Manager/13.0.0", version: "13.0.0" },
        {
          type: "response",
          headers: [["Response", "Success"], ["X", "1"]],
          body: ["no colon here"],
        },
        { type: "event", headers: [["Event", "Next"]], body: [] },
      ],
    ],
    [
      "legacy Response: Follows keeps the raw body, blank lines included",
      "Asterisk Call Manager/1.1\r\nResponse: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n" +
      "Channel: one\nline two\n\nafter blank\n--END COMMAND--\r\n\r\nEvent: After\r\n\r\n",
      [
        { banner: "Asterisk Call Manager/1.1", version: "1.1" },
        {
          type: "response",
          headers: [["Response", "Follows"], ["Privilege", "Command"], ["ActionID", "7"]],
          body: ["Channel: one", "line two", "", "after blank"],
        },
        { type: "event", headers: [["Event", "After"]], body: [] },
      ],
    ],
    [
      "--END COMMAND-- glued to the last output line",
      "Asterisk Call Manager/1.0\r\nResponse: Follows\r\nActionID: 8\r\nlast--END COMMAND--\r\n\r\n",
      [
        { banner: "Asterisk Call Manager/1.0", version: "1.0" },
        {
          type: "response",
          headers: [["Response", "Follows"], ["ActionID", "8"]],
          body: ["last"],
        },
      ],
    ],
    [
      "Event first is an event even with Response; Action first is an action; other is unknown",
      "Asterisk Call Manager/13.0.0\r\nEvent: OriginateResponse\r\nResponse: Failure\r\n\r\n" +
      "Action: Ping\r\n\r\nFoo: bar\r\n\r\n",
      [
        { banner: "Asterisk Call Manager/13.0.0", version: "13.0.0" },
        {
          type: "event",
          headers: [["Event", "OriginateResponse"], ["Response", "Failure"]],
          body: [],
        },
        { type: "action", headers: [["Action", "Ping"]], body: [] },
        { type: "unknown", headers: [["Foo", "bar"]], body: [] },
      ],
    ],
  ];
  for (const [name, text, expected] of cases) {
    test(name, () => {
      const raw = bytes(text);
      assert.deepEqual(plain(parseWhole(raw)), expected);
      assert.deepEqual(plain(parseChunked(raw, [1])), expected);
      assert.deepEqual(plain(parseChunked(raw, [3, 1, 7])), expected);
    });
  }

  test("UTF-8 split across chunks is never replaced or mangled", () => {
    const text = "Event: Ünïcødé\r\nCallerIDName: José Müller 日本語 🎉\r\n\r\n";
    const raw = bytes(text);
    for (const sizes of [[1], [2], [3], [5, 1]]) {
      const items = parseChunked(raw, sizes, { expectBanner: false }) as AmiMessage[];
      assert.equal(items.length, 1);
      assert.equal(items[0].name, "Ünïcødé");
      assert.equal(items[0].get("CallerIDName"), "José Müller 日本語 🎉");
    }
  });

  test("NUL bytes and binary garbage do not crash and do not lose the next message", () => {
    const raw = new Uint8Array([
      ...bytes("Asterisk Call Manager/13.0.0\r\n"),
      0,
      255,
      254,
      ...bytes(" garbage \x01\x02\r\n\r\n"),
      ...bytes("Event: Fine\r\n\r\n"),
    ]);
    const msgs = messages(parseWhole(raw));
    assert.equal(msgs.length, 2);
    assert.equal(msgs[1].name, "Fine");
  });

  test("case-insensitive get/getAll/has, toObject keeps repeats", () => {
    const msg = new AmiMessage([["Event", "X"], ["Variable", "a=1"], ["variable", "b=2"]]);
    assert.equal(msg.get("VARIABLE"), "a=1");
    assert.deepEqual(msg.getAll("Variable"), ["a=1", "b=2"]);
    assert.equal(msg.has("missing"), false);
    assert.deepEqual(msg.toObject(), { Event: "X", Variable: "a=1", variable: "b=2" });
  });

  test("a banner that is not AMI's is a RemoteProtocolError", () => {
    assert.throws(() => parseWhole(bytes("SSH-2.0-OpenSSH_9.6\r\n")), RemoteProtocolError);
    assert.throws(() => parseWhole(bytes("HTTP/1.1 400 Bad Request\r\n")), RemoteProtocolError);
    assert.throws(() => parseWhole(bytes("Asterisk Call Manager/\r\n")), RemoteProtocolError);
    const [ok] = parseWhole(bytes("Asterisk Call Manager/2.10.4\r\n"));
    assert.deepEqual(ok, {
      type: "banner",
      line: "Asterisk Call Manager/2.10.4",
      protocolVersion: "2.10.4",
    });
    assert.throws(() => parseWhole(bytes("Response: Success\r\n\r\n")), RemoteProtocolError);
  });
});

describe("parser: bounds", () => {
  test("a line over maxLineBytes fails with the bound and the excess, before its end arrives", () => {
    const parser = new AmiParser({ expectBanner: false, maxLineBytes: 100 });
    parser.push(bytes("Event: X\r\nBig: "), () => {});
    const err = assert.throws(
      () => parser.push(bytes("A".repeat(200)), () => {}),
      (e: unknown) => {
        assert.ok(e instanceof RemoteProtocolError);
        assert.equal(e.bound, "maxLineBytes");
        assert.equal(e.limit, 100);
        assert.ok((e.excess ?? 0) > 0);
        assert.match(e.message, /maxLineBytes \(100 bytes\) by at least \d+ bytes/);
        return true;
      },
    );
    void err;
    // The parser stays failed and holds nothing.
    assert.equal(parser.buffered, 0);
    assert.throws(() => parser.push(bytes("Event: Y\r\n\r\n"), () => {}), RemoteProtocolError);
  });

  test("a message over maxMessageBytes fails; messages before it are delivered first", () => {
    const parser = new AmiParser({ expectBanner: false, maxMessageBytes: 64 });
    const got: string[] = [];
    const text = "Event: Small\r\n\r\nEvent: Big\r\n" + "X: 0123456789\r\n".repeat(10) + "\r\n";
    assert.throws(
      () => parser.push(bytes(text), (m) => got.push((m as AmiMessage).name)),
      (e: unknown) => e instanceof RemoteProtocolError && e.bound === "maxMessageBytes",
    );
    assert.deepEqual(got, ["Small"]);
  });

  test("too many lines in one message fails with maxHeaders", () => {
    const parser = new AmiParser({ expectBanner: false, maxHeaders: 128 });
    const text = "Event: Many\r\n" + "X: v\r\n".repeat(200) + "\r\n";
    assert.throws(
      () => parser.push(bytes(text), () => {}),
      (e: unknown) =>
        e instanceof RemoteProtocolError && e.bound === "maxHeaders" && e.limit === 128 &&
        e.excess === 1,
    );
  });

  test("fixture 20's very large ListCommands response fits the defaults", () => {
    const msgs = messages(parseWhole(fixture("20-misc-actions.raw")));
    const biggest = Math.max(...msgs.map((m) => m.headers.length));
    assert.ok(biggest > 100);
  });

  test("a 500 KB Command output as one message parses with the defaults", () => {
    const line = "Output: " + "x".repeat(100) + "\r\n";
    const text = "Response: Success\r\nActionID: big\r\nMessage: Command output follows\r\n" +
      line.repeat(5000) + "\r\n";
    const [msg] = parseWhole(bytes(text), { expectBanner: false }) as AmiMessage[];
    assert.equal(msg.getAll("Output").length, 5000);
  });

  test("the buffer never holds more than the bound plus one chunk", () => {
    const parser = new AmiParser({
      expectBanner: false,
      maxMessageBytes: 4096,
      maxLineBytes: 1024,
    });
    const chunk = bytes("X: " + "y".repeat(500) + "\r\n");
    let max = 0;
    try {
      parser.push(bytes("Event: Grow\r\n"), () => {});
      for (let i = 0; i < 100; i++) {
        parser.push(chunk, () => {});
        max = Math.max(max, parser.buffered);
      }
      assert.fail("expected the message bound to trip");
    } catch (e) {
      assert.ok(e instanceof RemoteProtocolError);
    }
    assert.ok(max <= 4096 + chunk.length, `held ${max}`);
  });
});

describe("parser: lazy header split", () => {
  test("every message of every capture: lookups before the split equal lookups after it", () => {
    for (const row of fixtureIndex()) {
      for (const msg of messages(parseWhole(fixture(row.file)))) {
        const text = msg.headers.map(([k, v]) => `${k}: ${v}\r\n`).join("");
        const lazy = new AmiMessage(text);
        assert.equal(lazy.type, msg.type);
        assert.equal(lazy.name, msg.name);
        for (const [k] of msg.headers) {
          for (const n of [k, k.toLowerCase(), k.toUpperCase()]) {
            assert.equal(lazy.get(n), msg.get(n), `${row.file} ${n}`);
          }
        }
        assert.equal(lazy.get("NoSuchHeader"), undefined);
        assert.equal(lazy.get("Event:"), undefined);
      }
    }
  });

  test("a value that looks like a header line is not found as one", () => {
    const msg = new AmiMessage("Event: UserEvent\r\nBody: ActionID: fake\r\nData: Channel: y\r\n");
    assert.equal(msg.get("ActionID"), undefined);
    assert.equal(msg.get("Channel"), undefined);
    assert.equal(msg.get("Data"), "Channel: y");
  });

  test("text whose first line has no colon is split at once and keeps the line in body", () => {
    const msg = new AmiMessage("garbage line\r\nEvent: X\r\n");
    assert.equal(msg.type, "event");
    assert.deepEqual(msg.body, ["garbage line"]);
    assert.equal(msg.get("event"), "X");
  });
});
