/**
 * Redaction of secrets for everything the command writes: log records,
 * error messages, debug dumps and output lines.
 *
 * Two rules, applied together:
 * - by name: a header, property or `key=value` pair named `Secret` or `Key`
 *   (any case, the names AMI uses for credentials) has its value replaced;
 * - by value: every occurrence of a secret the command knows (it registers
 *   each one it reads) is replaced wherever it appears, in any string.
 *
 * Hand-written rather than `@logtape/redaction`: that package is not
 * installed here, and these two rules are a few dozen lines; the by-value
 * rule is the one that matters for AMI, since a secret could surface in an
 * error text or a dump under any name.
 *
 * @module
 */

import type { LogRecord } from "@logtape/logtape";

/** What a redacted value is replaced with. */
export const REDACTED = "[REDACTED]";

/** Names whose values are always redacted (compared in lower case). */
const SECRET_NAMES: ReadonlySet<string> = new Set(["secret", "key"]);

/** `Secret: x` / `Key: x` as an AMI line, `secret=x` as a key=value pair. */
const HEADER_LINE = /^([ \t]*(?:secret|key)[ \t]*:[ \t]*)([^\r\n]*)/gim;
const KEY_VALUE = /(\b(?:secret|key)=)([^\s&,;"']*)/gi;
const JSON_FIELD = /("(?:secret|key)"\s*:\s*)"((?:[^"\\]|\\.)*)"/gi;

/**
 * Whether a header or property name names a secret (`Secret`, `Key`).
 *
 * @param name the name
 * @returns `true` when its value must never be written
 */
export function isSecretName(name: string): boolean {
  return SECRET_NAMES.has(name.toLowerCase());
}

/** Redacts known secrets and secret-named fields; one per process. */
export class Redactor {
  #secrets: string[] = [];

  /** @param secrets secrets known from the start */
  constructor(secrets: Iterable<string> = []) {
    for (const s of secrets) this.addSecret(s);
  }

  /**
   * Registers a secret: from now on, every occurrence of it is redacted.
   * Call it as soon as the secret is read, before anything can be logged.
   *
   * @param secret the secret value; empty strings are ignored
   */
  addSecret(secret: string): void {
    if (secret.length === 0 || this.#secrets.includes(secret)) return;
    this.#secrets.push(secret);
    // Longest first, so a secret containing another is replaced whole.
    this.#secrets.sort((a, b) => b.length - a.length);
  }

  /** How many secrets are registered. */
  get size(): number {
    return this.#secrets.length;
  }

  /**
   * Whether a text contains a registered secret (cheap check before
   * redacting on a hot path).
   *
   * @param text the text
   * @returns `true` when a known secret occurs in it
   */
  leaks(text: string): boolean {
    for (const s of this.#secrets) if (text.includes(s)) return true;
    return false;
  }

  /**
   * Redacts a text: known secrets, `Secret:`/`Key:` lines, `secret=`/`key=`
   * pairs and `"secret": "..."` JSON fields.
   *
   * @param text the text
   * @returns the text without secrets
   */
  text(text: string): string {
    let out = text;
    for (const s of this.#secrets) {
      if (out.includes(s)) out = out.split(s).join(REDACTED);
    }
    if (/secret|key/i.test(out)) {
      out = out.replace(HEADER_LINE, `$1${REDACTED}`)
        .replace(KEY_VALUE, `$1${REDACTED}`)
        .replace(JSON_FIELD, `$1"${REDACTED}"`);
    }
    return out;
  }

  /**
   * A redacted copy of any value, for logging and dumps: strings through
   * {@link Redactor.text}, properties named `secret`/`key` replaced, header
   * pairs `[name, value]` with a secret name replaced, errors turned into
   * plain objects with redacted message, stack and cause. Cycles and depth
   * beyond 8 become `"[Circular]"` / `"[Deep]"`.
   *
   * @param value anything
   * @returns a redacted copy (primitives other than strings as they are)
   */
  value(value: unknown): unknown {
    return this.#value(value, 0, new WeakSet());
  }

  #value(value: unknown, depth: number, seen: WeakSet<object>): unknown {
    if (typeof value === "string") return this.text(value);
    if (value === null || typeof value !== "object") {
      return typeof value === "function" ? `[Function ${value.name || "anonymous"}]` : value;
    }
    if (seen.has(value)) return "[Circular]";
    if (depth > 8) return "[Deep]";
    seen.add(value);
    try {
      if (value instanceof Error) return this.#error(value, depth, seen);
      if (value instanceof Uint8Array) {
        return this.text(new TextDecoder().decode(value));
      }
      if (Array.isArray(value)) {
        if (
          value.length === 2 && typeof value[0] === "string" && isSecretName(value[0])
        ) return [value[0], REDACTED];
        return value.map((v) => this.#value(v, depth + 1, seen));
      }
      if (value instanceof Map) {
        return [...value].map(([k, v]) =>
          typeof k === "string" && isSecretName(k)
            ? [k, REDACTED]
            : [this.#value(k, depth + 1, seen), this.#value(v, depth + 1, seen)]
        );
      }
      const out: Record<string, unknown> = {};
      // Own enumerable properties, plus getters such as AmiMessage's headers.
      for (const [k, v] of Object.entries(value)) {
        out[k] = isSecretName(k) ? REDACTED : this.#value(v, depth + 1, seen);
      }
      if ("headers" in value && !("headers" in out)) {
        out.headers = this.#value((value as { headers: unknown }).headers, depth + 1, seen);
      }
      return out;
    } finally {
      seen.delete(value);
    }
  }

  #error(error: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: error.name,
      message: this.text(error.message),
    };
    for (const [k, v] of Object.entries(error)) {
      if (k === "name" || k === "message" || k === "stack") continue;
      out[k] = isSecretName(k) ? REDACTED : this.#value(v, depth + 1, seen);
    }
    if (error.stack !== undefined) out.stack = this.text(error.stack);
    if (error.cause !== undefined) out.cause = this.#value(error.cause, depth + 1, seen);
    return out;
  }

  /**
   * A one-line description of an error for the user: `Name: message`, then
   * the causes' messages that it does not already contain, redacted.
   *
   * @param error anything thrown
   * @returns the text
   */
  errorText(error: unknown): string {
    let out = "";
    let e: unknown = error;
    for (let i = 0; i < 4 && e !== undefined && e !== null; i++) {
      const message = e instanceof Error ? e.message : String(e);
      if (i === 0) out = e instanceof Error ? `${e.name}: ${message}` : message;
      else if (!out.includes(message)) out += `: caused by ${message}`;
      if (!(e instanceof Error)) break;
      e = e.cause;
    }
    return this.text(out.replace(/[\r\n]+/g, " "));
  }

  /**
   * A redacted copy of a LogTape record: message values, raw message and
   * properties.
   *
   * @param record the record
   * @returns a record safe to write
   */
  record(record: LogRecord): LogRecord {
    const message = record.message.map((part, i) =>
      i % 2 === 0 ? (typeof part === "string" ? this.text(part) : part) : this.value(part)
    );
    const raw = typeof record.rawMessage === "string"
      ? this.text(record.rawMessage)
      : record.rawMessage;
    return {
      ...record,
      message,
      rawMessage: raw,
      properties: this.value(record.properties) as Record<string, unknown>,
    };
  }
}
