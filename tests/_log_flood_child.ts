/**
 * Child process for tests/logging_sink.test.ts: processes events in batches
 * (one macrotask per batch, as socket reads come) and logs one record per
 * event through the command's stderr sink; prints on stdout how long the
 * processing took and the sink's counters, then exits without flushing.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { configureLogging } from "../cli/log_sink.ts";
import { AmiParser } from "../core/parser.ts";

const batches = Number(process.argv[2] ?? 200);
const perBatch = Number(process.argv[3] ?? 100);
const sink = await configureLogging({ level: "info", maxBufferedChars: 64 * 1024 });
const logger = getLogger(["amikit", "test", "flood"]);

const event = new TextEncoder().encode(
  "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: Local/100@default-00000001;1\r\n" +
    "ChannelState: 0\r\nUniqueid: 1700000000.1\r\nLinkedid: 1700000000.1\r\n\r\n",
);
const parser = new AmiParser({ expectBanner: false });
let processed = 0;
const t0 = performance.now();
for (let b = 0; b < batches; b++) {
  for (let i = 0; i < perBatch; i++) {
    parser.push(event, (item) => {
      if (item.type === "event") {
        processed++;
        logger.info("event {name} on {channel}", {
          name: item.name,
          channel: item.get("Channel"),
          n: processed,
        });
      }
    });
  }
  await new Promise((r) => setTimeout(r, 0));
}
const ms = performance.now() - t0;
process.stdout.write(
  JSON.stringify({ ms, processed, ...sink.stats() }) + "\n",
  () => process.exit(0),
);
