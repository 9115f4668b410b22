/**
 * HTTP requests on Deno's `fetch`, through `Deno.HttpClient`s kept for the
 * life of the transport (so connections are kept alive and reused across
 * sets, and across runs of a long-lived process), with the trust and proxy
 * settings callsync was given, two clocks per request, and a cap on how much
 * of an answer is read.
 *
 * - Connections: a client carries one request at a time, taken from the
 *   idle ones (the last used first) or made, so a transport never holds
 *   more connections than it ever had requests in flight. One client shared
 *   by all requests would not bound them: its pool starts a connection for
 *   every request that finds none idle and keeps it as a spare when an
 *   older connection comes back first (17–25 for 16 requests at a time on
 *   loopback, BENCHMARKS.md section 12).
 * - Proxies: chosen by {@link proxyFor} (`CRM_PROXY`, else `HTTPS_PROXY` /
 *   `HTTP_PROXY` unless `NO_PROXY` names the host), wherever the variables
 *   came from. A failure through a proxy names it, never its credentials.
 * - Trust: the extra CA certificates (`CRM_CA_FILE`) are added to the
 *   default roots; verification cannot be turned off.
 * - Clocks: a request is abandoned after `idleTimeoutMs` without progress
 *   either way (a body chunk sent, the answer's head or a chunk of it
 *   received), and in any case after `deadlineMs`.
 * - Answers: gzip, br (decoded by fetch) and deflate are decoded; at most
 *   `maxAnswerBytes` (1 MiB) of the decoded body is read; a redirect is
 *   never followed.
 * - HTTP/1.1 only: Deno's HTTP/2 client does not set TCP_NODELAY, and every
 *   request then waits ≈ 40 ms on Nagle's algorithm (measured: 44 ms per
 *   request on loopback HTTPS, against 1.3 ms over HTTP/1.1).
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { concatBytes } from "../core/bytes.ts";
import { type Proxy, proxyFor, type ProxyVariables } from "../config/proxy.ts";

/** Why a request did not get a usable answer (see the subclasses). */
export class TransportError extends Error {
  override name = "TransportError";
}

/** The request failed on the way: connection, TLS, proxy, or reset. */
export class NetworkError extends TransportError {
  override name = "NetworkError";
}

/** No progress for the idle timeout, or no full answer by the deadline. */
export class RequestTimeoutError extends TransportError {
  override name = "RequestTimeoutError";
}

/** The proxy refused our credentials (HTTP 407). */
export class ProxyAuthError extends TransportError {
  override name = "ProxyAuthError";
}

/** The server answered with a redirect; `location` is where to. */
export class RedirectError extends TransportError {
  override name = "RedirectError";
  readonly status: number;
  readonly location: string;

  constructor(message: string, status: number, location: string) {
    super(message);
    this.status = status;
    this.location = location;
  }
}

/**
 * A body that fetch reads through `stream()` (see `MultipartFile`): it
 * reports each chunk it hands over, and whether it handed over everything.
 */
export interface WatchedBody extends Blob {
  /** Set by the transport: called for every chunk handed to fetch. */
  onChunk?: () => void;
  /** Every byte was handed to fetch. */
  readonly complete: boolean;
  /** Why the body could not be read (its file shrank), if it could not. */
  readonly failure?: Error;
  /** Resolves once the body's source (its file) is closed. */
  readonly closed: Promise<void>;
}

/** How to reach servers. */
export interface TransportSettings {
  /** Used for every request when set (`CRM_PROXY`). */
  proxy?: Proxy;
  /** `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` in force. */
  proxyVariables: ProxyVariables;
  /** PEM certificates trusted besides the default roots (`CRM_CA_FILE`). */
  caCerts: string[];
}

/** One request. */
export interface TransportRequest {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: Uint8Array<ArrayBuffer> | WatchedBody;
  /** Abandon the request after this long without progress either way. */
  idleTimeoutMs: number;
  /** Abandon the request after this long in any case. */
  deadlineMs: number;
  /** Read at most this much of the (decoded) answer; default 1 MiB. */
  maxAnswerBytes?: number;
}

/** What came back (never a redirect, never a proxy's 407). */
export interface TransportAnswer {
  status: number;
  headers: Headers;
  /** The decoded body, cut at `maxAnswerBytes`. */
  body: string;
}

const MAX_ANSWER_BYTES = 1 << 20;
/** Longest wait, once a request is over, for its body's file to close. */
const SOURCE_CLOSE_MS = 1000;

/** Variables Deno's client reads from the process environment. */
const PROXY_ENV = ["ALL_PROXY", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"]
  .flatMap((n) => [n, n.toLowerCase()]);

/**
 * Sends requests. Close it (or `using` it) when done: it holds the
 * keep-alive connections.
 *
 * @example
 * ```ts
 * using transport = new Transport({ proxyVariables: {}, caCerts: [] });
 * const answer = await transport.send({
 *   url: "https://crm.example/apis/api/public/call-data",
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: new TextEncoder().encode("{}"),
 *   idleTimeoutMs: 30_000,
 *   deadlineMs: 900_000,
 * });
 * ```
 */
export class Transport implements Disposable {
  #settings: TransportSettings;
  /** Clients not carrying a request, per route, the last used at the end. */
  #idle = new Map<string, Deno.HttpClient[]>();
  #clients: Deno.HttpClient[] = [];

  constructor(settings: TransportSettings) {
    this.#settings = settings;
  }

  /**
   * Send one request and read its answer. Any status but a redirect or a
   * proxy's 407 resolves. Rejects with {@link NetworkError},
   * {@link RequestTimeoutError}, {@link ProxyAuthError},
   * {@link RedirectError}, or the error the body's source failed with.
   */
  async send(req: TransportRequest): Promise<TransportAnswer> {
    const url = new URL(req.url);
    const proxy = proxyFor(
      url,
      this.#settings.proxyVariables,
      this.#settings.proxy,
    );
    const via = proxy ? `via proxy ${proxy.url}: ` : "";
    const watch = new Watchdog(req, url.host);
    const body = req.body instanceof Uint8Array ? undefined : req.body;
    if (body) body.onChunk = () => watch.progress();
    const route = proxy ? JSON.stringify(proxy) : "direct";
    let client: Deno.HttpClient | undefined;
    try {
      client = this.#take(route, proxy);
      const res = await fetch(url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        client,
        redirect: "manual",
        signal: watch.signal,
      });
      watch.progress();
      await refuseRedirectOrProxyAuth(res, proxy);
      const text = await readAnswer(
        res,
        req.maxAnswerBytes ?? MAX_ANSWER_BYTES,
        () => watch.progress(),
      );
      if (body && res.ok && !body.complete) {
        throw new NetworkError(
          `${url.host} answered HTTP ${res.status} before the whole body was sent`,
        );
      }
      return { status: res.status, headers: res.headers, body: text };
    } catch (e) {
      if (body?.failure) throw body.failure;
      if (watch.timedOut) throw watch.timedOut;
      if (e instanceof TransportError) throw e;
      throw networkError(e, via);
    } finally {
      watch.stop();
      if (client) this.#idleList(route).push(client);
      // fetch cancels an unfinished body once the request is over; let the
      // file close before the caller goes on (but not for long).
      if (body) await atMost(body.closed, SOURCE_CLOSE_MS);
    }
  }

  /** Close every connection. */
  close(): void {
    for (const client of this.#clients) client.close();
    this.#clients = [];
    this.#idle.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * An idle client for `route` through `proxy` (undefined: direct), the
   * last used (its connection the likeliest still open), or a new one.
   */
  #take(route: string, proxy: Proxy | undefined): Deno.HttpClient {
    const idle = this.#idleList(route).pop();
    if (idle) return idle;
    const client = createClient(this.#settings.caCerts, proxy);
    this.#clients.push(client);
    return client;
  }

  #idleList(route: string): Deno.HttpClient[] {
    let list = this.#idle.get(route);
    if (!list) this.#idle.set(route, list = []);
    return list;
  }
}

/**
 * The transport for the CRM: `CRM_PROXY` or the proxy variables, and the
 * certificates of `CRM_CA_FILE`.
 */
export function crmTransport(cfg: Config): Transport {
  return new Transport({
    proxy: cfg.crmProxy,
    proxyVariables: cfg.proxyVariables,
    caCerts: cfg.caCerts,
  });
}

/**
 * A client that goes exactly through `proxy` (or direct). Deno's client
 * also reads the proxy variables from the process environment when it is
 * made, and would apply them on top; they are hidden for that moment (the
 * call is synchronous, nothing else runs meanwhile). On Windows, where names
 * are case-insensitive, both spellings are the one variable: still restored.
 */
function createClient(caCerts: string[], proxy?: Proxy): Deno.HttpClient {
  const saved = PROXY_ENV.map((name) => [name, Deno.env.get(name)] as const);
  for (const [name] of saved) Deno.env.delete(name);
  try {
    return Deno.createHttpClient({
      caCerts,
      http2: false,
      proxy: proxy && { url: proxy.url, basicAuth: proxy.basicAuth },
    });
  } finally {
    for (const [name, value] of saved) {
      if (value !== undefined) Deno.env.set(name, value);
    }
  }
}

/** Throws for a redirect (never followed) or a proxy's 407. */
async function refuseRedirectOrProxyAuth(
  res: Response,
  proxy: Proxy | undefined,
): Promise<void> {
  const location = res.headers.get("location");
  if (proxy && res.status === 407) {
    await res.body?.cancel();
    throw proxyAuthError(proxy);
  }
  if (res.status >= 300 && res.status < 400 && location !== null) {
    await res.body?.cancel();
    const shown = location.length > 200
      ? `${location.slice(0, 200)}…`
      : location;
    throw new RedirectError(
      `answered HTTP ${res.status} redirecting to ${shown} (a redirect is never followed: use the URL it points to)`,
      res.status,
      location,
    );
  }
}

function proxyAuthError(proxy: Proxy): ProxyAuthError {
  return new ProxyAuthError(
    `via proxy ${proxy.url}: 407 Proxy Authentication Required (${
      proxy.basicAuth
        ? "the proxy refused its user and password"
        : "the proxy URL has no user and password"
    })`,
  );
}

/** A fetch failure as a {@link NetworkError}, without the request URL. */
function networkError(e: unknown, via: string): Error {
  if (!(e instanceof Error)) return new NetworkError(`${via}${String(e)}`);
  // fetch's own message is "fetch failed"; the reason is in the cause.
  let text = e.cause instanceof Error ? e.cause.message : e.message;
  text = text.replace(
    /^error sending request (?:from \S+ )?for url \(\S*?\): /,
    "",
  );
  if (/proxy authentication required/i.test(text) && via) {
    return new ProxyAuthError(
      `${via}407 Proxy Authentication Required`,
    );
  }
  if (/invalid peer certificate/i.test(text)) {
    text += " (a CRM with a private CA needs its certificate in CRM_CA_FILE)";
  }
  return new NetworkError(`${via}${text}`);
}

/** The answer's body, decoded, at most `max` bytes of it, as text. */
async function readAnswer(
  res: Response,
  max: number,
  progress: () => void,
): Promise<string> {
  if (!res.body) return "";
  // fetch decodes gzip and br itself; deflate it leaves alone.
  const encoding = res.headers.get("content-encoding")?.trim().toLowerCase();
  const stream = encoding === "deflate"
    ? res.body.pipeThrough(new DecompressionStream("deflate"))
    : res.body;
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let kept = 0;
  try {
    while (kept < max) {
      const { done, value } = await reader.read();
      if (done) break;
      progress();
      parts.push(value.subarray(0, max - kept));
      kept += Math.min(value.length, max - kept);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(concatBytes(parts));
}

/** `promise`, or nothing after `ms`. */
async function atMost(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise((r) => timer = setTimeout(r, ms))]);
  clearTimeout(timer);
}

/** The two clocks of one request, aborting it when either runs out. */
class Watchdog {
  readonly #controller = new AbortController();
  readonly #req: TransportRequest;
  readonly #host: string;
  #idle?: ReturnType<typeof setTimeout>;
  #deadline: ReturnType<typeof setTimeout>;
  #stopped = false;
  /** Set when a clock ran out. */
  timedOut?: RequestTimeoutError;

  constructor(req: TransportRequest, host: string) {
    this.#req = req;
    this.#host = host;
    this.#deadline = setTimeout(
      () =>
        this.#abort(
          `no complete answer from ${host} within ${
            req.deadlineMs / 1000
          } s (the request deadline)`,
        ),
      req.deadlineMs,
    );
    this.progress();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Something moved: restart the idle clock. */
  progress(): void {
    if (this.#stopped) return;
    clearTimeout(this.#idle);
    this.#idle = setTimeout(
      () =>
        this.#abort(
          `no progress for ${
            this.#req.idleTimeoutMs / 1000
          } s from ${this.#host}`,
        ),
      this.#req.idleTimeoutMs,
    );
  }

  /** The request is over: stop both clocks and anything still sending. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#idle);
    clearTimeout(this.#deadline);
    this.#controller.abort();
  }

  #abort(message: string): void {
    this.timedOut = new RequestTimeoutError(message);
    this.#controller.abort(this.timedOut);
    this.stop();
  }
}
