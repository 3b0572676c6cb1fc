import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  escapeLabelValue,
  formatPrometheus,
  type MetricsSnapshot,
  type NodeMetrics,
  renderMetrics,
} from "../core/prometheus.ts";

/** One parsed sample line. */
interface Parsed {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the text format (0.0.4), written from the format's
 * rules: HELP then TYPE then the family's samples, escapes in HELP and label
 * values, no repeated series. Throws on any violation.
 */
function parseExposition(text: string): {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Parsed[];
} {
  assert.ok(text.endsWith("\n"), "text ends with a line feed");
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Parsed[] = [];
  const series = new Set<string>();
  let current = "";
  const lines = text.slice(0, -1).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/s.exec(line);
    if (m) {
      assert.ok(!help.has(m[1]), `one HELP per family: ${m[1]}`);
      help.set(m[1], m[2].replace(/\\(\\|n)/g, (_, c) => (c === "n" ? "\n" : "\\")));
      current = m[1];
      const next = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/
        .exec(lines[i + 1] ?? "");
      assert.ok(next && next[1] === m[1], `TYPE follows HELP for ${m[1]}`);
      types.set(next[1], next[2]);
      i++;
      continue;
    }
    assert.ok(!line.startsWith("#"), `no stray comment: ${line}`);
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/s.exec(line);
    assert.ok(m, `sample line well-formed: ${JSON.stringify(line)}`);
    assert.equal(m[1], current, "a sample belongs to the family just declared");
    const labels: Record<string, string> = {};
    if (m[3] !== undefined) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/y;
      let pos = 0;
      while (pos < m[3].length) {
        re.lastIndex = pos;
        const lm = re.exec(m[3]);
        assert.ok(lm, `label list well-formed: ${m[3]}`);
        labels[lm[1]] = lm[2].replace(/\\(\\|"|n)/g, (_, c) => (c === "n" ? "\n" : c));
        pos = re.lastIndex;
      }
    }
    const v = m[4];
    const value = v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v);
    assert.ok(v === "NaN" || !Number.isNaN(value), `value is a number: ${v}`);
    const key = m[1] + JSON.stringify(Object.entries(labels).sort());
    assert.ok(!series.has(key), `series not repeated: ${key}`);
    series.add(key);
    samples.push({ name: m[1], labels, value });
  }
  return { types, help, samples };
}

function node(overrides: Partial<NodeMetrics> = {}): NodeMetrics {
  return {
    state: "ready",
    reconnects: 0,
    bytesIn: 0,
    bytesOut: 0,
    messagesIn: 0,
    messagesOut: 0,
    eventsDelivered: 0,
    eventsDropped: 0,
    eventQueueDepth: 0,
    actionsSent: 0,
    actionsCompleted: 0,
    actionsFailed: 0,
    actionsTimedOut: 0,
    actionsPending: 0,
    orphans: 0,
    writeBufferBytes: 0,
    keepaliveRttMs: undefined,
    ...overrides,
  };
}

function find(samples: Parsed[], name: string, labels: Record<string, string> = {}): number {
  const hit = samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) &&
    Object.keys(s.labels).length === Object.keys(labels).length
  );
  assert.equal(hit.length, 1, `exactly one sample ${name} ${JSON.stringify(labels)}`);
  return hit[0].value;
}

describe("prometheus text format", () => {
  test("HELP, TYPE, samples; counters end in _total, gauges do not", () => {
    const snapshot: MetricsSnapshot = {
      nodes: {
        pbx1: node({ bytesIn: 1200, eventsDelivered: 40, actionsPending: 2, keepaliveRttMs: 12 }),
        pbx2: node({ state: "closed", reconnects: 3, bytesIn: 800, eventsDropped: 7 }),
      },
      logRecordsDropped: 5,
      outputLinesDropped: 9,
    };
    const { types, help, samples } = parseExposition(renderMetrics(snapshot));
    for (const [name, type] of types) {
      assert.ok(help.get(name)!.length > 0, `${name} has help`);
      if (type === "counter") assert.ok(name.endsWith("_total"), `${name} counter ends in _total`);
      else assert.ok(!name.endsWith("_total"), `${name} gauge does not end in _total`);
    }
    assert.equal(types.get("amikit_bytes_received_total"), "counter");
    assert.equal(types.get("amikit_actions_pending"), "gauge");
    assert.equal(types.get("amikit_event_queue_depth"), "gauge");
    assert.equal(find(samples, "amikit_bytes_received_total", { node: "pbx1" }), 1200);
    assert.equal(find(samples, "amikit_bytes_received_total", { node: "pbx2" }), 800);
    assert.equal(find(samples, "amikit_all_bytes_received_total"), 2000);
    assert.equal(find(samples, "amikit_all_events_dropped_total"), 7);
    assert.equal(find(samples, "amikit_reconnects_total", { node: "pbx2" }), 3);
    assert.equal(find(samples, "amikit_keepalive_rtt_seconds", { node: "pbx1" }), 0.012);
    assert.equal(
      samples.filter((s) => s.name === "amikit_keepalive_rtt_seconds").length,
      1,
      "an unknown RTT is omitted, not written as 0",
    );
    assert.equal(find(samples, "amikit_connection_state", { node: "pbx1", state: "ready" }), 1);
    assert.equal(find(samples, "amikit_connection_state", { node: "pbx1", state: "closed" }), 0);
    assert.equal(find(samples, "amikit_connection_state", { node: "pbx2", state: "closed" }), 1);
    assert.equal(find(samples, "amikit_all_nodes", { state: "ready" }), 1);
    assert.equal(find(samples, "amikit_all_nodes", { state: "closed" }), 1);
    assert.equal(find(samples, "amikit_log_records_dropped_total"), 5);
    assert.equal(find(samples, "amikit_output_lines_dropped_total"), 9);
  });

  test("a state outside the engine's set still gets its series", () => {
    const { samples } = parseExposition(
      renderMetrics({ nodes: { a: node({ state: "reconnecting" }) } }),
    );
    assert.equal(find(samples, "amikit_connection_state", { node: "a", state: "reconnecting" }), 1);
    assert.equal(find(samples, "amikit_connection_state", { node: "a", state: "ready" }), 0);
  });

  test("no nodes: totals are 0 and the text is still valid", () => {
    const { samples } = parseExposition(renderMetrics({ nodes: {} }));
    assert.equal(find(samples, "amikit_all_actions_sent_total"), 0);
  });

  test("label values escape backslash, quote and line feed (exact text)", () => {
    const text = formatPrometheus([{
      name: "x",
      help: "a \\ b\nc",
      type: "gauge",
      samples: [{ labels: { node: 'a"b\\c\nd' }, value: 1 }],
    }]);
    assert.equal(text, '# HELP x a \\\\ b\\nc\n# TYPE x gauge\nx{node="a\\"b\\\\c\\nd"} 1\n');
  });

  test("special values", () => {
    const text = formatPrometheus([{
      name: "v",
      help: "h",
      type: "gauge",
      samples: [{ labels: { k: "a" }, value: NaN }, { labels: { k: "b" }, value: Infinity }, {
        labels: { k: "c" },
        value: -Infinity,
      }, { labels: { k: "d" }, value: 1.5e-7 }],
    }]);
    assert.match(text, /^v\{k="a"\} NaN$/m);
    assert.match(text, /^v\{k="b"\} \+Inf$/m);
    assert.match(text, /^v\{k="c"\} -Inf$/m);
    assert.equal(parseExposition(text).samples[3].value, 1.5e-7);
  });

  test("invalid names and repeated families are refused", () => {
    assert.throws(() => formatPrometheus([{ name: "1x", help: "h", type: "gauge", samples: [] }]));
    assert.throws(() => formatPrometheus([{ name: "a-b", help: "h", type: "gauge", samples: [] }]));
    assert.throws(() =>
      formatPrometheus([{
        name: "x",
        help: "h",
        type: "gauge",
        samples: [{ labels: { "bad-name": "v" }, value: 1 }],
      }])
    );
    assert.throws(() =>
      formatPrometheus([{
        name: "x",
        help: "h",
        type: "gauge",
        samples: [{ labels: { __r: "v" }, value: 1 }],
      }])
    );
    assert.throws(() =>
      formatPrometheus([
        { name: "x", help: "h", type: "gauge", samples: [] },
        { name: "x", help: "h", type: "gauge", samples: [] },
      ])
    );
  });

  test("property: any node name round-trips through label escaping", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 40 }).filter((s) => s !== "__proto__"),
        (name) => {
          const { samples } = parseExposition(
            renderMetrics({ nodes: { [name]: node({ bytesIn: 3 }) } }),
          );
          assert.equal(find(samples, "amikit_bytes_received_total", { node: name }), 3);
          assert.ok(!escapeLabelValue(name).includes("\n"));
        },
      ),
      { numRuns: 200 },
    );
  });

  test("property: totals equal the sum over nodes", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1_000_000), { minLength: 0, maxLength: 8 }), (values) => {
        const nodes: Record<string, NodeMetrics> = {};
        values.forEach((v, i) => (nodes[`n${i}`] = node({ eventsDelivered: v })));
        const { samples } = parseExposition(renderMetrics({ nodes }));
        const sum = values.reduce((a, b) => a + b, 0);
        assert.equal(find(samples, "amikit_all_events_delivered_total"), sum);
      }),
      { numRuns: 100 },
    );
  });
});
