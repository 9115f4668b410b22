/**
 * The detail of a delivered set: its `.uploaded` record, its files as they
 * are now (a plain file only, never through a link, each read through one
 * handle that must be the file checked), read by the same reader the scan
 * uses, and the call record rebuilt from them.
 *
 * @module
 */
import { basename, join } from "node:path";
import type { Config } from "../config/config.ts";
import { errorMessage } from "../core/errors.ts";
import { toUtcIso } from "../core/time.ts";
import { buildCallRecord } from "../deliver/payload.ts";
import { type CallFiles, leadTimeMs } from "../pair/call_id.ts";
import { NotRegularFileError } from "../core/safe_fs.ts";
import {
  FileChangedError,
  type FileInfo,
  type Folder,
  openSource,
  readSourceFile,
  type SourceFile,
  type SourceFiles,
} from "../source/files.ts";
import type { DeliveryRecord, StateStore } from "../state/store.ts";
import { recordingFormat } from "../source/media.ts";
import type { SetDetail, SetFile } from "./model.ts";

/** Largest file the dashboard reads. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** A delivered set's `.uploaded` record, as read (maybe partial). */
type ReadRecord = Partial<DeliveryRecord>;

/** What reading a delivered set's files found. */
interface Found {
  /** The files, in the order read. */
  files: SetFile[];
  /** Why a file could not be used, for people. */
  problems: string[];
}

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
  const record = await store.readRecord(name);
  const kind = record?.kind ??
    (recordingFormat(name) ? "recording-only" : "call");
  const recName = record?.recording_file ?? entry.recording;
  const leadName = record?.lead_file ?? entry.lead;
  const found: Found = { files: [], problems: [] };
  const read = <F extends Folder>(folder: F, file: string, dir: string) =>
    readPart(cfg, found, folder, join(dir, basename(file)));
  const conversation = kind === "call"
    ? await read("conversations", name, cfg.conversationsDir)
    : undefined;
  const recording = recName
    ? await read("recordings", recName, cfg.recordingsDir)
    : undefined;
  const lead = leadName
    ? await read("leads", leadName, cfg.leadsDir)
    : undefined;
  const startMs = conversation?.key.startMs ?? recording?.key.startMs ??
    (kind === "lead-only" && lead ? leadTimeMs(lead) : NaN);
  const call: CallFiles = { name, startMs, conversation, recording, lead };
  const complete = (kind === "recording-only" || kind === "lead-only" ||
    conversation !== undefined) &&
    (!recName || recording !== undefined) &&
    (!leadName || lead !== undefined) &&
    Number.isFinite(startMs);
  return {
    name,
    state: "delivered",
    kind,
    aloneReason: record?.alone_reason,
    reason: "accepted by the CRM" +
      (found.problems.length && !complete
        ? `; call record not shown: ${found.problems.join("; ")}`
        : ""),
    deliveredAt: record?.uploaded_at ?? toUtcIso(entry.at),
    callId: record?.call_id ?? entry.callId,
    startedAt: Number.isFinite(startMs) ? toUtcIso(startMs) : undefined,
    attempts: record?.upload_attempts ?? 0,
    files: found.files,
    pairing: {
      recording: recName ? pairing(recName, call) : undefined,
      lead: leadName ? { name: leadName } : undefined,
    },
    delivery: record ? { ...record } : null,
    progress: null,
    payload: complete ? rebuilt(cfg, call, record) : null,
  };
}

/** How the delivered recording compares with the transcript. */
function pairing(
  name: string,
  call: CallFiles,
): NonNullable<SetDetail["pairing"]["recording"]> {
  const conv = call.conversation?.key;
  const rec = call.recording?.key;
  const convSeconds = conv?.durationSeconds;
  return {
    name,
    startDiffSeconds: conv && rec
      ? (rec.startMs - conv.startMs) / 1000
      : undefined,
    durationDiffSeconds:
      convSeconds !== undefined && rec?.durationSeconds !== undefined
        ? rec.durationSeconds - convSeconds
        : undefined,
    pinned: true,
  };
}

/** The call record rebuilt from the files as they are now. */
function rebuilt(
  cfg: Config,
  call: CallFiles,
  record: ReadRecord | undefined,
): SetDetail["payload"] {
  const uploaded = record?.recording_url
    ? {
      url: record.recording_url,
      size: record.recording_size ?? 0,
      durationSeconds: record.recording_duration ??
        call.recording?.media.durationSeconds,
    }
    : undefined;
  return {
    source: "rebuilt",
    note:
      "Rebuilt from the set's files as they are now; the record sent is not kept after delivery.",
    record: buildCallRecord(call, uploaded, cfg),
  };
}

/**
 * A delivered set's file of `folder` at `path`, read if it is still there;
 * listed in `found` either way.
 */
async function readPart<F extends Folder>(
  cfg: Config,
  found: Found,
  folder: F,
  path: string,
): Promise<SourceFiles[F] | undefined> {
  const name = basename(path);
  const opened = await openPlain(path, folder);
  if (typeof opened === "string") {
    found.problems.push(`${name} ${opened}`);
    found.files.push(fileEntry(folder, name, undefined, undefined));
    return undefined;
  }
  let file: SourceFiles[F] | undefined;
  try {
    file = await readSourceFile(folder, opened, cfg.timezone);
  } catch (e) {
    found.problems.push(`${name}: ${errorMessage(e)}`);
  } finally {
    await opened.close();
  }
  found.files.push(fileEntry(folder, name, opened.info, file));
  return file;
}

/**
 * The regular file at `path` (not a symlink: the dashboard does not follow
 * links the scan's rules have not vetted), opened if it is there and not too
 * large, and only if the handle holds the file checked; else why not.
 */
async function openPlain(
  path: string,
  folder: Folder,
): Promise<SourceFile | string> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(path);
  } catch {
    return `is no longer in the ${folder} folder`;
  }
  if (!st.isFile) return "is not a regular file; not read";
  let file: SourceFile;
  try {
    file = await openSource(path, st);
  } catch (e) {
    return e instanceof FileChangedError || e instanceof NotRegularFileError
      ? "was replaced (by another file or a link) while being read; not read"
      : `could not be read: ${errorMessage(e)}`;
  }
  if (file.size > MAX_FILE_BYTES) {
    await file.close();
    return `is over ${MAX_FILE_BYTES / 1024 / 1024} MiB; not read`;
  }
  return file;
}

/** How a set's file is listed: its size and time (and length), or missing. */
function fileEntry(
  folder: Folder,
  name: string,
  info: FileInfo | undefined,
  file: SourceFiles[Folder] | undefined,
): SetFile {
  if (!info) return { folder, name, missing: true };
  const entry: SetFile = {
    folder,
    name,
    size: info.size,
    modifiedAt: toUtcIso(info.mtimeMs),
  };
  if (folder === "recordings") {
    const media = file && "media" in file ? file.media : undefined;
    entry.durationSeconds = media?.durationSeconds;
    entry.complete = media?.complete;
    entry.contentType = media?.contentType;
  }
  return entry;
}
