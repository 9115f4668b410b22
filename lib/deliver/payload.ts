/**
 * Build the call record the CRM's call-data endpoint takes, in the schema of
 * the original design. Pure and deterministic: the same call always gives
 * the same record, call id and idempotency key.
 *
 * @module
 */
import type { JsonObject } from "../source/transcript.ts";
import { callerDigits, type CallFiles, setCallId } from "../pair/call_id.ts";
import { localReadings, toUtcIso } from "../core/time.ts";

/** The ids every call record carries, from configuration. */
export interface PayloadConfig {
  campaignId: string;
  voiceAgentId: string;
  clientId: string;
  timezone: string;
}

/** The recording as uploaded (from this run or an earlier one). */
export interface UploadedRecording {
  url: string;
  size: number;
  durationSeconds?: number;
}

/**
 * The `Idempotency-Key` of one request of a set: stable across retries and
 * runs, different for the upload and the call record.
 */
export async function idempotencyKey(
  setName: string,
  step: "recording" | "call-data",
): Promise<string> {
  const bytes = new TextEncoder().encode(`callsync\n${setName}\n${step}`);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `callsync-${step}-` +
    Array.from(hash.subarray(0, 16), (b) => b.toString(16).padStart(2, "0"))
      .join("");
}

/** Build the call record for a set. */
export function buildCallRecord(
  set: CallFiles,
  recording: UploadedRecording | undefined,
  cfg: PayloadConfig,
): JsonObject {
  const conv = set.conversation;
  const digits = callerDigits(set);
  const phone = digits ? `+${digits}` : undefined;
  const durationSeconds = conv?.key.durationSeconds ??
    recording?.durationSeconds ?? 0;
  const endMs = conv?.key.endMs ?? set.startMs + durationSeconds * 1000;
  const callDetails: JsonObject = {
    callId: setCallId(set, cfg.timezone),
    direction: conv?.direction === "outbound" ? "outbound" : "inbound",
    startTime: toUtcIso(set.startMs),
    endTime: toUtcIso(endMs),
    duration: Math.round(durationSeconds),
    status: "completed",
    callerNumber: phone,
  };
  if (recording) {
    callDetails.recordingUrl = recording.url;
    callDetails.recordingDuration = recording.durationSeconds === undefined
      ? undefined
      : Math.round(recording.durationSeconds);
    callDetails.recordingSize = recording.size;
  }
  const record: JsonObject = {
    campaignId: cfg.campaignId,
    voiceAgentId: cfg.voiceAgentId,
    client: cfg.clientId,
    callDetails,
    caller: { phoneNumber: phone },
  };
  if (conv) {
    record.transcription = normaliseTranscript(conv.data, cfg.timezone, {
      startMs: set.startMs,
      endMs,
    });
  }
  if (set.lead) record.lead = set.lead.data;
  return record;
}

/**
 * The transcript with its timestamps (`start_time`, `end_time`, each item's
 * `timestamp`) as UTC ISO-8601 with `Z`. Values that do not parse are kept.
 * A naive time the zone repeats (daylight saving ends) is read as the
 * instant within `call` (± 2 min), the call's times as pairing read them;
 * failing that, the first.
 */
export function normaliseTranscript(
  data: JsonObject,
  timezone: string,
  call?: { startMs: number; endMs: number },
): JsonObject {
  const utc = (v: unknown) => {
    if (typeof v !== "string") return v;
    try {
      const readings = localReadings(v, timezone);
      const inCall = call &&
        readings.find((ms) =>
          ms >= call.startMs - SLACK_MS && ms <= call.endMs + SLACK_MS
        );
      return toUtcIso(inCall ?? readings[0]);
    } catch {
      return v;
    }
  };
  const out: JsonObject = {
    ...data,
    start_time: utc(data.start_time),
    end_time: utc(data.end_time),
  };
  if (Array.isArray(data.conversation_items)) {
    out.conversation_items = data.conversation_items.map((item) =>
      item && typeof item === "object" && !Array.isArray(item)
        ? { ...item, timestamp: utc((item as JsonObject).timestamp) }
        : item
    );
  }
  for (const k of ["start_time", "end_time"]) {
    if (out[k] === undefined) delete out[k];
  }
  return out;
}

/** Slack around a call for its transcript's own times. */
const SLACK_MS = 120_000;
