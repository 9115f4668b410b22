/**
 * Who a call is: its deterministic call id and its caller's digits, from the
 * files of the call. Pure.
 *
 * @module
 */
import { compactLocal } from "../core/time.ts";
import type {
  ConversationFile,
  LeadFile,
  RecordingFile,
} from "../source/files.ts";

/** The files of one call, as its call id and call record are made from. */
export interface CallFiles {
  /** The conversation file name, or the recording's for a recording-only call. */
  name: string;
  /** Call start, epoch ms: the transcript's, else the recording's. */
  startMs: number;
  conversation?: ConversationFile;
  recording?: RecordingFile;
  lead?: LeadFile;
  /** The caller's digits when no file of the set gives them (a delivered recording's name). */
  callerDigits?: string;
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

/**
 * When a lead sent alone (`lead-only`) is dated: the time in its name (the
 * first reading of a repeated hour), else its file time.
 */
export function leadTimeMs(lead: LeadFile): number {
  return lead.key.timesMs?.[0] ?? lead.mtimeMs;
}

/** The caller's digits: from the recording name, else transcript, else lead. */
export function callerDigits(set: CallFiles): string | undefined {
  return set.recording?.callerDigits ?? set.callerDigits ??
    set.conversation?.key.phone ?? set.lead?.phone;
}

/** The `callId` of a set. */
export function setCallId(set: CallFiles, timezone: string): string {
  return callId(set.startMs, callerDigits(set), set.name, timezone);
}

/** 32-bit FNV-1a of a string. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  }
  return h;
}
