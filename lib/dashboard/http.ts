/**
 * The dashboard's HTTP plumbing: JSON and HTML responses that all carry the
 * security headers and a strict CSP (pages: a per-response nonce for our own
 * script and style), JSON error bodies, and request bodies read with a cap.
 *
 * @module
 */

/** A JSON error's `code`, for the page's script and API clients. */
export type ErrorCode =
  | "bad-host"
  | "cross-origin"
  | "read-only"
  | "token-missing"
  | "token-refused"
  | "bad-request"
  | "unsupported-media-type"
  | "too-large"
  | "not-found"
  | "method-not-allowed"
  | "busy"
  | "crm-not-configured"
  | "internal";

/** Largest POST body read. */
export const MAX_BODY = 64 * 1024;

const API_CSP =
  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The headers every response carries. */
function secured(headers: Headers, csp: string): Headers {
  headers.set("content-security-policy", csp);
  headers.set("x-content-type-options", "nosniff");
  headers.set("referrer-policy", "no-referrer");
  headers.set("x-frame-options", "DENY");
  headers.set("cross-origin-opener-policy", "same-origin");
  headers.set("cross-origin-resource-policy", "same-origin");
  headers.set("cache-control", "no-store");
  return headers;
}

/** The page's CSP: only our nonce'd script and style, fetches to ourselves. */
export function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** A fresh random nonce for one page's script and style. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/** `body` as indented JSON, with the security headers. */
export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  const h = secured(new Headers(headers), API_CSP);
  h.set("content-type", "application/json; charset=utf-8");
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: h,
  });
}

/** A JSON error: `{"error": message, "code": code}`. */
export function jsonError(
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return json(status, { error: message, code }, headers);
}

/** A page, under the CSP that allows its `nonce`. */
export function htmlResponse(
  status: number,
  body: string,
  nonce: string,
): Response {
  const h = secured(new Headers(), pageCsp(nonce));
  h.set("content-type", "text/html; charset=utf-8");
  return new Response(body, { status, headers: h });
}

/** A percent-encoded path segment decoded; undefined if malformed. */
export function safeDecode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** The request's body as text, or "too-large" past {@link MAX_BODY} bytes. */
export async function readBody(req: Request): Promise<string | "too-large"> {
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > MAX_BODY) return "too-large";
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}
