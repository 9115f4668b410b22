/**
 * Who may use the dashboard.
 *
 * - The `Host` header must name the dashboard (no DNS rebinding): a loopback
 *   name or the address listened on, the host of a `--public-url`, or, when
 *   it listens beyond this machine, any IP address (rebinding needs a name).
 * - Listening beyond this machine (any address but loopback, `0.0.0.0`,
 *   `::` and `0` included), every request, reads too, needs the dashboard
 *   token: `Authorization: Bearer …`, or Basic with the token as password
 *   (so a browser asks for it once and sends it with every page).
 * - Every POST must come from the page's own origin (or a `--public-url`'s)
 *   and carry the token as `Authorization: Bearer …`; without a token the
 *   dashboard is read-only (and may only listen on loopback).
 *
 * Tokens are compared in constant time.
 *
 * @module
 */
import { type ErrorCode, jsonError } from "./http.ts";

const encoder = new TextEncoder();

/** Is the address `addr` (as listened on) reachable from this machine only? */
export function isLoopbackAddress(addr: string): boolean {
  const a = addr.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return a === "::1" || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(a);
}

/** Options of {@link Guard}. */
export interface GuardOptions {
  /** The dashboard token; without one every POST is refused. */
  token?: string;
  /** Origins people reach the dashboard at (`--public-url`). */
  publicUrls?: readonly URL[];
}

/** Refuses requests the dashboard must not answer. */
export class Guard {
  /** `http://host:port/` as reachable from this machine, once listening. */
  url = "";
  #token?: string;
  #hash?: Promise<Uint8Array>;
  #publicUrls: readonly URL[];
  #hosts = new Set<string>();
  #port = 0;
  #local = true;

  constructor(opts: GuardOptions) {
    this.#token = opts.token || undefined;
    this.#publicUrls = opts.publicUrls ?? [];
  }

  /** A token is configured: runs and retries are possible. */
  get writable(): boolean {
    return this.#token !== undefined;
  }

  /** Reads need the token too: the dashboard listens beyond this machine. */
  get readsNeedToken(): boolean {
    return !this.#local;
  }

  /** Whether `given` is the token (its hash worked out at first use). */
  async #matches(given: string): Promise<boolean> {
    if (this.#token === undefined) return false;
    this.#hash ??= sha256(this.#token);
    return await tokenMatches(given, await this.#hash);
  }

  /**
   * Learn the address listened on: sets {@link url}, whether reads need the
   * token, and the `Host` headers answered to.
   */
  listening(addr: Deno.NetAddr): void {
    const bracket = (h: string) => h.includes(":") ? `[${h}]` : h;
    const wildcard = addr.hostname === "0.0.0.0" || addr.hostname === "::";
    const shown = wildcard ? "127.0.0.1" : addr.hostname;
    this.url = `http://${bracket(shown)}:${addr.port}/`;
    this.#port = addr.port;
    this.#local = isLoopbackAddress(addr.hostname);
    const names = ["127.0.0.1", "localhost", "[::1]"];
    if (!wildcard) names.push(bracket(addr.hostname).toLowerCase());
    // Browsers leave the default port out of Host.
    for (const h of names) {
      this.#hosts.add(`${h}:${addr.port}`);
      if (addr.port === 80) this.#hosts.add(h);
    }
    for (const u of this.#publicUrls) {
      this.#hosts.add(u.host.toLowerCase());
      this.#hosts.add(`${u.hostname}:${defaultPort(u)}`.toLowerCase());
    }
  }

  /** A 421 for a `Host` other than the dashboard's own; else undefined. */
  async refuseHost(req: Request): Promise<Response | undefined> {
    const host = (req.headers.get("host") ?? "").toLowerCase();
    if (this.#hosts.has(host) || (!this.#local && this.#ipAddress(host))) {
      return undefined;
    }
    await req.body?.cancel();
    const named = this.#publicUrls.length
      ? ` or ${this.#publicUrls.map((u) => u.origin).join(", ")}`
      : "";
    return jsonError(
      421,
      "bad-host",
      `this dashboard answers only as ${this.url}${named}${
        this.#local ? "" : ", or by IP address"
      }; start it with --public-url for the name you use`,
    );
  }

  /** `host` is an IP address with the port listened on (not a name). */
  #ipAddress(host: string): boolean {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\])(?::(\d+))?$/.exec(
      host,
    );
    return m !== null && Number(m[2] ?? 80) === this.#port;
  }

  /**
   * Listening beyond this machine, the refusal of a request without the
   * token (a 401 that makes a browser ask for it); else undefined.
   */
  async refuseRead(req: Request): Promise<Response | undefined> {
    if (this.#local) return undefined;
    const given = presentedToken(req);
    if (given !== undefined && await this.#matches(given)) return undefined;
    await req.body?.cancel();
    return jsonError(
      401,
      given === undefined ? "token-missing" : "token-refused",
      "this dashboard listens beyond this machine: every request needs the dashboard token (Authorization: Bearer <token>, or any user name and the token as password)",
      { "www-authenticate": 'Basic realm="callsync", charset="UTF-8"' },
    );
  }

  /**
   * Cross-site checks, then the token: the refusal of a POST that may not
   * act, or undefined when it may.
   */
  async refusePost(req: Request): Promise<Response | undefined> {
    const refuse = async (
      status: number,
      code: ErrorCode,
      message: string,
      headers: Record<string, string> = {},
    ) => {
      await req.body?.cancel();
      return jsonError(status, code, message, headers);
    };
    const own = new URL(req.url).origin;
    const origin = req.headers.get("origin");
    if (
      origin !== null && origin !== own &&
      !this.#publicUrls.some((u) => u.origin === origin)
    ) {
      return refuse(
        403,
        "cross-origin",
        `cross-origin request refused: Origin ${origin} is not ${own}`,
      );
    }
    const site = req.headers.get("sec-fetch-site");
    if (site !== null && site !== "same-origin" && site !== "none") {
      return refuse(
        403,
        "cross-origin",
        `cross-site request refused (Sec-Fetch-Site: ${site})`,
      );
    }
    if (!this.#token) {
      return refuse(
        403,
        "read-only",
        "this dashboard is read-only: start callsync serve with DASHBOARD_TOKEN (or --token) to run and retry",
      );
    }
    const m = /^Bearer[ \t]+(\S.*)$/i.exec(
      req.headers.get("authorization") ?? "",
    );
    if (!m) {
      return refuse(
        401,
        "token-missing",
        "send the dashboard token as Authorization: Bearer <token>",
        { "www-authenticate": 'Bearer realm="callsync"' },
      );
    }
    if (!(await this.#matches(m[1].trim()))) {
      return refuse(403, "token-refused", "wrong dashboard token");
    }
    return undefined;
  }
}

/**
 * The token a request presents: `Authorization: Bearer <token>`, or Basic
 * with the token as password (any user name); undefined if none.
 */
function presentedToken(req: Request): string | undefined {
  const auth = req.headers.get("authorization") ?? "";
  const bearer = /^Bearer[ \t]+(\S.*)$/i.exec(auth);
  if (bearer) return bearer[1].trim();
  const basic = /^Basic[ \t]+([A-Za-z0-9+/]+=*)$/i.exec(auth);
  if (!basic) return undefined;
  try {
    const bytes = Uint8Array.from(atob(basic[1]), (c) => c.charCodeAt(0));
    const pair = new TextDecoder().decode(bytes);
    return pair.slice(pair.indexOf(":") + 1);
  } catch {
    return undefined;
  }
}

/** The port a URL's scheme implies when it names none. */
function defaultPort(u: URL): string {
  return u.port || (u.protocol === "https:" ? "443" : "80");
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", encoder.encode(text)),
  );
}

/**
 * Compare a presented token with the configured one's hash in constant time:
 * both sides are SHA-256 digests of the same length, compared byte by byte
 * without an early exit, so neither the length nor the first differing byte
 * of the token shows in the time taken.
 */
export async function tokenMatches(
  given: string,
  expectedHash: Uint8Array,
): Promise<boolean> {
  const got = await sha256(given);
  let diff = got.length ^ expectedHash.length;
  for (let i = 0; i < got.length; i++) {
    diff |= got[i] ^ (expectedHash[i] ?? 0);
  }
  return diff === 0;
}
