/**
 * Decisions per second of the gateway's policy (gateway/policy.ts): the
 * default policy, and a policy of 1,000 glob and 1,000 exact identities
 * (an exact hit, a glob resolved once and then cached, the cache missed).
 *
 * Run: `deno run -A scripts/bench_policy.ts`
 *
 * @module
 */

import { compilePolicy, decide, DEFAULT_POLICY, identityFromHeaders } from "../gateway/policy.ts";

const ids: Record<string, unknown> = {};
for (let i = 0; i < 1000; i++) {
  ids[`ACC${i}/*`] = {
    nodes: ["pbx-*", "core?"],
    actions: ["Originate", "Hangup", "Queue*"],
    classes: ["call", "originate", "agent"],
  };
  ids[`EX${i}/u`] = { nodes: ["pbx1"], actions: ["*"], classes: ["call"] };
}
const big = compilePolicy({ identities: ids });

function run(name: string, f: (i: number) => unknown, n: number): void {
  for (let i = 0; i < 1000; i++) f(i);
  const t = performance.now();
  for (let i = 0; i < n; i++) f(i);
  const perSecond = n / (performance.now() - t) * 1000;
  console.log(`${name}: ${Math.round(perSecond).toLocaleString("en")} /s`);
}

run(
  "default policy, Originate",
  () => decide(DEFAULT_POLICY, { identity: "DIAL/d", node: "pbx1", action: "Originate" }),
  1_000_000,
);
run(
  "2,000 entries, exact identity",
  () => decide(big, { identity: "EX500/u", node: "pbx1", action: "Hangup" }),
  1_000_000,
);
run(
  "2,000 entries, glob identity (cached)",
  () => decide(big, { identity: "ACC999/w", node: "pbx-7", action: "QueueAdd" }),
  1_000_000,
);
run(
  "2,000 entries, a new identity each time (cache cleared every 1,024)",
  (i) => decide(big, { identity: `ACC999/w${i}`, node: "pbx-7", action: "QueueAdd" }),
  20_000,
);
const info = '{"acc":"DIAL","user":"dialer","rtt":1234,"host":"127.0.0.1","id":8}';
run("identityFromHeaders", () => identityFromHeaders(info), 1_000_000);
