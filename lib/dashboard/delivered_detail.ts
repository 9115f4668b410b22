/**
 * The detail of a delivered set: its `.uploaded` record, its files as they
 * are now (a plain file only, never through a link), and the call record
 * rebuilt from them.
 *
 * @module
 */
import { basename, join } from "node:path";
import type { Config } from "../config/config.ts";
import type { SetDetail, SetFile } from "./model.ts";
import { parseRecordingName } from "../source/names.ts";
import { readOggInfo } from "../source/ogg.ts";
import { buildCallRecord } from "../deliver/payload.ts";
import type { CallSet } from "../pair/plan.ts";
import type { RecordingFile } from "../source/scan.ts";
import { readDeliveryRecord } from "./views.ts";
import type { StateStore } from "../state/store.ts";
import { toUtcIso } from "../core/time.ts";
import {
  parseJsonObject,
  readLead,
  readTranscript,
} from "../source/transcript.ts";
import { errorMessage } from "../core/errors.ts";

/**
 * A delivered set: its `.uploaded` record, and the call record rebuilt from
 * its files if they are still where they were (the record sent is not kept
 * after delivery).
 */
export async function deliveredDetail(
  cfg: Config,
  store: StateStore,
  name: string,
): Promise<SetDetail> {
  const entry = store.delivered.get(name)!;
  const record = await readDeliveryRecord(store, name);
  const kind = record?.kind ??
    (name.toLowerCase().endsWith(".ogg") ? "recording-only" : "call");
  const recName = record?.recording_file ?? entry.recording;
  const leadName = record?.lead_file ?? entry.lead;
  const found: Found = { files: [], problems: [] };
  const set: CallSet = {
    name,
    kind,
    state: "pending",
    reason: "",
    truncated: record?.truncated === true,
    startMs: NaN,
  };
  if (kind === "call") {
    set.conversation = await readTextPart(
      found,
      "conversations",
      cfg.conversationsDir,
      name,
      (f) => ({
        ...f.info,
        ...readTranscript(name, parseJsonObject(f.text()), cfg.timezone),
      }),
    );
  }
  if (recName) {
    set.recording = await readRecordingPart(found, cfg.recordingsDir, recName);
  }
  if (leadName) {
    set.lead = await readTextPart(
      found,
      "leads",
      cfg.leadsDir,
      leadName,
      (f) => ({
        ...f.info,
        ...readLead(leadName, parseJsonObject(f.text()), cfg.timezone),
      }),
    );
  }
  set.startMs = set.conversation?.key.startMs ??
    set.recording?.key.startMs ?? NaN;
  const complete = (kind === "recording-only" || set.conversation) &&
    (!recName || set.recording) && (!leadName || set.lead) &&
    Number.isFinite(set.startMs);
  const payload: SetDetail["payload"] = complete
    ? {
      source: "rebuilt",
      note:
        "Rebuilt from the set's files as they are now; the record sent is not kept after delivery.",
      record: buildCallRecord(
        set,
        record?.recording_url
          ? {
            url: record.recording_url,
            size: record.recording_size ?? 0,
            durationSeconds: set.recording?.ogg.durationSeconds,
          }
          : undefined,
        cfg,
      ),
    }
    : null;
  const conv = set.conversation?.key;
  const rec = set.recording?.key;
  const convSeconds = conv?.durationSeconds;
  return {
    name,
    state: "delivered",
    kind,
    reason: "accepted by the CRM" +
      (found.problems.length && !complete
        ? `; call record not shown: ${found.problems.join("; ")}`
        : ""),
    deliveredAt: record?.uploaded_at ?? toUtcIso(entry.at),
    callId: record?.call_id ?? entry.callId,
    startedAt: Number.isFinite(set.startMs) ? toUtcIso(set.startMs) : undefined,
    attempts: record?.upload_attempts ?? 0,
    files: found.files,
    pairing: {
      recording: recName
        ? {
          name: recName,
          startDiffSeconds: conv && rec
            ? (rec.startMs - conv.startMs) / 1000
            : undefined,
          durationDiffSeconds: convSeconds !== undefined &&
              rec?.durationSeconds !== undefined
            ? rec.durationSeconds - convSeconds
            : undefined,
          pinned: true,
        }
        : undefined,
      lead: leadName ? { name: leadName } : undefined,
    },
    delivery: record ? { ...record } : null,
    progress: null,
    payload,
  };
}

/** What reading a delivered set's files found. */
interface Found {
  /** The files, in the order read. */
  files: SetFile[];
  /** Why a file could not be used, for people. */
  problems: string[];
}

/**
 * A delivered set's transcript or lead, read from `dir` if it is still there
 * and parsed with `parse`; listed in `found` either way.
 */
async function readTextPart<T>(
  found: Found,
  folder: "conversations" | "leads",
  dir: string,
  name: string,
  parse: (f: PlainFile) => T,
): Promise<T | undefined> {
  const f = await readPlainFile(join(dir, basename(name)));
  found.files.push(fileEntry(folder, name, f));
  if (!f) {
    found.problems.push(`${name} is no longer in the ${folder} folder`);
    return undefined;
  }
  try {
    return parse(f);
  } catch (e) {
    found.problems.push(`${name}: ${errorMessage(e)}`);
    return undefined;
  }
}

/**
 * A delivered set's recording, read from `dir` if it is still there (its Ogg
 * headers only); listed in `found` either way.
 */
async function readRecordingPart(
  found: Found,
  dir: string,
  name: string,
): Promise<RecordingFile | undefined> {
  const path = join(dir, basename(name));
  const f = await readPlainFile(path, false);
  const parsed = parseRecordingName(name);
  let recording: RecordingFile | undefined;
  if (f && parsed) {
    try {
      const ogg = await readOggInfo(path);
      recording = {
        ...f.info,
        name,
        callerDigits: parsed.callerDigits,
        ogg,
        key: {
          name,
          startMs: parsed.startMs,
          durationSeconds: ogg.durationSeconds,
          complete: ogg.complete,
          phone: parsed.callerDigits,
        },
      };
    } catch (e) {
      found.problems.push(`${name}: ${errorMessage(e)}`);
    }
  } else if (!f) {
    found.problems.push(`${name} is no longer in the recordings folder`);
  }
  found.files.push({
    ...fileEntry("recordings", name, f),
    durationSeconds: recording?.ogg.durationSeconds,
    complete: recording?.ogg.complete,
  });
  return recording;
}

/** A plain file's facts, and its text if read. */
interface PlainFile {
  info: { name: string; path: string; size: number; mtimeMs: number };
  text: () => string;
}

/**
 * A regular file (not a symlink: the dashboard does not follow links the
 * scan's rules have not vetted), read as text when `read`.
 */
async function readPlainFile(
  path: string,
  read = true,
): Promise<PlainFile | undefined> {
  try {
    const st = await Deno.lstat(path);
    if (!st.isFile || st.size > 16 * 1024 * 1024) return undefined;
    const text = read ? await Deno.readTextFile(path) : "";
    return {
      info: {
        name: basename(path),
        path,
        size: st.size,
        mtimeMs: st.mtime?.getTime() ?? 0,
      },
      text: () => text,
    };
  } catch {
    return undefined;
  }
}

/** How a set's file is listed: its size and time, or missing. */
function fileEntry(
  folder: SetFile["folder"],
  name: string,
  f: PlainFile | undefined,
): SetFile {
  return f
    ? {
      folder,
      name,
      size: f.info.size,
      modifiedAt: toUtcIso(f.info.mtimeMs),
    }
    : { folder, name, missing: true };
}
