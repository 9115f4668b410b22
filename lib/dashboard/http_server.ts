/**
 * The dashboard's HTTP/1.1 server, on `Deno.listen`, built to stay up under
 * abuse: a client must send its request head within a deadline and finish
 * the exchange within another; connections are capped in all and per client
 * address; when full, or out of file descriptors ("too many open files"),
 * the oldest connection still silent is dropped to make room, and the accept
 * loop carries on instead of ending the process. One request per connection
 * (`Connection: close`), its body only by `Content-Length` and capped.
 *
 * `Deno.serve` offers none of this: 2,000 idle connections ended the
 * process with "Too many open files", and a client sending one header byte
 * a second was never cut off.
 *
 * @example
 * ```ts
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const server = serveHttp(listener, {}, () => new Response("hello"));
 * await server.close();
 * ```
 *
 * @module
 */

/** How much a client may ask of the server. */
export interface HttpLimits {
  /** A request head must arrive whole within this long of the connection. */
  headerTimeoutMs: number;
  /** The whole exchange (head, body, answer) must end within this long. */
  exchangeTimeoutMs: number;
  /** Connections open at once. */
  maxConnections: number;
  /** Connections open at once from one client address. */
  maxPerClient: number;
  /** Largest request head (request line and headers). */
  maxHeadBytes: number;
  /** Largest request body. */
  maxBodyBytes: number;
}

/** The dashboard's limits. */
export const DEFAULT_LIMITS: HttpLimits = {
  headerTimeoutMs: 10_000,
  exchangeTimeoutMs: 60_000,
  maxConnections: 128,
  maxPerClient: 16,
  maxHeadBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024,
};

/** Options of {@link serveHttp}. */
export interface HttpServerOptions {
  limits?: Partial<HttpLimits>;
  /** The answer to a request refused before the handler sees it. */
  refusal?: (status: number, message: string) => Response;
  /** Told about trouble the server survives (at most once a minute each). */
  warn?: (message: string) => void;
}

/** What a running server has done, for tests and logs. */
export interface HttpServerStats {
  /** Connections accepted. */
  accepted: number;
  /** Connections refused at once: over the per-client cap, or full. */
  refused: number;
  /** Silent connections dropped to make room (full, or out of descriptors). */
  evicted: number;
  /** Connections closed for not sending a request head in time. */
  headerTimeouts: number;
  /** Failed accepts (out of file descriptors) survived. */
  acceptErrors: number;
  /** Connections open now. */
  open: number;
}

/** A running server. */
export interface HttpServer {
  readonly addr: Deno.NetAddr;
  readonly stats: HttpServerStats;
  /** Resolves once the server has stopped and every exchange has ended. */
  readonly finished: Promise<void>;
  /** Stop accepting, let exchanges in progress end, resolve when done. */
  close(): Promise<void>;
}

/** A request the server answers itself (malformed, too large). */
class Refusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEAD_END = encoder.encode("\r\n\r\n");
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** One open connection. */
interface Conn {
  conn: Deno.Conn;
  client: string;
  /** Still waiting for its request head (may be dropped to make room). */
  silent: boolean;
}

/** Answer each request `listener` accepts with `handler`. */
export function serveHttp(
  listener: Deno.Listener,
  opts: HttpServerOptions,
  handler: (req: Request) => Response | Promise<Response>,
): HttpServer {
  return new Server(listener, opts, handler);
}

class Server implements HttpServer {
  readonly addr: Deno.NetAddr;
  readonly stats: HttpServerStats = {
    accepted: 0,
    refused: 0,
    evicted: 0,
    headerTimeouts: 0,
    acceptErrors: 0,
    open: 0,
  };
  readonly finished: Promise<void>;
  #listener: Deno.Listener;
  #limits: HttpLimits;
  #opts: HttpServerOptions;
  #handler: (req: Request) => Response | Promise<Response>;
  /** Open connections, oldest first. */
  #open = new Set<Conn>();
  #perClient = new Map<string, number>();
  #exchanges = new Set<Promise<void>>();
  #closed = false;
  #warned = new Map<string, number>();

  constructor(
    listener: Deno.Listener,
    opts: HttpServerOptions,
    handler: (req: Request) => Response | Promise<Response>,
  ) {
    this.#listener = listener;
    this.addr = listener.addr as Deno.NetAddr;
    this.#opts = opts;
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#handler = handler;
    this.finished = this.#acceptLoop();
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#listener.close();
      } catch {
        // already closed
      }
    }
    await this.finished;
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) break;
        await this.#survive(e);
        continue;
      }
      this.stats.accepted++;
      this.#admit(conn);
    }
    await Promise.allSettled([...this.#exchanges]);
  }

  /**
   * A failed accept, usually "too many open files": free a descriptor held
   * by a silent connection, else wait for one to be freed.
   */
  async #survive(e: unknown): Promise<void> {
    this.stats.acceptErrors++;
    this.#warn(
      "accept",
      `Dashboard: cannot accept a connection (${
        e instanceof Error ? e.message : String(e)
      }); dropping idle connections and carrying on`,
    );
    if (!this.#evictSilent()) await new Promise((r) => setTimeout(r, 100));
  }

  /** Take `conn` on, or refuse it when its client or the server is full. */
  #admit(conn: Deno.Conn): void {
    const client = (conn.remoteAddr as Deno.NetAddr).hostname;
    const mine = this.#perClient.get(client) ?? 0;
    const full = this.#open.size >= this.#limits.maxConnections;
    if (mine >= this.#limits.maxPerClient || (full && !this.#evictSilent())) {
      this.stats.refused++;
      this.#warn(
        "full",
        `Dashboard: refusing connections (${this.#open.size} open, ${mine} from ${client})`,
      );
      this.#track(refuse(conn));
      return;
    }
    const c: Conn = { conn, client, silent: true };
    this.#open.add(c);
    this.#perClient.set(client, mine + 1);
    this.stats.open = this.#open.size;
    this.#track(
      this.#exchange(c).finally(() => {
        this.#open.delete(c);
        const n = (this.#perClient.get(client) ?? 1) - 1;
        if (n > 0) this.#perClient.set(client, n);
        else this.#perClient.delete(client);
        this.stats.open = this.#open.size;
      }),
    );
  }

  /** Keep `work` until it ends, so closing waits for it. */
  #track(work: Promise<void>): void {
    this.#exchanges.add(work);
    work.finally(() => this.#exchanges.delete(work));
  }

  /** Close the oldest connection that has not sent its head; false if none. */
  #evictSilent(): boolean {
    for (const c of this.#open) {
      if (!c.silent) continue;
      c.silent = false;
      this.stats.evicted++;
      closeQuietly(c.conn);
      return true;
    }
    return false;
  }

  /** One request and its answer, each step against its deadline. */
  async #exchange(c: Conn): Promise<void> {
    const start = Date.now();
    const deadline = new Deadline(c.conn);
    deadline.set(start + this.#limits.headerTimeoutMs);
    try {
      const head = await readHead(c.conn, this.#limits.maxHeadBytes).catch(
        (e) => {
          if (deadline.passed) this.stats.headerTimeouts++;
          throw e;
        },
      );
      c.silent = false;
      deadline.set(start + this.#limits.exchangeTimeoutMs);
      let res: Response;
      let method = "GET";
      // A refusal comes before the body is read: the client may still send.
      let refused = false;
      try {
        const req = await readRequest(c.conn, head, this.#limits);
        method = req.method;
        res = await this.#handler(req);
      } catch (e) {
        if (!(e instanceof Refusal) && deadline.passed) throw e;
        refused = e instanceof Refusal;
        const [status, message] = e instanceof Refusal
          ? [e.status, e.message]
          : [500, "internal error"];
        res = this.#opts.refusal?.(status, message) ??
          new Response(`${message}\n`, { status });
      }
      await writeResponse(c.conn, res, method === "HEAD");
      if (refused) {
        deadline.set(Date.now() + LINGER_MS);
        await lingerClose(c.conn);
      }
    } catch {
      // The client went away, sent garbage, or ran out of time.
    } finally {
      deadline.clear();
      closeQuietly(c.conn);
    }
  }

  /** Warn about `kind` of trouble at most once a minute. */
  #warn(kind: string, message: string): void {
    const now = Date.now();
    if ((this.#warned.get(kind) ?? 0) > now - 60_000) return;
    this.#warned.set(kind, now);
    this.#opts.warn?.(message);
  }
}

/** Closes a connection when its time is up. */
class Deadline {
  #conn: Deno.Conn;
  #timer?: ReturnType<typeof setTimeout>;
  passed = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  set(at: number): void {
    this.clear();
    this.#timer = setTimeout(() => {
      this.passed = true;
      closeQuietly(this.#conn);
    }, Math.max(0, at - Date.now()));
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

/** A request head as read, and the body bytes that came with it. */
interface Head {
  text: string;
  rest: Uint8Array;
}

/** Read up to the blank line that ends the head. */
async function readHead(conn: Deno.Conn, max: number): Promise<Head> {
  const buf = new Uint8Array(max);
  let filled = 0;
  while (true) {
    const n = await conn.read(buf.subarray(filled));
    if (n === null) throw new Error("closed before the end of the head");
    const from = Math.max(0, filled - 3);
    filled += n;
    const end = indexOf(buf.subarray(0, filled), HEAD_END, from);
    if (end >= 0) {
      return {
        text: decoder.decode(buf.subarray(0, end)),
        rest: buf.slice(end + HEAD_END.length, filled),
      };
    }
    if (filled === max) throw new Refusal(431, "request head too large");
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (hay[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/** Parse the head, read the body, and make the `Request`. */
async function readRequest(
  conn: Deno.Conn,
  head: Head,
  limits: HttpLimits,
): Promise<Request> {
  const [line, ...fields] = head.text.split("\r\n");
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\/[^\s]*) HTTP\/1\.[01]$/.exec(
    line,
  );
  if (!m) throw new Refusal(400, "malformed request line");
  const [, method, target] = m;
  const headers = parseFields(fields);
  const host = headers.get("host") ?? "";
  if (!HOST.test(host)) throw new Refusal(400, "missing or malformed Host");
  if (headers.has("transfer-encoding")) {
    throw new Refusal(411, "send the body with a Content-Length");
  }
  const length = Number(headers.get("content-length") ?? "0");
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new Refusal(400, "malformed Content-Length");
  }
  if (length > limits.maxBodyBytes) {
    throw new Refusal(413, `the body is over ${limits.maxBodyBytes} bytes`);
  }
  if (length > 0 && /^100-continue$/i.test(headers.get("expect") ?? "")) {
    await writeAll(conn, encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"));
  }
  const body = length > 0 ? await readBody(conn, head.rest, length) : null;
  return new Request(`http://${host}${target}`, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? null : body,
  });
}

/** Header fields as `Headers`; anything malformed is a 400. */
function parseFields(fields: string[]): Headers {
  const headers = new Headers();
  for (const field of fields) {
    const colon = field.indexOf(":");
    const name = field.slice(0, colon);
    if (colon <= 0 || !TOKEN.test(name)) {
      throw new Refusal(400, "malformed header field");
    }
    try {
      headers.append(name, field.slice(colon + 1).trim());
    } catch {
      throw new Refusal(400, "malformed header field");
    }
  }
  return headers;
}

async function readBody(
  conn: Deno.Conn,
  already: Uint8Array,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const body = new Uint8Array(length);
  body.set(already.subarray(0, length));
  for (let n = Math.min(already.length, length); n < length;) {
    const got = await conn.read(body.subarray(n));
    if (got === null) throw new Error("body cut short");
    n += got;
  }
  return body;
}

async function writeResponse(
  conn: Deno.Conn,
  res: Response,
  headOnly: boolean,
): Promise<void> {
  const body = new Uint8Array(await res.arrayBuffer());
  let head = `HTTP/1.1 ${res.status} ${
    res.statusText || reason(res.status)
  }\r\n`;
  res.headers.forEach((value, name) => {
    if (name !== "content-length" && name !== "connection") {
      head += `${name}: ${value}\r\n`;
    }
  });
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  await writeAll(conn, encoder.encode(head));
  if (!headOnly) await writeAll(conn, body);
}

function reason(status: number): string {
  return status < 300 ? "OK" : status < 400 ? "Redirect" : "Error";
}

/** A full server's short answer (one write, into the socket's buffer). */
async function refuse(conn: Deno.Conn): Promise<void> {
  const answer = encoder.encode(
    "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n" +
      "content-length: 0\r\nconnection: close\r\n\r\n",
  );
  await conn.write(answer).catch(() => {});
  closeQuietly(conn);
}

/** How long a refused client may go on sending before the close. */
const LINGER_MS = 2_000;
/** How much of what a refused client goes on sending is read and dropped. */
const LINGER_BYTES = 1 << 20;

/**
 * After an answer sent before the request was read whole (413 for a body
 * over the cap, while the client is still sending it): end our side, then
 * read and drop what the client still sends, up to {@link LINGER_BYTES}
 * (the caller's deadline bounds the time), before the close. Closing a
 * socket with unread data resets the connection, and on Windows a reset
 * makes the client drop the answer it already received ("connection reset
 * by peer", os error 10054) — the refusal would never be read.
 */
async function lingerClose(conn: Deno.Conn): Promise<void> {
  await conn.closeWrite();
  const buf = new Uint8Array(16 * 1024);
  for (let dropped = 0; dropped < LINGER_BYTES;) {
    const n = await conn.read(buf);
    if (n === null) return;
    dropped += n;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(bytes.subarray(at));
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
