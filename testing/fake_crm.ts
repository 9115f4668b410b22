/**
 * A fake CRM on 127.0.0.1 for the demo, the tests and the benchmarks. It
 * speaks just enough HTTP/1.1 over raw TCP (or TLS) to misbehave on purpose (reset a
 * connection mid-upload, hang with a body that never ends), records every
 * request, and answers like the real storage and call-data endpoints.
 * Uploads are counted as they stream in, never held in memory.
 *
 * @module
 */

/** What the fake does with one request instead of answering normally. */
export type Fault =
  | { kind: "status"; status: number; body?: string; retryAfter?: string }
  | { kind: "html" }
  | { kind: "success-false" }
  | { kind: "no-url" }
  | { kind: "reset" }
  | { kind: "hang" };

/** One request as the fake saw it. */
export interface ReceivedRequest {
  endpoint: "upload" | "call-data" | "other";
  method: string;
  path: string;
  headers: Record<string, string>;
  idempotencyKey?: string;
  /** Upload: the multipart file name, the file's byte count and its part's Content-Type. */
  fileName?: string;
  fileSize?: number;
  fileType?: string;
  /** Call data: the parsed JSON body. */
  json?: unknown;
  /**
   * How it was answered: a status, the fault applied, or "incomplete" when
   * the client went away before the request was fully read.
   */
  answer: number | "reset" | "hang" | "incomplete";
  /** The fault scripted for this request, if any. */
  fault?: Fault["kind"];
}

/** Options of {@link FakeCrm.start}. */
export interface FakeCrmOptions {
  /**
   * Decide a fault per request (n counts requests to that endpoint from 1;
   * `key` is the request's Idempotency-Key).
   */
  fault?: (
    endpoint: ReceivedRequest["endpoint"],
    n: number,
    key: string | undefined,
  ) => Fault | undefined;
  /** Told of each request once its whole body has arrived, before it is answered. */
  received?: (req: ReceivedRequest) => void;
  /** Added before every answer, in milliseconds. */
  delayMs?: number;
  /** Bearer token to require; 401 without it. */
  token?: string;
  /** Serve HTTPS with this certificate (for `localhost`) and key. */
  tls?: { cert: string; key: string };
  /**
   * Listen on this address instead of 127.0.0.1 (a network namespace's, for
   * `bench/tun/`).
   */
  hostname?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A running fake CRM. */
export class FakeCrm {
  /** Every request, in arrival order. */
  readonly requests: ReceivedRequest[] = [];
  /** Connections accepted so far. */
  connections = 0;
  /** The most requests being handled at the same moment so far. */
  maxInFlight = 0;
  #inFlight = 0;
  readonly port: number;
  #listener: Deno.Listener;
  #conns = new Set<Deno.Conn>();
  #opts: FakeCrmOptions;
  #counts = { upload: 0, "call-data": 0, other: 0 };
  #urls = new Map<string, string>();
  #served: Promise<void>;
  #handlers = new Set<Promise<void>>();

  private constructor(listener: Deno.Listener, opts: FakeCrmOptions) {
    this.#listener = listener;
    this.#opts = opts;
    this.port = (listener.addr as Deno.NetAddr).port;
    this.#served = this.#accept();
  }

  /**
   * Start listening on 127.0.0.1 (or `opts.hostname`; a free port unless
   * `port` is given).
   */
  static start(opts: FakeCrmOptions = {}, port = 0): FakeCrm {
    const addr = { hostname: opts.hostname ?? "127.0.0.1", port };
    return new FakeCrm(
      opts.tls ? Deno.listenTls({ ...addr, ...opts.tls }) : Deno.listen(addr),
      opts,
    );
  }

  /** `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS. */
  get origin(): string {
    return this.#opts.tls
      ? `https://localhost:${this.port}`
      : `http://127.0.0.1:${this.port}`;
  }

  /** URL of the storage endpoint. */
  get uploadUrl(): string {
    return `${this.origin}/apis/api/public/upload`;
  }

  /** URL of the call-data endpoint. */
  get callDataUrl(): string {
    return `${this.origin}/apis/api/public/call-data`;
  }

  /**
   * Call records the fake accepted (answered 200 without a scripted fault:
   * a `success:false` or HTML answer is a 200 too, but a refusal), in order.
   */
  acceptedCallRecords(): ReceivedRequest[] {
    return this.requests.filter((r) =>
      r.endpoint === "call-data" && r.answer === 200 && r.fault === undefined
    );
  }

  /** Stop listening and drop every connection. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    await this.#served;
    await Promise.allSettled([...this.#handlers]);
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.connections++;
        this.#conns.add(conn);
        const h = this.#serve(conn).catch(() => {}).finally(() => {
          this.#conns.delete(conn);
          try {
            conn.close();
          } catch {
            // already closed
          }
          this.#handlers.delete(h);
        });
        this.#handlers.add(h);
      }
    } catch {
      // listener closed
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const reader = new ByteReader(conn);
    while (true) {
      const head = await reader.readHead();
      if (!head) return;
      this.#inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
      try {
        if (!(await this.#handle(conn, reader, head))) return;
      } finally {
        this.#inFlight--;
      }
    }
  }

  /** Answer one request; false when the connection must close. */
  async #handle(
    conn: Deno.Conn,
    reader: ByteReader,
    head: string,
  ): Promise<boolean> {
    const [requestLine, ...lines] = head.split("\r\n");
    const [method, path] = requestLine.split(" ");
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(":");
      if (i > 0) {
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
    }
    const endpoint = path?.endsWith("/upload")
      ? "upload"
      : path?.endsWith("/call-data")
      ? "call-data"
      : "other";
    const n = ++this.#counts[endpoint];
    const fault = this.#opts.fault?.(endpoint, n, headers["idempotency-key"]);
    const req: ReceivedRequest = {
      endpoint,
      method,
      path,
      headers,
      idempotencyKey: headers["idempotency-key"],
      answer: "incomplete",
      fault: fault?.kind,
    };
    this.requests.push(req);
    const length = Number(headers["content-length"] ?? 0);
    if (fault?.kind === "reset") {
      await reader.skip(Math.floor(length / 2));
      req.answer = "reset";
      return false;
    }
    if (endpoint === "upload") {
      Object.assign(
        req,
        await readUpload(reader, length, headers["content-type"] ?? ""),
      );
    } else {
      const body = await reader.readExactly(length);
      try {
        req.json = JSON.parse(decoder.decode(body));
      } catch {
        req.json = undefined;
      }
    }
    this.#opts.received?.(req);
    if (this.#opts.delayMs) {
      await new Promise((r) => setTimeout(r, this.#opts.delayMs));
    }
    if (fault?.kind === "hang") {
      req.answer = "hang";
      await writeAll(
        conn,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{",
      );
      await reader.readHead(); // until the client gives up
      return false;
    }
    const [status, body, extra] = this.#answer(req, fault);
    req.answer = status;
    const close = headers["connection"]?.toLowerCase() === "close";
    await writeAll(
      conn,
      `HTTP/1.1 ${status} X\r\ncontent-type: ${
        body.startsWith("<") ? "text/html" : "application/json"
      }\r\ncontent-length: ${
        encoder.encode(body).length
      }\r\n${extra}connection: ${
        close ? "close" : "keep-alive"
      }\r\n\r\n${body}`,
    );
    return !close;
  }

  #answer(
    req: ReceivedRequest,
    fault: Fault | undefined,
  ): [number, string, string] {
    if (
      this.#opts.token &&
      req.headers["authorization"] !== `Bearer ${this.#opts.token}`
    ) {
      return [
        401,
        JSON.stringify({ success: false, message: "Unauthorized" }),
        "",
      ];
    }
    switch (fault?.kind) {
      case "status":
        return [
          fault.status,
          fault.body ??
            JSON.stringify({
              success: false,
              message: `fault ${fault.status}`,
            }),
          fault.retryAfter ? `retry-after: ${fault.retryAfter}\r\n` : "",
        ];
      case "html":
        return [200, "<html><body><h1>502 Bad Gateway</h1></body></html>", ""];
      case "success-false":
        return [
          200,
          JSON.stringify({ success: false, message: "rejected" }),
          "",
        ];
      case "no-url":
        return [200, JSON.stringify({ success: true, data: {} }), ""];
    }
    if (req.endpoint === "upload") {
      const key = req.idempotencyKey ?? crypto.randomUUID();
      const id = this.#urls.get(key) ?? `${Date.now()}${this.#urls.size}.ogg`;
      this.#urls.set(key, id);
      return [
        200,
        JSON.stringify({
          success: true,
          data: {
            filename: id,
            originalName: req.fileName,
            size: req.fileSize,
            url: `${this.origin}/apis/uploads/recordings/${id}`,
            relativeUrl: `/uploads/recordings/${id}`,
          },
        }),
        "",
      ];
    }
    return [
      200,
      JSON.stringify({ success: true, data: { id: crypto.randomUUID() } }),
      "",
    ];
  }
}

/** Stream a multipart upload: keep the part headers, count the file bytes. */
async function readUpload(
  reader: ByteReader,
  length: number,
  contentType: string,
): Promise<{ fileName?: string; fileSize: number; fileType?: string }> {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1] ?? "";
  const first = await reader.readExactly(Math.min(length, 4096));
  const text = decoder.decode(first);
  const partStart = text.indexOf("\r\n\r\n") + 4;
  const fileName = /filename="([^"]*)"/.exec(text)?.[1];
  const fileType = /\r\ncontent-type: *([^\r]+)/i.exec(
    text.slice(0, partStart),
  )?.[1];
  await reader.skip(length - first.length);
  const trailer = `\r\n--${boundary}--\r\n`.length;
  return {
    fileName,
    fileType,
    fileSize: length - encoder.encode(text.slice(0, partStart)).length -
      trailer,
  };
}

async function writeAll(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/**
 * Buffered reads from a connection. Bodies being skipped (uploads are only
 * counted) are read into one scratch buffer, never copied or kept, so the
 * fake keeps up with a client streaming gigabytes.
 */
class ByteReader {
  #conn: Deno.Conn;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #scratch?: Uint8Array;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Read up to the blank line ending a request head; undefined at EOF. */
  async readHead(): Promise<string | undefined> {
    let scanned = 0; // bytes after #start already searched (less 3)
    while (true) {
      for (let i = this.#start + scanned; i + 3 < this.#end; i++) {
        if (
          this.#buf[i] === 13 && this.#buf[i + 1] === 10 &&
          this.#buf[i + 2] === 13 && this.#buf[i + 3] === 10
        ) {
          const head = decoder.decode(this.#buf.subarray(this.#start, i));
          this.#start = i + 4;
          return head;
        }
      }
      scanned = Math.max(0, this.#end - this.#start - 3);
      if (!(await this.#fill())) return undefined;
    }
  }

  async readExactly(n: number): Promise<Uint8Array> {
    while (this.#end - this.#start < n) {
      if (!(await this.#fill())) throw new Error("connection closed mid-body");
    }
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  async skip(n: number): Promise<void> {
    let left = n;
    const buffered = Math.min(left, this.#end - this.#start);
    this.#start += buffered;
    left -= buffered;
    if (left === 0) return;
    this.#scratch ??= new Uint8Array(1 << 20);
    while (left > 0) {
      const want = Math.min(left, this.#scratch.length);
      const got = await this.#conn.read(this.#scratch.subarray(0, want));
      if (got === null) throw new Error("connection closed mid-body");
      left -= got;
    }
  }

  /** Read more into the buffer (compacting or growing it); false at EOF. */
  async #fill(): Promise<boolean> {
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (this.#end === this.#buf.length) {
      const used = this.#end - this.#start;
      const next = used > this.#buf.length / 2
        ? new Uint8Array(this.#buf.length * 2)
        : this.#buf;
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#start = 0;
      this.#end = used;
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }
}
