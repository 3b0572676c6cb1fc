/**
 * Checks the npm package as its users get it: packs `npm/` (after
 * `npm run build`) with `npm pack`, installs the tarball into throw-away
 * projects, and there
 * - `require()`s and `import`s every entry point on this Node and runs a
 *   client against the packaged simulator (Ping, then close);
 * - type-checks a consumer with `tsc` for `node10`, `node16` (CommonJS),
 *   `nodenext` (ESM) and `bundler` resolution, including lines that must
 *   fail (internals are not exported; a result must be narrowed by `kind`).
 *
 * Run on Node, from the build: `node npm/esm/scripts/check_package.js`.
 * Exits non-zero on the first failure; prints one line per check.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The project root (this file runs from npm/esm/scripts/ or scripts/). */
function projectRoot(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  return here.includes("/npm/esm/") ? join(here, "../../..") : join(here, "..");
}

const root = projectRoot();
const work = mkdtempSync(join(tmpdir(), "amikit-pkg-"));
let failed = 0;

function check(name: string, fn: () => void): void {
  try {
    fn();
    console.log(`ok: ${name}`);
  } catch (error) {
    failed++;
    const e = error as { stdout?: unknown; stderr?: unknown; message?: string };
    console.log(`FAILED: ${name}\n${String(e.stdout ?? "")}${String(e.stderr ?? "")}${e.message}`);
  }
}

/** A consumer project with the packed amikit installed and its dependencies linked. */
function project(name: string, tarball: string, pkg: Record<string, unknown>): string {
  const dir = join(work, name);
  const mod = join(dir, "node_modules");
  mkdirSync(join(mod, "amikit"), { recursive: true });
  mkdirSync(join(mod, "@types"), { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", join(mod, "amikit"), "--strip-components=1"]);
  // The package's dependency, and Node's types for tsc, from this checkout.
  symlinkSync(join(root, "node_modules/@logtape"), join(mod, "@logtape"));
  symlinkSync(join(root, "node_modules/@types/node"), join(mod, "@types/node"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, ...pkg }));
  return dir;
}

const RUN = (load: string) =>
  `${load}
  for (const [name, mod] of Object.entries({ amikit, core, testing, metrics, live })) {
    if (Object.keys(mod).length === 0) throw new Error(name + " exports nothing");
  }
  if (typeof amikit.connect !== "function") throw new Error("no connect");
  if ("actionTextWithId" in amikit || "md5" in core) throw new Error("an internal is exported");
  if (typeof metrics.renderMetrics !== "function") throw new Error("no renderMetrics");
  if (typeof live.createLiveState !== "function" || "LiveModel" in live) throw new Error("live entry");
  const sim = await testing.AmiSimulator.start({ port: 0 });
  const client = await amikit.connect({
    host: "127.0.0.1", port: sim.port, username: "admin", secret: "amp111",
  });
  const res = await client.action("Ping");
  await client.close();
  await sim.stop();
  if (res.kind !== "response" || res.response.get("Ping") !== "Pong") throw new Error("no Pong");
  console.log("pong");`;

const CONSUMER = `import { type ActionResult, connect, ConnectionLostError } from "amikit";
import { AmiParser, type ConnectionState } from "amikit/core";
import { AmiSimulator } from "amikit/testing";
import { renderMetrics } from "amikit/metrics";
import { createLiveState, type LiveState } from "amikit/live";

export async function ping(port: number): Promise<string> {
  const client = await connect({ host: "127.0.0.1", port, username: "admin", secret: "amp111" });
  try {
    const res: ActionResult = await client.action("Ping", undefined, { timeoutMs: 5_000 });
    // @ts-expect-error a result is narrowed by kind before its fields are read
    void res.events;
    if (res.kind === "response") return res.response.get("Ping") ?? "";
    return "";
  } catch (error) {
    if (error instanceof ConnectionLostError && !error.written) return "retry";
    throw error;
  } finally {
    await client.close();
  }
}
export const parser: AmiParser = new AmiParser();
export const state: ConnectionState = "ready";
export const sim: typeof AmiSimulator = AmiSimulator;
export const text: (s: Parameters<typeof renderMetrics>[0]) => string = renderMetrics;
export const bind: (...a: Parameters<typeof createLiveState>) => LiveState = createLiveState;
`;

const INTERNAL = `// @ts-expect-error internals are not part of the package's surface
import { actionTextWithId } from "amikit/core";
void actionTextWithId;
`;

try {
  const out = join(work, "pack");
  mkdirSync(out);
  const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", out], {
    cwd: join(root, "npm"),
    encoding: "utf8",
  }).trim().split("\n").pop()!;
  const tarball = join(out, packed);
  const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" });
  check("the tarball holds both builds and no tests, scripts or examples", () => {
    for (const f of ["package/esm/mod.js", "package/cjs/mod.js", "package/cjs/mod.d.ts"]) {
      if (!files.includes(f)) throw new Error(`missing ${f}`);
    }
    if (/package\/esm\/(tests|scripts|examples)\//.test(files)) {
      throw new Error("tests, scripts or examples packed");
    }
  });

  const cjs = project("cjs", tarball, { type: "commonjs" });
  writeFileSync(
    join(cjs, "main.js"),
    `(async () => {${
      RUN(`const amikit = require("amikit"); const core = require("amikit/core");
  const testing = require("amikit/testing"); const metrics = require("amikit/metrics");
  const live = require("amikit/live");`)
    }})().catch((e) => { console.error(e); process.exit(1); });`,
  );
  check(`require() on Node ${process.versions.node}`, () => {
    execFileSync(process.execPath, ["main.js"], { cwd: cjs, encoding: "utf8" });
  });

  const esm = project("esm", tarball, { type: "module" });
  writeFileSync(
    join(esm, "main.js"),
    RUN(`import * as amikit from "amikit"; import * as core from "amikit/core";
  import * as testing from "amikit/testing"; import * as metrics from "amikit/metrics";
  import * as live from "amikit/live";`),
  );
  check(`import on Node ${process.versions.node}`, () => {
    execFileSync(process.execPath, ["main.js"], { cwd: esm, encoding: "utf8" });
  });

  const tsc = join(root, "node_modules/.bin/tsc");
  const settings: Array<[string, string, Record<string, string>]> = [
    ["node10", "commonjs", { module: "commonjs", moduleResolution: "node10" }],
    ["node16", "commonjs", { module: "node16", moduleResolution: "node16" }],
    ["nodenext", "module", { module: "nodenext", moduleResolution: "nodenext" }],
    ["bundler", "module", { module: "esnext", moduleResolution: "bundler" }],
  ];
  for (const [name, type, options] of settings) {
    const dir = project(`ts-${name}`, tarball, { type });
    writeFileSync(join(dir, "index.ts"), CONSUMER);
    writeFileSync(join(dir, "internal.ts"), INTERNAL);
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          ...options,
          target: "es2022",
          lib: ["es2023", "dom"],
          strict: true,
          noEmit: true,
          types: ["node"],
          skipLibCheck: false,
        },
        files: ["index.ts", "internal.ts"],
      }),
    );
    check(`types for ${type === "module" ? "an ESM" : "a CommonJS"} project (${name})`, () => {
      execFileSync(tsc, ["-p", "tsconfig.json"], { cwd: dir, encoding: "utf8" });
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failed > 0) {
  console.log(`check_package: ${failed} failed`);
  process.exit(1);
}
