/**
 * What a source file says about its call, once read: the keys grouping works
 * on. Produced by `transcript.ts` and `files.ts`; `pair/` consumes them.
 *
 * @module
 */
import type { TimeReading } from "./readings.ts";

/** What the grouping needs to know about one transcript. */
export interface ConversationKey {
  /** File name; unique. */
  name: string;
  /** Call start, unix ms (the stated rule's reading when ambiguous). */
  startMs: number;
  /** Call end, unix ms. */
  endMs?: number;
  /** Call length; when absent, derived from `endMs − startMs`. */
  durationSeconds?: number;
  /** When the transcript was saved: the time in its name, as an instant. */
  savedMs?: number;
  /** The file's modification time, unix ms (UTC whatever the zone). */
  mtimeMs?: number;
  /**
   * Every consistent reading of the naive times when the zone repeats them
   * (daylight saving ends); `readings[0]` is the one above. Absent: one.
   */
  readings?: TimeReading[];
  /** Caller number, digits only. */
  phone?: string;
  /** `<ts>` of `transcript_session_<ts>`. */
  sessionTs?: string;
  /** Session id inside the transcript. */
  sessionId?: string;
  /** The transcript's `lead_generated`; undefined when it does not say. */
  leadGenerated?: boolean;
}

/** What the grouping needs to know about one recording. */
export interface RecordingKey {
  /** File name; unique. */
  name: string;
  /** Recording start, unix ms (the epoch in its name). */
  startMs: number;
  /** Recording length in seconds, from the container. */
  durationSeconds?: number;
  /** `false` while still being written: `durationSeconds` is then a lower bound. */
  complete: boolean;
  /** The file's modification time, unix ms: its last write, i.e. its end. */
  mtimeMs?: number;
  /** Caller number, digits only. */
  phone?: string;
}

/** What the grouping needs to know about one lead file. */
export interface LeadKey {
  /** File name; unique. */
  name: string;
  /** `leads_session_<ts>.json` ("session") or `lead_YYYYMMDD_HHMMSS.json` ("legacy"). */
  kind: "session" | "legacy";
  /** `<ts>` of `leads_session_<ts>`. */
  sessionTs?: string;
  /** Session id inside the lead. */
  sessionId?: string;
  /**
   * Readings of the time in the name (legacy: `lead_…`; session: the `<ts>`),
   * unix ms ascending; two inside a repeated hour.
   */
  timesMs?: number[];
  /** Caller number in the lead, digits; a legacy lead never goes to a call with another number. */
  phone?: string;
}
