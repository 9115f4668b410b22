/**
 * Parsing of the file names a LiveKit voice bot writes. Pure functions.
 *
 * - `recordings/number-_918655066243-1761720502.ogg` (or `.m4a`, `.mp4`,
 *   `.webm`): caller digits, then the unix second the recording started.
 * - `conversations/transcript_session_2025-10-29T06-49-07.351452.json`
 * - `leads/leads_session_2025-10-29T06-49-07.351452.json` or legacy
 *   `leads/lead_20251013_135233.json`.
 *
 * @module
 */

/** What a recording's file name says about its call. */
export interface RecordingName {
  /** Caller digits (no `+`), when the name carries at least 5 of them. */
  callerDigits?: string;
  /** Unix epoch milliseconds at which the recording started. */
  startMs: number;
}

const RECORDING = /^(.*?)-(\d{9,11})\.[a-z0-9]+$/i;
const TRAILING_DIGITS = /(\d{5,15})$/;

/**
 * Read a recording file name, or `undefined` if it carries no unix start time.
 *
 * @example
 * ```ts
 * parseRecordingName("number-_918655066243-1761720502.ogg");
 * // { callerDigits: "918655066243", startMs: 1761720502000 }
 * ```
 */
export function parseRecordingName(name: string): RecordingName | undefined {
  const m = RECORDING.exec(name);
  if (!m) return undefined;
  const callerDigits = TRAILING_DIGITS.exec(m[1])?.[1];
  return { callerDigits, startMs: Number(m[2]) * 1000 };
}

const NAME_TS = /(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2}(?:\.\d+)?)/i;

/**
 * The session timestamp in a transcript or lead name
 * (`2025-10-29T06-49-07.351452`, with a capital `T` however the name writes
 * it: Windows names differ in case only for one file); it links
 * `leads_session_<ts>` to `transcript_session_<ts>`.
 */
export function sessionTimestamp(name: string): string | undefined {
  const m = NAME_TS.exec(name);
  return m ? `${m[1]}T${m[2]}-${m[3]}-${m[4]}` : undefined;
}

/** A session timestamp from a file name as ISO text: `2025-10-29T06:49:07.351452`. */
export function sessionTimestampIso(ts: string): string | undefined {
  const m = NAME_TS.exec(ts);
  return m ? `${m[1]}T${m[2]}:${m[3]}:${m[4]}` : undefined;
}

const SESSION_ID = /^session_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})/;

/**
 * The naive start time inside a `session_id` such as
 * `session_20251029_064824_2e0aa754` → `2025-10-29T06:48:24`.
 */
export function sessionIdTime(sessionId: string): string | undefined {
  const m = SESSION_ID.exec(sessionId);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}` : undefined;
}

/** How a lead file is linked to its call. */
export type LeadName =
  | { kind: "session"; sessionTs: string }
  | { kind: "legacy"; time: string }
  | { kind: "other" };

const LEGACY_LEAD = /^lead_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})\.json$/i;

/**
 * Classify a lead file name: `leads_session_<ts>.json` (linked by session
 * timestamp), legacy `lead_YYYYMMDD_HHMMSS.json` (linked by time, naive), or
 * anything else (linked only by a `session_id` inside).
 */
export function parseLeadName(name: string): LeadName {
  const legacy = LEGACY_LEAD.exec(name);
  if (legacy) {
    const [, y, mo, d, h, mi, s] = legacy;
    return { kind: "legacy", time: `${y}-${mo}-${d}T${h}:${mi}:${s}` };
  }
  const ts = /^leads_session_/i.test(name) ? sessionTimestamp(name) : undefined;
  return ts ? { kind: "session", sessionTs: ts } : { kind: "other" };
}

/** Digits of a phone number, or `undefined` when fewer than 5 remain. */
export function phoneDigits(value: unknown): string | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const digits = String(value).replace(/\D/g, "");
  return digits.length >= 5 ? digits : undefined;
}
