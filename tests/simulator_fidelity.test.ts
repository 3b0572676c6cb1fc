/**
 * Fidelity: the simulator answers the fixtures' client sends with the same
 * message kinds and names, the same header keys in the same order, and equal
 * values except times, ids and counters (NORMALISED_KEYS in _fidelity.ts).
 * Every remaining difference is listed here, and explained in
 * testing/FIDELITY.md; a new difference fails the test.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { captured, compare, fixtureSends, replay } from "./_fidelity.ts";
import type { Send } from "./_fidelity.ts";

const ACCEPTED: Record<string, string[]> = {
  "01-login-ok": [],
  "02-login-fail": [],
  "03-login-md5-challenge": [],
  "04-ping": [],
  "05-unknown-action": [],
  "06-missing-required-field": [],
  "07-command-core-show-version": [
    'response:Success Output: capture "Asterisk GIT-master-f0c1c1a7b7 built by root @ vm on a x86_64 running Linux on 2026-11-27 12:16:23 UTC" simulator "Asterisk 20.0.0-amikit-sim built by amikit-simulator @ localhost on a x86_64 running Linux"',
  ],
  "09-coreshowchannels-3-calls": [],
  "10-originate-async-local-100": [
    "missing event:Cdr",
    'event:Cdr Channel: capture "Local/100@lab-00000058;1" simulator "Local/100@lab-00000000;2"',
    'event:Cdr LastApplication: capture "Wait" simulator "Hangup"',
    'event:Cdr LastData: capture "5" simulator "16"',
    "extra event:Cdr",
  ],
  "11-originate-failures": [],
  "13-events-off-and-filter": [],
  "14-logoff": [],
  "15-oversized-header-line": [],
  "17-actions-before-login": [],
  "18-reader-permission-denied": [
    "missing event:OriginateResponse",
    "extra event:DeviceStateChange",
    "extra event:OriginateResponse",
    "missing event:DeviceStateChange",
  ],
  "19-too-many-headers": [],
  "21-dial-bridge-local-600": [
    "extra event:DialBegin",
    "missing event:DialBegin",
    "extra event:DeviceStateChange",
    "missing event:DeviceStateChange",
    "missing event:Cdr",
    "missing event:Cdr",
    'event:Cdr Destination: capture "600" simulator "100"',
    'event:Cdr Channel: capture "Local/600@lab-00000000;1" simulator "Local/100@lab-00000001;2"',
    'event:Cdr LastApplication: capture "Wait" simulator "Hangup"',
    'event:Cdr LastData: capture "6" simulator "16"',
    "extra event:DeviceStateChange",
    'event:VarSet Value: capture "2508" simulator "2000"',
    'event:VarSet Value: capture "2516" simulator "2000"',
    "extra event:Cdr",
    "extra event:Cdr",
    'event:DeviceStateChange Device: capture "Local/100@lab" simulator "Local/600@lab"',
    "missing event:DeviceStateChange",
  ],
};

/** Sends the .txt abbreviates, rebuilt from its notes. */
function customSends(base: string): Send[] | undefined {
  const login = fixtureSends(base).filter((s) => s.data.startsWith("Action: Login"));
  if (base === "15-oversized-header-line") {
    return [
      ...login,
      {
        t: 0.502,
        side: false,
        data: "Action: Ping\r\nActionID: big-1\r\nX-Big: " + "A".repeat(102400) + "\r\n\r\n",
      },
      { t: 2.007, side: false, data: "Action: Ping\r\nActionID: after-big\r\n\r\n" },
      {
        t: 3.01,
        side: false,
        data: "Action: Ping\r\nActionID: big-2-" + "B".repeat(2000) + "\r\n\r\n",
      },
      { t: 4.515, side: false, data: "Action: Ping\r\nActionID: after-big-2\r\n\r\n" },
      {
        t: 5.519,
        side: false,
        data: "Action: Ping\r\nActionID: ok-1000-" + "C".repeat(982) + "\r\n\r\n",
      },
    ];
  }
  if (base === "19-too-many-headers") {
    let many = "Action: Ping\r\nActionID: many-headers\r\n";
    for (let i = 0; i < 200; i++) many += `X-H${String(i).padStart(3, "0")}: v\r\n`;
    return [
      ...login,
      { t: 0.502, side: false, data: many + "\r\n" },
      { t: 1.506, side: false, data: "Action: Ping\r\nActionID: after-many\r\n\r\n" },
    ];
  }
  return undefined;
}

describe("simulator fidelity against the captures", () => {
  for (const [base, accepted] of Object.entries(ACCEPTED)) {
    test(base, async () => {
      const sim = await replay(base, { sends: customSends(base) });
      const cap = captured(base);
      assert.ok(cap.length > 0);
      assert.deepEqual(compare(cap, sim), accepted);
    });
  }

  test("the comparison does catch a difference", () => {
    const cap = captured("04-ping");
    assert.deepEqual(compare(cap, cap), []);
    assert.ok(compare(cap, cap.slice(1)).length > 0);
    assert.ok(compare(cap, captured("14-logoff")).length > 0);
  });
});
