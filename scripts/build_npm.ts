/**
 * Builds the npm package into `npm/`: ESM (`esm/`) and CommonJS (`cjs/`),
 * each with its .d.ts, compiled by TypeScript (`rewriteRelativeImportExtensions`)
 * from the same sources; a package.json whose `exports` give each public
 * entry point of deno.json for `import` and `require`; README and LICENSE. The compiled tests land in
 * `npm/esm/tests/` (left out of the published files) so that `node --test`
 * runs the suite against the build, not the sources; the examples
 * (`npm/esm/examples/`, run by those tests) are left out too.
 *
 * Run: `deno run -A scripts/build_npm.ts` (or `npm run build`).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const root = new URL("../", import.meta.url);
const out = new URL("npm/", root);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

for (const config of ["tsconfig.json", "tsconfig.cjs.json"]) {
  const tsc = spawnSync("node_modules/.bin/tsc", ["-p", config], { cwd: root, stdio: "inherit" });
  if (tsc.status !== 0) {
    console.error(`build_npm: tsc -p ${config} failed`);
    Deno.exit(1);
  }
}
// The CommonJS half: its .js and .d.ts are CommonJS by this marker.
writeFileSync(new URL("cjs/package.json", out), JSON.stringify({ type: "commonjs" }) + "\n");

const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const deno = JSON.parse(readFileSync(new URL("deno.json", root), "utf8"));
/** The built files of one entry point ("./mod.ts") in one format. */
function built(format: "esm" | "cjs", path: string): { types: string; default: string } {
  const base = `./${format}/` + path.replace(/^\.\//, "").replace(/\.ts$/, "");
  return { types: base + ".d.ts", default: base + ".js" };
}
// Every deno.json export but the command (the npm package runs it as `bin`),
// for `import` (ESM) and `require` (CommonJS), each with its own types.
const exports: Record<string, unknown> = {};
const typesVersions: Record<string, string[]> = {};
for (const [key, path] of Object.entries(deno.exports as Record<string, string>)) {
  if (key === "./cli") continue;
  exports[key] = { import: built("esm", path), require: built("cjs", path) };
  if (key !== ".") typesVersions[key.slice(2)] = [built("cjs", path).types];
}
exports["./package.json"] = "./package.json";
const npmPkg = {
  name: pkg.name,
  version: deno.version,
  description: pkg.description,
  keywords: pkg.keywords,
  homepage: pkg.homepage,
  bugs: pkg.bugs,
  repository: pkg.repository,
  license: pkg.license,
  type: "module",
  engines: pkg.engines,
  // node10-style resolvers (old TypeScript settings, old bundlers) use these.
  main: built("cjs", "./mod.ts").default,
  types: built("cjs", "./mod.ts").types,
  typesVersions: { "*": typesVersions },
  exports,
  bin: { amikit: "./esm/cli/main.js" },
  files: ["esm/", "cjs/", "!esm/tests/", "!esm/scripts/", "!esm/examples/", "README.md", "LICENSE"],
  dependencies: pkg.dependencies,
  // The NATS client: only `amikit/gateway` imports it, so it is optional.
  peerDependencies: pkg.peerDependencies,
  peerDependenciesMeta: pkg.peerDependenciesMeta,
};
writeFileSync(new URL("package.json", out), JSON.stringify(npmPkg, null, 2) + "\n");
cpSync(new URL("README.md", root), new URL("README.md", out));
cpSync(new URL("LICENSE", root), new URL("LICENSE", out));
cpSync(new URL("tests/fixtures/", root), new URL("esm/tests/fixtures/", out), { recursive: true });
// The build resolves its dependencies from the project's node_modules.
console.log(`build_npm: wrote ${new URL("npm/", root).pathname}`);
