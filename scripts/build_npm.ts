/**
 * Builds the npm package into `npm/`: ESM + .d.ts compiled by TypeScript
 * (`rewriteRelativeImportExtensions`), a package.json whose `exports` cover
 * the public entry points, README and LICENSE. The compiled tests land in
 * `npm/esm/tests/` (left out of the published files) so that `node --test`
 * runs the suite against the build, not the sources.
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

const tsc = spawnSync("node_modules/.bin/tsc", ["-p", "tsconfig.json"], {
  cwd: root,
  stdio: "inherit",
});
if (tsc.status !== 0) {
  console.error("build_npm: tsc failed");
  Deno.exit(1);
}

const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const deno = JSON.parse(readFileSync(new URL("deno.json", root), "utf8"));
/** Maps a deno.json export ("./mod.ts") to its built files. */
function entry(path: string): { types: string; default: string } {
  const base = "./esm/" + path.replace(/^\.\//, "").replace(/\.ts$/, "");
  return { types: base + ".d.ts", default: base + ".js" };
}
const exports: Record<string, unknown> = {};
for (const [key, path] of Object.entries(deno.exports as Record<string, string>)) {
  exports[key] = entry(path);
}
// The root entry picks the runtime's transport by export condition (no
// runtime check needed); "default" is mod.ts, which checks at run time.
// Each adapter is importable on its own too.
{
  const root = entry("./mod.ts");
  exports["."] = {
    types: root.types,
    deno: entry("./adapters/entry_deno.ts").default,
    bun: entry("./adapters/entry_bun.ts").default,
    node: entry("./adapters/entry_node.ts").default,
    default: root.default,
  };
  for (const name of ["mod", "node", "deno", "bun", "transport"]) {
    const key = name === "mod" ? "./adapters" : `./adapters/${name}`;
    exports[key] ??= entry(`./adapters/${name}.ts`);
  }
  exports["./client"] ??= entry("./client/mod.ts");
}
const npmPkg = {
  name: pkg.name,
  version: deno.version,
  description: pkg.description,
  license: pkg.license,
  type: "module",
  engines: pkg.engines,
  exports,
  bin: { amikit: "./esm/cli/main.js" },
  files: ["esm/", "!esm/tests/", "!esm/scripts/", "README.md", "LICENSE"],
  dependencies: pkg.dependencies,
};
writeFileSync(new URL("package.json", out), JSON.stringify(npmPkg, null, 2) + "\n");
cpSync(new URL("README.md", root), new URL("README.md", out));
cpSync(new URL("LICENSE", root), new URL("LICENSE", out));
cpSync(new URL("tests/fixtures/", root), new URL("esm/tests/fixtures/", out), { recursive: true });
// The build resolves its dependencies from the project's node_modules.
console.log(`build_npm: wrote ${new URL("npm/", root).pathname}`);
