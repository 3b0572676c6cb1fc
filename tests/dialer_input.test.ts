/**
 * The dialer example's input: the leads CSV (typed errors by line; any
 * text gives leads or a LeadsError, never anything else), the campaign
 * configuration and its flags, the journal's lines (round trip, a torn last
 * line, corrupt lines) and the resume it gives.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { LeadsError, parseLeads, splitCsvLine } from "../examples/dialer/leads.ts";
import { CampaignError, channelFor, checkCampaign } from "../examples/dialer/campaign.ts";
import { campaignInput, parseCommandLine } from "../examples/dialer/args.ts";
import {
  encodeRecords,
  Journal,
  JournalError,
  type JournalRecord,
  parseJournal,
  resumeFrom,
} from "../examples/dialer/journal.ts";

describe("leads CSV", () => {
  test("header in any order and case, variables, quotes, comments, CRLF, BOM", () => {
    const text =
      '\uFEFFNumber,ID,FIRST\r\n# a comment\r\n\r\n"+1 (555) 010-0001",a1,"Ann, ""Jr"""\r\n' +
      "5550002,a2,\n";
    const leads = parseLeads(text);
    assert.deepEqual(leads.map((l) => [l.id, l.number, l.variables, l.line]), [
      ["a1", "+15550100001", { FIRST: 'Ann, "Jr"' }, 4],
      ["a2", "5550002", {}, 5],
    ]);
  });

  const bad: Array<[string, string, number]> = [
    ["", "header", 0],
    ["id,phone\n1,2\n", "header", 1],
    ["id,number,bad-name\n", "header", 1],
    ["id,number,X,x\n", "header", 1],
    ["id,number\na,1,2\n", "columns", 2],
    ['id,number\n"a,1\n', "quote", 2],
    ['id,number\na"b,1\n', "quote", 2],
    ['id,number\n"a"x,1\n', "quote", 2],
    ["id,number\n,123\n", "id", 2],
    ["id,number\na b,123\n", "id", 2],
    ["id,number\na,123\nb,1\na,2\n", "duplicate", 4],
    ["id,number\na,12x\n", "number", 2],
    ["id,number\na,\n", "number", 2],
    ["id,number\na,1;2@evil\n", "number", 2],
    [`id,number\na,${"1".repeat(5000)}\n`, "tooLong", 2],
  ];
  for (const [text, kind, line] of bad) {
    test(`${kind} at line ${line}: ${JSON.stringify(text.slice(0, 30))}`, () => {
      assert.throws(() => parseLeads(text), (e: unknown) => {
        assert.ok(e instanceof LeadsError);
        assert.equal(e.kind, kind);
        assert.equal(e.line, line);
        return true;
      });
    });
  }

  test("a cap on the number of leads", () => {
    assert.throws(() => parseLeads("id,number\na,1\nb,2\nc,3\n", { maxLeads: 2 }), /over 2 leads/);
  });

  test("fast-check: written leads read back the same", () => {
    const value = fc.string({ maxLength: 12 }).filter((s) => !/[\r\n]/.test(s));
    const lead = fc.record({
      id: fc.stringMatching(/^[A-Za-z0-9._:-]{1,12}$/),
      number: fc.stringMatching(/^[0-9+*#]{1,12}$/),
      v: value,
    });
    fc.assert(
      fc.property(fc.uniqueArray(lead, { selector: (l) => l.id, maxLength: 20 }), (leads) => {
        const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
        const text = "id,number,V\n" + leads.map((l) => `${l.id},${l.number},${q(l.v)}`).join("\n");
        const got = parseLeads(text);
        assert.deepEqual(
          got.map((l) => [l.id, l.number, l.variables.V ?? ""]),
          leads.map((l) => [l.id, l.number, l.v.trim() === l.v ? l.v : l.v]),
        );
      }),
    );
  });

  test("fast-check: any text gives leads or a LeadsError, nothing else", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), (a, b) => {
        try {
          const leads = parseLeads(`id,number\n${a}\n${b}`);
          for (const l of leads) assert.match(l.number, /^[0-9+*#]{1,32}$/);
        } catch (e) {
          assert.ok(e instanceof LeadsError, String(e));
        }
      }),
    );
  });

  test("splitCsvLine: an empty last field", () => {
    assert.deepEqual(splitCsvLine("a,b,", 1), ["a", "b", ""]);
    assert.deepEqual(splitCsvLine(' "a" , b', 1), ["a", "b"]);
  });
});

describe("campaign configuration", () => {
  const base = { queue: "sales", server: { secret: "s" } };

  test("defaults, and the channel template", () => {
    const c = checkCampaign(base);
    assert.equal(c.maxConcurrent, 20);
    assert.equal(c.abandonCeiling, 0.03);
    assert.deepEqual(c.servers.map((sv) => [sv.name, sv.port]), [["default", 5038]]);
    assert.equal(channelFor({ ...c, channel: "PJSIP/{number}@trunk" }, "+155"), "PJSIP/+155@trunk");
  });

  const bad: Array<[Record<string, unknown>, string]> = [
    [{ ...base, queue: undefined }, "queue"],
    [{ queue: "q" }, "server.secret (or AMI_SECRET)"],
    [{ ...base, channel: "PJSIP/x" }, "channel"],
    [{ ...base, name: "a b" }, "name"],
    [{ ...base, ratio: 0.5 }, "ratio"],
    [{ ...base, maxRatio: 0.5 }, "maxRatio"],
    [{ ...base, abandonCeiling: 2 }, "abandonCeiling"],
    [{ ...base, maxConcurrent: 1.5 }, "maxConcurrent"],
    [{ ...base, maxConcurrent: "x" }, "maxConcurrent"],
    [{ ...base, retryDelayMs: { answered: 1 } }, "retryDelayMs.answered"],
    [{ ...base, retryDelayMs: { unknown: 1 } }, "retryDelayMs.unknown"],
    [{ ...base, context: "a\r\nAction: Hangup" }, "context"],
    [{ ...base, servers: [] }, "servers"],
    [{ ...base, servers: [{ secret: "s" }] }, "servers[0].name"],
    [{ ...base, servers: [{ name: "a", secret: "s" }, { name: "a", secret: "t" }] }, "servers"],
  ];
  for (const [input, field] of bad) {
    test(`refused: ${field}`, () => {
      assert.throws(() => checkCampaign(input), (e: unknown) => {
        assert.ok(e instanceof CampaignError);
        assert.equal(e.field, field);
        return true;
      });
    });
  }

  test("flags over the file; retry flags merge with the defaults; strings become numbers", () => {
    const values = parseCommandLine([
      "--queue",
      "q2",
      "--max-concurrent",
      "7",
      "--retry-busy-ms",
      "1000",
      "--secret",
      "x",
      "--leads",
      "l.csv",
    ]);
    const c = checkCampaign(
      campaignInput(values, { queue: "q1", ratio: 1.5, server: { port: 6000 } }),
    );
    assert.equal(c.queue, "q2");
    assert.equal(c.maxConcurrent, 7);
    assert.equal(c.ratio, 1.5);
    assert.equal(c.servers[0].port, 6000);
    assert.deepEqual(c.retryDelayMs, { busy: 1000, noAnswer: 1_800_000, congestion: 60_000 });
  });

  test("several servers from the file, secrets from AMI_SECRET's place; --host refused with them", () => {
    const file = {
      queue: "q",
      servers: [{ name: "a", port: 1 }, { name: "b", port: 2, secret: "b" }],
    };
    const c = checkCampaign(campaignInput(parseCommandLine(["--secret", "x"]), file));
    assert.deepEqual(c.servers.map((sv) => [sv.name, sv.port, sv.secret]), [["a", 1, "x"], [
      "b",
      2,
      "b",
    ]]);
    assert.throws(
      () => campaignInput(parseCommandLine(["--host", "h"]), file),
      (e: unknown) => e instanceof CampaignError && e.field === "--host",
    );
  });

  test("an unknown flag is a usage error", () => {
    assert.throws(() => parseCommandLine(["--nope"]), (e: unknown) => e instanceof CampaignError);
  });
});

describe("journal", () => {
  const records: JournalRecord[] = [
    { t: "start", campaign: "c", wall: 1 },
    { t: "dialing", lead: "a", attempt: 1, channelId: "c-a-1", wall: 2 },
    { t: "dialing", lead: "b", attempt: 1, channelId: "c-b-1", wall: 2 },
    {
      t: "outcome",
      lead: "a",
      attempt: 1,
      outcome: "busy",
      abandoned: false,
      talkMs: 0,
      cause: 17,
      detail: "",
      wall: 3,
    },
    { t: "dialing", lead: "a", attempt: 2, channelId: "c-a-2", wall: 4 },
    {
      t: "outcome",
      lead: "a",
      attempt: 2,
      outcome: "answered",
      abandoned: true,
      talkMs: 0,
      cause: 16,
      detail: "",
      wall: 5,
    },
  ];

  test("round trip, and the resume: b's call may have happened (open)", () => {
    const { records: back, torn } = parseJournal(encodeRecords(records));
    assert.equal(torn, false);
    assert.deepEqual(back, records);
    const h = resumeFrom(back);
    assert.equal(h.get("a")?.attempts, 2);
    assert.equal(h.get("a")?.open, undefined);
    assert.equal(h.get("a")?.outcomes.at(-1)?.outcome, "answered");
    assert.equal(h.get("b")?.open?.channelId, "c-b-1");
  });

  test("a torn last line is dropped; a corrupt complete line is a JournalError", () => {
    const text = encodeRecords(records.slice(0, 3));
    const { records: back, torn } = parseJournal(text + '{"t":"outcome","lead":"b"');
    assert.equal(torn, true);
    assert.equal(back.length, 3);
    assert.throws(
      () => parseJournal(text + "{nope}\n"),
      (e: unknown) => e instanceof JournalError && e.line === 4,
    );
    assert.throws(() => parseJournal('{"t":"dialing"}\n'), JournalError);
    assert.throws(() => parseJournal("[]\n"), JournalError);
  });

  test("the writer appends batches in order, one sink call each; a failed sink rejects", async () => {
    const written: string[] = [];
    let fail = false;
    const j = new Journal({
      append: (text) => {
        if (fail) return Promise.reject(new Error("disk full"));
        written.push(text);
        return Promise.resolve();
      },
    });
    const a = j.write(records.slice(0, 2));
    const b = j.write(records.slice(2, 3));
    assert.equal(j.pending, 2);
    await Promise.all([a, b]);
    await j.flushed();
    assert.equal(j.pending, 0);
    assert.deepEqual(written, [
      encodeRecords(records.slice(0, 2)),
      encodeRecords(records.slice(2, 3)),
    ]);
    fail = true;
    await assert.rejects(j.write(records.slice(3, 4)), /disk full/);
    await j.flushed();
  });
});
