/**
 * Reading just enough of a WebM (Matroska) recording to tell whether the
 * recorder has finished it, how long it is and what `Content-Type` it goes
 * out with. Pure byte parsing over the start of the file.
 *
 * A muxer writing live leaves the Segment's size "unknown" and no Duration;
 * when it stops it goes back and writes both. So a WebM is finished when
 * its Segment has a known size that the file holds in full and its Info
 * element has a Duration.
 *
 * @module
 */
import { RecordingFormatError } from "./format_error.ts";

/** Thrown when bytes are not a WebM/Matroska file. */
export class WebmFormatError extends RecordingFormatError {
  override name = "WebmFormatError";
}

/** What a WebM recording says about itself. */
export interface WebmInfo {
  complete: boolean;
  /** Info/Duration × TimecodeScale, seconds. */
  durationSeconds?: number;
  /** `audio/webm`, or `video/webm` when a video track is present. */
  contentType: "audio/webm" | "video/webm";
  /** Why it is not complete (for status), when it is not. */
  pending?: string;
}

const ID = {
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackType: 0x83,
  Cluster: 0x1f43b675,
} as const;

/** Bytes of the file's start that hold the header, Info and Tracks. */
export const WEBM_HEAD_BYTES = 64 * 1024;

interface Element {
  id: number;
  /** Offset of the element's data. */
  data: number;
  /** Data length; undefined when "unknown" (live writing). */
  size?: number;
}

/**
 * Reads an element header at `at`: its ID (marker bits kept, as IDs are
 * written) and size (all ones: unknown). Undefined when `bytes` ends first.
 */
function element(bytes: Uint8Array, at: number): Element | undefined {
  const id = vint(bytes, at, true);
  if (!id) return undefined;
  const size = vint(bytes, at + id.length, false);
  if (!size) return undefined;
  return {
    id: id.value,
    data: at + id.length + size.length,
    size: size.unknown ? undefined : size.value,
  };
}

/** An EBML variable-length integer. */
function vint(
  bytes: Uint8Array,
  at: number,
  keepMarker: boolean,
): { value: number; length: number; unknown: boolean } | undefined {
  if (at >= bytes.length) return undefined;
  const first = bytes[at];
  if (first === 0) {
    throw new WebmFormatError(
      `Invalid EBML number at byte ${at}: the file is not WebM or is corrupt.`,
    );
  }
  const length = Math.clz32(first) - 23;
  if (at + length > bytes.length) return undefined;
  let value = keepMarker ? first : first & (0xff >> length);
  let ones = (first & (0xff >> length)) === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + bytes[at + i];
    ones &&= bytes[at + i] === 0xff;
  }
  return { value, length, unknown: !keepMarker && ones };
}

/**
 * Reads the EBML header, the Segment's size, Info (TimecodeScale, Duration)
 * and the track types from `head` (the file's first bytes; 64 KiB holds them
 * for any recorder), for a file of `fileSize` bytes.
 *
 * @example
 * ```ts
 * import { webmInfo, WEBM_HEAD_BYTES } from "./webm.ts";
 *
 * const bytes = await Deno.readFile("number-_918655066243-1795809792.webm");
 * const { complete, durationSeconds } = webmInfo(bytes.subarray(0, WEBM_HEAD_BYTES), bytes.length);
 * ```
 *
 * @throws {WebmFormatError} When the bytes do not start with an EBML header
 * of a WebM or Matroska document.
 */
export function webmInfo(head: Uint8Array, fileSize: number): WebmInfo {
  const header = element(head, 0);
  if (!header || header.id !== ID.EBML) {
    throw new WebmFormatError(
      "Not a WebM file: it does not start with an EBML header. " +
        "Record audio as Ogg Opus, MP4/M4A or WebM.",
    );
  }
  const headerEnd = header.data + (header.size ?? 0);
  const docType = childrenOf(head, header.data, headerEnd)
    .find((e) => e.id === ID.DocType);
  const kind = docType
    ? new TextDecoder().decode(
      head.subarray(docType.data, docType.data + (docType.size ?? 0)),
    )
    : "matroska";
  if (kind !== "webm" && kind !== "matroska") {
    throw new WebmFormatError(
      `Not a WebM file: its EBML DocType is "${kind}".`,
    );
  }
  const segment = element(head, headerEnd);
  if (!segment || segment.id !== ID.Segment) {
    return {
      complete: false,
      contentType: "audio/webm",
      pending: "no Segment yet",
    };
  }
  let scale = 1_000_000;
  let duration: number | undefined;
  let video = false;
  const segmentEnd = segment.size === undefined
    ? head.length
    : Math.min(head.length, segment.data + segment.size);
  for (const child of childrenOf(head, segment.data, segmentEnd)) {
    if (child.id === ID.Cluster) break;
    if (child.id === ID.Info) {
      for (const e of childrenOf(head, child.data, end(child, head))) {
        if (e.id === ID.TimecodeScale) scale = uint(head, e);
        if (e.id === ID.Duration) duration = float(head, e);
      }
    }
    if (child.id === ID.Tracks) {
      for (const track of childrenOf(head, child.data, end(child, head))) {
        if (track.id !== ID.TrackEntry) continue;
        const type = childrenOf(head, track.data, end(track, head))
          .find((e) => e.id === ID.TrackType);
        if (type && uint(head, type) === 1) video = true;
      }
    }
  }
  const info: WebmInfo = {
    complete: false,
    contentType: video ? "video/webm" : "audio/webm",
  };
  if (duration !== undefined && duration > 0) {
    info.durationSeconds = (duration * scale) / 1e9;
  }
  if (segment.size === undefined) {
    info.pending = "its Segment size is not written yet (still recording)";
  } else if (segment.data + segment.size > fileSize) {
    info.pending = "the file is shorter than its Segment says";
  } else if (info.durationSeconds === undefined) {
    info.pending = "no Duration in its Info yet";
  } else {
    info.complete = true;
  }
  return info;
}

function end(e: Element, bytes: Uint8Array): number {
  return e.size === undefined
    ? bytes.length
    : Math.min(bytes.length, e.data + e.size);
}

/** The elements directly inside `[from, to)`; stops at one of unknown size. */
function childrenOf(bytes: Uint8Array, from: number, to: number): Element[] {
  const out: Element[] = [];
  for (let at = from; at < to;) {
    const e = element(bytes, at);
    if (!e) break;
    out.push(e);
    if (e.size === undefined) break;
    at = e.data + e.size;
  }
  return out;
}

function uint(bytes: Uint8Array, e: Element): number {
  let value = 0;
  for (let i = 0; i < (e.size ?? 0); i++) {
    value = value * 256 + bytes[e.data + i];
  }
  return value;
}

function float(bytes: Uint8Array, e: Element): number | undefined {
  if (e.data + (e.size ?? 0) > bytes.length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + e.data, e.size);
  return e.size === 4
    ? view.getFloat32(0)
    : e.size === 8
    ? view.getFloat64(0)
    : undefined;
}
