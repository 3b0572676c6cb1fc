import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { md5, md5Hex } from "../core/md5.ts";
import { binary, recordedSends } from "./_fake_server.ts";
import { fixture } from "./_fixtures.ts";

describe("md5", () => {
  test("RFC 1321 test suite (appendix A.5)", () => {
    const vectors: [string, string][] = [
      ["", "d41d8cd98f00b204e9800998ecf8427e"],
      ["a", "0cc175b9c0f1b6a831c399e269772661"],
      ["abc", "900150983cd24fb0d6963f7d28e17f72"],
      ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
      ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
      [
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "d174ab98d277d9f5a5611c2c9f419d9f",
      ],
      ["1234567890".repeat(8), "57edf4a22be3c955ac49da2e2107b67a"],
    ];
    for (const [input, hex] of vectors) assert.equal(md5Hex(input), hex, JSON.stringify(input));
  });

  test("padding boundaries (55, 56, 64 bytes) and a multi-block input", () => {
    assert.equal(md5Hex("a".repeat(55)), "ef1772b6dff9a122358552954ad0df65");
    assert.equal(md5Hex("a".repeat(56)), "3b0c8ac703f828b04c6c197006d17218");
    assert.equal(md5Hex("a".repeat(64)), "014842d480b571495a4a0363793f7367");
    assert.equal(md5Hex("\0".repeat(1000)), "ede3d3b685b4e137ba4cb2521329a75e");
  });

  test("hashes the UTF-8 bytes of the string", () => {
    assert.equal(md5Hex("é€"), "d75285edbed0b771f00bbaefc623c709");
    assert.equal(md5(new Uint8Array([0x61, 0x62, 0x63])).length, 16);
  });

  test("fixture 03: Key = md5hex(challenge + secret) as Asterisk accepted it", () => {
    const raw = binary(fixture("03-login-md5-challenge.raw"));
    const challenge = /Challenge: (\d+)\r\n/.exec(raw)?.[1];
    assert.equal(challenge, "229167635");
    const login = recordedSends("03-login-md5-challenge").sends.find((s) =>
      s.action?.name === "Login"
    );
    const key = login?.action?.get("Key");
    assert.equal(key, "1221536eb879f866686edd0f126acf78");
    assert.equal(md5Hex(challenge + "labsecret"), key);
  });
});
