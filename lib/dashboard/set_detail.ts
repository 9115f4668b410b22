/**
 * Everything known about one set, for `/sets/<name>` and `/api/sets/<name>`:
 * its files, how they were paired, its progress or delivery record, and the
 * call record it sends (or sent, rebuilt from its files).
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import type { SetDetail, SetFile } from "./model.ts";
import type { Logger } from "../core/log.ts";
import { buildCallRecord } from "../deliver/payload.ts";
import { setCallId } from "../pair/call_id.ts";
import type { CallSet } from "../pair/plan.ts";
import type { HostTiming } from "../pair/timing.ts";
import type {
  ConversationFile,
  LeadFile,
  RecordingFile,
} from "../source/files.ts";
import { deliveredDetail } from "./delivered_detail.ts";
import { snapshot } from "./views.ts";
import { toUtcIso } from "../core/time.ts";

/**
 * The detail of the set (or stray file, `<folder>/<name>`) called `name`;
 * undefined if it is neither waiting nor delivered.
 */
export async function readSetDetail(
  cfg: Config,
  log: Logger,
  name: string,
): Promise<SetDetail | undefined> {
  if (!name || name.length > 1024 || name.includes("\0")) return undefined;
  const { store, plan } = await snapshot(cfg, log);
  const set = plan.sets.find((s) => s.name === name);
  if (set) return pendingDetail(cfg, set, plan.timing);
  const stray = plan.strays.find((f) => `${f.folder}/${f.name}` === name);
  if (stray) {
    return {
      name,
      state: stray.state,
      kind: "file",
      reason: stray.reason,
      attempts: 0,
      files: [{ folder: stray.folder, name: stray.name }],
      pairing: {},
      delivery: null,
      progress: null,
      payload: null,
    };
  }
  // Only names PROCESSED_DIR lists reach the file system.
  if (store.delivered.has(name)) {
    return await deliveredDetail(cfg, store, name);
  }
  return undefined;
}

/** A set not delivered yet: its files as planned, its progress so far. */
function pendingDetail(
  cfg: Config,
  set: CallSet,
  timing: HostTiming,
): SetDetail {
  const p = set.progress;
  return {
    name: set.name,
    state: set.state,
    kind: set.kind,
    reason: set.reason,
    updateOf: set.updateOf,
    aloneReason: set.aloneReason,
    leadSentAlone: set.leadSentAlone,
    callId: set.updateOf?.callId ?? setCallId(set, cfg.timezone),
    startedAt: toUtcIso(set.startMs),
    attempts: p?.attempts ?? 0,
    lastError: p?.last_error,
    nextAttemptAt: set.nextAttemptAt ? toUtcIso(set.nextAttemptAt) : undefined,
    files: plannedFiles(set),
    pairing: pendingPairing(set, timing),
    delivery: null,
    progress: p ? withoutCallRecord(p) : null,
    payload: pendingPayload(cfg, set),
  };
}

/** The set's files as planned, and a pinned recording no longer there. */
function plannedFiles(set: CallSet): SetFile[] {
  const files: SetFile[] = [];
  const fileOf = (
    folder: SetFile["folder"],
    f: ConversationFile | RecordingFile | LeadFile | undefined,
  ) => {
    if (!f) return;
    files.push({
      folder,
      name: f.name,
      size: f.size,
      modifiedAt: toUtcIso(f.mtimeMs),
      ...("media" in f
        ? {
          durationSeconds: f.media.durationSeconds,
          complete: f.media.complete,
          contentType: f.media.contentType,
        }
        : {}),
    });
  };
  fileOf("conversations", set.conversation);
  fileOf("recordings", set.recording);
  fileOf("leads", set.lead);
  const pinned = set.progress?.recording_file;
  if (!set.recording && pinned) {
    files.push({ folder: "recordings", name: pinned, missing: true });
  }
  return files;
}

/** Why this recording and lead go with the set, and what was learned. */
function pendingPairing(
  set: CallSet,
  timing: HostTiming,
): SetDetail["pairing"] {
  const p = set.progress;
  const m = set.recordingMatch;
  const recordingName = set.recording?.name ?? p?.recording_file;
  const lm = set.leadMatch;
  return {
    recording: recordingName
      ? {
        name: recordingName,
        startDiffSeconds: m?.startDiffSeconds,
        endDiffSeconds: m?.endDiffSeconds,
        mtimeEndDiffSeconds: m?.mtimeEndDiffSeconds,
        durationDiffSeconds: m?.durationDiffSeconds,
        expectedOffsetSeconds: m?.expectedOffsetSeconds,
        cost: m?.cost,
        confidence: m?.confidence,
        rivals: m?.rivals,
        pinned: !m && p?.recording_file === recordingName,
      }
      : undefined,
    lead: lm
      ? {
        name: lm.lead,
        reason: lm.reason,
        diffSeconds: lm.diffSeconds,
        against: lm.against,
        confidence: lm.confidence,
      }
      : undefined,
    keptApartFrom: set.ambiguity
      ? {
        files: [...set.ambiguity.conversations, ...set.ambiguity.recordings]
          .filter((n) => n !== set.name),
        reason: set.ambiguity.reason,
      }
      : undefined,
    localTime: set.timeChoice
      ? { basis: set.timeChoice.basis, readings: set.timeChoice.of }
      : undefined,
    timing: {
      pairs: timing.anchors,
      offsetSeconds: timing.offsetSeconds,
      offsetSpreadSeconds: timing.offsetSpreadSeconds,
      endBiasSeconds: timing.endBiasSeconds,
      endSpreadSeconds: timing.endSpreadSeconds,
    },
  };
}

/** The call record frozen at upload, or the one the next run would build. */
function pendingPayload(cfg: Config, set: CallSet): SetDetail["payload"] {
  const p = set.progress;
  if (p?.call_record) {
    return {
      source: "frozen",
      note:
        "Frozen when the recording was uploaded; every retry sends exactly this.",
      record: p.call_record,
    };
  }
  const uploaded = p?.recording_url !== undefined
    ? {
      url: p.recording_url,
      size: p.recording_size ?? 0,
      durationSeconds: p.recording_duration,
    }
    : undefined;
  return {
    source: "built",
    note: uploaded
      ? "What the next run sends, built from the files now on disk."
      : set.recording
      ? "What the next run would send, built from the files now on disk; recordingUrl, recordingDuration and recordingSize are added once the recording is uploaded."
      : "What the next run would send, built from the files now on disk.",
    record: buildCallRecord(set, uploaded, cfg),
  };
}

/** A `.pending` record without its frozen call record. */
function withoutCallRecord(
  p: NonNullable<CallSet["progress"]>,
): Record<string, unknown> {
  const { call_record: _, ...rest } = p;
  return rest;
}
