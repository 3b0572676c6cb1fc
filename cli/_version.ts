/**
 * The package's version, read from its one source: `deno.json` next to the
 * sources, or the `package.json` the npm build writes from it.
 *
 * @module
 */

import { readFileSync } from "node:fs";

/** Where the manifest is, relative to this file: sources, then the npm build (`esm/cli/`). */
const MANIFESTS = ["../deno.json", "../../package.json"];

/**
 * The version of this package, e.g. `0.1.0`.
 *
 * @returns the version, or `unknown` when no manifest can be read
 */
export function packageVersion(): string {
  for (const path of MANIFESTS) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8"));
      if (typeof manifest.version === "string") return manifest.version;
    } catch {
      // Not there (or not readable): try the next one.
    }
  }
  return "unknown";
}
