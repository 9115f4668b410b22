/**
 * A source file, read: its identity and fingerprint, and what its contents
 * say. The one reader of transcripts, recordings and leads, used by the scan,
 * by delivery and by the dashboard's page of a delivered set.
 *
 * A file is read through one open handle, never again by its path: the
 * handle is opened without following a link ({@link openNoFollow}), and its
 * identity (device, inode; with size and mtime once the scan has seen it) is
 * compared with what was checked before, so a file swapped for a link to
 * another file between the check and the read is refused, not read. Delivery
 * opens the file again, compares it with what the scan saw, and uploads
 * only from that handle.
 *
 * @module
 */
import { basename } from "node:path";
import type { RecordingKey } from "./keys.ts";
import { parseRecordingName } from "./names.ts";
import type { RandomAccess } from "./ogg.ts";
import {
  readRecordingMedia,
  RECORDING_EXTENSIONS,
  recordingFormat,
  type RecordingMedia,
} from "./media.ts";
import {
  InputError,
  type Lead,
  parseJsonBytes,
  readLead,
  readTranscript,
  type Transcript,
} from "./transcript.ts";
import {
  type FileIdentity,
  NotRegularFileError,
  openNoFollow,
  type SafeFile,
  sameFile,
} from "../core/safe_fs.ts";
import { errorMessage } from "../core/errors.ts";
import { Spares } from "../core/spares.ts";

/** Which of the three folders a file is in. */
export type Folder = "conversations" | "recordings" | "leads";

/** A file's identity and fingerprint (size and mtime) as it was read. */
export interface FileInfo extends FileIdentity {
  name: string;
  /** Where the file is listed. */
  path: string;
  /** The path read instead of {@link path}: the vetted target of a link. */
  target?: string;
  size: number;
  mtimeMs: number;
}

/** A transcript file that parsed. */
export interface ConversationFile extends FileInfo, Transcript {}

/** A lead file that parsed. */
export interface LeadFile extends FileInfo, Lead {}

/** A recording file that reads as Ogg, MP4/M4A or WebM. */
export interface RecordingFile extends FileInfo {
  key: RecordingKey;
  callerDigits?: string;
  media: RecordingMedia;
}

/** A file of a call, read, by folder. */
export interface SourceFiles {
  conversations: ConversationFile;
  recordings: RecordingFile;
  leads: LeadFile;
}

/**
 * A file that changed or was replaced since it was checked or scanned: try
 * again later (the next scan sees it as it is now).
 */
export class FileChangedError extends Error {
  override name = "FileChangedError";
  /** Another file (or a link) took its place: worth a warning. */
  readonly replaced: boolean;

  constructor(message: string, opts: { replaced?: boolean } = {}) {
    super(message);
    this.replaced = opts.replaced ?? false;
  }
}

/**
 * For tests only: runs after a file was checked by its path and before it
 * is opened, so a test can swap the file at exactly that moment.
 */
export const testSeam: { beforeOpen?: (path: string) => Promise<void> } = {};

/** A source file held open: every read goes through its one handle. */
export class SourceFile implements RandomAccess, AsyncDisposable {
  /** The file as opened (its identity from the handle, not the path). */
  readonly info: FileInfo;
  #handle: SafeFile;

  /** Hold `handle`, opened as `info` says ({@link openSource} does both). */
  constructor(info: FileInfo, handle: SafeFile) {
    this.info = info;
    this.#handle = handle;
  }

  /** The listed path, for messages. */
  get path(): string {
    return this.info.path;
  }

  /** The size when it was opened. */
  get size(): number {
    return this.info.size;
  }

  /** Up to `length` bytes at `position`; fewer only if the file ends first. */
  async read(position: number, length: number): Promise<Uint8Array> {
    const buf = new Uint8Array(length);
    return buf.subarray(0, await this.readInto(buf, position));
  }

  /**
   * Fill `buf` from `position` (a retry reads the same bytes again); resolves
   * to the bytes read, fewer than `buf.length` only if the file ends first.
   */
  async readInto(buf: Uint8Array, position: number): Promise<number> {
    let filled = 0;
    while (filled < buf.length) {
      const { bytesRead } = await this.#handle.read(
        buf,
        filled,
        buf.length - filled,
        position + filled,
      );
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled;
  }

  /**
   * Exactly the {@link size} bytes it had when opened: read into the start
   * of `into` when they fit there (a view the caller must not keep past its
   * next use of `into`), else into a new array.
   */
  async bytes(into?: Uint8Array): Promise<Uint8Array> {
    const bytes = into && into.length >= this.size
      ? into.subarray(0, await this.readInto(into.subarray(0, this.size), 0))
      : await this.read(0, this.size);
    if (bytes.length < this.size) {
      throw new FileChangedError(`${this.info.name} shrank while being read`);
    }
    return bytes;
  }

  /**
   * Throw {@link FileChangedError} if the file's size or mtime moved since it
   * was opened (a writer still at work while it was being sent).
   */
  async assertUnchanged(): Promise<void> {
    const st = await this.#handle.stat();
    if (
      st.size !== this.info.size || st.mtime.getTime() !== this.info.mtimeMs
    ) {
      throw new FileChangedError(
        `${this.info.name} changed while being read`,
      );
    }
  }

  /** Close the handle. */
  close(): Promise<void> {
    return this.#handle.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Open the source file listed at `path` (read through `target` when it is a
 * vetted link) without following a link, and refuse it with
 * {@link FileChangedError} unless it is the file `expected` describes: the
 * same device and inode, and, when given, the same size and mtime.
 *
 * @example
 * ```ts
 * const scanned = { path: "recordings/a.ogg", dev: 2049, ino: 131, size: 5000, mtimeMs: 1761720502000 };
 * await using file = await openSource(scanned.path, scanned);
 * const head = await file.read(0, 64);
 * ```
 */
export async function openSource(
  path: string,
  expected?: FileIdentity & {
    target?: string;
    size?: number;
    mtimeMs?: number;
  },
): Promise<SourceFile> {
  const target = expected?.target;
  await testSeam.beforeOpen?.(target ?? path);
  const handle = await openNoFollow(target ?? path, "read");
  try {
    const st = handle.opened;
    const info: FileInfo = {
      name: basename(path),
      path,
      ...(target ? { target } : {}),
      size: st.size,
      mtimeMs: st.mtime.getTime(),
      dev: st.dev,
      ino: st.ino,
    };
    if (expected) assertSame(info, expected);
    return new SourceFile(info, handle);
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Refuse a file that is not the one expected. */
function assertSame(
  got: FileInfo,
  expected: FileIdentity & { size?: number; mtimeMs?: number },
): void {
  if (!sameFile(got, expected)) {
    throw new FileChangedError(
      `${got.name} was replaced (by another file or a link) since it was checked; not read`,
      { replaced: true },
    );
  }
  if (
    (expected.size !== undefined && got.size !== expected.size) ||
    (expected.mtimeMs !== undefined && got.mtimeMs !== expected.mtimeMs)
  ) {
    throw new FileChangedError(`${got.name} changed since it was scanned`);
  }
}

/** Buffers the JSON files are read into, to be decoded (see `Spares`). */
const JSON_BUFFER_BYTES = 64 * 1024;
const jsonBuffers = new Spares(() => new Uint8Array(JSON_BUFFER_BYTES));

/**
 * Read and parse the open `file` of `folder`. Throws an {@link InputError}
 * (or an `OggFormatError`) naming what is wrong with it.
 *
 * @example
 * ```ts
 * const path = "conversations/transcript_session_2025-10-29T06-49-07.351452.json";
 * await using file = await openSource(path);
 * const conv = await readSourceFile("conversations", file, "UTC");
 * conv.key.startMs; // the call's start, epoch ms
 * ```
 */
export async function readSourceFile<F extends Folder>(
  folder: F,
  file: SourceFile,
  timezone: string,
): Promise<SourceFiles[F]> {
  if (folder === "recordings") {
    return await readRecording(file) as SourceFiles[F];
  }
  const { info } = file;
  const data = await jsonBuffers.use(async (buf) =>
    parseJsonBytes(await file.bytes(buf))
  );
  if (folder === "leads") {
    return {
      ...info,
      ...readLead(info.name, data, timezone),
    } as SourceFiles[F];
  }
  const read = readTranscript(info.name, data, timezone);
  read.key.mtimeMs = info.mtimeMs;
  return { ...info, ...read } as SourceFiles[F];
}

async function readRecording(file: SourceFile): Promise<RecordingFile> {
  const { info } = file;
  const format = recordingFormat(info.name);
  if (!format) {
    throw new InputError(
      `not a recording callsync understands (it reads ${RECORDING_EXTENSIONS}); not sent`,
      { permanent: true },
    );
  }
  const parsed = parseRecordingName(info.name);
  if (!parsed) {
    throw new InputError(
      "name does not end in -<unix seconds>.<extension>, so its call start is unknown",
      { permanent: true },
    );
  }
  const media = await readRecordingMedia(file, format);
  return {
    ...info,
    callerDigits: parsed.callerDigits,
    media,
    key: {
      name: info.name,
      startMs: parsed.startMs,
      durationSeconds: media.durationSeconds,
      complete: media.complete,
      mtimeMs: info.mtimeMs,
      phone: parsed.callerDigits,
    },
  };
}

/**
 * Open a file the scan read, again, without following a link; anything but
 * that very file, unchanged, is refused with {@link FileChangedError}.
 */
export async function openScanned(f: FileInfo): Promise<SourceFile> {
  try {
    return await openSource(f.path, f);
  } catch (e) {
    if (e instanceof FileChangedError) throw e;
    throw new FileChangedError(
      `${f.name} changed since it was scanned: ${errorMessage(e)}`,
      { replaced: e instanceof NotRegularFileError },
    );
  }
}

/**
 * Throw {@link FileChangedError} if `f` changed or was replaced since it was
 * read (see {@link openScanned}).
 */
export async function assertUnchanged(f: FileInfo): Promise<void> {
  await (await openScanned(f)).close();
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
