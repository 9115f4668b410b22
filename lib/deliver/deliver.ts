/**
 * Deliver one set: upload its recording (unless an earlier run did), POST the
 * call record, write the delivery record. Steps are ordered so a kill at any
 * instant can at worst repeat the request in flight, with the same
 * `Idempotency-Key`, and never lose a call.
 *
 * @module
 */
import { relative, sep } from "node:path";
import type { Config } from "../config/config.ts";
import {
  type CrmEndpoints,
  CrmError,
  DEFAULT_RETRY,
  postCallData,
  type RetryPolicy,
  uploadRecording,
} from "./crm.ts";
import type { Logger } from "../core/log.ts";
import type { Slots } from "../core/slots.ts";
import type { Transport } from "./transport.ts";
import {
  buildCallRecord,
  idempotencyKey,
  type UploadedRecording,
} from "./payload.ts";
import { leadUpdateRecord } from "./lead_update.ts";
import type { CallSet } from "../pair/plan.ts";
import { FileChangedError, openScanned, unchanged } from "../source/files.ts";
import { type Progress, StateError, type StateStore } from "../state/store.ts";
import { localDateTime } from "../core/time.ts";
import { errorMessage } from "../core/errors.ts";

/** How one set's attempt ended. */
export type DeliveryResult =
  | { outcome: "delivered"; bytes: number }
  | { outcome: "deferred" }
  | { outcome: "failed"; error: string; gaveUp: boolean }
  /**
   * The run gave out no more first turns (`--max-duration`, or a fatal
   * error) before the set sent anything; its recording may be pinned.
   */
  | { outcome: "unsent" };

/** Requests of one kind in a run, by result. */
export interface RequestCounts {
  success: number;
  failure: number;
}

/** What a run sent, for metrics. */
export interface RunStats {
  recording: RequestCounts;
  call_data: RequestCounts;
  /** Recording bytes the CRM accepted. */
  bytes: number;
}

/** Fresh, zeroed {@link RunStats}. */
export function newRunStats(): RunStats {
  return {
    recording: { success: 0, failure: 0 },
    call_data: { success: 0, failure: 0 },
    bytes: 0,
  };
}

/** What delivering needs. */
export interface DeliveryContext {
  cfg: Config;
  log: Logger;
  store: StateStore;
  stats: RunStats;
  /** The connections to the CRM, shared by every set of the run. */
  transport: Transport;
  /**
   * Sending turns shared by the sets under way (`UPLOAD_CONCURRENCY` of
   * them): each request, with its retries within the run, holds one, and no
   * state write does; a set's first request takes one no set under way waits
   * for ({@link Slots.takeFirst}), so a set opens and pins its recording
   * while others send. Once closed, sets that have sent nothing end
   * `unsent`. Without it, sets send whenever they are ready.
   */
  network?: Slots;
  retry?: RetryPolicy;
}

/**
 * Deliver `set`. Resolves with the outcome; rejects only with a
 * {@link StateError} or an unauthorized {@link CrmError}, both fatal for the
 * run.
 *
 * Once the recording is up, the call record is built and kept in the
 * progress record with its URL, so a retry sends the very same body under
 * the same `Idempotency-Key` even if a lead arrives meanwhile.
 */
export async function deliverSet(
  ctx: DeliveryContext,
  set: CallSet,
): Promise<DeliveryResult> {
  const fields = { set: set.name };
  const attempt: Attempt = {
    progress: set.progress ?? { set: set.name, attempts: 0 },
    bytes: 0,
    announce: () => announce(ctx, set, attempt),
  };
  try {
    if (set.kind === "lead-update") {
      await leadUpdateStep(ctx, set, attempt);
      return { outcome: "delivered", bytes: 0 };
    }
    attempt.recording = uploadedBefore(attempt.progress);
    if (!attempt.recording && set.recording) {
      await uploadStep(ctx, set, attempt);
    } else if (!attempt.progress.call_record) {
      await assertFilesUnchanged(set);
    }
    if (set.kind === "lead-only") await pinAlone(ctx, set, attempt);
    else if (set.lead) {
      ctx.log.info(`Found lead file: ${set.lead.name}`, fields);
    }
    if (set.leadMissing) {
      ctx.log.warn(
        `${set.name} says lead_generated but no lead file came within ${ctx.cfg.leadWaitSeconds} s (LEAD_WAIT_SECONDS); sending it without one (a lead that comes later is sent as an update)`,
        fields,
      );
    }
    await callDataStep(ctx, set, attempt);
    rememberEvidence(ctx, set);
    ctx.log.info(`File marked as processed: ${set.name}`, fields);
    return { outcome: "delivered", bytes: attempt.bytes };
  } catch (e) {
    if (e instanceof NoTurnError) return { outcome: "unsent" };
    return await failedAttempt(ctx, set, attempt.progress, e);
  }
}

/** Where one attempt at a set has got to. */
interface Attempt {
  progress: Progress;
  /** The recording as uploaded, by this attempt or an earlier run. */
  recording?: UploadedRecording;
  /** Recording bytes this attempt sent. */
  bytes: number;
  /** It has had a sending turn (see {@link DeliveryContext.network}). */
  underWay?: boolean;
  /** Log that the set is being sent, once it has its first turn. */
  announce: () => void;
}

/** The CRM endpoints of the configuration. */
function endpoints(ctx: DeliveryContext): CrmEndpoints {
  const { cfg, transport } = ctx;
  return {
    uploadUrl: cfg.uploadUrl,
    callDataUrl: cfg.callDataUrl,
    apiToken: cfg.apiToken,
    timeoutSeconds: cfg.timeoutSeconds,
    deadlineSeconds: cfg.deadlineSeconds,
    transport,
  };
}

/**
 * Upload the set's recording (the file the scan read, unchanged while it is
 * sent), then freeze the call record in the progress record with the URL. Throws
 * {@link FileChangedError} when the transcript or lead changed meanwhile:
 * the URL is kept, and the record is built on the next run.
 */
async function uploadStep(
  ctx: DeliveryContext,
  set: CallSet,
  attempt: Attempt,
): Promise<void> {
  const { cfg, log } = ctx;
  const rec = set.recording!;
  const fields = { set: set.name };
  // Opened once, and only if it is still the file the scan read: every try
  // sends from this handle, never from the path again.
  await using file = await openScanned(rec);
  if (attempt.progress.recording_file !== rec.name) {
    // Pinned before it goes: the storage may take it and the run die before
    // the URL is written down, and the retry must upload it for this set
    // again (same key), never for another the pairing might choose then.
    attempt.progress = { ...attempt.progress, recording_file: rec.name };
    await ctx.store.saveProgress(attempt.progress);
  }
  const key = await idempotencyKey(set.name, "recording");
  const url = await sending(
    ctx,
    attempt,
    ctx.stats.recording,
    () =>
      uploadRecording(
        endpoints(ctx),
        file,
        rec.media.contentType,
        key,
        ctx.retry,
      ),
  );
  await file.assertUnchanged();
  log.info(
    `Recording uploaded: ${Math.round(rec.size / 1024)}KB → ${url}`,
    fields,
  );
  attempt.bytes = rec.size;
  ctx.stats.bytes += rec.size;
  attempt.recording = {
    url,
    size: rec.size,
    durationSeconds: rec.media.durationSeconds,
  };
  const current = await unchanged([set.conversation, set.lead]);
  attempt.progress = {
    ...attempt.progress,
    recording_file: rec.name,
    recording_url: url,
    recording_size: rec.size,
    recording_duration: rec.media.durationSeconds,
    truncated: set.truncated,
    call_record: current
      ? buildCallRecord(set, attempt.recording, cfg)
      : undefined,
    lead_file: current ? set.lead?.name : undefined,
  };
  await ctx.store.saveProgress(attempt.progress);
  if (!current) throw filesChanged();
}

/**
 * Say that `set` is being sent, once it has its first turn: "Processing",
 * and, when this attempt uploads its recording, which one (and that it is
 * truncated, if it is).
 */
function announce(ctx: DeliveryContext, set: CallSet, attempt: Attempt): void {
  const { cfg, log } = ctx;
  const fields = { set: set.name };
  log.info(`Processing: ${set.name}`, fields);
  const rec = set.recording;
  if (!rec || attempt.recording) return;
  if (set.kind === "call") log.info(`Matched recording: ${rec.name}`, fields);
  if (set.truncated) {
    log.warn(
      `Recording ${rec.name} has no end-of-stream page and has not changed for ${cfg.staleSeconds} s; uploading it as truncated`,
      fields,
    );
  }
}

/** Throw {@link FileChangedError} if the transcript or lead changed. */
async function assertFilesUnchanged(set: CallSet): Promise<void> {
  if (!(await unchanged([set.conversation, set.lead]))) throw filesChanged();
}

function filesChanged(): FileChangedError {
  return new FileChangedError(
    "its transcript or lead changed since it was scanned",
  );
}

/**
 * A lead that belongs to no call clearly goes alone: warn, then freeze its
 * record and reason in the progress record before the first POST, so a
 * retry or a crash sends the very same record under the same key, and the
 * lead is never attached to a call that shows up afterwards.
 */
async function pinAlone(
  ctx: DeliveryContext,
  set: CallSet,
  attempt: Attempt,
): Promise<void> {
  const { cfg, log, store } = ctx;
  const record = attempt.progress.call_record ??
    buildCallRecord(set, undefined, cfg);
  const callId = (record.callDetails as { callId: string }).callId;
  log.warn(
    `Lead ${
      set.lead!.name
    } belongs to no call clearly (${set.aloneReason}); sending it alone as ${callId} (lead-only)`,
    { set: set.name, callId },
  );
  if (attempt.progress.call_record) return;
  await freeze(store, attempt, {
    call_record: record,
    lead_file: set.lead!.name,
    alone_reason: set.aloneReason,
  });
}

/**
 * Write the call record about to be sent (and what goes with it) into the
 * set's progress record: the CRM may take it and the run die before the
 * answer is written down, and a retry must send this very record (its call
 * id, its files) under the same key.
 */
async function freeze(
  store: StateStore,
  attempt: Attempt,
  frozen: Pick<Progress, "call_record" | "lead_file" | "alone_reason">,
): Promise<void> {
  attempt.progress = { ...attempt.progress, ...frozen };
  await store.saveProgress(attempt.progress);
}

/**
 * POST the call record (the frozen one if any, else frozen first), then
 * record the delivery.
 */
async function callDataStep(
  ctx: DeliveryContext,
  set: CallSet,
  attempt: Attempt,
): Promise<void> {
  const { cfg, log } = ctx;
  const { recording } = attempt;
  if (!attempt.progress.call_record) {
    // Even a recording that fits and turns up later does not change it.
    await freeze(ctx.store, attempt, {
      call_record: buildCallRecord(set, recording, cfg),
      lead_file: set.lead?.name,
    });
  }
  const progress = attempt.progress;
  const record = progress.call_record!;
  const callId = String((record.callDetails as { callId: string }).callId);
  const key = await idempotencyKey(set.name, "call-data");
  await sending(
    ctx,
    attempt,
    ctx.stats.call_data,
    () => postCallData(endpoints(ctx), record, key, ctx.retry),
  );
  log.info(`Call data uploaded successfully: ${callId}`, {
    set: set.name,
    callId,
  });
  const source = set.conversation ?? set.recording ?? set.lead;
  await ctx.store.markDelivered({
    uploaded_at: new Date().toISOString(),
    original_path: source ? originalPath(cfg, source.path) : set.name,
    set: set.name,
    kind: set.kind,
    call_id: callId,
    idempotency_key: key,
    recording_uploaded: recording !== undefined,
    recording_file: progress.recording_file,
    recording_url: recording?.url,
    recording_size: recording?.size,
    recording_duration: recording?.durationSeconds,
    truncated: progress.truncated || undefined,
    call_data_uploaded: true,
    lead_uploaded: record.lead !== undefined,
    lead_file: progress.call_record ? progress.lead_file : set.lead?.name,
    alone_reason: progress.alone_reason,
    upload_attempts: progress.attempts + 1,
  });
}

/**
 * A source file's path relative to the base folder, with `/` on every
 * system, as the original design records `original_path`.
 */
function originalPath(cfg: Config, path: string): string {
  return relative(cfg.baseDir, path).replaceAll(sep, "/");
}

/**
 * A lead that came after its call was delivered: POST the call's record
 * again, now with the lead, under the call's callId and the update's own
 * `Idempotency-Key`, and record it as delivered (kind `lead-update`).
 */
async function leadUpdateStep(
  ctx: DeliveryContext,
  set: CallSet,
  attempt: Attempt,
): Promise<void> {
  const { cfg, log } = ctx;
  const of = set.updateOf!;
  const record = await leadUpdateRecord(cfg, ctx.store, set);
  const key = await idempotencyKey(set.name, "call-data");
  await sending(
    ctx,
    attempt,
    ctx.stats.call_data,
    () => postCallData(endpoints(ctx), record, key, ctx.retry),
  );
  log.info(
    `Lead ${set.lead!.name} sent as an update of ${of.callId} (${of.set})`,
    { set: set.name, callId: of.callId },
  );
  await ctx.store.markDelivered({
    uploaded_at: new Date().toISOString(),
    original_path: originalPath(cfg, set.lead!.path),
    set: set.name,
    kind: "lead-update",
    update_of: of.set,
    call_id: of.callId,
    idempotency_key: key,
    recording_uploaded: false,
    call_data_uploaded: true,
    lead_uploaded: true,
    lead_file: set.lead!.name,
    upload_attempts: attempt.progress.attempts + 1,
  });
}

/** Keep a delivered pair's timing as evidence for pairing the next calls. */
function rememberEvidence(ctx: DeliveryContext, set: CallSet): void {
  const m = set.recordingMatch;
  if (!m || m.endDiffSeconds === undefined || !set.conversation) return;
  ctx.store.addEvidence({
    atMs: set.conversation.key.startMs,
    startDiff: m.startDiffSeconds,
    endDiff: m.endDiffSeconds,
    mtimeDiff: m.mtimeEndDiffSeconds ?? NaN,
  });
}

/**
 * What a failed attempt comes to: deferred (a file changed), fatal (state
 * or credentials: rethrown) or a counted failure with the next attempt set.
 */
async function failedAttempt(
  ctx: DeliveryContext,
  set: CallSet,
  progress: Progress,
  e: unknown,
): Promise<DeliveryResult> {
  const fields = { set: set.name };
  if (e instanceof StateError) {
    ctx.network?.close();
    throw e;
  }
  if (e instanceof FileChangedError) {
    const line = `${set.name}: ${e.message}; will try again next run`;
    if (e.replaced) ctx.log.warn(line, fields);
    else ctx.log.info(line, fields);
    return { outcome: "deferred" };
  }
  const error = errorMessage(e);
  if (e instanceof CrmError && e.kind === "unauthorized") {
    ctx.log.error(
      `CRM refused our credentials: ${error}; stopping the run`,
      fields,
    );
    throw e;
  }
  const gaveUp = await recordFailure(
    ctx,
    progress,
    error,
    e instanceof CrmError ? e.retryAfterMs : undefined,
  );
  return { outcome: "failed", error, gaveUp };
}

/** The recording an earlier run uploaded, if any. */
function uploadedBefore(p: Progress): UploadedRecording | undefined {
  return p.recording_url === undefined ? undefined : {
    url: p.recording_url,
    size: p.recording_size ?? 0,
    durationSeconds: p.recording_duration,
  };
}

/**
 * Send a request (with its retries within the run) on a turn of
 * `ctx.network`, and count its success or failure. Throws
 * {@link NoTurnError} when the run gives out no first turn any more.
 */
async function sending<T>(
  ctx: DeliveryContext,
  attempt: Attempt,
  counts: RequestCounts,
  request: () => Promise<T>,
): Promise<T> {
  using _turn = await turn(ctx, attempt);
  try {
    const value = await request();
    counts.success++;
    return value;
  } catch (e) {
    if (!(e instanceof FileChangedError)) counts.failure++;
    // Fatal for the run: no set may send first on the turn given back below.
    if (e instanceof CrmError && e.kind === "unauthorized") {
      ctx.network?.close();
    }
    throw e;
  }
}

/**
 * A sending turn (none without `ctx.network`). The set's first waits for
 * one no set under way waits for, and is when the set says it is sent.
 */
async function turn(
  ctx: DeliveryContext,
  attempt: Attempt,
): Promise<Disposable | undefined> {
  if (attempt.underWay) return await ctx.network?.take();
  const first = await ctx.network?.takeFirst();
  if (ctx.network && !first) throw new NoTurnError();
  attempt.underWay = true;
  attempt.announce();
  return first;
}

/** The run gives out no first turn any more: the set ends unsent. */
class NoTurnError extends Error {
  override name = "NoTurnError";
}

/**
 * Count a failed attempt and schedule the next per `UPLOAD_RETRY_BACKOFF`.
 * A CRM that asked (with `Retry-After`) for a longer pause than a run waits
 * is obeyed without spending an attempt: rate limiting is not the set's fault.
 * Returns true when the set is now `failed`.
 */
async function recordFailure(
  ctx: DeliveryContext,
  progress: Progress,
  error: string,
  retryAfterMs: number | undefined,
): Promise<boolean> {
  const { cfg, log, store } = ctx;
  const maxWait = (ctx.retry ?? DEFAULT_RETRY).maxRetryAfterMs;
  const rateLimited = retryAfterMs !== undefined && retryAfterMs > maxWait;
  const attempts = progress.attempts + (rateLimited ? 0 : 1);
  const failed = attempts >= cfg.retryAttempts;
  const backoff = cfg.retryBackoffSeconds;
  const waitMs = Math.max(
    backoff[Math.max(0, Math.min(attempts, backoff.length) - 1)] * 1000,
    retryAfterMs ?? 0,
  );
  const next = Date.now() + waitMs;
  const then = failed
    ? "giving up until `callsync retry`"
    : `next attempt after ${localDateTime(next, cfg.timezone)}`;
  log.error(
    rateLimited
      ? `Upload deferred for ${progress.set}: the CRM asked to retry after ${
        Math.round(retryAfterMs / 1000)
      } s (not counted as an attempt): ${error}; ${then}`
      : `Upload failed for ${progress.set} (attempt ${attempts} of ${cfg.retryAttempts}): ${error}; ${then}`,
    { set: progress.set },
  );
  // Committed together (one batch): neither needs the other first.
  await Promise.all([
    store.saveProgress({
      ...progress,
      attempts,
      last_error: error,
      next_attempt_at: next,
      failed,
    }),
    store.journalFailure(progress.set, error),
  ]);
  return failed;
}
