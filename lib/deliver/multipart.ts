/**
 * A `multipart/form-data` body holding one file, read from the file's open
 * handle (never reopened by its path) only while fetch sends it: any size
 * goes out with a `Content-Length` and memory stays flat.
 *
 * It is a `Blob` whose `size` and `stream()` are its own. Deno's fetch takes
 * a Blob body's length from `size` and its bytes from `stream()`, so the file
 * is streamed with a known length (a plain `ReadableStream` body would go out
 * chunked). The transport checks after every answer that the whole body was
 * handed over, so a fetch that read the Blob any other way fails loudly
 * instead of sending an empty file.
 *
 * @module
 */
import { FileChangedError, type SourceFile } from "../source/files.ts";
import type { WatchedBody } from "./transport.ts";

const encoder = new TextEncoder();
/**
 * Read sizes. Each chunk is a fresh buffer (fetch keeps it until it is
 * written). A recording of up to 1 MiB (most calls) goes in one chunk: split
 * in two, a 200 KB upload over TLS on loopback ran at 60 % of the calls per
 * second. Past that, 256 KiB chunks: fresh 1 MiB buffers cost page faults
 * each time, and 256 KiB ones measured 1.4× the throughput with 15 MB less
 * peak memory (BENCHMARKS.md, section 4).
 *
 * The part head rides in the first chunk and the closing boundary in the
 * last, never on their own: fetch writes each chunk as it comes and does not
 * set `TCP_NODELAY`, so a small write after the file would wait, under
 * Nagle's algorithm, for the server to acknowledge what went before (a round
 * trip, or a delayed ACK of 40 ms on loopback: BENCHMARKS.md, section 11).
 */
const FIRST_CHUNK = 1024 * 1024;
const CHUNK = 256 * 1024;

/** What to put in the body. */
export interface MultipartFileOptions {
  /** Form field name, e.g. `file`. */
  field: string;
  /** File name sent in the part's `Content-Disposition`. */
  fileName: string;
  /** The open file: its `size` bytes from its start are sent. */
  file: BodySource;
  /** The part's `Content-Type`, e.g. `audio/ogg`. */
  mediaType: string;
}

/** What a body reads its file from: an open source file. */
export type BodySource = Pick<SourceFile, "path" | "size" | "readInto">;

/**
 * One file as a multipart body, for `fetch`'s `body`. Its `type` is the
 * request's `Content-Type` (with the boundary). Only `stream()` yields
 * bytes; it reads exactly the file's `size` bytes from its start (each
 * stream, a retry's too, reads them again through the same handle), failing
 * with {@link FileChangedError} if the file is shorter.
 *
 * @example
 * ```ts
 * await using file = await openSource("/rec/a.ogg");
 * const body = new MultipartFile({
 *   field: "file", fileName: "a.ogg", file, mediaType: "audio/ogg",
 * });
 * await fetch(url, { method: "POST", body });
 * ```
 */
export class MultipartFile extends Blob implements WatchedBody {
  onChunk?: () => void;
  #opts: MultipartFileOptions;
  #head: Uint8Array<ArrayBuffer>;
  #tail: Uint8Array<ArrayBuffer>;
  #handedOver = 0;
  #failure?: Error;
  #closed: Promise<void> = Promise.resolve();

  constructor(opts: MultipartFileOptions) {
    const boundary = `----callsync${crypto.randomUUID().replaceAll("-", "")}`;
    super([], { type: `multipart/form-data; boundary=${boundary}` });
    this.#opts = opts;
    this.#head = encoder.encode(
      `--${boundary}\r\n` +
        `Content-Disposition: form-data; name="${
          escapeName(opts.field)
        }"; filename="${escapeName(opts.fileName)}"\r\n` +
        `Content-Type: ${opts.mediaType}\r\n\r\n`,
    );
    this.#tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  }

  /** The whole body's length: part head, file, closing boundary. */
  override get size(): number {
    return this.#head.length + this.#opts.file.size + this.#tail.length;
  }

  /** Every byte has been handed to fetch. */
  get complete(): boolean {
    return this.#handedOver === this.size;
  }

  /** Why the file could not be sent, if it could not. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Resolves once the file is no longer read (at once before the first read). */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** The body's bytes, read from the open file as fetch asks for them. */
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const chunks = this.#chunks();
    return new ReadableStream({
      pull: async (controller) => {
        try {
          const next = await chunks.next();
          if (next.done) return controller.close();
          this.#handedOver += next.value.length;
          controller.enqueue(next.value);
          this.onChunk?.();
        } catch (e) {
          this.#failure = e instanceof Error ? e : new Error(String(e));
          controller.error(this.#failure);
        }
      },
      cancel: async () => {
        await chunks.return(undefined);
      },
    });
  }

  /**
   * The file in chunks (see {@link CHUNK}; the last takes up what would
   * be left short), the part head in front of the first, the closing
   * boundary behind the last.
   */
  async *#chunks(): AsyncGenerator<Uint8Array<ArrayBuffer>> {
    const { path, size } = this.#opts.file;
    let done!: () => void;
    this.#closed = new Promise((r) => done = r);
    try {
      let at = 0;
      do {
        let n = Math.min(at === 0 ? FIRST_CHUNK : CHUNK, size - at);
        if (size - at - n < CHUNK) n = size - at; // no short chunk at the end
        const head = at === 0 ? this.#head : EMPTY;
        const tail = at + n === size ? this.#tail : EMPTY;
        const chunk = new Uint8Array(head.length + n + tail.length);
        chunk.set(head);
        const bytes = chunk.subarray(head.length, head.length + n);
        if (await this.#opts.file.readInto(bytes, at) < n) {
          throw new FileChangedError(
            `${path} shrank while being uploaded (expected ${size} bytes)`,
          );
        }
        chunk.set(tail, head.length + n);
        at += n;
        if (at === size) done(); // read to its end: the file may be closed
        yield chunk;
      } while (at < size);
    } finally {
      done();
    }
  }
}

const EMPTY = new Uint8Array(0);

/** Per the HTML form encoding: quote, CR and LF are percent-escaped. */
function escapeName(name: string): string {
  return name.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
