/**
 * A `multipart/form-data` body with one file field, streamed from disk with
 * its exact length known up front (so it can be sent with Content-Length).
 *
 * @module
 */
import type { StreamBody } from "./http.ts";
import { FileChangedError } from "../source/files.ts";

const encoder = new TextEncoder();
/** Read size: large enough that a 2 GiB upload is ~2,000 reads and writes. */
const CHUNK = 1024 * 1024;

/** A streamed multipart body and its content type (with boundary). */
export interface MultipartBody extends StreamBody {
  contentType: string;
}

/**
 * Build a multipart body holding `path` (exactly `size` bytes of it) as field
 * `field` with file name `fileName`. The file is read chunk by chunk when the
 * body is sent, never held in memory.
 */
export function fileMultipart(
  field: string,
  fileName: string,
  path: string,
  size: number,
  mediaType = "application/octet-stream",
): MultipartBody {
  const boundary = `----callsync${crypto.randomUUID().replaceAll("-", "")}`;
  const head = encoder.encode(
    `--${boundary}\r\n` +
      `Content-Disposition: form-data; name="${escapeName(field)}"; filename="${
        escapeName(fileName)
      }"\r\n` +
      `Content-Type: ${mediaType}\r\n\r\n`,
  );
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: head.length + size + tail.length,
    async *chunks() {
      yield head;
      yield* readExactly(path, size);
      yield tail;
    },
  };
}

/** Per the HTML form encoding: quote, CR and LF are percent-escaped. */
function escapeName(name: string): string {
  return name.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/**
 * Chunks in flight at once: the one being sent, the next one being read,
 * and one spare (see {@link StreamBody}: a chunk's memory is reused once
 * two later chunks have been asked for).
 */
const RING = 3;

async function* readExactly(
  path: string,
  size: number,
): AsyncGenerator<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  // A few buffers, reused: a 2 GiB upload allocates 3 MiB, not 2 GiB of
  // short-lived chunks for the garbage collector to catch up with.
  const ring: Uint8Array[] = [];
  let left = size;
  for (let k = 0; left > 0; k = (k + 1) % RING) {
    const buf = ring[k] ??= new Uint8Array(Math.min(CHUNK, size));
    const n = await file.read(buf.subarray(0, Math.min(buf.length, left)));
    if (n === null) {
      throw new FileChangedError(
        `${path} shrank while being uploaded (expected ${size} bytes)`,
      );
    }
    left -= n;
    yield buf.subarray(0, n);
  }
}
