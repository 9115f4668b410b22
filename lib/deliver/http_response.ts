/**
 * Reading an HTTP/1.1 response off a connection: the head (after any 1xx
 * interim answers), then the body by `Content-Length`, chunked coding or
 * until the connection closes, keeping at most a given number of bytes.
 *
 * @module
 */
import { concatBytes } from "../core/bytes.ts";

/** The connection failed or was reset before a full response arrived. */
export class HttpNetworkError extends Error {
  override name = "HttpNetworkError";
}

/** What came back. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Largest response head (status line and headers) accepted. */
const MAX_HEAD_BYTES = 64 * 1024;
const READ_CHUNK = 64 * 1024;

/** Buffered reads of a response. */
class Reader {
  #conn: Deno.Conn;
  #onProgress: () => void;
  #buf = new Uint8Array(READ_CHUNK);
  #start = 0;
  #end = 0;

  constructor(conn: Deno.Conn, onProgress: () => void) {
    this.#conn = conn;
    this.#onProgress = onProgress;
  }

  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Read more bytes into the buffer; false at end of stream. */
  async fill(): Promise<boolean> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      const size = this.buffered > this.#buf.length / 2
        ? this.#buf.length * 2
        : this.#buf.length;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buf = next;
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    this.#onProgress();
    return true;
  }

  /** Index (from the read position) of `\r\n\r\n`, or -1. */
  indexOfHeadEnd(): number {
    for (let i = this.#start; i + 3 < this.#end; i++) {
      if (
        this.#buf[i] === 13 && this.#buf[i + 1] === 10 &&
        this.#buf[i + 2] === 13 && this.#buf[i + 3] === 10
      ) return i - this.#start;
    }
    return -1;
  }

  /** Index (from the read position) of `\r\n`, or -1. */
  indexOfLineEnd(): number {
    for (let i = this.#start; i + 1 < this.#end; i++) {
      if (this.#buf[i] === 13 && this.#buf[i + 1] === 10) {
        return i - this.#start;
      }
    }
    return -1;
  }

  /** Take `n` buffered bytes (a copy). */
  take(n: number): Uint8Array {
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  skip(n: number): void {
    this.#start += n;
  }
}

const decoder = new TextDecoder();

/**
 * Read one response (after any 1xx interim ones): its head, then its body
 * by `Content-Length`, chunked coding or until the connection closes,
 * keeping at most `maxBytes` of the body and reading no further.
 */
export async function readResponse(
  conn: Deno.Conn,
  maxBytes: number,
  onProgress: () => void,
): Promise<HttpResponse> {
  const r = new Reader(conn, onProgress);
  while (true) {
    let end: number;
    while ((end = r.indexOfHeadEnd()) < 0) {
      if (r.buffered > MAX_HEAD_BYTES) {
        throw new HttpNetworkError("response head too large");
      }
      if (!(await r.fill())) {
        throw new HttpNetworkError(
          "socket hang up: the connection closed before a response",
        );
      }
    }
    const head = decoder.decode(r.take(end));
    r.skip(4);
    const { status, headers } = parseHead(head);
    if (status >= 100 && status < 200 && status !== 101) continue;
    const body = status === 204 || status === 304
      ? new Uint8Array(0)
      : await readBody(r, headers, maxBytes);
    return { status, headers, body: decoder.decode(body) };
  }
}

function parseHead(head: string): {
  status: number;
  headers: Record<string, string>;
} {
  const lines = head.split("\r\n");
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})(?: |$)/.exec(lines[0]);
  if (!m) {
    throw new HttpNetworkError(
      `not an HTTP response: ${JSON.stringify(lines[0].slice(0, 80))}`,
    );
  }
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(m[1]), headers };
}

async function readBody(
  r: Reader,
  headers: Record<string, string>,
  maxBytes: number,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let kept = 0;
  const keep = (n: number) => {
    const take = Math.min(n, maxBytes - kept);
    if (take > 0) parts.push(r.take(take));
    r.skip(n - Math.max(take, 0));
    kept += Math.max(take, 0);
  };
  const closedEarly = () =>
    new HttpNetworkError("response aborted: the connection closed mid-body");
  if (/\bchunked\b/i.test(headers["transfer-encoding"] ?? "")) {
    while (kept < maxBytes) {
      let eol: number;
      while ((eol = r.indexOfLineEnd()) < 0) {
        if (r.buffered > MAX_HEAD_BYTES) {
          throw new HttpNetworkError("bad chunk size line");
        }
        if (!(await r.fill())) throw closedEarly();
      }
      const line = decoder.decode(r.take(eol));
      r.skip(2);
      const size = parseInt(line.split(";")[0].trim(), 16);
      if (!Number.isFinite(size) || size < 0) {
        throw new HttpNetworkError(`bad chunk size ${JSON.stringify(line)}`);
      }
      if (size === 0) break; // trailers are not needed
      for (let left = size; left > 0 && kept < maxBytes;) {
        if (r.buffered === 0 && !(await r.fill())) throw closedEarly();
        const n = Math.min(left, r.buffered);
        keep(n);
        left -= n;
        if (left === 0) {
          while (r.buffered < 2) if (!(await r.fill())) throw closedEarly();
          r.skip(2);
        }
      }
    }
    return concatBytes(parts);
  }
  const declared = headers["content-length"];
  if (declared !== undefined) {
    const length = Number(declared);
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new HttpNetworkError(`bad Content-Length ${declared}`);
    }
    for (let left = length; left > 0 && kept < maxBytes;) {
      if (r.buffered === 0 && !(await r.fill())) throw closedEarly();
      const n = Math.min(left, r.buffered);
      keep(n);
      left -= n;
    }
    return concatBytes(parts);
  }
  // Neither: the body runs until the server closes the connection.
  while (kept < maxBytes) {
    if (r.buffered === 0 && !(await r.fill())) break;
    keep(r.buffered);
  }
  return concatBytes(parts);
}
