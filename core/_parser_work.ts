/**
 * A cost meter for the parser, kept out of the public API: the bytes a
 * parser has copied into and within its buffer, and the bytes it has
 * scanned for line ends, and the size of its buffer. Tests use it to check that the work done for a
 * message is linear in its size whatever the chunking; nothing else should.
 *
 * @module
 */

/** What one parser has done since it was made. */
export interface ParserWork {
  /** Bytes copied: each chunk into the buffer, plus every byte moved when the buffer grows or compacts. */
  readonly copied: number;
  /** Bytes searched for a line feed (a byte searched twice counts twice). */
  readonly scanned: number;
  /** Bytes the buffer holds room for now. */
  readonly capacity: number;
}

let reader: ((parser: object) => ParserWork) | undefined;

/**
 * Registers how to read a parser's meter (called once, by the parser class).
 *
 * @param read returns the meter of a parser
 */
export function registerParserWork(read: (parser: object) => ParserWork): void {
  reader = read;
}

/**
 * The work a parser has done so far.
 *
 * @param parser an `AmiParser`
 * @returns its meter
 */
export function parserWork(parser: object): ParserWork {
  if (!reader) throw new Error("the parser module is not loaded");
  return reader(parser);
}
