/**
 * Reading transcript and lead JSON into what matching and the call record
 * need. Pure functions: the caller reads the file.
 *
 * @module
 */
import { findJsonError } from "../core/json_error.ts";
import { decodeText, TextEncodingError } from "../core/text.ts";
import type { ConversationKey, LeadKey } from "./keys.ts";
import {
  parseLeadName,
  phoneDigits,
  sessionIdTime,
  sessionTimestamp,
  sessionTimestampIso,
} from "./names.ts";
import { transcriptReadings } from "./readings.ts";
import { localReadings, TimestampError } from "../core/time.ts";

/**
 * A file callsync cannot use; the message names the problem. `permanent`
 * problems (a forbidden symlink) cannot be fixed by a writer finishing the
 * file; the others may be a file still being written.
 */
export class InputError extends Error {
  override name = "InputError";
  readonly permanent: boolean;

  constructor(message: string, opts: { permanent?: boolean } = {}) {
    super(message);
    this.permanent = opts.permanent ?? false;
  }
}

/** A JSON object as read from disk. */
export type JsonObject = Record<string, unknown>;

/** A transcript, read. */
export interface Transcript {
  key: ConversationKey;
  data: JsonObject;
  direction?: string;
}

/** A lead, read. */
export interface Lead {
  key: LeadKey;
  data: JsonObject;
  phone?: string;
}

const PHONE_FIELDS = [
  "phone_number",
  "phoneNumber",
  "phone",
  "caller_number",
  "callerNumber",
  "caller_phone",
  "caller_id",
  "from_number",
  "mobile",
];

/**
 * Parse a JSON file's bytes into an object: UTF-8 with or without a
 * byte-order mark, or UTF-16 with one, as Windows tools write them
 * ({@link decodeText}).
 *
 * @example
 * ```ts
 * parseJsonBytes(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])); // {}
 * ```
 */
export function parseJsonBytes(bytes: Uint8Array): JsonObject {
  let text: string;
  try {
    text = decodeText(bytes);
  } catch (e) {
    if (e instanceof TextEncodingError) throw new InputError(e.message);
    throw e;
  }
  return parseJsonObject(text);
}

/**
 * Parse JSON text into an object, with an error naming line and column.
 *
 * @example
 * ```ts
 * parseJsonObject('{"a":1}'); // { a: 1 }
 * parseJsonObject("[1]"); // throws InputError: a JSON array, expected an object
 * ```
 */
export function parseJsonObject(text: string): JsonObject {
  if (text.trim() === "") throw new InputError("file is empty");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const at = findJsonError(text);
    throw new InputError(
      at
        ? `not valid JSON: ${at.problem} at line ${at.line} column ${at.column}`
        : "not valid JSON",
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const what = Array.isArray(value) ? "an array" : `a ${typeof value}`;
    throw new InputError(`holds ${what}, expected a JSON object`);
  }
  return value as JsonObject;
}

/**
 * Read a transcript: start from `start_time`, else the time in `session_id`;
 * end from `end_time`, else start + `duration_seconds`.
 */
export function readTranscript(
  name: string,
  data: JsonObject,
  timezone: string,
): Transcript {
  const sessionId = str(data.session_id);
  const startText = str(data.start_time) ??
    (sessionId ? sessionIdTime(sessionId) : undefined);
  if (!startText) {
    throw new InputError(
      "has neither start_time nor a session_id with a time (session_YYYYMMDD_HHMMSS_…)",
    );
  }
  const endText = str(data.end_time);
  const given = typeof data.duration_seconds === "number" &&
      Number.isFinite(data.duration_seconds)
    ? data.duration_seconds
    : undefined;
  const saved = sessionTimestampIso(name);
  const readings = transcriptReadings({
    starts: times(startText, "start_time", timezone),
    ends: endText ? times(endText, "end_time", timezone) : undefined,
    saves: saved ? times(saved, "name", timezone) : undefined,
    durationSeconds: given,
  });
  const { startMs, savedMs } = readings[0];
  const endMs = readings[0].endMs ??
    (given !== undefined ? startMs + given * 1000 : undefined);
  const metadata = obj(data.metadata);
  return {
    key: {
      name,
      startMs,
      endMs,
      durationSeconds: given ??
        (endMs !== undefined ? (endMs - startMs) / 1000 : undefined),
      savedMs,
      readings: readings.length > 1 ? readings : undefined,
      phone: findPhone(data) ?? findPhone(metadata),
      sessionTs: sessionTimestamp(name),
      sessionId,
      leadGenerated: typeof data.lead_generated === "boolean"
        ? data.lead_generated
        : undefined,
    },
    data,
    direction: str(metadata.direction) ?? str(data.direction),
  };
}

/** Read a lead file: how it links to its call, and any phone it carries. */
export function readLead(
  name: string,
  data: JsonObject,
  timezone: string,
): Lead {
  const parsed = parseLeadName(name);
  const sessionId = str(data.session_id);
  const phone = findPhone(data);
  const key: LeadKey = parsed.kind === "session"
    ? {
      name,
      kind: "session",
      sessionTs: parsed.sessionTs,
      timesMs: times(sessionTimestampIso(name)!, "name", timezone),
      sessionId,
      phone,
    }
    : parsed.kind === "legacy"
    ? {
      name,
      kind: "legacy",
      timesMs: times(parsed.time, "name", timezone),
      sessionId,
      phone,
    }
    : { name, kind: "session", sessionId, phone };
  return { key, data, phone };
}

function findPhone(data: JsonObject): string | undefined {
  for (const field of PHONE_FIELDS) {
    const digits = phoneDigits(data[field]);
    if (digits) return digits;
  }
  return undefined;
}

/** Every instant `text` can mean (two in a repeated hour). */
function times(text: string, field: string, timezone: string): number[] {
  try {
    return localReadings(text, timezone);
  } catch (e) {
    throw new InputError(
      `${field}: ${e instanceof TimestampError ? e.message : String(e)}`,
    );
  }
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() !== "" ? v : undefined;
}

function obj(v: unknown): JsonObject {
  return v && typeof v === "object" && !Array.isArray(v) ? v as JsonObject : {};
}
