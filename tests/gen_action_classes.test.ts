/**
 * The action classes generator (scripts/gen_action_classes.ts): the committed
 * table is what it writes now from the committed input; the extractor and the
 * input reader on small hand-written inputs; the table covers exactly the
 * documented actions.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import {
  ACTION_CLASSES_MARK,
  ActionClassesError,
  extractRegistrations,
  generateActionClasses,
  readInput,
  renderInput,
} from "../scripts/gen_action_classes.ts";
import { ACTION_CLASSES, AMI_WRITE_CLASSES } from "../gateway/generated/action_classes.ts";
import { AMI_ACTIONS } from "../core/ami.ts";

/** The repository root: from tests/ (sources) or npm/esm/tests/ (the npm build). */
function repoRoot(): URL {
  for (const up of ["../", "../../../"]) {
    const root = new URL(up, import.meta.url);
    if (existsSync(new URL("scripts/asterisk-docs/action_classes.txt", root))) return root;
  }
  throw new Error("gen_action_classes.test: repository root not found");
}

const ROOT = repoRoot();
const read = (path: string): string => readFileSync(new URL(path, ROOT), "utf8");
const INPUT = read("scripts/asterisk-docs/action_classes.txt");

describe("generated table", () => {
  test("gateway/generated/action_classes.ts equals what the generator writes now", () => {
    const out = generateActionClasses(INPUT);
    assert.equal(read("gateway/generated/action_classes.ts"), out);
    assert.ok(out.startsWith(ACTION_CLASSES_MARK + "\n"));
    assert.match(out, /asterisk\/asterisk at [0-9a-f]{40} \(\d{4}-\d\d-\d\d\)/);
  });

  test("it names exactly the documented actions", () => {
    assert.deepEqual(Object.keys(ACTION_CLASSES).sort(), Object.keys(AMI_ACTIONS).sort());
  });

  test("known facts from main/manager.c and the modules", () => {
    const facts: Record<string, string[]> = {
      Originate: ["originate"],
      Command: ["command"],
      Hangup: ["system", "call"],
      Reload: ["system", "config"],
      ModuleLoad: ["system"],
      UpdateConfig: ["config"],
      Status: ["system", "call", "reporting"],
      Ping: [],
      Login: [],
      QueueStatus: [],
      QueueAdd: ["agent"],
      AGI: ["agi"],
      MessageSend: ["message"],
      PJSIPHangup: ["system", "call"],
      DialplanExtensionAdd: ["system"],
      PJSIPShowRegistrationInboundContactStatuses: ["system"],
    };
    for (const [name, classes] of Object.entries(facts)) {
      assert.deepEqual(ACTION_CLASSES[name], classes, name);
    }
    assert.ok(Object.isFrozen(ACTION_CLASSES) && Object.isFrozen(ACTION_CLASSES.Hangup));
    assert.ok(Object.isFrozen(AMI_WRITE_CLASSES) && AMI_WRITE_CLASSES.length === 19);
    for (const cs of Object.values(ACTION_CLASSES)) {
      for (const c of cs) assert.ok(AMI_WRITE_CLASSES.includes(c));
    }
  });
});

const C_SOURCE = `
#define AMI_SHOW "PJSIPShowThings"
static char *app_hangup = "XHangup";
static const char app_other[] = "XOther";
int ast_manager_register2(const char *action, int auth, int (*func)(void), void *m);
#define ast_manager_register_xml(action, authority, func) ast_manager_register2(action, authority, func)
static int load(void)
{
	res |= ast_manager_register_xml_core("Ping", 0, action_ping);
	res |= ast_manager_register_xml("Hangup", EVENT_FLAG_SYSTEM | EVENT_FLAG_CALL, f(x, y));
	ast_manager_register_xml(AMI_SHOW,
		EVENT_FLAG_SYSTEM, show);
	ast_manager_register_xml(app_hangup, EVENT_FLAG_CALL, h);
	ast_manager_register2(app_other, EVENT_FLAG_USER, o, NULL, "a, (b", NULL);
	ast_manager_register_hook(&hook);
}
`;

describe("extractor", () => {
  test("literal names, #define and string constants, multi-line calls; definitions skipped", () => {
    assert.deepEqual(extractRegistrations("x.c", C_SOURCE), [
      { name: "Ping", flags: ["0"], file: "x.c" },
      { name: "Hangup", flags: ["EVENT_FLAG_SYSTEM", "EVENT_FLAG_CALL"], file: "x.c" },
      { name: "PJSIPShowThings", flags: ["EVENT_FLAG_SYSTEM"], file: "x.c" },
      { name: "XHangup", flags: ["EVENT_FLAG_CALL"], file: "x.c" },
      { name: "XOther", flags: ["EVENT_FLAG_USER"], file: "x.c" },
    ]);
  });

  test("what it cannot read is an error naming the file and line", () => {
    assert.throws(
      () => extractRegistrations("a.c", "\nast_manager_register_xml(nope, 0, f);"),
      (e: unknown) => e instanceof ActionClassesError && /a\.c:2: cannot resolve/.test(e.message),
    );
    assert.throws(
      () => extractRegistrations("a.c", 'ast_manager_register_xml("A", flags(), f);'),
      /a\.c:1: cannot read the flags/,
    );
    assert.throws(() => extractRegistrations("a.c", 'ast_manager_register_xml("A", 0'), /unterm/);
    assert.throws(
      () => extractRegistrations("a.c", "ast_manager_register_xml(x + 1, 0, f);"),
      /cannot read the action name/,
    );
  });

  test("the input it renders reads back, sorted, with classes in Asterisk's order", () => {
    const text = renderInput(extractRegistrations("x.c", C_SOURCE), "test source");
    assert.deepEqual(readInput(text), {
      source: "test source",
      actions: [
        ["Hangup", ["system", "call"]],
        ["PJSIPShowThings", ["system"]],
        ["Ping", []],
        ["XHangup", ["call"]],
        ["XOther", ["user"]],
      ],
    });
  });
});

describe("input reader", () => {
  const head = "# Source: s\n";
  test("duplicates merge when equal and are refused when they differ", () => {
    const same = head + "A\tEVENT_FLAG_CALL|EVENT_FLAG_SYSTEM\tx.c\na\tEVENT_FLAG_SYSTEM|" +
      "EVENT_FLAG_CALL\ty.c\n";
    assert.deepEqual(readInput(same).actions, [["A", ["system", "call"]]]);
    assert.throws(
      () => readInput(head + "A\t0\tx.c\nA\tEVENT_FLAG_CALL\ty.c\n"),
      /line 3: A registered with different flags in x\.c and y\.c/,
    );
  });

  test("bad lines, unknown flags and a missing source are errors", () => {
    assert.throws(() => readInput(head + "A EVENT_FLAG_CALL x.c\n"), /line 2: expected/);
    assert.throws(
      () => readInput(head + "A\tEVENT_FLAG_HOOKRESPONSE\tx.c\n"),
      /line 2: unknown flag EVENT_FLAG_HOOKRESPONSE/,
    );
    assert.throws(() => readInput("A\t0\tx.c\n"), /no # Source: line/);
    assert.throws(() => readInput(head + "A\tconstructor\tx.c\n"), /unknown flag constructor/);
  });
});
