/**
 * Who may use the dashboard. On a named address the `Host` header must name
 * it (no DNS rebinding); every POST must come from the page's own origin and
 * carry the dashboard token as `Authorization: Bearer …`, compared in
 * constant time; without a token the dashboard is read-only.
 *
 * @module
 */
import { type ErrorCode, jsonError } from "./http.ts";

const encoder = new TextEncoder();

/** Is `host` this machine only (a loopback name or address)? */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Refuses requests the dashboard must not answer. */
export class Guard {
  /** `http://host:port/` as reachable from this machine, once listening. */
  url = "";
  #tokenHash?: Promise<Uint8Array>;
  #hosts?: Set<string>;

  /** Without a `token` every POST is refused: the dashboard is read-only. */
  constructor(token: string | undefined) {
    if (token) this.#tokenHash = sha256(token);
  }

  /** A token is configured: runs and retries are possible. */
  get writable(): boolean {
    return this.#tokenHash !== undefined;
  }

  /**
   * Learn the address listened on: sets {@link url} and, unless listening on
   * all interfaces, the `Host` headers answered to.
   */
  listening(host: string, port: number): void {
    const bracket = (h: string) => h.includes(":") ? `[${h}]` : h;
    const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    this.url = `http://${bracket(shown)}:${port}/`;
    if (host === "0.0.0.0" || host === "::") return; // any Host: see the warning
    const names = [bracket(host).toLowerCase()];
    if (isLoopback(host)) names.push("127.0.0.1", "localhost", "[::1]");
    // Browsers leave the default port out of Host.
    this.#hosts = new Set(
      names.flatMap((h) => port === 80 ? [h, `${h}:80`] : [`${h}:${port}`]),
    );
  }

  /** A 421 for a `Host` other than the dashboard's own; else undefined. */
  async refuseHost(req: Request): Promise<Response | undefined> {
    const host = (req.headers.get("host") ?? "").toLowerCase();
    if (!this.#hosts || this.#hosts.has(host)) return undefined;
    await req.body?.cancel();
    return jsonError(
      421,
      "bad-host",
      `this dashboard answers only as ${this.url}`,
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
    if (origin !== null && origin !== own) {
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
    if (!this.#tokenHash) {
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
    if (!(await tokenMatches(m[1].trim(), await this.#tokenHash))) {
      return refuse(403, "token-refused", "wrong dashboard token");
    }
    return undefined;
  }
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
