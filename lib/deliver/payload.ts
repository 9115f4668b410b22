/**
 * Build the call record the CRM's call-data endpoint takes, in the schema of
 * the original design. Pure and deterministic: the same call always gives
 * the same record, call id and idempotency key.
 *
 * @module
 */
import type { JsonObject } from "../source/transcript.ts";
import type { CallSet } from "../pair/plan.ts";
import { compactLocal, toEpochMs, toUtcIso } from "../core/time.ts";

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
 * The deterministic call id: `CALL-YYYYMMDD-HHMMSS-<last 5 digits>` from the
 * call start in `timezone`. Without a caller number the 5 digits come from a
 * hash of the set name, so they stay stable.
 *
 * @example
 * ```ts
 * callId(Date.UTC(2025, 9, 29, 6, 48, 24), "918655066243", "x.json", "UTC");
 * // "CALL-20251029-064824-66243"
 * ```
 */
export function callId(
  startMs: number,
  callerDigits: string | undefined,
  setName: string,
  timezone: string,
): string {
  const tail = callerDigits && callerDigits.length >= 5
    ? callerDigits.slice(-5)
    : String(fnv1a(setName) % 100000).padStart(5, "0");
  return `CALL-${compactLocal(startMs, timezone)}-${tail}`;
}

/** The caller's digits: from the recording name, else transcript, else lead. */
export function callerDigits(set: CallSet): string | undefined {
  return set.recording?.callerDigits ?? set.conversation?.key.phone ??
    set.lead?.phone;
}

/** The `callId` of a set. */
export function setCallId(set: CallSet, timezone: string): string {
  return callId(set.startMs, callerDigits(set), set.name, timezone);
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
  set: CallSet,
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
  if (conv) record.transcription = normaliseTranscript(conv.data, cfg.timezone);
  if (set.lead) record.lead = set.lead.data;
  return record;
}

/**
 * The transcript with its timestamps (`start_time`, `end_time`, each item's
 * `timestamp`) as UTC ISO-8601 with `Z`. Values that do not parse are kept.
 */
export function normaliseTranscript(
  data: JsonObject,
  timezone: string,
): JsonObject {
  const utc = (v: unknown) => {
    if (typeof v !== "string") return v;
    try {
      return toUtcIso(toEpochMs(v, timezone));
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

/** 32-bit FNV-1a of a string. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  }
  return h;
}
