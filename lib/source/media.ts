/**
 * Recordings in every container LiveKit Egress writes: which containers
 * callsync reads (by file name), and what a recording on disk says about
 * itself — finished or still being written, how long, and the
 * `Content-Type` it is uploaded with.
 *
 * @module
 */
import { mp4Info, walkMp4 } from "./mp4.ts";
import { type RandomAccess, readOggInfo } from "./ogg.ts";
import { WEBM_HEAD_BYTES, webmInfo } from "./webm.ts";

/** A recording container callsync reads. */
export type RecordingFormat = "ogg" | "mp4" | "webm";

const BY_EXTENSION: Record<string, RecordingFormat> = {
  ogg: "ogg",
  oga: "ogg",
  opus: "ogg",
  m4a: "mp4",
  mp4: "mp4",
  webm: "webm",
};

/** The file name endings callsync reads as recordings, for messages. */
export const RECORDING_EXTENSIONS = Object.keys(BY_EXTENSION)
  .map((e) => `.${e}`).join(", ");

/**
 * The container a recording's name says, or undefined for a file callsync
 * does not understand (listed in `status`, never sent).
 *
 * @example
 * ```ts
 * import { recordingFormat } from "./media.ts";
 *
 * recordingFormat("number-_918655066243-1795809792.m4a"); // "mp4"
 * recordingFormat("notes.txt"); // undefined
 * ```
 */
export function recordingFormat(name: string): RecordingFormat | undefined {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? undefined : BY_EXTENSION[name.slice(dot + 1).toLowerCase()];
}

/** What a recording on disk says about itself. */
export interface RecordingMedia {
  format: RecordingFormat;
  /** Sent with the upload: `audio/ogg`, `audio/mp4`, `video/mp4`, `audio/webm`, `video/webm`. */
  contentType: string;
  /** The recorder has finished it (Ogg: end-of-stream page; MP4: `moov`; WebM: Segment size and Duration). */
  complete: boolean;
  /** Playback length, seconds; for an unfinished file, what is there so far (if known). */
  durationSeconds?: number;
  /** Why it is not finished yet, in words. */
  pending?: string;
  /**
   * Unfinished but playable as it is: sent as truncated once it stops
   * changing (an Ogg or WebM stream cut short; not an MP4 without its index).
   */
  salvageable: boolean;
  /** File size in bytes when it was read. */
  size: number;
}

/**
 * Reads just enough of the recording open as `file` to tell whether it is
 * finished and how long it is (its head and tail, or its box headers and
 * index; never the whole of a long recording).
 *
 * @throws {RecordingFormatError} When the bytes are not (yet) that container.
 */
export async function readRecordingMedia(
  file: RandomAccess,
  format: RecordingFormat,
): Promise<RecordingMedia> {
  const { path, size } = file;
  if (format === "ogg") {
    const ogg = await readOggInfo(file);
    return {
      format,
      contentType: "audio/ogg",
      complete: ogg.complete,
      durationSeconds: ogg.durationSeconds,
      pending: ogg.complete ? undefined : "no end-of-stream page yet",
      salvageable: true,
      size: ogg.size,
    };
  }
  if (format === "mp4") {
    const info = mp4Info(
      await walkMp4(size, (at, length) => file.read(at, length)),
      size,
    );
    // An .m4a is audio by name; an .mp4 says so by its tracks.
    const contentType = path.toLowerCase().endsWith(".m4a")
      ? "audio/mp4"
      : info.contentType;
    // Without its moov box an MP4 cannot be played (fragments can).
    const salvageable = info.pending === undefined || info.fragmented;
    return { format, ...info, contentType, salvageable, size };
  }
  const head = await file.read(0, Math.min(size, WEBM_HEAD_BYTES));
  return { format, ...webmInfo(head, size), salvageable: true, size };
}
