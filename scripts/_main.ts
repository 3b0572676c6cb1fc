/**
 * Whether a module is the program's entry point, on Deno and Bun
 * (`import.meta.main`) and on Node 20 (no `import.meta.main`: compare with
 * `process.argv[1]`).
 *
 * @module
 */

import process from "node:process";
import { pathToFileURL } from "node:url";

/**
 * @param meta the module's `import.meta`
 * @returns true when the module was run directly
 */
export function isMain(meta: ImportMeta): boolean {
  const main = (meta as { main?: boolean }).main;
  if (main !== undefined) return main;
  const entry = process.argv[1];
  return entry !== undefined && meta.url === pathToFileURL(entry).href;
}
