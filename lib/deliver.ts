/**
 * Deliver one set: upload its recording (unless an earlier run did), POST the
 * call record, write the delivery record. Steps are ordered so a kill at any
 * instant can at worst repeat the request in flight, with the same
 * `Idempotency-Key`, and never lose a call.
 *
 * @module
 */
import { relative } from "node:path";
import type { Config } from "./config.ts";
import {
  CrmError,
  postCallData,
  type RetryPolicy,
  uploadRecording,
} from "./crm.ts";
import type { Logger } from "./log.ts";
import { FileChangedError } from "./multipart.ts";
import {
  buildCallRecord,
  idempotencyKey,
  setCallId,
  type UploadedRecording,
} from "./payload.ts";
import type { CallSet } from "./plan.ts";
import type { FileInfo } from "./scan.ts";
import { type Progress, StateError, type StateStore } from "./state.ts";
import { localDateTime } from "./time.ts";

/** How one set's attempt ended. */
export type DeliveryResult =
  | { outcome: "delivered"; bytes: number }
  | { outcome: "deferred" }
  | { outcome: "failed"; error: string };

/** What delivering needs. */
export interface DeliveryContext {
  cfg: Config;
  log: Logger;
  store: StateStore;
  retry?: RetryPolicy;
}

/**
 * Deliver `set`. Resolves with the outcome; rejects only with a
 * {@link StateError} or an unauthorized {@link CrmError}, both fatal for the
 * run.
 */
export async function deliverSet(
  ctx: DeliveryContext,
  set: CallSet,
): Promise<DeliveryResult> {
  const { cfg, log, store } = ctx;
  const crm = {
    uploadUrl: cfg.uploadUrl,
    callDataUrl: cfg.callDataUrl,
    apiToken: cfg.apiToken,
    timeoutSeconds: cfg.timeoutSeconds,
  };
  let progress: Progress = set.progress ?? { set: set.name, attempts: 0 };
  log.info(`Processing: ${set.name}`, { set: set.name });
  try {
    let recording: UploadedRecording | undefined;
    let bytes = 0;
    if (progress.recording_url) {
      recording = {
        url: progress.recording_url,
        size: progress.recording_size ?? 0,
        durationSeconds: progress.recording_duration,
      };
    } else if (set.recording) {
      const rec = set.recording;
      if (set.kind === "call") {
        log.info(`Matched recording: ${rec.name}`, { set: set.name });
      }
      if (set.truncated) {
        log.warn(
          `Recording ${rec.name} has no end-of-stream page and has not changed for ${cfg.staleSeconds} s; uploading it as truncated`,
          { set: set.name },
        );
      }
      await assertUnchanged(rec);
      const key = await idempotencyKey(set.name, "recording");
      const url = await uploadRecording(
        crm,
        rec.path,
        rec.size,
        key,
        ctx.retry,
      );
      await assertUnchanged(rec);
      log.info(
        `Recording uploaded: ${Math.round(rec.size / 1024)}KB → ${url}`,
        { set: set.name },
      );
      bytes = rec.size;
      recording = {
        url,
        size: rec.size,
        durationSeconds: rec.ogg.durationSeconds,
      };
      progress = {
        ...progress,
        recording_file: rec.name,
        recording_url: url,
        recording_size: rec.size,
        recording_duration: rec.ogg.durationSeconds,
        truncated: set.truncated,
      };
      await store.saveProgress(progress);
    }
    if (set.lead) {
      log.info(`Found lead file: ${set.lead.name}`, { set: set.name });
    }
    for (const f of [set.conversation, set.lead]) {
      if (f) await assertUnchanged(f);
    }

    const callId = setCallId(set, cfg.timezone);
    const key = await idempotencyKey(set.name, "call-data");
    await postCallData(
      crm,
      buildCallRecord(set, recording, cfg),
      key,
      ctx.retry,
    );
    log.info(`Call data uploaded successfully: ${callId}`, {
      set: set.name,
      callId,
    });
    const source = set.conversation ?? set.recording;
    await store.markDelivered({
      uploaded_at: new Date().toISOString(),
      original_path: source ? relative(cfg.baseDir, source.path) : set.name,
      set: set.name,
      kind: set.kind,
      call_id: callId,
      idempotency_key: key,
      recording_uploaded: recording !== undefined,
      recording_file: progress.recording_file,
      recording_url: recording?.url,
      recording_size: recording?.size,
      truncated: progress.truncated || undefined,
      call_data_uploaded: true,
      lead_uploaded: set.lead !== undefined,
      lead_file: set.lead?.name,
      upload_attempts: progress.attempts + 1,
    });
    log.info(`File marked as processed: ${set.name}`, { set: set.name });
    return { outcome: "delivered", bytes };
  } catch (e) {
    if (e instanceof StateError) throw e;
    if (e instanceof FileChangedError) {
      log.info(`${set.name}: ${e.message}; will try again next run`, {
        set: set.name,
      });
      return { outcome: "deferred" };
    }
    const error = e instanceof Error ? e.message : String(e);
    if (e instanceof CrmError && e.kind === "unauthorized") {
      log.error(`CRM refused our credentials: ${error}; stopping the run`, {
        set: set.name,
      });
      throw e;
    }
    await recordFailure(
      ctx,
      progress,
      error,
      e instanceof CrmError ? e.retryAfterMs : undefined,
    );
    return { outcome: "failed", error };
  }
}

async function recordFailure(
  ctx: DeliveryContext,
  progress: Progress,
  error: string,
  retryAfterMs: number | undefined,
): Promise<void> {
  const { cfg, log, store } = ctx;
  const attempts = progress.attempts + 1;
  const failed = attempts >= cfg.retryAttempts;
  const backoff = cfg.retryBackoffSeconds;
  const waitMs = Math.max(
    backoff[Math.min(attempts, backoff.length) - 1] * 1000,
    retryAfterMs ?? 0,
  );
  const next = Date.now() + waitMs;
  const then = failed
    ? "giving up until `callsync retry`"
    : `next attempt after ${localDateTime(next, cfg.timezone)}`;
  log.error(
    `Upload failed for ${progress.set} (attempt ${attempts} of ${cfg.retryAttempts}): ${error}; ${then}`,
    { set: progress.set },
  );
  await store.saveProgress({
    ...progress,
    attempts,
    last_error: error,
    next_attempt_at: next,
    failed,
  });
  await store.journalFailure(progress.set, error);
}

/** Abandon the attempt if a file changed since it was scanned. */
async function assertUnchanged(f: FileInfo): Promise<void> {
  const st = await Deno.stat(f.path).catch(() => undefined);
  if (!st || st.size !== f.size || (st.mtime?.getTime() ?? 0) !== f.mtimeMs) {
    throw new FileChangedError(`${f.name} changed since it was scanned`);
  }
}
