/**
 * The globs of the gateway's policy: `*` matches any run of characters (the
 * empty one too), `?` exactly one, every other character itself. No escapes,
 * no classes. Matching takes time linear in the product of the lengths at
 * worst, never exponential.
 *
 * @module
 */

/**
 * Whether a text matches a glob.
 *
 * @param glob the pattern
 * @param text the text
 * @returns true if the whole text matches
 */
export function globMatch(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1; // the glob index after the last `*` seen
  let mark = 0; // the text index that `*` was last resumed from
  while (t < text.length) {
    if (g < glob.length && (glob[g] === "?" || (glob[g] !== "*" && glob[g] === text[t]))) {
      g++;
      t++;
    } else if (g < glob.length && glob[g] === "*") {
      star = ++g;
      mark = t;
    } else if (star >= 0) {
      g = star;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === "*") g++;
  return g === glob.length;
}

/**
 * Whether a pattern has a wildcard (`*` or `?`).
 *
 * @param pattern the pattern
 * @returns true if it is a glob, false if it names one text exactly
 */
export function isGlob(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}
