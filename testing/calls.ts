/**
 * Write a real voice-bot file tree (LiveKit names, valid Ogg Opus files,
 * realistic transcripts and leads) from the synthetic busy host, with the
 * ground truth of what each call's delivery must look like.
 *
 * @module
 */
import { join } from "node:path";
import {
  generateBusyHost,
  mulberry32,
  type SyntheticCall,
} from "./busy_host.ts";
import { makeOpusOgg } from "./ogg_writer.ts";

/** Shape of the tree. */
export interface CallTreeOptions {
  seed: number;
  calls: number;
  /** Share of calls whose recording never came (default 0.05). */
  missingRecordingRate?: number;
  /** Share of calls whose transcript never came (default 0.05). */
  missingTranscriptRate?: number;
  /** Share of calls with a lead file, half of them legacy (default 0.3). */
  leadRate?: number;
  /** Audio bytes per second of the Ogg files (default 200). */
  bytesPerSecond?: number;
  /** mtime of every file (default: a day ago, so orphans are due). */
  mtimeMs?: number;
  /** Mean seconds between calls (default 20). */
  meanInterArrivalSeconds?: number;
}

/** What one call must become. */
export interface ExpectedCall {
  /** Set name: the conversation file, or the recording for recording-only. */
  set: string;
  conversation?: string;
  recording?: string;
  lead?: string;
  callerDigits: string;
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 23);

/** Write the tree under `dir` (naive timestamps are UTC) and return its truth. */
export async function writeCallTree(
  dir: string,
  opts: CallTreeOptions,
): Promise<ExpectedCall[]> {
  const random = mulberry32(opts.seed ^ 0x5eed);
  const host = generateBusyHost({
    seed: opts.seed,
    calls: opts.calls,
    meanInterArrivalSeconds: opts.meanInterArrivalSeconds,
  });
  for (const sub of ["conversations", "recordings", "leads"]) {
    await Deno.mkdir(join(dir, sub), { recursive: true });
  }
  const mtime = (opts.mtimeMs ?? Date.now() - 86_400_000) / 1000;
  const write = async (path: string, data: string | Uint8Array) => {
    if (typeof data === "string") await Deno.writeTextFile(path, data);
    else await Deno.writeFile(path, data);
    await Deno.utime(path, mtime, mtime);
  };
  const taken = new Set<string>();
  const expected: ExpectedCall[] = [];
  for (const [k, call] of host.calls.entries()) {
    const noRecording = random() < (opts.missingRecordingRate ?? 0.05);
    const noTranscript = !noRecording &&
      random() < (opts.missingTranscriptRate ?? 0.05);
    const withLead = !noTranscript && random() < (opts.leadRate ?? 0.3);
    const legacy = random() < 0.5;
    const ts = iso(call.transcriptStartMs).replace(/:/g, "-") +
      String(k % 1000).padStart(3, "0");
    const conversation = noTranscript
      ? undefined
      : `transcript_session_${ts}.json`;
    const recording = noRecording
      ? undefined
      : uniqueName(recordingName(call), taken);
    let lead: string | undefined;
    if (conversation) {
      await write(
        join(dir, "conversations", conversation),
        transcript(call, k, withLead),
      );
    }
    if (recording) {
      await write(
        join(dir, "recordings", recording),
        makeOpusOgg({
          durationSeconds: call.recordingDurationSeconds,
          bytesPerSecond: opts.bytesPerSecond ?? 200,
          serial: k + 1,
        }),
      );
    }
    if (withLead) {
      const legacyName = `lead_${
        iso(call.transcriptEndMs + 2000).slice(0, 19).replace(/[-:]/g, "")
          .replace("T", "_")
      }.json`;
      lead = legacy && !taken.has(legacyName)
        ? legacyName
        : `leads_session_${ts}.json`;
      taken.add(lead);
      await write(
        join(dir, "leads", lead),
        JSON.stringify(
          {
            name: `Caller ${k}`,
            email: `c${k}@example.com`,
            phone: `+91${call.callerDigits}`,
            interest: "AI",
          },
          null,
          2,
        ),
      );
    }
    expected.push({
      set: conversation ?? recording!,
      conversation,
      recording,
      lead,
      callerDigits: call.callerDigits,
    });
  }
  return expected;
}

function recordingName(call: SyntheticCall): string {
  const who = call.recordingHasPhone ? `_91${call.callerDigits}` : "_anonymous";
  return `number-${who}-${call.recordingUnixStart}.ogg`;
}

function uniqueName(name: string, taken: Set<string>): string {
  let out = name;
  for (let n = 1; taken.has(out); n++) out = `dup${n}-${name}`;
  taken.add(out);
  return out;
}

function transcript(
  call: SyntheticCall,
  k: number,
  leadGenerated: boolean,
): string {
  const start = call.transcriptStartMs;
  const end = call.transcriptEndMs;
  const items = [
    {
      role: "assistant",
      content: "Hello! This is Friday from Xeny AI. How can I help?",
      offset: 1,
    },
    { role: "user", content: `Hi, this is caller ${k}.`, offset: 4 },
    { role: "assistant", content: "Thank you, we will follow up.", offset: 7 },
  ].map((i) => ({
    role: i.role,
    content: i.content,
    timestamp: iso(Math.min(end, start + i.offset * 1000)) + "000",
    source: i.role === "assistant" ? "voice_agent" : "user",
    transcript_confidence: null,
  }));
  return JSON.stringify(
    {
      session_id: `session_${
        iso(start).slice(0, 19).replace(/[-:]/g, "").replace("T", "_")
      }_${k.toString(16).padStart(8, "0")}`,
      start_time: iso(start) + "000",
      end_time: iso(end) + "000",
      duration_seconds: (end - start) / 1000,
      total_items: items.length,
      conversation_items: items,
      lead_generated: leadGenerated || call.leadGenerated,
      metadata: {
        auto_saved: true,
        ...(call.transcriptHasPhone
          ? { phone_number: `+91${call.callerDigits}` }
          : {}),
      },
    },
    null,
    2,
  );
}
