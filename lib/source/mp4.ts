/**
 * Reading just enough of an MP4/M4A recording (ISO base media file format)
 * to tell whether the recorder has finished it, how long it is and what
 * `Content-Type` it goes out with. Pure byte parsing: the caller reads the
 * top-level box headers and the `moov` box (see {@linkcode walkMp4}).
 *
 * A non-fragmented MP4 is finished when its `moov` box (the index the
 * muxer writes last) is there in full and every top-level box ends within
 * the file. A fragmented MP4 has its `moov` first and grows by fragments:
 * it counts as finished once an `mfra` box (the index written on close)
 * ends it; otherwise the scan's staleness rule applies, as for an Ogg
 * without its last page.
 *
 * @module
 */
import { RecordingFormatError } from "./format_error.ts";

/** Thrown when bytes are not an MP4 file. */
export class Mp4FormatError extends RecordingFormatError {
  override name = "Mp4FormatError";
}

/** One top-level box: where it is, what it is, how long. */
export interface BoxHeader {
  type: string;
  /** Offset of the box in the file. */
  offset: number;
  /** Header length: 8, or 16 with a 64-bit size. */
  headerSize: number;
  /** Box length including the header; for size 0 ("to the end"), up to EOF. */
  size: number;
  /** The box declared size 0: it runs to the end of the file (still growing). */
  toEnd: boolean;
}

/** What an MP4 recording says about itself. */
export interface Mp4Info {
  complete: boolean;
  /** Playback length: the audio track's (`mdhd`), else the movie's (`mvhd`/`mehd`). */
  durationSeconds?: number;
  /** `audio/mp4`, or `video/mp4` when a video track is present. */
  contentType: "audio/mp4" | "video/mp4";
  /** Why it is not complete (for status), when it is not. */
  pending?: string;
  /** A fragmented MP4 (playable fragment by fragment). */
  fragmented: boolean;
}

const TYPE = new TextDecoder("latin1");

/**
 * Parses the box header at the start of `bytes` (give 16 bytes when you
 * can), which sits at `offset` in a file of `fileSize` bytes.
 *
 * @example
 * ```ts
 * import { parseBoxHeader } from "./mp4.ts";
 *
 * const ftyp = new Uint8Array([0, 0, 0, 16, 0x66, 0x74, 0x79, 0x70, 0x4d, 0x34, 0x41, 0x20, 0, 0, 0, 0]);
 * parseBoxHeader(ftyp, 0, 16)?.type; // "ftyp"
 * ```
 *
 * @returns The header, or undefined when `bytes` ends before it does.
 * @throws {Mp4FormatError} When the size field is impossible (below the header).
 */
export function parseBoxHeader(
  bytes: Uint8Array,
  offset: number,
  fileSize: number,
): BoxHeader | undefined {
  if (bytes.length < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const size32 = view.getUint32(0);
  const type = TYPE.decode(bytes.subarray(4, 8));
  if (size32 === 1) {
    if (bytes.length < 16) return undefined;
    const size = Number(view.getBigUint64(8));
    if (size < 16) throw badSize(type, offset, size);
    return { type, offset, headerSize: 16, size, toEnd: false };
  }
  if (size32 === 0) {
    return {
      type,
      offset,
      headerSize: 8,
      size: fileSize - offset,
      toEnd: true,
    };
  }
  if (size32 < 8) throw badSize(type, offset, size32);
  return { type, offset, headerSize: 8, size: size32, toEnd: false };
}

function badSize(type: string, offset: number, size: number): Mp4FormatError {
  return new Mp4FormatError(
    `Box "${type}" at byte ${offset} declares ${size} bytes, less than its ` +
      "own header: the file is not MP4 or is corrupt.",
  );
}

/**
 * Walks the top-level boxes of a file through `read(offset, length)`, which
 * returns the bytes there (fewer at the end of the file), and reads the
 * `moov` box whole. Works the same over a buffer (tests) and a file handle.
 *
 * @throws {Mp4FormatError} When the file does not start with an MP4 box.
 */
export async function walkMp4(
  fileSize: number,
  read: (offset: number, length: number) => Promise<Uint8Array>,
): Promise<Mp4Boxes> {
  const boxes: BoxHeader[] = [];
  let moov: Uint8Array | undefined;
  let lastMoof: Uint8Array | undefined;
  for (let offset = 0; offset < fileSize;) {
    const header = parseBoxHeader(await read(offset, 16), offset, fileSize);
    if (!header) break;
    if (boxes.length === 0 && !FIRST_BOXES.has(header.type)) {
      throw new Mp4FormatError(
        `Not an MP4 file: it starts with "${header.type}", not "ftyp". ` +
          "Record audio as Ogg Opus, MP4/M4A or WebM.",
      );
    }
    boxes.push(header);
    const whole = offset + header.size <= fileSize;
    if (header.type === "moov" && whole) moov = await read(offset, header.size);
    if (header.type === "moof" && whole && header.size <= MAX_MOOF_BYTES) {
      lastMoof = await read(offset, header.size);
    }
    offset += header.size;
  }
  return { boxes, moov, lastMoof };
}

/** What {@linkcode walkMp4} found. */
export interface Mp4Boxes {
  boxes: BoxHeader[];
  /** The `moov` box, header included, when the file holds it whole. */
  moov?: Uint8Array;
  /** The last whole `moof` box (fragmented MP4): where the playback ends. */
  lastMoof?: Uint8Array;
}

/** A fragment header is a few hundred bytes; anything far larger is not read. */
const MAX_MOOF_BYTES = 1 << 20;

/** Boxes a file may start with. */
const FIRST_BOXES = new Set([
  "ftyp",
  "styp",
  "moov",
  "mdat",
  "free",
  "skip",
  "wide",
]);

/**
 * Tells whether an MP4 is complete, its duration and content type, from its
 * top-level boxes and its `moov` box's bytes (if it was there).
 *
 * @example
 * ```ts
 * import { mp4Info, walkMp4 } from "./mp4.ts";
 *
 * const bytes = await Deno.readFile("number-_918655066243-1795809792.m4a");
 * const found = await walkMp4(bytes.length, async (at, n) => bytes.subarray(at, at + n));
 * const { complete, durationSeconds } = mp4Info(found, bytes.length);
 * ```
 */
export function mp4Info(found: Mp4Boxes, fileSize: number): Mp4Info {
  const { boxes, moov, lastMoof } = found;
  const movie = moov ? parseMoov(moov) : undefined;
  if (movie?.fragmented && lastMoof) {
    movie.durationSeconds = fragmentsEnd(movie, lastMoof) ??
      movie.durationSeconds;
  }
  const info: Mp4Info = {
    complete: false,
    contentType: movie?.video ? "video/mp4" : "audio/mp4",
    durationSeconds: movie?.durationSeconds,
    fragmented: movie?.fragmented ?? false,
  };
  const last = boxes[boxes.length - 1];
  const whole = last !== undefined && !last.toEnd &&
    last.offset + last.size === fileSize;
  if (!movie) {
    info.pending = "no moov box yet (the recorder writes it when it stops)";
  } else if (!whole) {
    info.pending = "its last box is not written in full yet";
  } else if (movie.fragmented && last.type !== "mfra") {
    info.pending = "a fragmented MP4 without its closing mfra box";
  } else {
    info.complete = true;
  }
  return info;
}

/** What the `moov` box says. */
export interface Movie {
  durationSeconds?: number;
  video: boolean;
  fragmented: boolean;
  /** The audio track's id and timescale, for reading fragments. */
  audio?: { id: number; scale: number };
  /** Default sample duration per track id (`trex`), for fragments. */
  trexDurations: Map<number, number>;
}

/**
 * Reads `mvhd`, each track's `mdhd` and `hdlr`, and `mvex`/`mehd` from the
 * bytes of a `moov` box (header included).
 */
export function parseMoov(moov: Uint8Array): Movie {
  const movie: Movie = {
    video: false,
    fragmented: false,
    trexDurations: new Map(),
  };
  let movieSeconds: number | undefined;
  let movieScale = 0;
  let audioSeconds: number | undefined;
  for (const child of children(moov, 8)) {
    if (child.type === "mvhd") {
      const t = timing(child.body);
      movieScale = t?.scale ?? 0;
      movieSeconds = t?.seconds;
    } else if (child.type === "trak") {
      const track = parseTrak(child.body);
      if (track.handler === "vide") movie.video = true;
      if (track.handler === "soun") {
        if (track.seconds) {
          audioSeconds = Math.max(audioSeconds ?? 0, track.seconds);
        }
        if (!movie.audio && track.id && track.scale) {
          movie.audio = { id: track.id, scale: track.scale };
        }
      }
    } else if (child.type === "mvex") {
      movie.fragmented = true;
      for (const trex of children(child.body, 0)) {
        if (trex.type !== "trex" || trex.body.length < 16) continue;
        const view = dataView(trex.body);
        movie.trexDurations.set(view.getUint32(4), view.getUint32(12));
      }
      const mehd = children(child.body, 0).find((c) => c.type === "mehd");
      if (mehd && movieScale > 0) {
        const v = mehd.body[0];
        const view = dataView(mehd.body);
        const units = v === 1
          ? Number(view.getBigUint64(4))
          : view.getUint32(4);
        if (units > 0) movieSeconds = units / movieScale;
      }
    }
  }
  movie.durationSeconds = audioSeconds ?? (movieSeconds || undefined);
  return movie;
}

interface Track {
  id?: number;
  handler?: string;
  scale?: number;
  seconds?: number;
}

function parseTrak(body: Uint8Array): Track {
  const track: Track = {};
  for (const c of children(body, 0)) {
    if (c.type === "tkhd" && c.body.length >= 20) {
      track.id = dataView(c.body).getUint32(c.body[0] === 1 ? 20 : 12);
    }
    if (c.type !== "mdia") continue;
    for (const m of children(c.body, 0)) {
      if (m.type === "mdhd") {
        const t = timing(m.body);
        track.scale = t?.scale;
        track.seconds = t?.seconds;
      }
      if (m.type === "hdlr" && m.body.length >= 12) {
        track.handler = TYPE.decode(m.body.subarray(8, 12));
      }
    }
  }
  return track;
}

/**
 * Where the audio track's last fragment ends, seconds: its `tfdt` decode
 * time plus the durations of its samples (`trun`, else `tfhd`'s or `trex`'s
 * default).
 */
function fragmentsEnd(movie: Movie, moof: Uint8Array): number | undefined {
  if (!movie.audio) return undefined;
  for (const traf of children(moof, 8)) {
    if (traf.type !== "traf") continue;
    const parts = children(traf.body, 0);
    const tfhd = parts.find((p) => p.type === "tfhd");
    if (!tfhd || tfhd.body.length < 8) continue;
    const head = dataView(tfhd.body);
    const id = head.getUint32(4);
    if (id !== movie.audio.id) continue;
    const flags = head.getUint32(0) & 0xffffff;
    let at = 8 + (flags & 0x01 ? 8 : 0) + (flags & 0x02 ? 4 : 0);
    const fallback = flags & 0x08
      ? head.getUint32(at)
      : movie.trexDurations.get(id) ?? 0;
    const tfdt = parts.find((p) => p.type === "tfdt");
    if (!tfdt) return undefined;
    const t = dataView(tfdt.body);
    let units = tfdt.body[0] === 1 ? Number(t.getBigUint64(4)) : t.getUint32(4);
    for (const trun of parts.filter((p) => p.type === "trun")) {
      const v = dataView(trun.body);
      const f = v.getUint32(0) & 0xffffff;
      const count = v.getUint32(4);
      at = 8 + (f & 0x01 ? 4 : 0) + (f & 0x04 ? 4 : 0);
      const stride = [0x100, 0x200, 0x400, 0x800].filter((b) => f & b).length *
        4;
      for (let k = 0; k < count; k++, at += stride) {
        units += f & 0x100 ? v.getUint32(at) : fallback;
      }
    }
    return units / movie.audio.scale;
  }
  return undefined;
}

/** Timescale and duration of an `mvhd` or `mdhd` body (version 0 or 1). */
function timing(
  body: Uint8Array,
): { scale: number; seconds?: number } | undefined {
  const view = dataView(body);
  const v1 = body[0] === 1;
  if (body.length < (v1 ? 32 : 20)) return undefined;
  const scale = view.getUint32(v1 ? 20 : 12);
  const units = v1 ? view.getBigUint64(24) : BigInt(view.getUint32(16));
  // All ones: "duration unknown".
  const unknown = v1 ? units === 0xffffffffffffffffn : units === 0xffffffffn;
  if (scale === 0) return undefined;
  return {
    scale,
    seconds: unknown || units === 0n ? undefined : Number(units) / scale,
  };
}

/** The child boxes inside `bytes` from `start`, each with its body. */
function children(
  bytes: Uint8Array,
  start: number,
): { type: string; body: Uint8Array }[] {
  const out: { type: string; body: Uint8Array }[] = [];
  for (let at = start; at + 8 <= bytes.length;) {
    const h = parseBoxHeader(bytes.subarray(at, at + 16), at, bytes.length);
    if (!h || at + h.size > bytes.length) break;
    out.push({
      type: h.type,
      body: bytes.subarray(at + h.headerSize, at + h.size),
    });
    at += h.size;
  }
  return out;
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}
