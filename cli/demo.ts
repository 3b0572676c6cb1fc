/**
 * `amikit demo`: starts the simulator in-process on a free port, connects,
 * originates a few calls (answered, busy, unanswered), shows events and
 * action round trips as they happen, then prints a summary with the
 * metrics and exits by itself (how soon is said once, in `amikit demo --help`).
 *
 * @module
 */

import { ActionError, AmiError } from "../core/errors.ts";
import type { AmiMessage } from "../core/message.ts";
import { renderMetrics } from "../core/prometheus.ts";
import { defaultConnector } from "../adapters/mod.ts";
import { Client } from "../client/client.ts";
import { AmiSimulator, answerAndWait, busy, type Dialplan, noAnswer } from "../testing/mod.ts";
import type { DemoCommand } from "./_args.ts";
import { CLIENT_STATES, nodeMetrics } from "./_metrics.ts";
import { EXIT, exitAfterFlush } from "./_process.ts";
import { BoundedWriter, stdioWriter } from "./_writer.ts";
import { configureLogging } from "./log_sink.ts";
import type { Redactor } from "./redact.ts";

/** The demo's dialplan (context `demo`). */
export const DEMO_DIALPLAN: Dialplan = {
  demo: {
    "100": answerAndWait(2, {
      set: { DEMOVAR: "hello" },
      userEvent: { name: "DemoEvent", fields: { Stage: "answered" } },
    }),
    "101": answerAndWait(4),
    "200": busy(),
    "300": noAnswer(),
  },
};

/** What each call of the demo dials, in turn, with what to expect. */
const PLAN: readonly { exten: string; expect: string }[] = [
  { exten: "100", expect: "answers, talks 2 s" },
  { exten: "200", expect: "busy" },
  { exten: "101", expect: "answers, talks 4 s" },
  { exten: "300", expect: "no answer (3 s timeout)" },
  { exten: "100", expect: "answers, talks 2 s" },
  { exten: "101", expect: "answers, talks 4 s" },
];

const NODE = "demo";
const DEADLINE_MS = 25_000;

interface Style {
  dim(s: string): string;
  ok(s: string): string;
  bad(s: string): string;
  bold(s: string): string;
}

function style(color: boolean): Style {
  const wrap = (code: string) => (s: string) => color ? `\x1b[${code}m${s}\x1b[0m` : s;
  return { dim: wrap("2"), ok: wrap("32"), bad: wrap("31"), bold: wrap("1") };
}

interface CallState {
  readonly n: number;
  readonly exten: string;
  readonly expect: string;
  sentAt: number;
  outcome?: "answered" | "busy" | "no answer" | "failed";
  channel?: string;
  answeredAt?: number;
  cause?: string;
  hungUp: boolean;
  ended: boolean;
}

/** Round-trip samples per action name, ms. */
class RoundTrips {
  readonly byAction = new Map<string, number[]>();
  ok = 0;
  failed = 0;

  add(action: string, ms: number, ok: boolean): void {
    let list = this.byAction.get(action);
    if (list === undefined) this.byAction.set(action, list = []);
    list.push(ms);
    if (ok) this.ok++;
    else this.failed++;
  }

  describe(action: string): string {
    const list = this.byAction.get(action) ?? [];
    if (list.length === 0) return "-";
    const min = Math.min(...list);
    const max = Math.max(...list);
    const avg = list.reduce((a, b) => a + b, 0) / list.length;
    return `${fmtMs(min)} / ${fmtMs(avg)} / ${fmtMs(max)} (${list.length})`;
  }
}

function fmtMs(ms: number): string {
  return ms < 10
    ? `${ms.toFixed(2)} ms`
    : ms < 1000
    ? `${ms.toFixed(0)} ms`
    : `${(ms / 1000).toFixed(1)} s`;
}

function fmtInt(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * Runs the demo; exits 0 when every call went as planned.
 *
 * @param cmd the parsed command
 * @param redactor the process's redactor
 * @returns never: the process exits
 */
export async function runDemo(cmd: DemoCommand, redactor: Redactor): Promise<never> {
  const sink = await configureLogging({ level: cmd.logLevel, format: cmd.logFormat, redactor });
  const color = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
  const st = style(color);
  const out = new BoundedWriter(stdioWriter("stdout"));
  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  const line = (text: string) => {
    out.offer(`${st.dim(`[${(elapsed() / 1000).toFixed(2).padStart(5)} s]`)} ${text}\n`);
  };
  const say = (text: string) => out.offer(text + "\n");

  const secret = `demo-${crypto.randomUUID()}`;
  redactor.addSecret(secret);
  const sim = await AmiSimulator.start({
    port: 0,
    users: [{ username: "demo", secret, read: "all", write: "all" }],
    dialplan: DEMO_DIALPLAN,
  });
  say(
    st.bold("amikit demo") + st.dim(" — an in-process Asterisk simulator, one client, a few calls"),
  );
  line(`simulator listening on ${sim.host}:${sim.port}`);

  const rtt = new RoundTrips();
  const eventCounts = new Map<string, number>();
  const calls: CallState[] = [];
  const byChannel = new Map<string, CallState>();
  let events = 0;

  // The listener is attached before the login, so it sees every event the
  // engine delivers (the metrics count from the first one on, too).
  const client: Client = new Client({
    host: sim.host,
    port: sim.port,
    username: "demo",
    secret,
    auth: "md5",
    node: NODE,
    events: true,
  }, defaultConnector());

  const callOf = (event: AmiMessage): CallState | undefined => {
    const ch = event.get("Channel");
    if (ch === undefined) return undefined;
    return byChannel.get(ch.replace(/;[12]$/, ""));
  };
  client.on("*", (event) => {
    events++;
    eventCounts.set(event.name, (eventCounts.get(event.name) ?? 0) + 1);
    const name = event.name;
    if (name === "VarSet" && event.get("Variable") === "DEMOCALL") {
      const call = calls[Number(event.get("Value")) - 1];
      const ch = event.get("Channel");
      if (call !== undefined && ch !== undefined) {
        call.channel ??= ch.replace(/;[12]$/, "");
        byChannel.set(call.channel, call);
      }
      return;
    }
    let call = callOf(event);
    if (call === undefined && name === "Newchannel") {
      // Local/<exten>@demo-<id>;1: the oldest call to that extension without a channel yet.
      const ch = event.get("Channel") ?? "";
      const exten = /^Local\/([^@]+)@demo-/.exec(ch)?.[1];
      call = calls.find((c) => c.exten === exten && c.channel === undefined);
      if (call !== undefined) {
        call.channel = ch.replace(/;[12]$/, "");
        byChannel.set(call.channel, call);
      }
    }
    const tag = call ? `call ${call.n}` : "      ";
    const half = event.get("Channel")?.endsWith(";1") ?? false;
    switch (name) {
      case "Newchannel":
        if (half) line(`  ${tag}  ${st.dim("event")} Newchannel ${event.get("Channel")}`);
        break;
      case "Newstate":
        if (half) {
          const desc = event.get("ChannelStateDesc");
          if (desc === "Up" && call !== undefined) call.answeredAt ??= performance.now();
          line(`  ${tag}  ${st.dim("event")} Newstate ${desc}`);
        }
        break;
      case "UserEvent":
        line(
          `  ${tag}  ${st.dim("event")} UserEvent ${event.get("UserEvent")} (${
            event.get("Stage") ?? ""
          })`,
        );
        break;
      case "Hangup":
        if (half) {
          if (call !== undefined) {
            call.hungUp = true;
            call.cause = event.get("Cause");
            // Asterisk reports a failed Originate with Reason 0; the cause tells busy apart.
            if (call.outcome === "failed" && call.cause === "17") call.outcome = "busy";
          }
          line(
            `  ${tag}  ${st.dim("event")} Hangup: ${event.get("Cause-txt")} (cause ${
              event.get("Cause")
            })`,
          );
          if (call !== undefined) maybeEnded(call);
        }
        break;
    }
  });

  const tConnect = performance.now();
  try {
    await client.start();
  } catch (error) {
    line(st.bad(`cannot connect: ${redactor.errorText(error)}`));
    await sim.stop();
    await out.flush(2_000);
    return exitAfterFlush(EXIT.failed, sink);
  }
  line(
    `logged in as demo (MD5 challenge) in ${fmtMs(performance.now() - tConnect)}; ${
      client.banner ?? ""
    }`,
  );

  function maybeEnded(call: CallState): void {
    if (call.ended || call.outcome === undefined) return;
    if (call.outcome === "answered" && !call.hungUp) return;
    call.ended = true;
    if (calls.length === cmd.calls && calls.every((c) => c.ended)) finished();
  }

  let finished: () => void = () => {};
  const allDone = new Promise<void>((resolve) => (finished = resolve));

  // A few Pings first: the round trip of the simplest action.
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await client.action("Ping");
    const ms = performance.now() - t;
    rtt.add("Ping", ms, true);
    line(`${st.ok("→")} Ping ${st.dim("→")} Pong in ${fmtMs(ms)}`);
  }

  // The calls, a little apart, each completed by its OriginateResponse.
  const settled: Promise<void>[] = [];
  for (let i = 0; i < cmd.calls; i++) {
    const plan = PLAN[i % PLAN.length];
    const call: CallState = {
      n: i + 1,
      exten: plan.exten,
      expect: plan.expect,
      sentAt: performance.now(),
      hungUp: false,
      ended: false,
    };
    calls.push(call);
    line(
      `${st.ok("→")} Originate call ${call.n}: Local/${call.exten}@demo ${
        st.dim(`(${call.expect})`)
      }`,
    );
    settled.push(
      client.action("Originate", {
        Channel: `Local/${call.exten}@demo`,
        Application: "Wait",
        Data: "5",
        Async: "true",
        Timeout: "3000",
        CallerID: `"amikit demo" <${1000 + call.n}>`,
        Variable: `DEMOCALL=${call.n}`,
      }).then((result) => {
        const ms = performance.now() - call.sentAt;
        rtt.add("Originate (async)", ms, true);
        call.outcome = "answered";
        if (result.kind === "originate") {
          const ch = result.event.get("Channel")?.replace(/;[12]$/, "");
          if (ch !== undefined && call.channel === undefined) {
            call.channel = ch;
            byChannel.set(ch, call);
          }
        }
        line(
          `${st.ok("←")} call ${call.n} answered ${
            st.dim(`(OriginateResponse Success after ${fmtMs(ms)})`)
          }`,
        );
        maybeEnded(call);
      }, (error) => {
        const ms = performance.now() - call.sentAt;
        rtt.add("Originate (async)", ms, false);
        const reason = error instanceof ActionError
          ? (error.response as AmiMessage | undefined)?.get("Reason")
          : undefined;
        // Reason 5 busy, 3 ringing until the timeout; Asterisk often says 0 (see the cause).
        call.outcome = reason === "5" || call.cause === "17"
          ? "busy"
          : reason === "3"
          ? "no answer"
          : "failed";
        const text = error instanceof AmiError ? error.message : String(error);
        line(
          `${st.bad("←")} call ${call.n} ${call.outcome} ${
            st.dim(`(${text}; after ${fmtMs(ms)})`)
          }`,
        );
        maybeEnded(call);
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
  }

  // While calls are up: an event list and a CLI command.
  await new Promise((r) => setTimeout(r, 700));
  {
    const t = performance.now();
    const res = await client.action("CoreShowChannels");
    const ms = performance.now() - t;
    rtt.add("CoreShowChannels", ms, true);
    const n = res.kind === "eventList" ? res.events.length : 0;
    line(
      `${st.ok("→")} CoreShowChannels ${st.dim("→")} event list of ${n} channels in ${fmtMs(ms)}`,
    );
  }
  {
    const t = performance.now();
    const res = await client.action("Command", { Command: "core show channels" });
    const ms = performance.now() - t;
    rtt.add("Command", ms, true);
    const last = res.kind === "command"
      ? res.output.filter((l) => l.trim() !== "").at(-2) ?? ""
      : "";
    line(
      `${st.ok("→")} Command "core show channels" ${st.dim("→")} "${last.trim()}" in ${fmtMs(ms)}`,
    );
  }

  // Live status every second until every call has ended.
  const status = setInterval(() => {
    const up = calls.filter((c) => c.outcome === "answered" && !c.hungUp).length;
    const ended = calls.filter((c) => c.ended).length;
    const s = client.stats().session;
    line(st.dim(
      `status: ${up} up, ${calls.length - ended - up} ringing, ${ended} ended | ${
        fmtInt(events)
      } events | ${rtt.ok + rtt.failed} actions done, ${s?.actionsPending ?? 0} pending`,
    ));
  }, 1000);
  const timedOut = await Promise.race([
    Promise.all([allDone, ...settled]).then(() => false),
    new Promise<boolean>((r) => setTimeout(() => r(true), DEADLINE_MS)),
  ]);
  clearInterval(status);

  // Summary and metrics from one snapshot, taken before logging off: every
  // number printed below comes from it.
  const stats = client.stats();
  const metrics = nodeMetrics(stats);
  const kinds = [...eventCounts].sort((a, b) => b[1] - a[1]);
  const prom = renderMetrics({
    nodes: { [NODE]: metrics },
    logRecordsDropped: sink.stats().dropped,
  }, {
    states: CLIENT_STATES,
  });
  const tClose = performance.now();
  await client.close();
  line(`logged off (Goodbye) in ${fmtMs(performance.now() - tClose)}`);
  await sim.stop();

  const count = (o: string) => calls.filter((c) => c.outcome === o).length;
  const asExpected = calls.every((c) =>
    c.outcome === (c.exten === "200" ? "busy" : c.exten === "300" ? "no answer" : "answered")
  );
  const answered = calls.filter((c) => c.answeredAt !== undefined);
  const total = elapsed();
  say("");
  say(st.bold(`Summary (${(total / 1000).toFixed(1)} s)`));
  say(
    `  calls       ${calls.length} originated: ${count("answered")} answered, ${
      count("busy")
    } busy, ${count("no answer")} no answer${
      count("failed") ? `, ${count("failed")} failed` : ""
    } ${asExpected ? st.ok("(as planned)") : st.bad("(NOT as planned)")}`,
  );
  if (answered.length > 0) {
    const avg = answered.reduce((a, c) => a + (c.answeredAt! - c.sentAt), 0) / answered.length;
    say(`  answer      ${fmtMs(avg)} on average from Originate to Up`);
  }
  say(
    `  events      ${fmtInt(metrics.eventsDelivered)} received, ${kinds.length} kinds: ${
      kinds.slice(0, 6).map(([k, v]) => `${k} ${v}`).join(", ")
    }${kinds.length > 6 ? ", …" : ""}`,
  );
  say(
    `  actions     ${
      metrics.actionsCompleted + metrics.actionsFailed
    } completed: ${metrics.actionsCompleted} ok, ${metrics.actionsFailed} failed (busy/no answer are failures by design), ${metrics.actionsTimedOut} timed out`,
  );
  say(`  round trip  min / avg / max (count)`);
  for (const action of rtt.byAction.keys()) say(`    ${action.padEnd(17)} ${rtt.describe(action)}`);
  say(
    `  connection  ${fmtInt(metrics.bytesIn)} bytes in, ${fmtInt(metrics.bytesOut)} out; ${
      fmtInt(metrics.messagesIn)
    } messages in, ${fmtInt(metrics.messagesOut)} out`,
  );
  say(
    `  queues      ${metrics.eventsDropped} events dropped, ${metrics.orphans} orphan responses, ${
      metrics.reconnects ?? 0
    } reconnects, ${sink.stats().dropped} log records dropped`,
  );
  say(st.dim("  metrics     as `amikit listen --metrics HOST:PORT` serves them (excerpt):"));
  for (const l of prom.split("\n")) {
    if (
      /^amikit_(events_delivered_total|actions_completed_total|actions_failed_total|bytes_received_total|connection_state\{.*state="ready")/
        .test(l)
    ) say(`    ${l}`);
  }
  if (timedOut) say(st.bad(`  the calls did not all end within ${DEADLINE_MS / 1000} s`));
  await out.flush(5_000);
  return exitAfterFlush(timedOut || !asExpected ? EXIT.failed : EXIT.ok, sink);
}
