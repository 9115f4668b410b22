/**
 * Synthetic Ogg Opus streams for tests and benchmarks: valid page structure,
 * CRCs, granule positions and OpusHead/OpusTags headers, with dummy 20 ms
 * packets instead of real audio.
 *
 * @example A finished 30-second recording in memory
 * ```ts
 * import { makeOpusOgg } from "./ogg_writer.ts";
 *
 * const bytes = makeOpusOgg({ durationSeconds: 30 });
 * ```
 *
 * @module
 */

import { concatBytes } from "../lib/core/bytes.ts";
import { oggCrc32 } from "../lib/source/ogg.ts";

/** Shape of the synthetic stream. */
export interface OpusOggOptions {
  /** Playback length in seconds (≥ 0); rounded to whole 48 kHz samples. */
  durationSeconds: number;
  /** Set the end-of-stream flag on the last page (default true). */
  eos?: boolean;
  /** OpusHead pre-skip in 48 kHz samples, 0–65535 (default 312, as opusenc). */
  preSkip?: number;
  /**
   * Approximate audio bytes per second (default 1000, i.e. 8 kbps). Above
   * ~63750 packets exceed 1275 bytes: structurally valid Ogg, not decodable Opus.
   */
  bytesPerSecond?: number;
  /** Logical stream serial number (default 0x43534e43). */
  serial?: number;
  /** Bytes repeated to fill each packet after its TOC byte (default zeros). */
  packetFill?: Uint8Array;
}

/** Header fields of a page built by {@linkcode oggPage}. */
export interface OggPageFields {
  /** Flags: 0x01 continued packet, 0x02 begin of stream, 0x04 end of stream. */
  headerType: number;
  /** Granule position; -1n for a page on which no packet ends. */
  granule: bigint;
  /** Logical stream serial number. */
  serial: number;
  /** Page sequence number. */
  sequence: number;
}

const SAMPLE_RATE = 48000;
const PACKET_SAMPLES = 960; // 20 ms at 48 kHz
const PACKETS_PER_SECOND = SAMPLE_RATE / PACKET_SAMPLES;
/** TOC byte: config 31 (CELT-only fullband, 20 ms), mono, one frame. */
const TOC_CELT_FB_20MS = 0xf8;
const MAX_PACKETS_PER_PAGE = 50; // one second, like LiveKit Egress pages
const WRITE_CHUNK_BYTES = 1 << 20;

/**
 * Builds one Ogg page holding whole `packets` (each packet ends on this page),
 * with lacing values and CRC filled in.
 *
 * @example
 * ```ts
 * import { oggPage } from "./ogg_writer.ts";
 *
 * const page = oggPage(
 *   { headerType: 0x04, granule: 960n, serial: 1, sequence: 2 },
 *   [new Uint8Array([0xf8, 0, 0])],
 * );
 * ```
 */
export function oggPage(
  fields: OggPageFields,
  packets: Uint8Array[],
): Uint8Array {
  const lacing: number[] = [];
  for (const packet of packets) {
    for (let left = packet.length;; left -= 255) {
      lacing.push(Math.min(left, 255));
      if (left < 255) break;
    }
  }
  if (lacing.length > 255) {
    throw new RangeError(
      `Packets need ${lacing.length} lacing values; an Ogg page holds at most 255. Split them over more pages.`,
    );
  }
  const bodySize = packets.reduce((sum, packet) => sum + packet.length, 0);
  const page = new Uint8Array(27 + lacing.length + bodySize);
  const view = new DataView(page.buffer);
  page.set([0x4f, 0x67, 0x67, 0x53]); // "OggS", version 0
  page[5] = fields.headerType;
  view.setBigInt64(6, fields.granule, true);
  view.setUint32(14, fields.serial, true);
  view.setUint32(18, fields.sequence, true);
  page[26] = lacing.length;
  page.set(lacing, 27);
  let at = 27 + lacing.length;
  for (const packet of packets) {
    page.set(packet, at);
    at += packet.length;
  }
  view.setUint32(22, oggCrc32(page), true);
  return page;
}

function opusHeadPacket(preSkip: number): Uint8Array {
  const packet = new Uint8Array(19);
  const view = new DataView(packet.buffer);
  packet.set(new TextEncoder().encode("OpusHead"));
  packet[8] = 1; // version
  packet[9] = 1; // channels
  view.setUint16(10, preSkip, true);
  view.setUint32(12, SAMPLE_RATE, true);
  return packet; // output gain 0, channel mapping family 0
}

function opusTagsPacket(): Uint8Array {
  const vendor = new TextEncoder().encode("callsync ogg_writer");
  const packet = new Uint8Array(8 + 4 + vendor.length + 4);
  packet.set(new TextEncoder().encode("OpusTags"));
  new DataView(packet.buffer).setUint32(8, vendor.length, true);
  packet.set(vendor, 12);
  return packet; // zero user comments
}

function audioPacket(size: number, fill: Uint8Array): Uint8Array {
  const packet = new Uint8Array(size);
  packet[0] = TOC_CELT_FB_20MS;
  if (fill.length > 0) {
    for (let at = 1; at < size; at += fill.length) {
      packet.set(fill.subarray(0, size - at), at);
    }
  }
  return packet;
}

/** Yields every page of the stream described by `opts`, in order. */
function* opusOggPages(opts: OpusOggOptions): Generator<Uint8Array> {
  const {
    durationSeconds,
    eos = true,
    preSkip = 312,
    bytesPerSecond = 1000,
    serial = 0x43534e43,
    packetFill = new Uint8Array(0),
  } = opts;
  if (!(durationSeconds >= 0 && Number.isFinite(durationSeconds))) {
    throw new RangeError(
      `durationSeconds must be a finite number ≥ 0, got ${durationSeconds}`,
    );
  }
  if (!Number.isInteger(preSkip) || preSkip < 0 || preSkip > 0xffff) {
    throw new RangeError(`preSkip must be an integer 0–65535, got ${preSkip}`);
  }
  if (!(bytesPerSecond > 0)) {
    throw new RangeError(`bytesPerSecond must be > 0, got ${bytesPerSecond}`);
  }
  const packet = audioPacket(
    Math.max(2, Math.round(bytesPerSecond / PACKETS_PER_SECOND)),
    packetFill,
  );
  const lacingPerPacket = Math.floor(packet.length / 255) + 1;
  const packetsPerPage = Math.min(
    MAX_PACKETS_PER_PAGE,
    Math.floor(255 / lacingPerPacket),
  );
  let sequence = 0;
  const page = (headerType: number, granule: bigint, packets: Uint8Array[]) =>
    oggPage({ headerType, granule, serial, sequence: sequence++ }, packets);

  yield page(0x02, 0n, [opusHeadPacket(preSkip)]);
  yield page(0x00, 0n, [opusTagsPacket()]);
  const endGranule = preSkip + Math.round(durationSeconds * SAMPLE_RATE);
  const totalPackets = Math.max(1, Math.ceil(endGranule / PACKET_SAMPLES));
  for (let done = 0; done < totalPackets;) {
    const count = Math.min(packetsPerPage, totalPackets - done);
    done += count;
    const last = done === totalPackets;
    yield page(
      last && eos ? 0x04 : 0x00,
      BigInt(last ? endGranule : done * PACKET_SAMPLES),
      Array(count).fill(packet),
    );
  }
}

/**
 * Builds a valid Ogg Opus file in memory: an OpusHead page (begin of stream),
 * an OpusTags page, then pages of 20 ms dummy packets with correct granule
 * positions and CRCs; the last page has the end-of-stream flag unless
 * `eos: false`. The size is roughly `bytesPerSecond × durationSeconds`.
 *
 * @example A recording still being written
 * ```ts
 * import { makeOpusOgg } from "./ogg_writer.ts";
 *
 * const unfinished = makeOpusOgg({ durationSeconds: 12.5, eos: false });
 * ```
 */
export function makeOpusOgg(opts: OpusOggOptions): Uint8Array {
  const pages = [...opusOggPages(opts)];
  return concatBytes(pages);
}

/**
 * Writes the same stream as {@linkcode makeOpusOgg} to `path` in 1 MiB chunks,
 * in constant memory, so benchmarks can build multi-gigabyte recordings.
 * Creates or truncates the file; returns the number of bytes written.
 *
 * @example
 * ```ts
 * import { writeOpusOggFile } from "./ogg_writer.ts";
 *
 * const bytes = await writeOpusOggFile("/tmp/big.ogg", {
 *   durationSeconds: 3600,
 *   bytesPerSecond: 600_000,
 * });
 * ```
 */
export async function writeOpusOggFile(
  path: string,
  opts: OpusOggOptions,
): Promise<number> {
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  let pending: Uint8Array[] = [];
  let pendingSize = 0;
  let written = 0;
  const flush = async () => {
    const chunk = concatBytes(pending);
    for (let at = 0; at < chunk.length;) {
      at += await file.write(chunk.subarray(at));
    }
    written += chunk.length;
    pending = [];
    pendingSize = 0;
  };
  for (const page of opusOggPages(opts)) {
    pending.push(page);
    pendingSize += page.length;
    if (pendingSize >= WRITE_CHUNK_BYTES) await flush();
  }
  await flush();
  return written;
}
