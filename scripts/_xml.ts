/**
 * A small, strict XML reader for the subset that Asterisk's documentation
 * XML uses: elements, attributes, text, CDATA, comments, processing
 * instructions, a DOCTYPE without internal subset, and the five predefined
 * entities plus numeric character references. No namespaces processing (a
 * prefixed name such as `xi:include` is kept as written), no DTD.
 *
 * Anything outside that subset, or malformed, throws an {@link XmlError}
 * with the offset where reading stopped.
 *
 * @module
 */

/** An element: its name, attributes in document order, and children. */
export interface XmlElement {
  /** The qualified name as written, e.g. `parameter` or `xi:include`. */
  readonly name: string;
  /** The attributes, by name. */
  readonly attrs: Readonly<Record<string, string>>;
  /** Child elements and text, in document order (comments dropped). */
  readonly children: readonly XmlNode[];
}

/** A child of an element: another element, or text (entities decoded). */
export type XmlNode = XmlElement | string;

/** Malformed or unsupported XML. */
export class XmlError extends Error {
  /** The character offset where reading failed. */
  readonly offset: number;
  /** Builds the error with its offset in the message. */
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = "XmlError";
    this.offset = offset;
  }
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_.:]*/y;
const SPACE = /[ \t\r\n]*/y;
const ENTITIES: Readonly<Record<string, string>> = {
  lt: "<",
  gt: ">",
  amp: "&",
  quot: '"',
  apos: "'",
};

/**
 * Parses a whole document and returns its root element.
 *
 * @param text the document
 * @returns the root element
 * @throws {XmlError} on malformed or unsupported input
 */
export function parseXml(text: string): XmlElement {
  const r = new Reader(text);
  r.prolog();
  const root = r.element();
  r.misc();
  if (r.pos !== text.length) r.fail("content after the root element");
  return root;
}

/**
 * Decodes the entity and character references in a text or attribute value.
 *
 * @param raw the text as written
 * @param at the offset of `raw` in the document, for errors
 * @returns the decoded text
 * @throws {XmlError} on an unknown or malformed reference
 */
export function decodeEntities(raw: string, at = 0): string {
  if (!raw.includes("&")) return raw;
  return raw.replace(/&([^;&\s]*);?/g, (whole, ref: string, i: number) => {
    if (!whole.endsWith(";")) throw new XmlError("unterminated reference", at + i);
    if (ref in ENTITIES) return ENTITIES[ref];
    const m = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(ref);
    if (!m) throw new XmlError(`unknown entity &${ref};`, at + i);
    const code = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2], 10);
    if (code > 0x10ffff || code === 0) throw new XmlError(`bad character &${ref};`, at + i);
    return String.fromCodePoint(code);
  });
}

/** The cursor over the document. */
class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new XmlError(what, this.pos);
  }

  startsWith(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }

  expect(s: string): void {
    if (!this.startsWith(s)) this.fail(`expected "${s}"`);
    this.pos += s.length;
  }

  /** Skips up to and past `end`; returns what was skipped. */
  until(end: string, what: string): string {
    const i = this.text.indexOf(end, this.pos);
    if (i < 0) this.fail(`unterminated ${what}`);
    const s = this.text.slice(this.pos, i);
    this.pos = i + end.length;
    return s;
  }

  space(): void {
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.text);
    this.pos = SPACE.lastIndex;
  }

  name(): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.text);
    if (!m) this.fail("expected a name");
    this.pos = NAME.lastIndex;
    return m[0];
  }

  /** The XML declaration, comments, PIs and a DOCTYPE before the root. */
  prolog(): void {
    if (this.text.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.misc();
    if (this.startsWith("<!DOCTYPE")) {
      const decl = this.until(">", "DOCTYPE");
      if (decl.includes("[")) this.fail("DOCTYPE internal subsets are not supported");
      this.misc();
    }
  }

  /** Whitespace, comments and processing instructions. */
  misc(): void {
    for (;;) {
      this.space();
      if (this.startsWith("<!--")) this.comment();
      else if (this.startsWith("<?")) this.until("?>", "processing instruction");
      else return;
    }
  }

  comment(): void {
    this.pos += 4;
    const body = this.until("-->", "comment");
    if (body.includes("--")) this.fail('"--" inside a comment');
  }

  element(): XmlElement {
    this.expect("<");
    const name = this.name();
    const attrs = this.attributes();
    if (this.startsWith("/>")) {
      this.pos += 2;
      return { name, attrs, children: [] };
    }
    this.expect(">");
    const children = this.content();
    this.expect("</");
    const close = this.name();
    if (close !== name) this.fail(`</${close}> closes <${name}>`);
    this.space();
    this.expect(">");
    return { name, attrs, children };
  }

  attributes(): Record<string, string> {
    const attrs: Record<string, string> = {};
    for (;;) {
      const before = this.pos;
      this.space();
      if (this.startsWith(">") || this.startsWith("/>")) return attrs;
      if (this.pos === before) this.fail("expected whitespace before an attribute");
      const key = this.name();
      if (Object.hasOwn(attrs, key)) this.fail(`duplicate attribute ${key}`);
      this.space();
      this.expect("=");
      this.space();
      const quote = this.text[this.pos];
      if (quote !== '"' && quote !== "'") this.fail("expected a quoted attribute value");
      this.pos++;
      const at = this.pos;
      const raw = this.until(quote, "attribute value");
      if (raw.includes("<")) throw new XmlError('"<" in an attribute value', at);
      attrs[key] = decodeEntities(raw, at).replace(/[\t\r\n]/g, " ");
    }
  }

  /** Children up to the closing tag; adjacent text and CDATA join into one string. */
  content(): XmlNode[] {
    const out: XmlNode[] = [];
    let text = "";
    const flush = (): void => {
      if (text !== "") out.push(text);
      text = "";
    };
    for (;;) {
      if (this.pos >= this.text.length) this.fail("unexpected end of document");
      if (this.startsWith("</")) break;
      if (this.startsWith("<!--")) this.comment();
      else if (this.startsWith("<![CDATA[")) {
        this.pos += 9;
        text += this.until("]]>", "CDATA section");
      } else if (this.startsWith("<?")) this.until("?>", "processing instruction");
      else if (this.startsWith("<!")) this.fail("unsupported markup declaration");
      else if (this.startsWith("<")) {
        flush();
        out.push(this.element());
      } else {
        const at = this.pos;
        const end = this.text.indexOf("<", at);
        this.pos = end < 0 ? this.text.length : end;
        text += decodeEntities(this.text.slice(at, this.pos), at);
      }
    }
    flush();
    return out;
  }
}

/**
 * The child elements of an element, optionally only those with one name.
 *
 * @param el the parent
 * @param name the child name to keep
 * @returns the matching children, in order
 */
export function childElements(el: XmlElement, name?: string): XmlElement[] {
  return el.children.filter((c): c is XmlElement =>
    typeof c !== "string" && (name === undefined || c.name === name)
  );
}

/**
 * The concatenated text of an element and its descendants.
 *
 * @param node an element or text
 * @returns the text content
 */
export function textContent(node: XmlNode): string {
  return typeof node === "string" ? node : node.children.map(textContent).join("");
}
