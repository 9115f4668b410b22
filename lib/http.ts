/**
 * A small HTTP/1.1 client on `node:http`, chosen over `fetch` because it
 * sends a streamed body with a precomputed `Content-Length` (fetch streams
 * chunked), abandons a request that makes no progress for a while (an idle
 * timeout, so a 2 GiB upload is not cut off by a total-time limit) and caps
 * how much of a hostile response it reads.
 *
 * @module
 */
import http from "node:http";
import https from "node:https";

/** The request made no progress for the idle timeout. */
export class HttpTimeoutError extends Error {
  override name = "HttpTimeoutError";
}

/** The connection failed or was reset before a full response arrived. */
export class HttpNetworkError extends Error {
  override name = "HttpNetworkError";
}

/** A request body streamed from a source of known length. */
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

/** What came back. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Send one request. Rejects with {@link HttpTimeoutError} or
 * {@link HttpNetworkError}; any HTTP status resolves.
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
  const url = new URL(req.url);
  const client = url.protocol === "https:" ? https : http;
  const length = req.body instanceof Uint8Array
    ? req.body.length
    : req.body?.length ?? 0;
  const maxBytes = req.maxResponseBytes ?? 1 << 20;

  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      r.destroy();
      reject(e);
    };
    const r = client.request(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || undefined,
        path: url.pathname + url.search,
        method: req.method,
        headers: { ...req.headers, "content-length": String(length) },
        agent: false,
      },
      (res) => {
        const chunks: Uint8Array[] = [];
        let size = 0;
        res.on("data", (chunk: Uint8Array) => {
          if (size < maxBytes) chunks.push(chunk.subarray(0, maxBytes - size));
          size += chunk.length;
        });
        res.on("end", () => {
          if (settled) return;
          settled = true;
          resolve({
            status: res.statusCode ?? 0,
            headers: flatHeaders(res.headers),
            body: new TextDecoder().decode(concat(chunks)),
          });
        });
        res.on("error", (e: Error) => fail(new HttpNetworkError(e.message)));
        res.on("aborted", () => fail(new HttpNetworkError("response aborted")));
      },
    );
    r.setTimeout(req.idleTimeoutMs, () =>
      fail(
        new HttpTimeoutError(
          `no progress for ${req.idleTimeoutMs / 1000} s from ${url.host}`,
        ),
      ));
    r.on("error", (e: Error) =>
      fail(
        e instanceof HttpTimeoutError ? e : new HttpNetworkError(e.message),
      ));
    sendBody(r, req.body).catch((e: Error) => fail(e));
  });
}

async function sendBody(
  r: http.ClientRequest,
  body: Uint8Array | StreamBody | undefined,
): Promise<void> {
  if (body === undefined || body instanceof Uint8Array) {
    r.end(body);
    return;
  }
  for await (const chunk of body.chunks()) {
    if (r.destroyed) return;
    if (!r.write(chunk)) {
      await new Promise<void>((res) => {
        const done = () => {
          r.off("drain", done);
          r.off("close", done);
          res();
        };
        r.on("drain", done);
        r.on("close", done);
      });
    }
  }
  r.end();
}

function flatHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
