/**
 * The leads file: a CSV with a header row `id,number` and optional variable
 * columns (`id,number,FIRSTNAME,ACCOUNT`), parsed into {@link Lead}s. Bad
 * input is a {@link LeadsError} that names the line; nothing is guessed.
 *
 * @module
 */

/** One lead: who to call, and the channel variables the call carries. */
export interface Lead {
  /** Unique within the file: the journal and the summary are keyed by it. */
  readonly id: string;
  /** The number, as it goes into the channel template: digits, `+`, `*`, `#`. */
  readonly number: string;
  /** Extra columns, by header name (sent as `Variable` on the Originate). */
  readonly variables: Readonly<Record<string, string>>;
  /** The line in the file (1-based), for messages. */
  readonly line: number;
}

/** What was wrong with the leads file. */
export type LeadsErrorKind =
  | "header"
  | "quote"
  | "columns"
  | "id"
  | "duplicate"
  | "number"
  | "tooLong"
  | "tooMany";

/** The leads file is malformed; `line` says where (0: the file as a whole). */
export class LeadsError extends Error {
  /** What was wrong. */
  readonly kind: LeadsErrorKind;
  /** The 1-based line, or 0. */
  readonly line: number;

  /**
   * Creates the error.
   *
   * @param kind what was wrong
   * @param line where
   * @param message the details
   */
  constructor(kind: LeadsErrorKind, line: number, message: string) {
    super(line > 0 ? `leads line ${line}: ${message}` : `leads: ${message}`);
    this.name = "LeadsError";
    this.kind = kind;
    this.line = line;
  }
}

/** Bounds of {@link parseLeads}. */
export interface ParseLeadsOptions {
  /** Leads at most. Default 1,000,000. */
  readonly maxLeads?: number;
  /** Characters per line at most. Default 4,096. */
  readonly maxLineLength?: number;
}

const ID = /^[A-Za-z0-9._:-]{1,64}$/;
const NUMBER = /^[0-9+*#]{1,32}$/;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Splits one CSV line: commas separate, a field in double quotes may hold
 * commas and `""` for a quote. Fields are trimmed of spaces outside quotes.
 *
 * @param text the line, without its end
 * @param line its number, for errors
 * @returns the fields
 * @throws {LeadsError} `quote` for an unterminated or stray quote
 */
export function splitCsvLine(text: string, line: number): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === " " || text[i] === "\t") i++;
    let value = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new LeadsError("quote", line, "unterminated quoted field");
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      while (text[i] === " " || text[i] === "\t") i++;
      if (i < text.length && text[i] !== ",") {
        throw new LeadsError("quote", line, "text after a closing quote");
      }
    } else {
      const comma = text.indexOf(",", i);
      const end = comma < 0 ? text.length : comma;
      value = text.slice(i, end).trim();
      if (value.includes('"')) {
        throw new LeadsError("quote", line, "a quote inside an unquoted field");
      }
      i = end;
    }
    fields.push(value);
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

/**
 * Parses a leads CSV. The header row names the columns: `id` and `number`
 * (any order, any case) are required; every other column is a channel
 * variable. Blank lines and lines starting with `#` are skipped.
 *
 * @param text the file's text (LF or CRLF line ends, an optional BOM)
 * @param options bounds
 * @returns the leads, in file order
 * @throws {LeadsError} a missing header or column, a bad quote, a wrong
 *   field count, an invalid or duplicate id, an invalid number, a line too
 *   long, too many leads
 */
export function parseLeads(text: string, options: ParseLeadsOptions = {}): Lead[] {
  const maxLeads = options.maxLeads ?? 1_000_000;
  const maxLine = options.maxLineLength ?? 4_096;
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  let header: string[] | undefined;
  let idCol = -1;
  let numberCol = -1;
  const leads: Lead[] = [];
  const seen = new Set<string>();
  for (let n = 0; n < lines.length; n++) {
    const line = n + 1;
    const raw = lines[n].endsWith("\r") ? lines[n].slice(0, -1) : lines[n];
    if (raw.length > maxLine) throw new LeadsError("tooLong", line, `over ${maxLine} characters`);
    if (raw.trim() === "" || raw.trimStart().startsWith("#")) continue;
    const fields = splitCsvLine(raw, line);
    if (header === undefined) {
      header = fields.map((f) => f.trim());
      idCol = header.findIndex((h) => h.toLowerCase() === "id");
      numberCol = header.findIndex((h) => h.toLowerCase() === "number");
      if (idCol < 0 || numberCol < 0) {
        throw new LeadsError("header", line, `the header needs "id" and "number" (got ${raw})`);
      }
      for (const [i, h] of header.entries()) {
        if (i !== idCol && i !== numberCol && !VARIABLE.test(h)) {
          throw new LeadsError("header", line, `column "${h}" is not a valid variable name`);
        }
      }
      if (new Set(header.map((h) => h.toLowerCase())).size !== header.length) {
        throw new LeadsError("header", line, "a column name repeats");
      }
      continue;
    }
    if (fields.length !== header.length) {
      throw new LeadsError(
        "columns",
        line,
        `${fields.length} fields, the header has ${header.length}`,
      );
    }
    const id = fields[idCol];
    const number = fields[numberCol].replace(/[\s().-]/g, "");
    if (!ID.test(id)) {
      throw new LeadsError("id", line, `id "${id}": 1 to 64 of A-Z a-z 0-9 . _ : -`);
    }
    if (seen.has(id)) throw new LeadsError("duplicate", line, `id "${id}" appears twice`);
    if (!NUMBER.test(number)) {
      throw new LeadsError("number", line, `number "${fields[numberCol]}": 1 to 32 of 0-9 + * #`);
    }
    if (leads.length >= maxLeads) throw new LeadsError("tooMany", line, `over ${maxLeads} leads`);
    const variables: Record<string, string> = {};
    for (const [i, h] of header.entries()) {
      if (i !== idCol && i !== numberCol && fields[i] !== "") variables[h] = fields[i];
    }
    seen.add(id);
    leads.push({ id, number, variables, line });
  }
  if (header === undefined) throw new LeadsError("header", 0, "the file is empty (no header row)");
  return leads;
}
