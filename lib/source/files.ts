/**
 * A source file, read: its identity and fingerprint, and what its contents
 * say. The one reader of transcripts, recordings and leads, used by the scan
 * and by the dashboard's page of a delivered set; and the check that a file
 * has not changed since it was read.
 *
 * @module
 */
import { basename } from "node:path";
import type { RecordingKey } from "./keys.ts";
import { parseRecordingName } from "./names.ts";
import { type OggInfo, readOggInfo } from "./ogg.ts";
import {
  InputError,
  type Lead,
  parseJsonObject,
  readLead,
  readTranscript,
  type Transcript,
} from "./transcript.ts";

/** Which of the three folders a file is in. */
export type Folder = "conversations" | "recordings" | "leads";

/** A file's identity and fingerprint (size and mtime). */
export interface FileInfo {
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
}

/** A transcript file that parsed. */
export interface ConversationFile extends FileInfo, Transcript {}

/** A lead file that parsed. */
export interface LeadFile extends FileInfo, Lead {}

/** A recording file that reads as Ogg. */
export interface RecordingFile extends FileInfo {
  key: RecordingKey;
  callerDigits?: string;
  ogg: OggInfo;
}

/** A file of a call, read, by folder. */
export interface SourceFiles {
  conversations: ConversationFile;
  recordings: RecordingFile;
  leads: LeadFile;
}

/** A file whose size or mtime moved since it was read: try again later. */
export class FileChangedError extends Error {
  override name = "FileChangedError";
}

/** The {@link FileInfo} of `path` from its `Deno.stat` (or `lstat`). */
export function fileInfo(path: string, st: Deno.FileInfo): FileInfo {
  return {
    name: basename(path),
    path,
    size: st.size,
    mtimeMs: st.mtime?.getTime() ?? 0,
  };
}

/**
 * Read and parse a file of `folder` whose identity is `info`. Throws an
 * {@link InputError} (or an `OggFormatError`) naming what is wrong with it.
 *
 * @example
 * ```ts
 * const path = "conversations/transcript_session_2025-10-29T06-49-07.351452.json";
 * const conv = await readSourceFile(
 *   "conversations",
 *   fileInfo(path, await Deno.stat(path)),
 *   "UTC",
 * );
 * conv.key.startMs; // the call's start, epoch ms
 * ```
 */
export async function readSourceFile<F extends Folder>(
  folder: F,
  info: FileInfo,
  timezone: string,
): Promise<SourceFiles[F]> {
  if (folder === "recordings") {
    return await readRecording(info) as SourceFiles[F];
  }
  const data = parseJsonObject(await Deno.readTextFile(info.path));
  const read = folder === "conversations"
    ? readTranscript(info.name, data, timezone)
    : readLead(info.name, data, timezone);
  return { ...info, ...read } as SourceFiles[F];
}

async function readRecording(info: FileInfo): Promise<RecordingFile> {
  const parsed = parseRecordingName(info.name);
  if (!parsed) {
    throw new InputError(
      "name does not end in -<unix seconds>.ogg, so its call start is unknown",
    );
  }
  const ogg = await readOggInfo(info.path);
  return {
    ...info,
    callerDigits: parsed.callerDigits,
    ogg,
    key: {
      name: info.name,
      startMs: parsed.startMs,
      durationSeconds: ogg.durationSeconds,
      complete: ogg.complete,
      phone: parsed.callerDigits,
    },
  };
}

/** Throw {@link FileChangedError} if `f` changed since it was read. */
export async function assertUnchanged(f: FileInfo): Promise<void> {
  const st = await Deno.stat(f.path).catch(() => undefined);
  if (!st || st.size !== f.size || (st.mtime?.getTime() ?? 0) !== f.mtimeMs) {
    throw new FileChangedError(`${f.name} changed since it was scanned`);
  }
}

/** True when none of the files changed since they were read. */
export async function unchanged(
  files: readonly (FileInfo | undefined)[],
): Promise<boolean> {
  for (const f of files) {
    if (!f) continue;
    try {
      await assertUnchanged(f);
    } catch (e) {
      if (e instanceof FileChangedError) return false;
      throw e;
    }
  }
  return true;
}
