/**
 * The AMI facts generator (scripts/gen_ami.ts): the committed files are what
 * it writes now; the XML reader and the docs reader on small hand-written
 * inputs; and every action and event that the captures and the simulator
 * use is documented, with each difference listed below.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { generateAmi, GENERATED_MARK, gunzipText } from "../scripts/gen_ami.ts";
import { readAmiDocs, WIRE_EVENT_NAMES } from "../scripts/_ami_docs.ts";
import { parseXml, XmlError } from "../scripts/_xml.ts";
import { AMI_ACTIONS, AMI_EVENTS, isAmiActionName, isAmiEventName } from "../core/ami.ts";
import type { AmiActionFields, AmiEventHeaders } from "../core/ami.ts";
import { captured, fixtureSends, replay } from "./_fidelity.ts";
import { fixtureIndex } from "./_fixtures.ts";
import type { AmiMessage } from "../core/message.ts";

/** The repository root: from tests/ (sources) or npm/esm/tests/ (the npm build). */
function repoRoot(): URL {
  for (const up of ["../", "../../../"]) {
    const root = new URL(up, import.meta.url);
    if (existsSync(new URL("scripts/asterisk-docs/core-en_US.xml.gz", root))) return root;
  }
  throw new Error("gen_ami.test: repository root not found");
}

const ROOT = repoRoot();
const read = (path: string): string => readFileSync(new URL(path, ROOT), "utf8");
const XML = await gunzipText(
  new Uint8Array(readFileSync(new URL("scripts/asterisk-docs/core-en_US.xml.gz", ROOT))),
);

describe("generated files", () => {
  test("core/generated/ equals what scripts/gen_ami.ts writes now (run deno task gen)", () => {
    const out = generateAmi(XML);
    assert.equal(read("core/generated/ami_actions.ts"), out.actions);
    assert.equal(read("core/generated/ami_events.ts"), out.events);
    assert.ok(out.actions.startsWith(GENERATED_MARK + "\n"));
    assert.ok(out.events.startsWith(GENERATED_MARK + "\n"));
  });

  test("every documented entry is in the tables, duplicates merged", () => {
    const names = (tag: string): Set<string> =>
      new Set([...XML.matchAll(new RegExp(`<${tag} [^>]*name="([^"]+)"`, "g"))].map((m) => m[1]));
    assert.equal(XML.match(/<manager /g)?.length, 168);
    assert.equal(XML.match(/<managerEvent /g)?.length, 185);
    assert.deepEqual(Object.keys(AMI_ACTIONS).sort(), [...names("manager")].sort());
    // Under the name Asterisk sends (the docs spell Newexten NewExten).
    const wire = [...names("managerEvent")].map((n) => WIRE_EVENT_NAMES[n] ?? n);
    assert.deepEqual(Object.keys(AMI_EVENTS).sort(), wire.sort());
    assert.ok("Newexten" in AMI_EVENTS && !("NewExten" in AMI_EVENTS));
    assert.ok(Object.isFrozen(AMI_ACTIONS) && Object.isFrozen(AMI_ACTIONS.Originate));
    assert.ok(Object.isFrozen(AMI_EVENTS) && Object.isFrozen(AMI_EVENTS.Hangup));
  });

  test("known facts", () => {
    assert.deepEqual(AMI_ACTIONS.Originate, {
      completion: "originate",
      complete: "OriginateResponse",
    });
    assert.deepEqual(AMI_ACTIONS.Command, { completion: "command" });
    assert.deepEqual(AMI_ACTIONS.Ping, { completion: "response" });
    assert.deepEqual(AMI_ACTIONS.CoreShowChannels, {
      completion: "eventList",
      complete: "CoreShowChannelsComplete",
    });
    assert.deepEqual(AMI_ACTIONS.Agents, { completion: "eventList", complete: "AgentsComplete" });
    assert.equal(AMI_EVENTS.Hangup.class, "call");
    // Types: a required field, an optional one, a header union.
    const o: AmiActionFields["Originate"] = { Channel: "Local/100@lab", Async: true };
    const h: AmiEventHeaders["Hangup"][] = ["Channel", "Cause", "Cause-txt", "Linkedid"];
    assert.ok(o && h.length === 4);
    const docs = readAmiDocs(XML);
    const hangup = docs.events.find((e) => e.name === "Hangup")!;
    assert.deepEqual(hangup.headers.slice(-3).map((x) => x.name), [
      "Cause",
      "Cause-txt",
      "TechCause",
    ]);
    const varset = docs.events.find((e) => e.name === "VarSet")!;
    assert.deepEqual(varset.modules, ["app_stack", "builtin", "func_global"]);
    assert.equal(varset.module, "builtin");
    const orig = docs.actions.find((a) => a.name === "Originate")!;
    const timeout = orig.fields.find((f) => f.name === "Timeout")!;
    assert.deepEqual(timeout, {
      name: "Timeout",
      required: false,
      multiple: false,
      default: "30000",
    });
    assert.equal(orig.fields.find((f) => f.name === "Variable")!.multiple, true);
  });
});

describe("XML reader", () => {
  test("elements, attributes, text, CDATA, comments, entities", () => {
    const root = parseXml(
      `<?xml version="1.0"?>\n<!DOCTYPE docs SYSTEM "x.dtd">\n<!-- c -->` +
        `<docs a="1 &amp; 2" b='&quot;x&#47;&#x41;'><p>a &lt;b&gt; <![CDATA[<raw> & ]]>c</p>` +
        `<e/><!-- inside --></docs>\n`,
    );
    assert.equal(root.name, "docs");
    assert.deepEqual(root.attrs, { a: "1 & 2", b: '"x/A' });
    assert.deepEqual(root.children, [
      { name: "p", attrs: {}, children: ["a <b> <raw> & c"] },
      { name: "e", attrs: {}, children: [] },
    ]);
  });

  test("malformed input is an XmlError", () => {
    for (
      const bad of [
        "<a><b></a>",
        "<a>",
        "<a x=1/>",
        '<a x="1" x="2"/>',
        "<a>&nbsp;</a>",
        "<a>& b</a>",
        "<a/><b/>",
        "<a><!-- x -- y --></a>",
        '<!DOCTYPE a [<!ENTITY e "x">]><a/>',
        "<a><![CDATA[x</a>",
      ]
    ) {
      assert.throws(() => parseXml(bad), XmlError, bad);
    }
  });
});

/** A tiny documentation XML around some entries. */
function docsXml(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<docs xmlns:xi="http://www.w3.org/2001/XInclude">` +
    body + "</docs>";
}

const LOGIN = `<manager name="Login" module="builtin"><since><version>1.0</version></since>
  <syntax><parameter name="ActionID"><para>x</para></parameter>
  <parameter name="Username" required="true"/></syntax></manager>`;

describe("docs reader", () => {
  test("includes of parameters and enumlists resolve", () => {
    const d = readAmiDocs(docsXml(
      LOGIN + `<manager name="Dial" module="app_x"><syntax>
        <xi:include xpointer="xpointer(/docs/manager[@name='Login']/syntax/parameter[@name='ActionID'])" />
        <parameter name="Mode" required="yes" default="a&amp;b">
          <enumlist><enum name="a&amp;b"/><enum name="c"><enumlist><enum name="nested"/></enumlist></enum></enumlist>
        </parameter>
        <parameter name="Other"><xi:include xpointer="xpointer(/docs/manager[@name='Dial']/syntax/parameter[@name='Mode']/enumlist)" /></parameter>
      </syntax></manager>`,
    ));
    const dial = d.actions.find((a) => a.name === "Dial")!;
    assert.deepEqual(dial.fields, [
      { name: "ActionID", required: false, multiple: false },
      { name: "Mode", required: true, multiple: false, default: "a&b", values: ["a&b", "c"] },
      { name: "Other", required: false, multiple: false, values: ["a&b", "c"] },
    ]);
    assert.equal(dial.completion, "response");
    assert.deepEqual(d.actions.map((a) => a.name), ["Dial", "Login"]);
  });

  test("snapshot blocks expand with their prefix, and event lists find their Complete event", () => {
    const d = readAmiDocs(docsXml(
      `<managerEvent name="Ev" module="builtin"><managerEventInstance class="EVENT_FLAG_CALL">
        <since><version>12.0.0</version><version>11.1</version></since>
        <syntax><channel_snapshot prefix="Dest"/><bridge_snapshot/>
        <parameter name="X"><enumlist><enum name="1"/></enumlist></parameter></syntax>
      </managerEventInstance></managerEvent>
      <managerEvent name="ListDone" module="m"><managerEventInstance class="EVENT_FLAG_COMMAND">
        <syntax><xi:include xpointer="xpointer(/docs/managerEvent[@name='Ev']/managerEventInstance/syntax/parameter[contains(@name, 'X')])" /></syntax>
      </managerEventInstance></managerEvent>
      <manager name="List" module="m"><syntax/><responses><list-elements>
        <xi:include xpointer="xpointer(/docs/managerEvent[@name='Ev'])" /></list-elements>
        <xi:include xpointer="xpointer(/docs/managerEvent[@name='ListDone'])" /></responses></manager>
      <manager name="Old" module="m"><see-also><ref type="managerEvent">OldComplete</ref></see-also></manager>`,
    ));
    const ev = d.events.find((e) => e.name === "Ev")!;
    const names = ev.headers.map((h) => h.name);
    assert.deepEqual(names.slice(0, 3), [
      "DestChannel",
      "DestChannelState",
      "DestChannelStateDesc",
    ]);
    assert.ok(names.includes("DestLinkedid") && names.includes("BridgeVideoSourceMode"));
    assert.equal(names.at(-1), "X");
    assert.equal(ev.headers[2].values?.length, 11);
    assert.deepEqual(ev.since, ["12.0.0", "11.1"]);
    assert.equal(ev.class, "call");
    assert.deepEqual(d.events.find((e) => e.name === "ListDone")!.headers, [
      { name: "X", values: ["1"] },
    ]);
    const list = d.actions.find((a) => a.name === "List")!;
    assert.deepEqual([list.completion, list.complete], ["eventList", "ListDone"]);
    const old = d.actions.find((a) => a.name === "Old")!;
    assert.deepEqual([old.completion, old.complete], ["eventList", "OldComplete"]);
  });

  test("duplicates across modules merge builtin first, then by module name", () => {
    const ev = (module: string, cls: string, param: string, values: string): string =>
      `<managerEvent name="Dup" module="${module}"><managerEventInstance class="${cls}">
        <since><version>${module}</version></since><syntax><parameter name="${param}">
        <enumlist>${values.split(",").map((v) => `<enum name="${v}"/>`).join("")}</enumlist>
        </parameter></syntax></managerEventInstance></managerEvent>`;
    const one = readAmiDocs(docsXml(
      ev("zz", "EVENT_FLAG_USER", "A", "z") + ev("builtin", "EVENT_FLAG_CALL", "B", "b") +
        ev("aa", "EVENT_FLAG_AGENT", "B", "a,b"),
    )).events;
    const two = readAmiDocs(docsXml(
      ev("aa", "EVENT_FLAG_AGENT", "B", "a,b") + ev("builtin", "EVENT_FLAG_CALL", "B", "b") +
        ev("zz", "EVENT_FLAG_USER", "A", "z"),
    )).events;
    assert.deepEqual(one, two);
    assert.deepEqual(one, [{
      name: "Dup",
      module: "builtin",
      modules: ["aa", "builtin", "zz"],
      since: ["builtin"],
      class: "call",
      headers: [{ name: "B", values: ["b", "a"] }, { name: "A", values: ["z"] }],
    }]);
  });

  test("an include that matches nothing is an error", () => {
    assert.throws(
      () =>
        readAmiDocs(docsXml(
          `<manager name="A" module="m"><syntax><xi:include xpointer="xpointer(/docs/manager[@name='Nope']/syntax/parameter)"/></syntax></manager>`,
        )),
      XmlError,
    );
  });
});

// ---- the captures and the simulator against the docs ----

/**
 * Names the captures or the simulator use that the docs do not have.
 * Each entry says why.
 */
const UNDOCUMENTED_NAMES: Record<string, string> = {
  "action:NoSuchActionXYZ": "fixture 05 sends an unknown action on purpose",
  "action:NONE": "fixture 17 sends an unknown action before login on purpose",
  "action:": "fixture 06 sends an empty Action header on purpose",
  "event:ChannelHungup": "Hangup with a regex Channel (Asterisk 22+): not in the docs XML",
  "event:ChannelsHungupListComplete": "the same: its list's Complete event is undocumented",
  "event:BridgeListItem": "BridgeList's items (fixture 25): not in the docs XML",
  "event:BridgeListComplete": "the same: its list's Complete event",
  "event:QueueMember": "QueueStatus's member items (fixture 25): not in the docs XML",
  "event:QueueStatusComplete": "QueueStatus's Complete event (fixture 25)",
  "event:QueueSummary": "QueueSummary's items (fixture 27): not in the docs XML",
  "event:QueueSummaryComplete": "QueueSummary's Complete event (fixture 27)",
};

/**
 * Headers seen on a documented event that its entry does not list.
 * `*` means every event.
 */
const UNDOCUMENTED_HEADERS: Record<string, string> = {
  "*:Privilege": "manager.c adds the event's class list to every event",
  "*:ActionID": "present on events answering an action; documented for some events only",
  "*:ChanVariable": "manager.c adds one per channelvars entry to every channel snapshot",
  "DialBegin:DestChanVariable": "the same, for the Dest snapshot",
  "DialEnd:DestChanVariable": "the same, for the Dest snapshot",
  "LocalBridge:LocalOneChanVariable": "the same, for the LocalOne snapshot",
  "LocalBridge:LocalTwoChanVariable": "the same, for the LocalTwo snapshot",
  "OriginateResponse:ChanVariable(<channel>)": "the channel's channelvars, keyed by channel name",
  "StatusComplete:EventList": "every list's Complete event has it; StatusComplete's entry omits it",
  "StatusComplete:ListItems": "the same",
  "AgentCalled:DestChanVariable": "channelvars on the Dest snapshot (fixtures 23, 24, 28)",
  "AgentConnect:DestChanVariable": "the same",
  "AgentComplete:DestChanVariable": "the same",
  "AgentRingNoAnswer:DestChanVariable": "the same",
  "DialState:DestChanVariable": "the same",
  "LocalOptimizationBegin:LocalOneChanVariable":
    "channelvars on the LocalOne snapshot (fixture 22)",
  "LocalOptimizationBegin:LocalTwoChanVariable": "the same, LocalTwo",
  "LocalOptimizationBegin:SourceChanVariable": "the same, Source",
  "LocalOptimizationEnd:LocalOneChanVariable": "the same, LocalOne",
  "LocalOptimizationEnd:LocalTwoChanVariable": "the same, LocalTwo",
  "BridgeInfoComplete:EventList":
    "every list's Complete event has it; BridgeInfoComplete's entry omits it",
  "BridgeInfoComplete:ListItems": "the same",
  "QueueParams:Queue": "QueueStatus's queue items (fixture 25) carry headers the entry omits",
  "QueueParams:ServiceLevel": "the same",
  "QueueParams:ServicelevelPerf":
    "the docs spell it ServiceLevelPerf; the wire says ServicelevelPerf",
  "QueueParams:ServicelevelPerf2": "the same, ServiceLevelPerf2",
  "QueueParams:Weight": "the same as QueueParams:Queue",
  "UserEvent:*": "UserEvent carries whatever headers the dialplan or the action gives it",
};

interface Use {
  actions: Set<string>;
  events: Map<string, Set<string>>;
}

function collect(use: Use, messages: readonly AmiMessage[]): void {
  for (const m of messages) {
    const name = m.get("Event");
    if (name === undefined) continue;
    let set = use.events.get(name);
    if (!set) use.events.set(name, set = new Set());
    for (const [k] of m.headers) {
      if (k !== "Event") set.add(k.replace(/^ChanVariable\(.*\)$/, "ChanVariable(<channel>)"));
    }
  }
}

/** Names and headers the use shows that the docs lack, minus the explained ones. */
function differences(use: Use): string[] {
  const out: string[] = [];
  for (const a of use.actions) {
    if (!isAmiActionName(a) && !(`action:${a}` in UNDOCUMENTED_NAMES)) out.push(`action:${a}`);
  }
  const docs = readAmiDocs(XML);
  for (const [e, headers] of use.events) {
    if (!isAmiEventName(e)) {
      if (!(`event:${e}` in UNDOCUMENTED_NAMES)) out.push(`event:${e}`);
      continue;
    }
    const known = new Set(docs.events.find((x) => x.name === e)!.headers.map((h) => h.name));
    for (const h of headers) {
      const listed = [`*:${h}`, `${e}:${h}`, `${e}:*`].some((k) => k in UNDOCUMENTED_HEADERS);
      if (!known.has(h) && !listed) out.push(`${e}:${h}`);
    }
  }
  return out.sort();
}

function actionsOf(data: string): string[] {
  return [...data.matchAll(/^Action: ?(.*?)\r?$/gm)].map((m) => m[1]);
}

describe("captures and simulator against the docs", () => {
  test("every action and event header in the captures is documented or listed", () => {
    const use: Use = { actions: new Set(), events: new Map() };
    for (const row of fixtureIndex()) {
      const base = row.file.replace(/\.raw$/, "");
      collect(use, captured(base));
      for (const s of fixtureSends(base)) for (const a of actionsOf(s.data)) use.actions.add(a);
    }
    assert.ok(use.events.has("Newchannel") && use.actions.has("Originate"));
    assert.deepEqual(differences(use), []);
  });

  test("every action and event header of the simulator is documented or listed", async () => {
    const use: Use = { actions: new Set(), events: new Map() };
    for (const base of ["09-coreshowchannels-3-calls", "10-originate-async-local-100"]) {
      collect(use, await replay(base));
    }
    const list = await replay("", {
      sends: [
        {
          t: 0,
          side: false,
          data: "Action: Login\r\nUsername: admin\r\nSecret: labsecret\r\n\r\n",
        },
        { t: 0.1, side: false, data: "Action: ListCommands\r\nActionID: l\r\n\r\n" },
      ],
      tailSeconds: 0,
    });
    const commands = list.find((m) => m.get("ActionID") === "l")!;
    for (const [k] of commands.headers) {
      if (!["Response", "ActionID", "Message"].includes(k)) use.actions.add(k);
    }
    assert.ok(use.actions.has("Originate") && use.events.has("Hangup"));
    assert.deepEqual(differences(use), []);
  });
});
