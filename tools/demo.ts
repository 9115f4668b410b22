/**
 * `deno task demo`: the first thing to run. Starts a fake CRM on 127.0.0.1,
 * copies `fixtures/` to a temp folder, runs one real `callsync run` against
 * it as a child process, and prints what the CRM received.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FakeCrm } from "../testing/fake_crm.ts";
import { copyTree } from "../testing/tree.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const work = await Deno.makeTempDir({ prefix: "callsync-demo-" });
const crm = FakeCrm.start();
try {
  // Files a bot wrote long ago: old enough for orphans to be sent.
  await copyTree(join(root, "fixtures"), work, Date.now() - 86_400_000);
  console.log(`Fixtures copied to ${work}; fake CRM on port ${crm.port}\n`);
  const env = {
    CRM_UPLOAD_URL: crm.uploadUrl,
    CRM_CALL_DATA_URL: crm.callDataUrl,
    DEFAULT_CAMPAIGN_ID: "demo-campaign",
    DEFAULT_VOICE_AGENT_ID: "demo-agent",
    DEFAULT_CLIENT_ID: "demo-client",
    TIMEZONE: "UTC",
  };
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(root, "main.ts"), "run", "--base-dir", work],
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  console.log(`\ncallsync exited with ${run.code}. The CRM received:\n`);
  for (const r of crm.requests) {
    if (r.endpoint === "upload") {
      console.log(
        `  upload     ${r.fileName} (${r.fileSize} bytes) → ${r.answer}`,
      );
      continue;
    }
    const body = r.json as {
      callDetails: Record<string, unknown>;
      transcription?: { conversation_items?: unknown[] };
      lead?: Record<string, unknown>;
    };
    const d = body.callDetails;
    console.log(
      `  call-data  ${d.callId} ${
        d.callerNumber ?? "(no number)"
      } ${d.startTime} ${d.duration}s` +
        ` recording=${d.recordingUrl ? "yes" : "no"}` +
        ` transcript=${
          body.transcription
            ? `${body.transcription.conversation_items?.length} items`
            : "no"
        }` +
        ` lead=${body.lead ? "yes" : "no"} → ${r.answer}`,
    );
  }
  const first = crm.acceptedCallRecords()[0];
  if (first) {
    console.log("\nThe first call record in full:\n");
    console.log(JSON.stringify(first.json, null, 2));
  }
  console.log(`\nState written to ${join(work, "processed_uploads")}`);
} finally {
  await crm.close();
}
