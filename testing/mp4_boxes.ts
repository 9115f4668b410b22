/**
 * Hand-built MP4 boxes for the cases an off-the-shelf muxer does not write:
 * 64-bit sizes, version-1 headers, a box that runs to the end of the file.
 *
 * @module
 */
import { concatBytes } from "../lib/core/bytes.ts";

/** A box: 32-bit size (or 64-bit with `large`, or 0 with `toEnd`), type, payload. */
export function box(
  type: string,
  payload: Uint8Array,
  opts: { large?: boolean; toEnd?: boolean } = {},
): Uint8Array {
  const head = new Uint8Array(opts.large ? 16 : 8);
  const view = new DataView(head.buffer);
  const size = head.length + payload.length;
  if (opts.large) {
    view.setUint32(0, 1);
    view.setBigUint64(8, BigInt(size));
  } else {
    view.setUint32(0, opts.toEnd ? 0 : size);
  }
  head.set(new TextEncoder().encode(type), 4);
  return concatBytes([head, payload]);
}

/** An `mvhd` or `mdhd` body with `timescale` and `duration` (version 0 or 1). */
export function timingBody(
  version: 0 | 1,
  timescale: number,
  duration: number,
): Uint8Array {
  const body = new Uint8Array(version ? 32 : 20);
  const view = new DataView(body.buffer);
  body[0] = version;
  view.setUint32(version ? 20 : 12, timescale);
  if (version) view.setBigUint64(24, BigInt(duration));
  else view.setUint32(16, duration);
  return body;
}

/** A `trak` with a media header and a handler (`soun`, `vide`). */
export function trak(
  handler: string,
  timescale: number,
  duration: number,
  version: 0 | 1 = 0,
): Uint8Array {
  const hdlr = new Uint8Array(24);
  hdlr.set(new TextEncoder().encode(handler), 8);
  return box(
    "trak",
    box(
      "mdia",
      concatBytes([
        box("mdhd", timingBody(version, timescale, duration)),
        box("hdlr", hdlr),
      ]),
    ),
  );
}
