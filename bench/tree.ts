/**
 * Fast writers of large voice-bot trees for the benchmarks: set `i` has a
 * transcript, an Ogg recording and a session lead with LiveKit names, one
 * call every `spacingSeconds`, each from its own number (so grouping is
 * unambiguous). Optionally also the delivered state exactly as
 * `StateStore.markDelivered` leaves it: `<set>.uploaded` (pretty JSON) and one
 * journal line per set — written directly, without the per-record fsyncs, so
 * 100,000 delivered sets take seconds, not minutes.
 *
 * @module
 */
import { join } from "node:path";
import type { JournalEvent } from "../lib/state/journal.ts";
import type { DeliveryRecord } from "../lib/state/store.ts";
import { parallel } from "./common.ts";

/** File names and times of one synthetic set. */
export interface BenchSet {
  conversation: string;
  recording: string;
  lead: string;
  /** Call start, epoch ms (UTC). */
  startMs: number;
  callerDigits: string;
}

/** What to write. */
export interface TreeOptions {
  sets: number;
  /** Seconds between call starts (default 30). */
  spacingSeconds?: number;
  /** Call length in seconds, both in the transcript and the recording. */
  durationSeconds: number;
  /** The bytes of every recording (one valid Ogg file, reused). */
  recording: Uint8Array;
  /** Also write the delivered state (`.uploaded` + journal). */
  delivered?: boolean;
  /** Files written at once (default 64). */
  parallel?: number;
  /** mtime of every input file, epoch ms (default: two days ago). */
  mtimeMs?: number;
}

const EPOCH = Date.UTC(2025, 0, 6, 9);

/** Names and times of set `i` of a tree: calls from 2025-01-06 09:00 UTC. */
export function benchSet(i: number, spacingSeconds = 30): BenchSet {
  return namedSet(
    EPOCH + i * spacingSeconds * 1000,
    i,
    `9${String(1_000_000_000 + i).slice(1)}`,
  );
}

/**
 * Live call `i`, started at `startMs` (now, for a bot writing it as the
 * benchmark runs); its caller differs from every {@link benchSet}'s.
 */
export function liveBenchSet(startMs: number, i: number): BenchSet {
  return namedSet(startMs, i, `9${String(100_000_000 + i).padStart(9, "0")}`);
}

/** LiveKit-style names of call `i` that started at `startMs` (UTC naive). */
function namedSet(startMs: number, i: number, callerDigits: string): BenchSet {
  const iso = new Date(startMs).toISOString(); // 2025-01-06T09:00:00.000Z
  const ts = `${iso.slice(0, 10)}T${iso.slice(11, 19).replaceAll(":", "-")}.${
    String(i % 1_000_000).padStart(6, "0")
  }`;
  return {
    conversation: `transcript_session_${ts}.json`,
    recording: `number-_91${callerDigits}-${Math.floor(startMs / 1000)}.ogg`,
    lead: `leads_session_${ts}.json`,
    startMs,
    callerDigits,
  };
}

/**
 * Transcript JSON of a set; `leadGenerated` says whether the bot saved a lead
 * (a transcript that says so waits `LEAD_WAIT_SECONDS` for it).
 */
export function transcriptJson(
  s: BenchSet,
  durationSeconds: number,
  leadGenerated = true,
): string {
  const at = (sec: number) =>
    new Date(s.startMs + sec * 1000).toISOString().slice(0, 23) + "000";
  const items = [
    ["assistant", "Hello! This is Friday from Xeny AI. How can I help?", 1],
    ["user", "Hi, I would like to know about your plans.", 4],
    ["assistant", "Thank you, we will follow up by email.", 7],
  ].map(([role, content, sec]) => ({
    role,
    content,
    timestamp: at(Math.min(sec as number, durationSeconds)),
    source: role === "assistant" ? "voice_agent" : "user",
    transcript_confidence: null,
  }));
  return JSON.stringify(
    {
      session_id: `session_${
        at(0).slice(0, 19).replace(/[-:]/g, "").replace("T", "_")
      }_${s.callerDigits.slice(-8)}`,
      start_time: at(0),
      end_time: at(durationSeconds),
      duration_seconds: durationSeconds,
      total_items: items.length,
      conversation_items: items,
      lead_generated: leadGenerated,
      metadata: { auto_saved: true, phone_number: `+91${s.callerDigits}` },
    },
    null,
    2,
  );
}

/** Lead JSON of a set. */
export function leadJson(s: BenchSet): string {
  return JSON.stringify(
    {
      name: `Caller ${s.callerDigits}`,
      email: `c${s.callerDigits}@example.com`,
      phone: `+91${s.callerDigits}`,
      interest: "AI",
    },
    null,
    2,
  );
}

/** The delivery record `markDelivered` would write for set `s`. */
export function deliveryRecord(
  s: BenchSet,
  recordingSize: number,
  uploadedAt: number,
): DeliveryRecord {
  const d = new Date(s.startMs).toISOString();
  return {
    uploaded_at: new Date(uploadedAt).toISOString(),
    original_path: `conversations/${s.conversation}`,
    set: s.conversation,
    kind: "call",
    call_id: `CALL-${d.slice(0, 10).replaceAll("-", "")}-${
      d.slice(11, 19).replaceAll(":", "")
    }-${s.callerDigits.slice(-5)}`,
    idempotency_key: `callsync-call-data-${
      s.startMs.toString(16).padStart(32, "0")
    }`,
    recording_uploaded: true,
    recording_file: s.recording,
    recording_url:
      `https://crm.example.com/apis/uploads/recordings/${s.startMs}.ogg`,
    recording_size: recordingSize,
    call_data_uploaded: true,
    lead_uploaded: true,
    lead_file: s.lead,
    upload_attempts: 1,
  };
}

/** The journal line `markDelivered` appends for a record. */
export function journalEvent(r: DeliveryRecord): JournalEvent {
  return {
    ev: "delivered",
    t: Date.parse(r.uploaded_at),
    set: r.set,
    call_id: r.call_id,
    recording: r.recording_file,
    lead: r.lead_file,
    bytes: r.recording_uploaded ? r.recording_size ?? 0 : 0,
  };
}

/**
 * Write sets `0 … sets-1` under `dir` (`conversations/`, `recordings/`,
 * `leads/`, and with `delivered` also `processed_uploads/`).
 */
export async function writeTree(dir: string, opts: TreeOptions): Promise<void> {
  const spacing = opts.spacingSeconds ?? 30;
  const folders = ["conversations", "recordings", "leads"];
  if (opts.delivered) folders.push("processed_uploads");
  for (const f of folders) {
    await Deno.mkdir(join(dir, f), { recursive: true });
  }
  const mtime = (opts.mtimeMs ?? Date.now() - 2 * 86_400_000) / 1000;
  const journal: string[] = [];
  const indices = Array.from({ length: opts.sets }, (_, i) => i);
  const uploadedAt = Date.now() - 86_400_000;
  await parallel(indices, opts.parallel ?? 64, async (i) => {
    const s = benchSet(i, spacing);
    const put = async (path: string, data: string | Uint8Array) => {
      if (typeof data === "string") await Deno.writeTextFile(path, data);
      else await Deno.writeFile(path, data);
      await Deno.utime(path, mtime, mtime);
    };
    await put(
      join(dir, "conversations", s.conversation),
      transcriptJson(s, opts.durationSeconds),
    );
    await put(join(dir, "recordings", s.recording), opts.recording);
    await put(join(dir, "leads", s.lead), leadJson(s));
    if (opts.delivered) {
      const record = deliveryRecord(s, opts.recording.length, uploadedAt + i);
      await Deno.writeTextFile(
        join(dir, "processed_uploads", s.conversation + ".uploaded"),
        JSON.stringify(record, null, 2),
      );
      journal[i] = JSON.stringify(journalEvent(record));
    }
  });
  if (opts.delivered) {
    await Deno.writeTextFile(
      join(dir, "processed_uploads", "callsync-journal.jsonl"),
      journal.join("\n") + "\n",
    );
    // Private, as callsync keeps it: no run starts by making it so.
    if (Deno.build.os !== "windows") {
      await Deno.chmod(join(dir, "processed_uploads"), 0o700);
    }
  }
}
