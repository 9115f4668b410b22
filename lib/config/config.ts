/**
 * Resolve callsync's configuration: a flag beats the environment, the
 * environment beats `--env-file`, and that beats the defaults.
 *
 * @module
 */
import { resolve } from "node:path";
import { readCaFile } from "./ca_file.ts";
import { parseEnvFile } from "./envfile.ts";
import {
  parseProxy,
  type Proxy,
  type ProxyVariables,
  proxyVariables,
} from "./proxy.ts";
import { type Setting, SETTINGS } from "./settings.ts";
import { hostZone, isValidZone } from "../core/time.ts";
import { errorMessage } from "../core/errors.ts";
import { redact } from "../core/redact.ts";
import { decodeText } from "../core/text.ts";

/** A missing or malformed setting; `main` exits 2 with its message. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Everything a command needs to know, validated. */
export interface Config {
  baseDir: string;
  uploadUrl: string;
  callDataUrl: string;
  apiToken?: string;
  /** `CRM_PROXY`: every CRM request goes through it. */
  crmProxy?: Proxy;
  /** `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`: the environment's, else the env file's. */
  proxyVariables: ProxyVariables;
  /** `CRM_CA_FILE`, absolute. */
  caFile?: string;
  /** The certificates in {@link caFile}, trusted besides the default roots. */
  caCerts: string[];
  campaignId: string;
  voiceAgentId: string;
  clientId: string;
  batchSize: number;
  concurrency: number;
  retryAttempts: number;
  retryBackoffSeconds: number[];
  timeoutSeconds: number;
  /** Longest one request may take in all (`UPLOAD_DEADLINE_SECONDS`). */
  deadlineSeconds: number;
  matchWindowSeconds: number;
  staleSeconds: number;
  orphanAfterSeconds: number;
  leadWaitSeconds: number;
  timezone: string;
  conversationsDir: string;
  recordingsDir: string;
  leadsDir: string;
  processedDir: string;
  maxDurationSeconds: number;
  metricsFile?: string;
  healthcheckUrl?: string;
  archiveDir?: string;
  archiveAfterDays: number;
  /** watch: a call is delivered once its files are unchanged this long. */
  settleSeconds: number;
  /** watch: the folders are listed anew this often. */
  watchRescanSeconds: number;
  /** watch: how long requests in flight may finish after a stop signal. */
  stopTimeoutSeconds: number;
  /** watch: health-check heartbeat interval (0 = none). */
  heartbeatMinutes: number;
  /** watch: where `/metrics` is served, if anywhere. */
  metricsListen?: ListenAddress;
}

/** A `HOST:PORT` to listen on. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Where settings come from. */
export interface ConfigSources {
  /** Flag values by flag name (`crm-upload-url` …), as parsed. */
  flags: Record<string, string | undefined>;
  /** The process environment. */
  env: Record<string, string | undefined>;
  /** Path of an env file to read, if any (relative to the working directory). */
  envFile?: string;
  baseDir?: string;
  /** True for commands that talk to the CRM: URLs and ids must then be set. */
  requireUpload: boolean;
}

/**
 * Build a {@link Config} from flags, environment and env file.
 * Throws {@link ConfigError} naming the variable at fault.
 */
export async function loadConfig(src: ConfigSources): Promise<Config> {
  const fileVars = src.envFile ? await readEnvFile(src.envFile) : {};
  const v = new Values(src, fileVars);
  // Checked first, in this order, so the first problem reported stays the same.
  const retryBackoffSeconds = v.backoff("UPLOAD_RETRY_BACKOFF");
  const timezone = v.zone("TIMEZONE");
  const timeoutSeconds = v.positive("UPLOAD_TIMEOUT_SECONDS");
  const retryAttempts = v.positive("UPLOAD_RETRY_ATTEMPTS");
  const caFile = v.optionalPath("CRM_CA_FILE");
  return {
    baseDir: v.baseDir,
    uploadUrl: v.url("CRM_UPLOAD_URL"),
    callDataUrl: v.url("CRM_CALL_DATA_URL"),
    apiToken: v.token("CRM_API_TOKEN"),
    crmProxy: v.proxy("CRM_PROXY"),
    proxyVariables: checkedProxyVariables(src.env, fileVars),
    caFile,
    caCerts: caFile ? await caCerts(caFile) : [],
    campaignId: v.text("DEFAULT_CAMPAIGN_ID"),
    voiceAgentId: v.text("DEFAULT_VOICE_AGENT_ID"),
    clientId: v.text("DEFAULT_CLIENT_ID"),
    batchSize: v.count("UPLOAD_BATCH_SIZE"),
    concurrency: Math.max(1, v.count("UPLOAD_CONCURRENCY")),
    retryAttempts,
    retryBackoffSeconds,
    timeoutSeconds,
    deadlineSeconds: v.positive("UPLOAD_DEADLINE_SECONDS"),
    matchWindowSeconds: v.count("MATCH_WINDOW_SECONDS"),
    staleSeconds: v.count("STALE_SECONDS"),
    orphanAfterSeconds: v.count("ORPHAN_AFTER_SECONDS"),
    leadWaitSeconds: v.count("LEAD_WAIT_SECONDS"),
    timezone,
    conversationsDir: v.dir("CONVERSATIONS_DIR"),
    recordingsDir: v.dir("RECORDINGS_DIR"),
    leadsDir: v.dir("LEADS_DIR"),
    processedDir: v.dir("PROCESSED_DIR"),
    maxDurationSeconds: v.count("MAX_DURATION_SECONDS"),
    metricsFile: v.optionalPath("METRICS_FILE"),
    healthcheckUrl: v.url("HEALTHCHECK_URL").replace(/\/+$/, "") || undefined,
    archiveDir: v.optionalPath("ARCHIVE_DIR"),
    archiveAfterDays: v.count("ARCHIVE_AFTER_DAYS"),
    settleSeconds: v.count("SETTLE_SECONDS"),
    watchRescanSeconds: v.positive("WATCH_RESCAN_SECONDS"),
    stopTimeoutSeconds: v.count("STOP_TIMEOUT_SECONDS"),
    heartbeatMinutes: v.count("HEARTBEAT_MINUTES"),
    metricsListen: v.address("METRICS_LISTEN"),
  };
}

/**
 * Each setting's text from the first source that gives it (a blank value
 * counts as unset and falls through to the next source), read by kind.
 */
class Values {
  readonly baseDir: string;
  #values: Map<string, string | undefined>;
  #requireUpload: boolean;

  constructor(src: ConfigSources, fileVars: Record<string, string>) {
    const given = (v: string | undefined) => v?.trim() || undefined;
    this.#values = new Map(
      SETTINGS.map((s) => [
        s.env,
        given(src.flags[s.flag]) ?? given(src.env[s.env]) ??
          given(fileVars[s.env]) ?? s.default,
      ]),
    );
    this.baseDir = resolve(src.baseDir ?? Deno.cwd());
    this.#requireUpload = src.requireUpload;
  }

  /** The setting's text, if any. */
  get(env: string): string | undefined {
    return this.#values.get(env);
  }

  /** Text; required for upload commands when the setting says so. */
  text(env: string): string {
    const v = this.get(env);
    const s = setting(env);
    if (v === undefined && this.#requireUpload && s.requiredForUpload) {
      throw new ConfigError(
        `${env} is not set: set it in the environment, the --env-file, or with --${s.flag}`,
      );
    }
    return v ?? "";
  }

  /** An http(s) URL, or "" when unset. Its password is never shown. */
  url(env: string): string {
    const v = this.text(env);
    if (v && !/^https?:\/\/[^/\s]+/i.test(v)) {
      throw new ConfigError(
        `${env} must be an http(s) URL, got "${redact(v, [])}"`,
      );
    }
    return v;
  }

  /** A proxy URL, or undefined when unset. */
  proxy(env: string): Proxy | undefined {
    const v = this.get(env);
    return v === undefined ? undefined : configProxy(v, env);
  }

  /** A token for an HTTP header (see {@link checkToken}), or undefined. */
  token(env: string): string | undefined {
    const v = this.get(env);
    return v === undefined ? undefined : checkToken(env, v);
  }

  /** A whole number ≥ 0. */
  count(env: string): number {
    const v = this.get(env) ?? "";
    if (!/^\d+$/.test(v)) {
      throw new ConfigError(`${env} must be a whole number ≥ 0, got "${v}"`);
    }
    return Number(v);
  }

  /** A whole number ≥ 1. */
  positive(env: string): number {
    const n = this.count(env);
    if (n === 0) throw new ConfigError(`${env} must be at least 1`);
    return n;
  }

  /**
   * A folder, relative ones resolved against the base folder. A control
   * character is refused: it is what `"C:\new"` in an env file becomes.
   */
  dir(env: string): string {
    const v = this.get(env)!;
    if ([...v].some((c) => c < " ")) {
      throw new ConfigError(
        `${env} holds a line break, tab or other control character: in an --env-file, \\n and \\t inside double quotes are escapes, so write Windows paths without quotes or in single quotes (${env}='C:\\voicebot\\new')`,
      );
    }
    return resolve(this.baseDir, v);
  }

  /** A path like {@link dir}, or undefined when unset. */
  optionalPath(env: string): string | undefined {
    return this.get(env) === undefined ? undefined : this.dir(env);
  }

  /** `HOST:PORT` (`[::1]:PORT` for IPv6), or undefined when unset. */
  address(env: string): ListenAddress | undefined {
    const text = this.get(env);
    if (text === undefined) return undefined;
    const address = parseListenAddress(text);
    if (!address) {
      throw new ConfigError(
        `${env} must be HOST:PORT such as 127.0.0.1:9464, got "${text}"`,
      );
    }
    return address;
  }

  /** Seconds separated by commas, e.g. `60,300,900`. */
  backoff(env: string): number[] {
    const text = this.get(env)!;
    const parts = text.split(",").map((s) => s.trim());
    if (!parts.every((s) => /^\d+(\.\d+)?$/.test(s))) {
      throw new ConfigError(
        `${env} must be seconds separated by commas (e.g. 60,300,900), got "${text}"`,
      );
    }
    return parts.map(Number);
  }

  /** An IANA time zone; the host's when unset. */
  zone(env: string): string {
    const zone = this.get(env) ?? hostZone();
    if (!isValidZone(zone)) {
      throw new ConfigError(
        `${env} must be an IANA time zone such as Asia/Kolkata or UTC, got "${zone}"`,
      );
    }
    return zone;
  }
}

/**
 * The proxy variables of the environment, else of the env file (upper case
 * before lower case in each), their proxy URLs checked.
 */
function checkedProxyVariables(
  env: Record<string, string | undefined>,
  fileVars: Record<string, string>,
): ProxyVariables {
  const vars = proxyVariables(env, fileVars);
  for (const name of ["HTTPS_PROXY", "HTTP_PROXY"] as const) {
    const value = vars[name];
    if (value !== undefined) configProxy(value, name);
  }
  return vars;
}

function configProxy(text: string, setting: string): Proxy {
  try {
    return parseProxy(text, setting);
  } catch (e) {
    throw new ConfigError(errorMessage(e));
  }
}

async function caCerts(path: string): Promise<string[]> {
  try {
    return await readCaFile(path);
  } catch (e) {
    throw new ConfigError(errorMessage(e));
  }
}

/**
 * `value` if it can be sent as a bearer token: printable ASCII only. A line
 * break (a token pasted with its newline) or a non-ASCII character would be
 * refused by every request, so it is a configuration error at start-up
 * instead. The message never shows the token.
 *
 * @example
 * ```ts
 * checkToken("CRM_API_TOKEN", "abc123"); // "abc123"
 * checkToken("CRM_API_TOKEN", "abc\r\n"); // throws ConfigError
 * ```
 */
export function checkToken(name: string, value: string): string {
  const at = value.search(/[^\x20-\x7e]/);
  if (at < 0) return value;
  const code = value.charCodeAt(at);
  const what = code === 0x0a || code === 0x0d
    ? "a line break (CR or LF)"
    : code < 0x20 || code === 0x7f
    ? "a control character"
    : "a non-ASCII character";
  throw new ConfigError(
    `${name} contains ${what} at position ${
      at + 1
    }: it is sent in an HTTP header, which takes printable ASCII only; check how the token was pasted`,
  );
}

/**
 * What no log line, state file, report or page may show: the CRM token, the
 * passwords of the proxies in force, and the passwords in the configured URLs
 * (URL user-info is masked anyway).
 */
export function configSecrets(cfg: Config): string[] {
  const { HTTPS_PROXY, HTTP_PROXY } = cfg.proxyVariables;
  const proxies = [HTTPS_PROXY, HTTP_PROXY]
    .filter((url) => url !== undefined)
    .map((url) => parseProxy(url, "proxy"));
  const passwords = [cfg.crmProxy, ...proxies].map((p) =>
    p?.basicAuth?.password
  );
  const urlPasswords = [cfg.uploadUrl, cfg.callDataUrl, cfg.healthcheckUrl]
    .map(urlPassword);
  return [cfg.apiToken, ...passwords, ...urlPasswords]
    .filter((s): s is string => !!s);
}

/** The password in a URL's user-info, decoded, if any. */
function urlPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parse `HOST:PORT`; undefined when it is not one.
 *
 * @example
 * ```ts
 * parseListenAddress("127.0.0.1:9464"); // { host: "127.0.0.1", port: 9464 }
 * parseListenAddress("[::1]:9464"); // { host: "::1", port: 9464 }
 * ```
 */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) return undefined;
  return { host: m[1] ?? m[2], port };
}

function setting(env: string): Setting {
  return SETTINGS.find((s) => s.env === env)!;
}

async function readEnvFile(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = decodeText(await Deno.readFile(path));
  } catch (e) {
    throw new ConfigError(
      `cannot read --env-file ${path}: ${errorMessage(e)}`,
    );
  }
  try {
    return parseEnvFile(text, path);
  } catch (e) {
    throw new ConfigError(errorMessage(e));
  }
}
