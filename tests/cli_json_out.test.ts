import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AmiMessage } from "../core/message.ts";
import { eventJson, headersJson, JsonOutput } from "../cli/json_out.ts";
import { parseCommandLine, UsageError } from "../cli/_args.ts";
import { Redactor } from "../cli/redact.ts";

const EVENT = new AmiMessage([
  ["Event", "VarSet"],
  ["Channel", "Local/100@default-00000001;1"],
  ["ChanVariable", "a=1"],
  ["ChanVariable", "b=2"],
  ["Value", 'quote " and \\ backslash'],
]);

describe("JSON lines on stdout", () => {
  test("one line per event: node, event name, headers in order with repeated keys", () => {
    const line = eventJson("pbx1", EVENT);
    assert.ok(!line.includes("\n"));
    assert.deepEqual(JSON.parse(line), {
      node: "pbx1",
      event: "VarSet",
      headers: [
        ["Event", "VarSet"],
        ["Channel", "Local/100@default-00000001;1"],
        ["ChanVariable", "a=1"],
        ["ChanVariable", "b=2"],
        ["Value", 'quote " and \\ backslash'],
      ],
    });
  });

  test("--headers object: one key per header, repeated keys as arrays in order (for jq)", () => {
    assert.deepEqual(JSON.parse(eventJson("pbx1", EVENT, undefined, "object")), {
      node: "pbx1",
      event: "VarSet",
      headers: {
        Event: "VarSet",
        Channel: "Local/100@default-00000001;1",
        ChanVariable: ["a=1", "b=2"],
        Value: 'quote " and \\ backslash',
      },
    });
    assert.deepEqual(headersJson([["A", "1"], ["A", "2"], ["A", "3"]], "object"), {
      A: ["1", "2", "3"],
    });
    assert.deepEqual(headersJson([["A", "1"]], "pairs"), [["A", "1"]]);
    const r = new Redactor();
    const secretLine = eventJson(
      "n",
      new AmiMessage([["Event", "X"], ["Secret", "x1"]]),
      r,
      "object",
    );
    assert.ok(!secretLine.includes("x1"), secretLine);
    const listen = parseCommandLine(["listen", "--headers", "object"]);
    assert.equal(listen.command === "listen" && listen.headersForm, "object");
    const action = parseCommandLine(["action", "Ping"]);
    assert.equal(action.command === "action" && action.headersForm, "pairs");
    assert.throws(() => parseCommandLine(["action", "Ping", "--headers", "map"]), UsageError);
  });

  test("Secret/Key headers and registered secrets are redacted", () => {
    const r = new Redactor(["s3cret-value"]);
    const msg = new AmiMessage([["Event", "UserEvent"], ["Secret", "x1"], [
      "Data",
      "has s3cret-value",
    ]]);
    const line = eventJson("n", msg, r);
    assert.ok(!line.includes("x1") && !line.includes("s3cret-value"), line);
  });

  test("a stdout that does not take anything: calls return at once, drops counted exactly, reported once per interval", async () => {
    const reports: [number, number][] = [];
    const out = new JsonOutput({
      write: () => new Promise(() => {}),
      maxBufferedChars: 50_000,
      dropReportIntervalMs: 30,
      onDrops: (since, total) => reports.push([since, total]),
    });
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) out.event("pbx1", EVENT);
    const elapsed = performance.now() - t0;
    const s = out.stats();
    assert.equal(s.lines + s.dropped, 20_000);
    assert.ok(s.dropped > 19_000);
    assert.ok(s.bufferedChars <= 50_000);
    assert.ok(elapsed < 3_000, `${elapsed.toFixed(0)} ms`);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(reports, [[s.dropped, s.dropped]], "one report for one burst, exact");
  });

  test("lines arrive complete and in order", async () => {
    const chunks: string[] = [];
    const out = new JsonOutput({
      write: (c) => {
        chunks.push(c);
        return Promise.resolve();
      },
    });
    for (let i = 0; i < 1000; i++) out.value({ i });
    assert.equal(await out.flush(1000), true);
    const lines = chunks.join("").trimEnd().split("\n").map((l) => JSON.parse(l).i);
    assert.deepEqual(lines, Array.from({ length: 1000 }, (_, i) => i));
  });
});
