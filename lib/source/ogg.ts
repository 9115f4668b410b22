/**
 * Reading just enough of an Ogg Opus recording to tell whether LiveKit Egress
 * has finished writing it, and how long it is.
 *
 * Everything here is pure byte parsing except {@linkcode readOggInfo}, which
 * reads only the first and last few kilobytes of a file (through the handle
 * it is given), so it stays cheap for multi-gigabyte recordings that may
 * still be growing.
 *
 * @example Check a recording
 * ```ts
 * import { readOggInfo } from "./ogg.ts";
 * import { openSource } from "./files.ts";
 *
 * await using file = await openSource("recordings/number-_918655066243-1761720502.ogg");
 * const info = await readOggInfo(file);
 * if (info.complete) console.log(`finished, ${info.durationSeconds} s`);
 * ```
 *
 * @module
 */

import { Spares } from "../core/spares.ts";
import { RecordingFormatError } from "./format_error.ts";

/**
 * Thrown when a file is not a readable Ogg Opus stream.
 *
 * @example
 * ```ts
 * import { OggFormatError, readOggInfo } from "./ogg.ts";
 *
 * try {
 *   await readOggInfo(file);
 * } catch (error) {
 *   if (error instanceof OggFormatError) console.error(error.message);
 * }
 * ```
 */
export class OggFormatError extends RecordingFormatError {
  override name = "OggFormatError";
}

/** One parsed Ogg page header, located in a byte buffer. */
export interface OggPage {
  /** Offset of the page's "OggS" capture pattern in the parsed buffer. */
  offset: number;
  /** Header type flags: 0x01 continued packet, 0x02 begin of stream, 0x04 end of stream. */
  headerType: number;
  /** Signed granule position; -1n means no packet finishes on this page. */
  granule: bigint;
  /** Logical bitstream serial number. */
  serial: number;
  /** Page sequence number within the logical bitstream. */
  sequence: number;
  /** Header length in bytes: 27 plus the segment table. */
  headerSize: number;
  /** Body length in bytes: the sum of the segment table. */
  bodySize: number;
  /** Whether the CRC stored in the header matches the page's bytes. */
  crcOk: boolean;
}

/** Fields of the OpusHead identification header (RFC 7845 §5.1). */
export interface OpusHead {
  /** Samples at 48 kHz to discard from the start of the decoded stream. */
  preSkip: number;
  /** Output channel count. */
  channels: number;
  /** Sample rate of the original input, informational only (0 if unknown). */
  inputSampleRate: number;
}

/** What the last bytes of an Ogg file say about how it ends. */
export interface TailInfo {
  /** A complete page ends exactly at the end of the buffer (i.e. at EOF). */
  endsAtPage: boolean;
  /** The page ending at EOF has the end-of-stream flag; false if no page ends at EOF. */
  eos: boolean;
  /** The page ending at EOF has a valid CRC; false if no page ends at EOF. */
  crcOk: boolean;
  /**
   * Granule position of the latest page in the buffer that is complete, has a
   * valid CRC and finishes a packet (granule != -1); undefined if none does.
   */
  granule?: bigint;
}

/** Summary of an Ogg Opus recording on disk. */
export interface OggInfo {
  /** The last page is complete, ends exactly at EOF, has a valid CRC and the end-of-stream flag. */
  complete: boolean;
  /** (last granule − pre-skip) / 48000, at least 0; absent if no granule is known. */
  durationSeconds?: number;
  /** Pre-skip from OpusHead, in 48 kHz samples. */
  preSkip: number;
  /** File size in bytes at the time it was read. */
  size: number;
}

const HEADER_BASE = 27;
/** Largest possible Ogg page: 27-byte header, 255 lacing values, 255 × 255 body bytes. */
const MAX_PAGE_SIZE = HEADER_BASE + 255 + 255 * 255;
/** Bytes read from the start of a file: always holds a complete first page. */
const HEAD_BYTES = 64 * 1024;
/** Bytes read from the end of a file: holds a partial page plus the complete page before it. */
const TAIL_BYTES = 2 * MAX_PAGE_SIZE;
/**
 * What {@link readOggInfo} reads first from each end: an OpusHead page is
 * under 300 bytes, and LiveKit's pages about 1 KB, so these settle a
 * finished recording; the full {@link HEAD_BYTES} / {@link TAIL_BYTES} are
 * read only when they do not (BENCHMARKS.md, section 12).
 */
const FIRST_HEAD_BYTES = 4 * 1024;
const FIRST_TAIL_BYTES = 16 * 1024;
const FLAG_EOS = 0x04;
const OPUS_RATE = 48000;
const CAPTURE = [0x4f, 0x67, 0x67, 0x53]; // "OggS"
const PAGE_START = [...CAPTURE, 0]; // capture pattern, stream structure version 0
const OPUS_HEAD = [0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64]; // "OpusHead"
const OPUS_HEAD_MIN_SIZE = 19;
const ZERO_CRC = new Uint8Array(4);

/**
 * CRC tables for slicing-by-8: table k (at k × 256) advances a byte's
 * contribution by k further bytes, so eight bytes cost eight lookups and one
 * step instead of eight steps. Scanning a recording's tail (up to 128 KiB of
 * pages, every one checked) is then several times faster.
 */
const CRC_TABLES = (() => {
  const t = new Uint32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) {
      r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    }
    t[i] = r >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    for (let i = 0; i < 256; i++) {
      const prev = t[(k - 1) * 256 + i];
      t[k * 256 + i] = ((prev << 8) ^ t[prev >>> 24]) >>> 0;
    }
  }
  return t;
})();

function crcUpdate(
  crc: number,
  bytes: Uint8Array,
  start: number,
  end: number,
): number {
  const t = CRC_TABLES;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = crc ^
      ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) |
        bytes[i + 3]);
    const b = (bytes[i + 4] << 24) | (bytes[i + 5] << 16) |
      (bytes[i + 6] << 8) | bytes[i + 7];
    crc = t[1792 + (a >>> 24)] ^ t[1536 + ((a >>> 16) & 0xff)] ^
      t[1280 + ((a >>> 8) & 0xff)] ^ t[1024 + (a & 0xff)] ^
      t[768 + (b >>> 24)] ^ t[512 + ((b >>> 16) & 0xff)] ^
      t[256 + ((b >>> 8) & 0xff)] ^ t[b & 0xff];
  }
  for (; i < end; i++) {
    crc = (crc << 8) ^ t[((crc >>> 24) ^ bytes[i]) & 0xff];
  }
  return crc >>> 0;
}

/**
 * CRC-32 as used by Ogg: polynomial 0x04c11db7, no reflection, initial value
 * 0, no final xor. A page's CRC is computed with its own CRC field zeroed.
 *
 * @example
 * ```ts
 * import { oggCrc32 } from "./ogg.ts";
 *
 * oggCrc32(new TextEncoder().encode("123456789")); // 0x89a1897f
 * ```
 */
export function oggCrc32(bytes: Uint8Array): number {
  return crcUpdate(0, bytes, 0, bytes.length);
}

function startsWith(
  bytes: Uint8Array,
  offset: number,
  magic: readonly number[],
): boolean {
  if (offset < 0 || offset + magic.length > bytes.length) return false;
  return magic.every((byte, i) => bytes[offset + i] === byte);
}

/**
 * Whether the bytes at `offset` can start a page: "OggS" then version 0, as
 * far as the buffer goes (a buffer ending mid-header may still be a page).
 */
function isPageStart(bytes: Uint8Array, offset: number): boolean {
  if (offset < 0 || offset > bytes.length) return false;
  const end = Math.min(bytes.length, offset + PAGE_START.length);
  for (let i = offset; i < end; i++) {
    if (bytes[i] !== PAGE_START[i - offset]) return false;
  }
  return true;
}

/** CRC of the page spanning `offset`..`end` with its CRC field (bytes 22–25) taken as zero. */
function pageCrc(bytes: Uint8Array, offset: number, end: number): number {
  const crc = crcUpdate(0, bytes, offset, offset + 22);
  return crcUpdate(crcUpdate(crc, ZERO_CRC, 0, 4), bytes, offset + 26, end);
}

/**
 * Parses the Ogg page whose capture pattern starts at `offset`.
 *
 * Returns undefined if `bytes` ends before the page does (e.g. a page still
 * being written). Throws {@linkcode OggFormatError} if `offset` does not hold
 * the "OggS" capture pattern followed by stream structure version 0.
 *
 * @example Walk the pages of a small file
 * ```ts
 * import { parsePage } from "./ogg.ts";
 *
 * const bytes = await Deno.readFile("recording.ogg");
 * for (let at = 0, page; (page = parsePage(bytes, at)); ) {
 *   at += page.headerSize + page.bodySize;
 * }
 * ```
 */
export function parsePage(
  bytes: Uint8Array,
  offset: number,
): OggPage | undefined {
  const page = pageHeader(bytes, offset);
  return page && { ...page, crcOk: hasValidCrc(bytes, page) };
}

/** {@link parsePage} without the CRC check, which costs a pass over the page. */
function pageHeader(
  bytes: Uint8Array,
  offset: number,
): Omit<OggPage, "crcOk"> | undefined {
  if (!isPageStart(bytes, offset)) {
    throw new OggFormatError(
      `No Ogg page at byte ${offset}: expected "OggS" followed by version 0. ` +
        "Pass the offset of a page start.",
    );
  }
  if (bytes.length - offset < HEADER_BASE) return undefined;
  const segments = bytes[offset + 26];
  const headerSize = HEADER_BASE + segments;
  if (bytes.length - offset < headerSize) return undefined;
  let bodySize = 0;
  for (let i = offset + HEADER_BASE; i < offset + headerSize; i++) {
    bodySize += bytes[i];
  }
  if (bytes.length < offset + headerSize + bodySize) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 26);
  return {
    offset,
    headerType: bytes[offset + 5],
    granule: view.getBigInt64(6, true),
    serial: view.getUint32(14, true),
    sequence: view.getUint32(18, true),
    headerSize,
    bodySize,
  };
}

/** Whether the CRC stored in the complete page `page` of `bytes` matches it. */
function hasValidCrc(
  bytes: Uint8Array,
  page: Omit<OggPage, "crcOk">,
): boolean {
  const { offset } = page;
  const stored = new DataView(bytes.buffer, bytes.byteOffset + offset + 22, 4)
    .getUint32(0, true);
  return stored === pageCrc(bytes, offset, pageEnd(page));
}

/** Where a page ends: the offset just past its body. */
function pageEnd(page: Omit<OggPage, "crcOk">): number {
  return page.offset + page.headerSize + page.bodySize;
}

/** Offset of the first complete, CRC-valid page at or after `from`, or -1. */
function findValidPage(bytes: Uint8Array, from: number): number {
  for (let i = from; i + HEADER_BASE <= bytes.length; i++) {
    if (isPageStart(bytes, i) && parsePage(bytes, i)?.crcOk) return i;
  }
  return -1;
}

/**
 * Reads the OpusHead identification header from the first page of a file.
 *
 * `head` is the start of the file; 64 KiB always holds a complete first page.
 * Throws {@linkcode OggFormatError} if the bytes are not Ogg, the first page
 * is incomplete, or its first packet is not a valid OpusHead.
 *
 * @example
 * ```ts
 * import { parseOpusHead } from "./ogg.ts";
 *
 * const { preSkip } = parseOpusHead(await Deno.readFile("recording.ogg"));
 * ```
 */
export function parseOpusHead(head: Uint8Array): OpusHead {
  if (!startsWith(head, 0, CAPTURE)) {
    throw new OggFormatError(
      'Not an Ogg file: it does not start with "OggS". ' +
        "Only Ogg Opus recordings from LiveKit Egress are supported.",
    );
  }
  const page = parsePage(head, 0);
  if (!page) {
    throw new OggFormatError(
      "The first Ogg page is incomplete: the file is truncated or still " +
        "being created. Retry once the recorder has written its headers.",
    );
  }
  const body = page.headerSize;
  if (!startsWith(head, body, OPUS_HEAD)) {
    throw new OggFormatError(
      "Not an Opus stream: the first Ogg packet is not an OpusHead " +
        "(another codec such as Vorbis?). Record audio as Ogg Opus.",
    );
  }
  const firstLacing = head[HEADER_BASE]; // OpusHead is alone on its page
  if (firstLacing < OPUS_HEAD_MIN_SIZE || head[body + 8] >> 4 !== 0) {
    throw new OggFormatError(
      "Unsupported OpusHead: it is too short or has an unknown major " +
        "version. The file is corrupt or from an incompatible encoder.",
    );
  }
  const view = new DataView(
    head.buffer,
    head.byteOffset + body,
    OPUS_HEAD_MIN_SIZE,
  );
  return {
    channels: view.getUint8(9),
    preSkip: view.getUint16(10, true),
    inputSampleRate: view.getUint32(12, true),
  };
}

/**
 * Inspects the last bytes of an Ogg file (`tail` must end at EOF) to find out
 * whether a complete page ends exactly at EOF, whether that page carries the
 * end-of-stream flag and a valid CRC, and the latest known granule position.
 *
 * The scan syncs on the first complete, CRC-valid page in `tail` and follows
 * page lengths from there, so "OggS" bytes inside audio data are not taken
 * for a page (not even a CRC-valid page image embedded in a packet, once the
 * scan is in sync). A partial page at the end (file still being written) yields
 * `endsAtPage: false` while still reporting the granule of the last complete
 * page before it. Pass at least 2 × 65307 bytes (or the whole file) so that a
 * complete page precedes any partial one.
 *
 * @example
 * ```ts
 * import { inspectTail } from "./ogg.ts";
 *
 * const bytes = await Deno.readFile("recording.ogg");
 * const { endsAtPage, eos, crcOk } = inspectTail(bytes.subarray(-131072));
 * const finished = endsAtPage && eos && crcOk;
 * ```
 */
export function inspectTail(tail: Uint8Array): TailInfo {
  const info: TailInfo = { endsAtPage: false, eos: false, crcOk: false };
  // The pages followed, in order; their CRCs are checked only where they
  // decide the answer (the last page, the latest with a granule).
  const followed: Omit<OggPage, "crcOk">[] = [];
  let previous = 0;
  let at = findValidPage(tail, 0);
  while (at >= 0 && at < tail.length) {
    if (!isPageStart(tail, at)) {
      // Garbage where a page should start: resync on the next valid page.
      at = findValidPage(tail, previous + 1);
      continue;
    }
    const page = pageHeader(tail, at);
    if (!page) break; // partial last page: still being written
    followed.push(page);
    previous = at;
    at = pageEnd(page);
    if (at === tail.length) {
      info.endsAtPage = true;
      info.eos = (page.headerType & FLAG_EOS) !== 0;
      info.crcOk = hasValidCrc(tail, page);
    }
  }
  for (let i = followed.length - 1; i >= 0; i--) {
    const page = followed[i];
    if (page.granule !== -1n && hasValidCrc(tail, page)) {
      info.granule = page.granule;
      break;
    }
  }
  return info;
}

/** An open file read at positions: the one handle a recording is read through. */
export interface RandomAccess {
  /** The file's path, for messages. */
  readonly path: string;
  /** Its size when it was opened. */
  readonly size: number;
  /** Up to `length` bytes at `position`; fewer only if the file ends first. */
  read(position: number, length: number): Promise<Uint8Array>;
  /**
   * Fill `buf` from `position`; resolves to the bytes read, fewer than
   * `buf.length` only if the file ends first.
   */
  readInto(buf: Uint8Array, position: number): Promise<number>;
}

/**
 * A head and a tail buffer for each {@link readOggInfo} under way, kept for
 * the next: a scan reads the ends of every recording.
 */
const scratch = new Spares(() => ({
  head: new Uint8Array(HEAD_BYTES),
  tail: new Uint8Array(TAIL_BYTES),
}));

/**
 * Reports whether the Ogg Opus recording open as `file` is complete and how
 * long it is, reading its first 4 KiB and last 16 KiB, or when those do not
 * settle it at most 64 KiB and 128 KiB (recordings can be gigabytes and may
 * still be growing).
 *
 * Throws {@linkcode OggFormatError}, naming the file, if it is empty or not
 * Ogg Opus; file system errors pass through.
 *
 * @example
 * ```ts
 * import { readOggInfo } from "./ogg.ts";
 * import { openSource } from "./files.ts";
 *
 * await using file = await openSource("call.ogg");
 * const { complete, durationSeconds } = await readOggInfo(file);
 * ```
 */
export async function readOggInfo(file: RandomAccess): Promise<OggInfo> {
  const { path, size } = file;
  if (size === 0) {
    throw new OggFormatError(
      `${path} is empty (0 bytes), not an Ogg Opus recording. If the ` +
        "recorder is still starting, retry later; otherwise delete the file.",
    );
  }
  const [opusHead, tailInfo] = await scratch.use((bufs) =>
    readEnds(file, bufs)
  );
  const { granule } = tailInfo;
  const info: OggInfo = {
    complete: endsFinished(tailInfo),
    preSkip: opusHead.preSkip,
    size,
  };
  if (granule !== undefined) {
    const samples = Number(granule - BigInt(opusHead.preSkip));
    info.durationSeconds = Math.max(0, samples / OPUS_RATE);
  }
  return info;
}

/** The OpusHead and the end of `file`, read into `bufs`. */
async function readEnds(
  file: RandomAccess,
  bufs: { head: Uint8Array; tail: Uint8Array },
): Promise<[OpusHead, TailInfo]> {
  const head = await readHead(file, bufs.head);
  let opusHead: OpusHead;
  try {
    opusHead = parseOpusHead(head);
  } catch (error) {
    if (!(error instanceof OggFormatError)) throw error;
    throw new OggFormatError(`${file.path}: ${error.message}`, {
      cause: error,
    });
  }
  const tail = head.length === file.size
    ? inspectTail(head)
    : await readTail(file, bufs.tail);
  return [opusHead, tail];
}

/**
 * The start of `file`, read into `buf`: {@link FIRST_HEAD_BYTES}, or
 * {@link HEAD_BYTES} when the first page does not end within them.
 */
async function readHead(
  file: RandomAccess,
  buf: Uint8Array,
): Promise<Uint8Array> {
  const first = await readAt(
    file,
    buf,
    0,
    Math.min(file.size, FIRST_HEAD_BYTES),
  );
  if (first.length === file.size || firstPageFits(first)) return first;
  return await readAt(file, buf, 0, Math.min(file.size, HEAD_BYTES));
}

/** Whether `head` holds the whole first page (when it starts with one). */
function firstPageFits(head: Uint8Array): boolean {
  return !isPageStart(head, 0) || pageHeader(head, 0) !== undefined;
}

/**
 * {@link inspectTail} of the end of `file`, read into `buf`: of the last
 * {@link FIRST_TAIL_BYTES} when they show a finished recording and its
 * duration, else of the last {@link TAIL_BYTES}. (Both follow the same pages
 * to the end once in step, so a settled answer is the one the longer read
 * gives; a recording still growing, or a damaged end, is read in full.)
 */
async function readTail(
  file: RandomAccess,
  buf: Uint8Array,
): Promise<TailInfo> {
  const end = (length: number) => readAt(file, buf, file.size - length, length);
  const first = Math.min(file.size, FIRST_TAIL_BYTES);
  const quick = inspectTail(await end(first));
  const settled = endsFinished(quick) && quick.granule !== undefined;
  if (settled || first === file.size) return quick;
  return inspectTail(await end(Math.min(file.size, TAIL_BYTES)));
}

/** The tail ends in a complete, CRC-valid end-of-stream page. */
function endsFinished({ endsAtPage, eos, crcOk }: TailInfo): boolean {
  return endsAtPage && eos && crcOk;
}

/** `length` bytes of `file` at `position`, read into the start of `buf`. */
async function readAt(
  file: RandomAccess,
  buf: Uint8Array,
  position: number,
  length: number,
): Promise<Uint8Array> {
  const part = buf.subarray(0, length);
  return part.subarray(0, await file.readInto(part, position));
}
