/**
 * Reads Asterisk's documentation XML (`core-en_US.xml`) into plain facts
 * about AMI actions and events: names, fields and headers, required flags,
 * defaults, enumerations, versions, modules, event classes and how each
 * action completes. No prose is kept.
 *
 * Pure: text in, data out. `scripts/gen_ami.ts` renders the result.
 *
 * @module
 */

import { childElements, parseXml, textContent, XmlError } from "./_xml.ts";
import type { XmlElement, XmlNode } from "./_xml.ts";

/** One field of an action (a `<parameter>` of its `<syntax>`). */
export interface FieldDoc {
  /** The header name, case as documented. */
  name: string;
  /** `required="true"` (or `yes`). */
  required: boolean;
  /** The documented default, if any. */
  default?: string;
  /** The enumerated values (`<enumlist><enum name>`), if any. */
  values?: string[];
  /** The header may repeat (`multiple="true"`, or a protocol-level repeatable name). */
  multiple: boolean;
}

/** How an action completes. */
export type Completion = "response" | "eventList" | "command" | "originate";

/** One action (`<manager>`), duplicates merged. */
export interface ActionDoc {
  /** The action name. */
  name: string;
  /** The module of the primary entry (see {@link mergeOrder}). */
  module: string;
  /** The versions it appeared in (`<since><version>`). */
  since: string[];
  /** Its fields, in document order. */
  fields: FieldDoc[];
  /** How it completes. */
  completion: Completion;
  /** The event that completes it (event lists; OriginateResponse for Originate). */
  complete?: string;
}

/** One header of an event. */
export interface HeaderDoc {
  /** The header name, case as documented, snapshot prefixes expanded. */
  name: string;
  /** The enumerated values, if any. */
  values?: string[];
}

/** One event (`<managerEvent>`), duplicates merged. */
export interface EventDoc {
  /** The event name. */
  name: string;
  /** The module of the primary entry. */
  module: string;
  /** Every module that documents it, sorted. */
  modules: string[];
  /** The versions it appeared in. */
  since: string[];
  /** The event class (`EVENT_FLAG_CALL` gives `call`). */
  class: string;
  /** Its headers, in document order. */
  headers: HeaderDoc[];
}

/** Everything read from the documentation. */
export interface AmiDocs {
  /** Actions, sorted by name. */
  actions: ActionDoc[];
  /** Events, sorted by name. */
  events: EventDoc[];
}

/**
 * The fields of `<channel_snapshot/>`. The XML carries only the element;
 * Asterisk's doc/appdocsxml.xslt expands it into these parameters when it
 * renders the docs (the captures in tests/fixtures agree: see Newchannel).
 */
export const CHANNEL_SNAPSHOT: readonly HeaderDoc[] = [
  { name: "Channel" },
  { name: "ChannelState" },
  {
    name: "ChannelStateDesc",
    values: [
      "Down",
      "Rsrvd",
      "OffHook",
      "Dialing",
      "Ring",
      "Ringing",
      "Up",
      "Busy",
      "Dialing Offhook",
      "Pre-ring",
      "Unknown",
    ],
  },
  { name: "CallerIDNum" },
  { name: "CallerIDName" },
  { name: "ConnectedLineNum" },
  { name: "ConnectedLineName" },
  { name: "Language" },
  { name: "AccountCode" },
  { name: "Context" },
  { name: "Exten" },
  { name: "Priority" },
  { name: "Uniqueid" },
  { name: "Linkedid" },
];

/** The fields of `<bridge_snapshot/>`, from the same stylesheet. */
export const BRIDGE_SNAPSHOT: readonly HeaderDoc[] = [
  { name: "BridgeUniqueid" },
  { name: "BridgeType" },
  { name: "BridgeTechnology" },
  { name: "BridgeCreator" },
  { name: "BridgeName" },
  { name: "BridgeNumChannels" },
  { name: "BridgeVideoSourceMode", values: ["none", "talker", "single"] },
  { name: "BridgeVideoSource" },
];

/**
 * Field names that repeat in any action because manager.c reads them all
 * (`astman_get_variables`), whether or not the entry says `multiple`.
 */
export const REPEATABLE_FIELDS: ReadonlySet<string> = new Set(["Variable"]);

/**
 * Event names the docs spell differently from what Asterisk sends on the
 * wire (listeners match names exactly, so the tables use the wire's).
 */
export const WIRE_EVENT_NAMES: Readonly<Record<string, string>> = {
  NewExten: "Newexten", // manager_channels.c sends "Newexten"
};

/**
 * Reads the documentation XML.
 *
 * @param xml the text of core-en_US.xml
 * @returns the actions and events, duplicates merged, sorted by name
 * @throws {XmlError} on malformed XML or an include that does not resolve
 */
export function readAmiDocs(xml: string): AmiDocs {
  const root = parseXml(xml);
  const inc = new Includes(root);
  const actions = new Map<string, ActionDoc[]>();
  const events = new Map<string, EventDoc[]>();
  walk(root, (el) => {
    if (el.name === "manager") push(actions, readAction(el, inc));
    if (el.name === "managerEvent") {
      const e = readEvent(el, inc);
      push(events, { ...e, name: WIRE_EVENT_NAMES[e.name] ?? e.name });
    }
  });
  return {
    actions: mergeAll(actions, mergeActions),
    events: mergeAll(events, mergeEvents),
  };
}

/** Visits every element under (and including) `el`, in document order. */
function walk(el: XmlElement, visit: (el: XmlElement) => void): void {
  visit(el);
  for (const c of childElements(el)) walk(c, visit);
}

function push<T extends { name: string }>(map: Map<string, T[]>, item: T): void {
  const list = map.get(item.name);
  if (list) list.push(item);
  else map.set(item.name, [item]);
}

// ---- includes ----

/** Resolves `xi:include` pointers against the whole document. */
class Includes {
  constructor(readonly root: XmlElement) {}

  /** The nodes an `xi:include` element stands for. */
  resolve(el: XmlElement): XmlNode[] {
    const ptr = el.attrs["xpointer"] ?? "";
    const m = /^xpointer\((.*)\)$/.exec(ptr);
    if (!m) throw new XmlError(`unsupported xpointer ${JSON.stringify(ptr)}`, 0);
    const steps = splitPath(m[1]);
    if (steps.shift() !== "docs") throw new XmlError(`xpointer outside /docs: ${ptr}`, 0);
    let nodes: XmlNode[] = [this.root];
    for (const step of steps) nodes = nodes.flatMap((n) => applyStep(n, step));
    if (nodes.length === 0) throw new XmlError(`xpointer matches nothing: ${ptr}`, 0);
    return nodes;
  }

  /** The children of `el` with includes replaced by what they point to, recursively. */
  expand(el: XmlElement, depth = 0): XmlNode[] {
    if (depth > 16) throw new XmlError("xi:include nesting deeper than 16", 0);
    const out: XmlNode[] = [];
    for (const c of el.children) {
      if (typeof c !== "string" && c.name === "xi:include") {
        for (const r of this.resolve(c)) {
          if (typeof r === "string") out.push(r);
          else out.push(this.deep(r, depth + 1));
        }
      } else if (typeof c !== "string") out.push(this.deep(c, depth));
      else out.push(c);
    }
    return out;
  }

  /** An element with every include below it resolved. */
  deep(el: XmlElement, depth = 0): XmlElement {
    return { name: el.name, attrs: el.attrs, children: this.expand(el, depth) };
  }
}

/** Splits an XPath on `/` outside predicates; a leading `/` is optional. */
function splitPath(path: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of path.replace(/^\//, "")) {
    if (ch === "[") depth++;
    if (ch === "]") depth--;
    if (ch === "/" && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** One XPath step (`name[pred]...`, `node()`, `text()`) applied to one node. */
function applyStep(node: XmlNode, step: string): XmlNode[] {
  if (typeof node === "string") return [];
  if (step === "node()") return [...node.children];
  if (step === "text()") return node.children.filter((c) => typeof c === "string");
  const m = /^([\w:-]+)((?:\[[^\]]*\])*)$/.exec(step);
  if (!m) throw new XmlError(`unsupported xpath step ${step}`, 0);
  let found = childElements(node, m[1]);
  for (const [, pred] of m[2].matchAll(/\[([^\]]*)\]/g)) found = filter(found, pred);
  return found;
}

/** Applies one predicate: `@a='v'`, `contains(@a, 'v')` or a 1-based position. */
function filter(els: XmlElement[], pred: string): XmlElement[] {
  let m = /^@([\w:-]+)\s*=\s*'([^']*)'$/.exec(pred);
  if (m) {
    const [, a, v] = m;
    return els.filter((e) => e.attrs[a] === v);
  }
  m = /^contains\(@([\w:-]+),\s*'([^']*)'\)$/.exec(pred);
  if (m) {
    const [, a, v] = m;
    return els.filter((e) => (e.attrs[a] ?? "").includes(v));
  }
  if (/^\d+$/.test(pred)) {
    const e = els[Number(pred) - 1];
    return e ? [e] : [];
  }
  throw new XmlError(`unsupported xpath predicate [${pred}]`, 0);
}

// ---- actions ----

/** One `<manager>` entry, includes resolved. */
function readAction(raw: XmlElement, inc: Includes): ActionDoc {
  const el = inc.deep(raw);
  const name = required(el, "name");
  const fields = syntaxParameters(el).map(readField);
  return {
    name,
    module: el.attrs["module"] ?? "",
    since: versions(el),
    fields,
    ...completion(name, el),
  };
}

/** The `<parameter>`s directly under `<syntax>`, snapshots expanded. */
function syntaxParameters(el: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const syntax of childElements(el, "syntax")) {
    for (const c of childElements(syntax)) {
      if (c.name === "parameter") out.push(c);
      else if (c.name === "channel_snapshot") out.push(...snapshot(CHANNEL_SNAPSHOT, c));
      else if (c.name === "bridge_snapshot") out.push(...snapshot(BRIDGE_SNAPSHOT, c));
    }
  }
  return out;
}

/** A snapshot block as `<parameter>` elements, with its `prefix`. */
function snapshot(fields: readonly HeaderDoc[], el: XmlElement): XmlElement[] {
  const prefix = el.attrs["prefix"] ?? "";
  return fields.map((f) => ({
    name: "parameter",
    attrs: { name: prefix + f.name },
    children: f.values
      ? [{
        name: "enumlist",
        attrs: {},
        children: f.values.map((v) => ({ name: "enum", attrs: { name: v }, children: [] })),
      }]
      : [],
  }));
}

function readField(p: XmlElement): FieldDoc {
  const name = required(p, "name");
  const field: FieldDoc = {
    name,
    required: isTrue(p.attrs["required"]),
    multiple: isTrue(p.attrs["multiple"]) || REPEATABLE_FIELDS.has(name),
  };
  if (p.attrs["default"] !== undefined) field.default = p.attrs["default"];
  const values = enumValues(p);
  if (values) field.values = values;
  return field;
}

/** The top-level `<enum name>` values of a parameter's `<enumlist>`s. */
function enumValues(p: XmlElement): string[] | undefined {
  const values: string[] = [];
  for (const list of childElements(p, "enumlist")) {
    for (const e of childElements(list, "enum")) {
      const v = required(e, "name");
      if (!values.includes(v)) values.push(v);
    }
  }
  return values.length > 0 ? values : undefined;
}

/**
 * How an action completes, from its entry: Command and Originate are
 * special; `<responses><list-elements>` and the event beside it give an
 * event list; so does a reference to a `…Complete` event (see-also or a
 * name in the description). Otherwise its Response completes it.
 */
function completion(name: string, el: XmlElement): { completion: Completion; complete?: string } {
  if (name === "Command") return { completion: "command" };
  if (name === "Originate") return { completion: "originate", complete: "OriginateResponse" };
  for (const r of childElements(el, "responses")) {
    if (childElements(r, "list-elements").length === 0) continue;
    const done = childElements(r, "managerEvent")[0];
    if (done) return { completion: "eventList", complete: required(done, "name") };
  }
  const named = completeEventNames(el);
  if (named.length > 0) return { completion: "eventList", complete: named[0] };
  return { completion: "response" };
}

/** Names ending in `Complete` that the entry's see-also or description mention. */
function completeEventNames(el: XmlElement): string[] {
  const refs = childElements(el, "see-also").flatMap((s) => childElements(s, "ref"))
    .filter((r) => r.attrs["type"] === "managerEvent").map(textContent);
  const text = childElements(el, "description").map(textContent).join(" ");
  const words = text.match(/\b[A-Z][A-Za-z]*[a-z]Complete\b/g) ?? [];
  return [...refs, ...words].map((s) => s.trim()).filter((s) => /^[A-Za-z]+Complete$/.test(s));
}

// ---- events ----

/** One `<managerEvent>` entry: its instances' headers, in order. */
function readEvent(raw: XmlElement, inc: Includes): EventDoc {
  const el = inc.deep(raw);
  const name = required(el, "name");
  const instances = childElements(el, "managerEventInstance");
  const first = instances[0];
  if (!first) throw new XmlError(`managerEvent ${name} without managerEventInstance`, 0);
  const headers: HeaderDoc[] = [];
  for (const inst of instances) {
    for (const p of syntaxParameters(inst)) {
      const values = enumValues(p);
      const header = required(p, "name");
      addHeader(headers, values ? { name: header, values } : { name: header });
    }
  }
  const module = el.attrs["module"] ?? first.attrs["module"] ?? "";
  return {
    name,
    module,
    modules: [module],
    since: versions(first),
    class: eventClass(first.attrs["class"] ?? ""),
    headers,
  };
}

/** `EVENT_FLAG_CALL` gives `call`, as in the `Privilege` header. */
function eventClass(flag: string): string {
  return flag.replace(/^EVENT_FLAG_/, "").toLowerCase();
}

/** Adds a header, or merges its values into the one already listed. */
function addHeader(headers: HeaderDoc[], h: HeaderDoc): void {
  const known = headers.find((x) => x.name === h.name);
  if (!known) {
    headers.push(h.values ? { name: h.name, values: [...h.values] } : { name: h.name });
    return;
  }
  if (!h.values) return;
  known.values ??= [];
  for (const v of h.values) if (!known.values.includes(v)) known.values.push(v);
}

// ---- merging duplicates ----

/**
 * The order in which duplicate entries (the same name documented by several
 * modules) merge: `builtin` first, then by module name; the first is the
 * primary and gives module, versions, class and completion. Fields and
 * headers are the union in that order; the first entry that lists a field
 * gives its facts; enumerations are the union of values.
 */
export function mergeOrder(a: { module: string }, b: { module: string }): number {
  const rank = (m: string): number => (m === "builtin" ? 0 : 1);
  const r = rank(a.module) - rank(b.module);
  if (r !== 0) return r;
  return a.module < b.module ? -1 : a.module > b.module ? 1 : 0;
}

function mergeAll<T extends { module: string }>(map: Map<string, T[]>, merge: (xs: T[]) => T): T[] {
  const names = [...map.keys()].sort(byCodePoint);
  return names.map((n) => merge([...map.get(n)!].sort(mergeOrder)));
}

function mergeActions(list: ActionDoc[]): ActionDoc {
  const [primary, ...rest] = list;
  const fields = primary.fields.map((f) => ({ ...f }));
  for (const other of rest) {
    for (const f of other.fields) {
      const known = fields.find((x) => x.name === f.name);
      if (!known) fields.push({ ...f });
      else if (f.values) known.values = union(known.values ?? [], f.values);
    }
  }
  return { ...primary, fields };
}

function mergeEvents(list: EventDoc[]): EventDoc {
  const headers: HeaderDoc[] = [];
  for (const e of list) for (const h of e.headers) addHeader(headers, h);
  const modules = [...new Set(list.map((e) => e.module))].sort(byCodePoint);
  return { ...list[0], modules, headers };
}

// ---- small helpers ----

function union(a: string[], b: string[]): string[] {
  return [...a, ...b.filter((v) => !a.includes(v))];
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isTrue(v: string | undefined): boolean {
  return v !== undefined && /^(true|yes)$/i.test(v.trim());
}

/** The `<since><version>` texts of an entry, in document order. */
function versions(el: XmlElement): string[] {
  return childElements(el, "since").flatMap((s) => childElements(s, "version"))
    .map((v) => textContent(v).trim());
}

function required(el: XmlElement, attr: string): string {
  const v = el.attrs[attr];
  if (v === undefined || v === "") {
    throw new XmlError(`<${el.name}> without ${attr}`, 0);
  }
  return v;
}
