/**
 * A small HTTP/1.1 client on Deno's own TCP/TLS connections (`Deno.connect`,
 * `Deno.connectTls`): one connection per request (`Connection: close`),
 * a streamed body sent with a precomputed `Content-Length` (fetch streams
 * chunked), a request abandoned when it makes no progress for a while (an
 * idle timeout, so a 2 GiB upload is not cut off by a total-time limit), and
 * a cap on how much of a hostile response it reads.
 *
 * It replaced a `node:http` client (with `agent: false`) that did the same
 * job at about half the requests per second and CPU cost: Node's stream
 * machinery sits between every chunk and the socket. Here the request head
 * and body go straight to the socket, with the next body chunk read from
 * disk while the current one is written, and the response is read beside
 * the upload, so an early answer (a 413 or 401 before the body is through)
 * ends the request at once.
 *
 * @module
 */
import { concatBytes } from "../core/bytes.ts";
import {
  HttpNetworkError,
  type HttpResponse,
  readResponse,
} from "./http_response.ts";
import { errorMessage } from "../core/errors.ts";

export { HttpNetworkError, type HttpResponse };

/** The request made no progress for the idle timeout. */
export class HttpTimeoutError extends Error {
  override name = "HttpTimeoutError";
}

/**
 * A request body streamed from a source of known length. A source may reuse
 * a chunk's memory once two later chunks have been asked for, so a consumer
 * sends (or copies) each chunk before asking for the one after next;
 * {@link httpRequest} holds at most two: one being sent, the next being read.
 */
export interface StreamBody {
  length: number;
  chunks: () => AsyncIterable<Uint8Array>;
}

/** What to send. */
export interface HttpRequest {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: Uint8Array | StreamBody;
  /** Abandon the request after this long without progress either way. */
  idleTimeoutMs: number;
  /** Read at most this much of the response body (default 1 MiB). */
  maxResponseBytes?: number;
}

/** Longest wait, once a request is over, for its body's source to close. */
const SOURCE_CLOSE_MS = 1000;
const encoder = new TextEncoder();

/**
 * Send one request. Rejects with {@link HttpTimeoutError} or
 * {@link HttpNetworkError}, or with the error a streamed body's source threw
 * (a file that changed while being read); any HTTP status resolves.
 *
 * @example
 * ```ts
 * const res = await httpRequest({
 *   url: "http://127.0.0.1:8080/call-data",
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: new TextEncoder().encode("{}"),
 *   idleTimeoutMs: 30_000,
 * });
 * ```
 */
export function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  let url: URL;
  let head: Uint8Array;
  try {
    url = new URL(req.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`unsupported protocol ${url.protocol} in ${req.url}`);
    }
    head = requestHead(req, url);
  } catch (e) {
    return Promise.reject(e);
  }
  return new Exchange(req, url, head).done;
}

/** Status line and headers of a request, as bytes. */
function requestHead(req: HttpRequest, url: URL): Uint8Array {
  const length = req.body instanceof Uint8Array
    ? req.body.length
    : req.body?.length ?? 0;
  let text = `${req.method} ${url.pathname}${url.search} HTTP/1.1\r\n`;
  let host = false;
  for (const [name, value] of Object.entries(req.headers)) {
    const lower = name.toLowerCase();
    if (lower === "content-length" || lower === "connection") continue;
    if (
      !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) || /[\r\n\0]/.test(value)
    ) {
      throw new TypeError(`Invalid character in header "${name}"`);
    }
    if (lower === "host") host = true;
    text += `${name}: ${value}\r\n`;
  }
  if (!host) text += `host: ${url.host}\r\n`;
  text += `content-length: ${length}\r\nconnection: close\r\n\r\n`;
  return encoder.encode(text);
}

/** A write to the socket failed (as opposed to the body's source failing). */
class TransportError extends Error {}

/** One request on its own connection. */
class Exchange {
  readonly done: Promise<HttpResponse>;
  #req: HttpRequest;
  #url: URL;
  #conn?: Deno.Conn;
  #timer?: ReturnType<typeof setTimeout>;
  #settled = false;
  #resolve!: (r: HttpResponse) => void;
  #reject!: (e: unknown) => void;
  /** A socket write failed; the response (if any) decides the outcome. */
  #writeFailed?: Error;
  /** The sender, once started; settles after closing the body's source. */
  #sending?: Promise<void>;

  constructor(req: HttpRequest, url: URL, head: Uint8Array) {
    this.#req = req;
    this.#url = url;
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#progress();
    this.#start(head);
  }

  async #start(head: Uint8Array): Promise<void> {
    let conn: Deno.Conn;
    try {
      conn = await connect(this.#url);
    } catch (e) {
      this.#finish(new HttpNetworkError(errorMessage(e)));
      return;
    }
    if (this.#settled) {
      closeQuietly(conn);
      return;
    }
    this.#conn = conn;
    this.#progress();
    readResponse(
      conn,
      this.#req.maxResponseBytes ?? 1 << 20,
      () => this.#progress(),
    ).then(
      (res) => this.#finish(undefined, res),
      (e) =>
        this.#finish(
          new HttpNetworkError(
            this.#writeFailed
              ? errorMessage(this.#writeFailed)
              : errorMessage(e),
          ),
        ),
    );
    this.#sending = this.#send(conn, head).catch((e) => {
      if (this.#settled) return;
      if (e instanceof TransportError) {
        // The peer stopped reading or reset: it may still have answered
        // (a 413 before closing), so the response reader decides.
        this.#writeFailed = e;
      } else {
        this.#finish(e); // the body's source failed (a file that shrank)
      }
    });
  }

  /** Write the head and the body, reading the next chunk while writing. */
  async #send(conn: Deno.Conn, head: Uint8Array): Promise<void> {
    const body = this.#req.body;
    if (body === undefined || body instanceof Uint8Array) {
      await this.#write(conn, body ? concatBytes([head, body]) : head);
      return;
    }
    await this.#write(conn, head);
    const it = body.chunks()[Symbol.asyncIterator]();
    try {
      let next = it.next();
      while (!this.#settled) {
        const r = await next;
        if (r.done) return;
        next = it.next();
        next.catch(() => {}); // surfaces at the next await, if still wanted
        await this.#write(conn, r.value);
      }
    } finally {
      // Close the source (its file) when the request ends early.
      await it.return?.().catch(() => {});
    }
  }

  async #write(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
    try {
      for (let at = 0; at < bytes.length && !this.#settled;) {
        at += await conn.write(bytes.subarray(at));
        this.#progress();
      }
    } catch (e) {
      throw new TransportError(errorMessage(e));
    }
  }

  /** (Re)start the idle timer: called on every bit of progress. */
  #progress(): void {
    if (this.#settled) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () =>
        this.#finish(
          new HttpTimeoutError(
            `no progress for ${
              this.#req.idleTimeoutMs / 1000
            } s from ${this.#url.host}`,
          ),
        ),
      this.#req.idleTimeoutMs,
    );
  }

  #finish(error: unknown, res?: HttpResponse): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    if (this.#conn) closeQuietly(this.#conn);
    const settle = () => res ? this.#resolve(res) : this.#reject(error);
    if (!this.#sending) {
      settle();
      return;
    }
    // Let the sender close its source (the file being read) first, so
    // nothing of this request outlives it; but not for long, should the
    // source itself hang.
    let timer: ReturnType<typeof setTimeout> | undefined;
    Promise.race([
      this.#sending,
      new Promise((r) => timer = setTimeout(r, SOURCE_CLOSE_MS)),
    ]).then(() => {
      clearTimeout(timer);
      settle();
    });
  }
}

async function connect(url: URL): Promise<Deno.Conn> {
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const tls = url.protocol === "https:";
  const port = Number(url.port) || (tls ? 443 : 80);
  if (tls) return await Deno.connectTls({ hostname, port });
  const conn = await Deno.connect({ hostname, port });
  // The head and a small body go out at once; no waiting on Nagle.
  conn.setNoDelay(true);
  return conn;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
