/**
 * Resolve callsync's configuration: a flag beats the environment, the
 * environment beats `--env-file`, and that beats the defaults.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { parseEnvFile } from "./envfile.ts";
import { type Setting, SETTINGS } from "./settings.ts";
import { hostZone, isValidZone } from "../core/time.ts";
import { errorMessage } from "../core/errors.ts";

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
  campaignId: string;
  voiceAgentId: string;
  clientId: string;
  batchSize: number;
  concurrency: number;
  retryAttempts: number;
  retryBackoffSeconds: number[];
  timeoutSeconds: number;
  matchWindowSeconds: number;
  staleSeconds: number;
  orphanAfterSeconds: number;
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
  const raw = (s: Setting): string | undefined => {
    // A blank value counts as unset and falls through to the next source.
    const given = (v: string | undefined) => v?.trim() || undefined;
    return given(src.flags[s.flag]) ?? given(src.env[s.env]) ??
      given(fileVars[s.env]) ?? s.default;
  };
  const values = new Map(SETTINGS.map((s) => [s.env, raw(s)]));
  const baseDir = resolve(src.baseDir ?? Deno.cwd());
  const get = (env: string) => values.get(env);
  const setting = (env: string) => SETTINGS.find((s) => s.env === env)!;

  const text = (env: string): string => {
    const v = get(env);
    if (
      v === undefined && src.requireUpload && setting(env).requiredForUpload
    ) {
      throw new ConfigError(
        `${env} is not set: set it in the environment, the --env-file, or with --${
          setting(env).flag
        }`,
      );
    }
    return v ?? "";
  };
  const url = (env: string): string => {
    const v = text(env);
    if (v && !/^https?:\/\/[^/\s]+/i.test(v)) {
      throw new ConfigError(`${env} must be an http(s) URL, got "${v}"`);
    }
    return v;
  };
  const count = (env: string): number => {
    const v = get(env) ?? "";
    if (!/^\d+$/.test(v)) {
      throw new ConfigError(`${env} must be a whole number ≥ 0, got "${v}"`);
    }
    return Number(v);
  };
  const dir = (env: string): string => {
    const v = get(env)!;
    return isAbsolute(v) ? v : resolve(baseDir, v);
  };
  const optionalPath = (env: string): string | undefined =>
    get(env) === undefined ? undefined : dir(env);

  const backoffText = get("UPLOAD_RETRY_BACKOFF")!;
  const backoff = backoffText.split(",").map((s) => s.trim());
  if (!backoff.every((s) => /^\d+(\.\d+)?$/.test(s))) {
    throw new ConfigError(
      `UPLOAD_RETRY_BACKOFF must be seconds separated by commas (e.g. 60,300,900), got "${backoffText}"`,
    );
  }
  const timezone = get("TIMEZONE") ?? hostZone();
  if (!isValidZone(timezone)) {
    throw new ConfigError(
      `TIMEZONE must be an IANA time zone such as Asia/Kolkata or UTC, got "${timezone}"`,
    );
  }
  const timeoutSeconds = count("UPLOAD_TIMEOUT_SECONDS");
  if (timeoutSeconds === 0) {
    throw new ConfigError("UPLOAD_TIMEOUT_SECONDS must be at least 1");
  }
  const retryAttempts = count("UPLOAD_RETRY_ATTEMPTS");
  if (retryAttempts === 0) {
    throw new ConfigError("UPLOAD_RETRY_ATTEMPTS must be at least 1");
  }

  return {
    baseDir,
    uploadUrl: url("CRM_UPLOAD_URL"),
    callDataUrl: url("CRM_CALL_DATA_URL"),
    apiToken: get("CRM_API_TOKEN"),
    campaignId: text("DEFAULT_CAMPAIGN_ID"),
    voiceAgentId: text("DEFAULT_VOICE_AGENT_ID"),
    clientId: text("DEFAULT_CLIENT_ID"),
    batchSize: count("UPLOAD_BATCH_SIZE"),
    concurrency: Math.max(1, count("UPLOAD_CONCURRENCY")),
    retryAttempts,
    retryBackoffSeconds: backoff.map(Number),
    timeoutSeconds,
    matchWindowSeconds: count("MATCH_WINDOW_SECONDS"),
    staleSeconds: count("STALE_SECONDS"),
    orphanAfterSeconds: count("ORPHAN_AFTER_SECONDS"),
    timezone,
    conversationsDir: dir("CONVERSATIONS_DIR"),
    recordingsDir: dir("RECORDINGS_DIR"),
    leadsDir: dir("LEADS_DIR"),
    processedDir: dir("PROCESSED_DIR"),
    maxDurationSeconds: count("MAX_DURATION_SECONDS"),
    metricsFile: optionalPath("METRICS_FILE"),
    healthcheckUrl: url("HEALTHCHECK_URL").replace(/\/+$/, "") || undefined,
    archiveDir: optionalPath("ARCHIVE_DIR"),
    archiveAfterDays: count("ARCHIVE_AFTER_DAYS"),
  };
}

async function readEnvFile(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
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
