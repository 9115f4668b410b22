/**
 * The CRM's two endpoints: the storage upload that turns a recording into a
 * URL, and the call-data POST. Classifies every answer so the caller knows
 * whether to retry now, retry next run, or stop the run.
 *
 * @module
 */
import { basename } from "node:path";
import { FileChangedError } from "../source/files.ts";
import { type BodySource, MultipartFile } from "./multipart.ts";
import {
  ProxyAuthError,
  RedirectError,
  type Transport,
  type TransportAnswer,
  type TransportRequest,
} from "./transport.ts";
import { errorMessage } from "../core/errors.ts";

/** How a failed request should be handled. */
export type FailureKind =
  /** Worth retrying in this run: network error, timeout, 408, 425, 429, 5xx. */
  | "transient"
  /** The CRM refused this set (4xx, `success:false`, bad body, redirect): retry next run. */
  | "rejected"
  /** 401/403, or a proxy's 407: no set can succeed; the run stops (exit 3). */
  | "unauthorized";

/** A request to the CRM that did not succeed. */
export class CrmError extends Error {
  override name = "CrmError";
  readonly kind: FailureKind;
  readonly status?: number;
  /** From `Retry-After`, in milliseconds. */
  readonly retryAfterMs?: number;

  constructor(
    message: string,
    kind: FailureKind,
    status?: number,
    retryAfterMs?: number,
  ) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Where and how to reach the CRM. */
export interface CrmEndpoints {
  uploadUrl: string;
  callDataUrl: string;
  apiToken?: string;
  /** No progress for this long abandons a request (`UPLOAD_TIMEOUT_SECONDS`). */
  timeoutSeconds: number;
  /** Longest a request may take in all (`UPLOAD_DEADLINE_SECONDS`). */
  deadlineSeconds: number;
  transport: Transport;
}

/** Injected delay, so tests need not wait. */
export type Sleep = (ms: number) => Promise<void>;

/** In-run retry policy for transient failures. */
export interface RetryPolicy {
  /** Tries per request in one run, the first included. */
  tries: number;
  /** First backoff; doubled each retry, with ±50 % jitter. */
  baseDelayMs: number;
  /** A `Retry-After` longer than this ends the run's tries for the set. */
  maxRetryAfterMs: number;
  sleep: Sleep;
}

/** The default in-run retry policy: 3 tries, 0.5 s then 1 s (jittered). */
export const DEFAULT_RETRY: RetryPolicy = {
  tries: 3,
  baseDelayMs: 500,
  maxRetryAfterMs: 30_000,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** Longest recording URL accepted from the CRM. */
const MAX_URL_LENGTH = 2048;

/**
 * Upload the open recording `file` (multipart field `file`, original file
 * name, `contentType`: `audio/ogg`, `audio/mp4` …) and return the URL the
 * CRM stored it under; every try reads the same open file. Rejects with
 * {@link FileChangedError}, untried again, when the file shrinks while it is
 * being sent.
 */
export async function uploadRecording(
  crm: CrmEndpoints,
  file: BodySource,
  contentType: string,
  idempotencyKey: string,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<string> {
  const res = await withRetries(retry, () => {
    const body = new MultipartFile({
      field: "file",
      fileName: basename(file.path),
      file,
      mediaType: contentType,
    });
    return send(crm, {
      url: crm.uploadUrl,
      headers: headers(crm, body.type, idempotencyKey),
      body,
    });
  });
  return recordingUrl(successJson(res, "upload"), crm.uploadUrl, res);
}

/** POST the call record. Resolves once the CRM accepted it. */
export async function postCallData(
  crm: CrmEndpoints,
  record: unknown,
  idempotencyKey: string,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<void> {
  const body = new TextEncoder().encode(JSON.stringify(record));
  const res = await withRetries(retry, () =>
    send(crm, {
      url: crm.callDataUrl,
      headers: headers(crm, "application/json", idempotencyKey),
      body,
    }));
  if (res.body.trim() !== "") successJson(res, "call-data");
}

/**
 * The URL a recording was stored under, from the upload's answer:
 * `data.url` (the original design's answer), else a top-level `url`, else
 * `data.relativeUrl` resolved against the upload URL. It must be http(s), at
 * most 2,048 characters, without control characters.
 *
 * @example
 * ```ts
 * recordingUrl(
 *   { success: true, data: { relativeUrl: "/uploads/recordings/1.ogg" } },
 *   "https://crm.example/apis/api/public/upload",
 * ); // "https://crm.example/uploads/recordings/1.ogg"
 * ```
 */
export function recordingUrl(
  answer: Record<string, unknown>,
  uploadUrl: string,
  res?: TransportAnswer,
): string {
  const data = answer.data && typeof answer.data === "object"
    ? answer.data as Record<string, unknown>
    : {};
  const endpoint = new URL(uploadUrl).pathname;
  const refuse = (why: string) =>
    new CrmError(
      `${endpoint} answered success ${why}: ${excerpt(JSON.stringify(answer))}`,
      "rejected",
      res?.status,
    );
  const given = [data.url, answer.url, data.relativeUrl].find((v) =>
    typeof v === "string" && v !== ""
  ) as string | undefined;
  if (given === undefined) {
    throw refuse("without data.url, url or data.relativeUrl");
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(given)) {
    throw refuse("with a recording URL holding control characters");
  }
  let url: URL;
  try {
    url = new URL(given, uploadUrl);
  } catch {
    throw refuse("with a recording URL that does not parse");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw refuse(`with a recording URL that is not http(s) (${url.protocol})`);
  }
  if (url.href.length > MAX_URL_LENGTH) {
    throw refuse(
      `with a recording URL of ${url.href.length} characters (at most ${MAX_URL_LENGTH})`,
    );
  }
  return url.href;
}

function headers(
  crm: CrmEndpoints,
  contentType: string,
  idempotencyKey: string,
): Record<string, string> {
  return {
    "content-type": contentType,
    "accept": "application/json",
    "idempotency-key": idempotencyKey,
    "user-agent": "callsync",
    ...(crm.apiToken ? { authorization: `Bearer ${crm.apiToken}` } : {}),
  };
}

/** One POST, its status classified. Resolves only for 2xx. */
async function send(
  crm: CrmEndpoints,
  req: Pick<TransportRequest, "url" | "headers" | "body">,
): Promise<TransportAnswer> {
  const endpoint = new URL(req.url).pathname;
  let res: TransportAnswer;
  try {
    res = await crm.transport.send({
      ...req,
      method: "POST",
      idleTimeoutMs: crm.timeoutSeconds * 1000,
      deadlineMs: crm.deadlineSeconds * 1000,
    });
  } catch (e) {
    // Our file changed, not the CRM: the caller defers the set.
    if (e instanceof FileChangedError) throw e;
    const message = `${endpoint}: ${errorMessage(e)}`;
    if (e instanceof ProxyAuthError) {
      throw new CrmError(message, "unauthorized", 407);
    }
    if (e instanceof RedirectError) {
      throw new CrmError(message, "rejected", e.status);
    }
    throw new CrmError(message, "transient");
  }
  if (res.status >= 200 && res.status < 300) return res;
  const what = `${endpoint} answered HTTP ${res.status}`;
  if (res.status === 401 || res.status === 403) {
    throw new CrmError(
      `${what}: check CRM_API_TOKEN${crm.apiToken ? "" : " (none is set)"}: ${
        excerpt(res.body)
      }`,
      "unauthorized",
      res.status,
    );
  }
  const transient = [408, 425, 429].includes(res.status) || res.status >= 500;
  const hint = res.status === 413
    ? " (the CRM refuses a file this large; raise its upload limit)"
    : "";
  throw new CrmError(
    `${what}${hint}: ${excerpt(res.body)}`,
    transient ? "transient" : "rejected",
    res.status,
    retryAfter(res.headers.get("retry-after") ?? undefined),
  );
}

/** Retry transient failures within the run, honouring `Retry-After`. */
async function withRetries<T>(
  policy: RetryPolicy,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let i = 1;; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (
        !(e instanceof CrmError) || e.kind !== "transient" || i >= policy.tries
      ) {
        throw e;
      }
      if ((e.retryAfterMs ?? 0) > policy.maxRetryAfterMs) throw e;
      const backoff = policy.baseDelayMs * 2 ** (i - 1) * (0.5 + Math.random());
      await policy.sleep(Math.max(backoff, e.retryAfterMs ?? 0));
    }
  }
}

/** Parse a 2xx body that must be JSON `{ success: true, … }`. */
function successJson(
  res: TransportAnswer,
  what: string,
): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    throw new CrmError(
      `${what} answered HTTP ${res.status} with a body that is not JSON: ${
        excerpt(res.body)
      }`,
      "rejected",
      res.status,
    );
  }
  if (!json || typeof json !== "object" || Array.isArray(json)) {
    throw new CrmError(
      `${what} answered a JSON that is not an object: ${excerpt(res.body)}`,
      "rejected",
      res.status,
    );
  }
  const obj = json as Record<string, unknown>;
  if (obj.success === false || (what === "upload" && obj.success !== true)) {
    throw new CrmError(
      `${what} answered success:${String(obj.success)}: ${excerpt(res.body)}`,
      "rejected",
      res.status,
    );
  }
  return obj;
}

/** The body's first 200 characters, on one line. */
export function excerpt(body: string): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? flat.slice(0, 200) + "…" : flat || "(empty body)";
}

/** `Retry-After` as milliseconds (seconds or an HTTP date). */
export function retryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
