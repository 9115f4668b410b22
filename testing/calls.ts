/**
 * Write a real voice-bot file tree (LiveKit names, valid Ogg Opus files,
 * realistic transcripts and leads, file times as the bot left them) from a
 * generated host (`busy_host.ts`), with the ground truth of what each call's
 * delivery must look like.
 *
 * @module
 */
import { join } from "node:path";
import { generateHost, type HostOptions } from "./busy_host.ts";
import { makeOpusOgg } from "./ogg_writer.ts";

/** Shape of the tree. */
export interface CallTreeOptions {
  seed: number;
  calls: number;
  /** Share of calls whose recording never came (default 0.05). */
  missingRecordingRate?: number;
  /** Share of calls whose transcript never came (default 0.05). */
  missingTranscriptRate?: number;
  /** Share of calls with a lead file (default 0.3). */
  leadRate?: number;
  /** Audio bytes per second of the Ogg files (default 200). */
  bytesPerSecond?: number;
  /** Mean seconds between calls (default 20). */
  meanInterArrivalSeconds?: number;
  /** More of the host's shape (recorder offset, lead style …). */
  host?: Partial<HostOptions>;
}

const HOUR = 3_600_000;

/** What one call must become. */
export interface ExpectedCall {
  /** Set name: the conversation file, or the recording for recording-only. */
  set: string;
  conversation?: string;
  recording?: string;
  lead?: string;
  callerDigits: string;
}

/**
 * Write the tree under `dir` (naive times are UTC; files dated as the bot
 * wrote them, in the past, so orphans are due) and return its truth. A lead
 * whose call left neither file is not written: nothing could carry it.
 */
export async function writeCallTree(
  dir: string,
  opts: CallTreeOptions,
): Promise<ExpectedCall[]> {
  const host = generateHost({
    seed: opts.seed,
    calls: opts.calls,
    // Two days ago, on the hour: the same tree whenever the test runs.
    firstCallMs: Math.floor((Date.now() - 2 * 86_400_000) / HOUR) * HOUR,
    meanGapSeconds: opts.meanInterArrivalSeconds,
    lostRecordingRate: opts.missingRecordingRate ?? 0.05,
    lostTranscriptRate: opts.missingTranscriptRate ?? 0.05,
    leadRate: opts.leadRate ?? 0.3,
    leadPhoneRate: 1,
    ...opts.host,
  });
  for (const sub of ["conversations", "recordings", "leads"]) {
    await Deno.mkdir(join(dir, sub), { recursive: true });
  }
  const write = async (
    path: string,
    data: string | Uint8Array,
    mtimeMs: number,
  ) => {
    if (typeof data === "string") await Deno.writeTextFile(path, data);
    else await Deno.writeFile(path, data);
    await Deno.utime(path, mtimeMs / 1000, mtimeMs / 1000);
  };
  for (const t of host.transcripts) {
    await write(
      join(dir, "conversations", t.name),
      JSON.stringify(t.data, null, 2),
      t.mtimeMs,
    );
  }
  for (const [k, r] of host.recordings.entries()) {
    await write(
      join(dir, "recordings", r.name),
      makeOpusOgg({
        durationSeconds: r.durationSeconds,
        bytesPerSecond: opts.bytesPerSecond ?? 200,
        serial: k + 1,
      }),
      r.mtimeMs,
    );
  }
  const leads = new Map(host.leads.map((l) => [l.name, l]));
  const expected: ExpectedCall[] = [];
  for (const call of host.calls) {
    if (!call.transcript && !call.recording) continue;
    const lead = call.lead ? leads.get(call.lead) : undefined;
    if (lead) {
      await write(
        join(dir, "leads", lead.name),
        JSON.stringify(lead.data, null, 2),
        lead.mtimeMs,
      );
    }
    expected.push({
      set: call.transcript ?? call.recording!,
      conversation: call.transcript,
      recording: call.recording,
      lead: lead?.name,
      callerDigits: call.callerDigits,
    });
  }
  return expected;
}
