import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AmiMessage } from "../core/message.ts";
import { REDACTED, Redactor } from "../cli/redact.ts";

describe("invariant 12: redaction", () => {
  test("known secrets are replaced anywhere in a text", () => {
    const r = new Redactor(["pa55", "pa55word"]);
    assert.equal(r.text("a pa55word b pa55 c"), `a ${REDACTED} b ${REDACTED} c`);
    assert.equal(r.leaks("xx pa55 yy"), true);
    assert.equal(r.leaks("nothing"), false);
  });

  test("Secret/Key lines, key=value pairs and JSON fields are redacted by name", () => {
    const r = new Redactor();
    const wire = "Action: Login\r\nUsername: admin\r\nSecret: unknown1\r\nkey: 0123abcd\r\n\r\n";
    const out = r.text(wire);
    assert.ok(!out.includes("unknown1") && !out.includes("0123abcd"), out);
    assert.match(out, /Username: admin/);
    assert.ok(!r.text("url?secret=abc&x=1").includes("abc"));
    assert.ok(!r.text('{"Secret":"q\\"z","user":"u"}').includes('q\\"z'));
  });

  test("values: properties, header pairs, messages, errors with causes, cycles", () => {
    const r = new Redactor(["topsecret"]);
    const msg = new AmiMessage([["Action", "Login"], ["Username", "u"], ["Secret", "other1"], [
      "Key",
      "other2",
    ]]);
    const cause = new Error("inner topsecret");
    const err = Object.assign(new Error("login failed for topsecret", { cause }), { secret: "x9" });
    const cyclic: Record<string, unknown> = { note: "topsecret" };
    cyclic.self = cyclic;
    const dump = JSON.stringify(
      r.value({ msg, err, cyclic, list: [["secret", "other3"]], Key: "k" }),
    );
    for (const s of ["topsecret", "other1", "other2", "other3", "x9", '"k"']) {
      assert.ok(!dump.includes(s), `${s} leaked: ${dump}`);
    }
    assert.match(dump, /Username/);
    assert.match(dump, /\[Circular\]/);
    assert.equal(
      r.errorText(err),
      `Error: login failed for ${REDACTED}: caused by inner ${REDACTED}`,
    );
  });

  test("property: a registered secret never survives text() or value()", () => {
    // Disjoint alphabets: the surroundings and the marker cannot form the secret.
    const secretArb = fc.string({
      unit: fc.constantFrom(..."0123456789xyz"),
      minLength: 3,
      maxLength: 16,
    });
    const textArb = fc.string({ unit: fc.constantFrom(...'ab -:=\n\r"{}'), maxLength: 30 });
    fc.assert(
      fc.property(secretArb, fc.array(textArb, { minLength: 1, maxLength: 4 }), (secret, parts) => {
        const r = new Redactor([secret]);
        const text = parts.join(secret);
        assert.ok(!r.text(text).includes(secret));
        const dump = JSON.stringify(r.value({ a: [text], b: new Error(text, { cause: text }) }));
        assert.ok(!dump.includes(secret));
      }),
      { numRuns: 300 },
    );
  });
});
