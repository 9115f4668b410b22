/**
 * What a source file says about its call, once read: the keys grouping works
 * on. Produced by `transcript.ts` and `scan.ts`; `pair/` consumes them.
 *
 * @module
 */

/** What the grouping needs to know about one transcript. */
export interface ConversationKey {
  /** File name; unique. */
  name: string;
  /** Call start, unix ms. */
  startMs: number;
  /** Call end, unix ms. */
  endMs?: number;
  /** Call length; when absent, derived from `endMs − startMs`. */
  durationSeconds?: number;
  /** Caller number, digits only. */
  phone?: string;
  /** `<ts>` of `transcript_session_<ts>`. */
  sessionTs?: string;
  /** Session id inside the transcript. */
  sessionId?: string;
  /** The transcript says `lead_generated: true`. */
  leadGenerated: boolean;
}

/** What the grouping needs to know about one Ogg recording. */
export interface RecordingKey {
  /** File name; unique. */
  name: string;
  /** Recording start, unix ms. */
  startMs: number;
  /** Recording length in seconds. */
  durationSeconds?: number;
  /** `false` while still being written: `durationSeconds` is then a lower bound. */
  complete: boolean;
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
  /** Legacy: the time in the file name, unix ms. */
  timeMs?: number;
  /** Caller number in the lead, digits; a legacy lead never goes to a call with another number. */
  phone?: string;
}
