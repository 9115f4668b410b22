/**
 * When `callsync watch` sends a planned set, and when it must look again.
 * Pure: a set from {@link makePlan}, when each of its files last changed,
 * the settings and the clock.
 *
 * A set is ready when the plan says it is due (transcript saved, recording
 * finished or stale, no lead being written, no backoff, orphan rules) and
 * none of its files changed for `SETTLE_SECONDS` — time for a lead that
 * comes after the transcript. Otherwise `wakeAt` says when the answer can
 * change without any file event (settle over, retry due, a recording turning
 * stale, an orphan or a rival's deadline, the end of `LEAD_WAIT_SECONDS` for
 * a transcript announcing a lead); undefined means only an event can change
 * it. Whether a recording is finished is the plan's (`RecordingMedia` of
 * `media.ts`: Ogg end-of-stream page, MP4 `moov`, WebM size and duration);
 * nothing here reads a file.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import type { Folder } from "../source/files.ts";
import { conversationEndMs } from "./keys.ts";
import type { CallSet } from "./plan.ts";

/** What {@link readiness} decides. */
export type Readiness =
  | { ready: true }
  | { ready: false; wakeAt?: number };

/** The settings readiness depends on. */
export type ReadinessConfig = Pick<
  Config,
  "settleSeconds" | "staleSeconds" | "orphanAfterSeconds" | "leadWaitSeconds"
>;

/** When a file last changed (epoch ms), if known. */
export type ChangedAt = (folder: Folder, name: string) => number | undefined;

/**
 * Whether `set` goes now, else when to look again.
 *
 * @example
 * ```ts
 * // A due set whose transcript changed 4 s ago, SETTLE_SECONDS=10:
 * readiness(set, () => now - 4000, cfg, now); // { ready: false, wakeAt: now + 6000 }
 * ```
 */
export function readiness(
  set: CallSet,
  changedAt: ChangedAt,
  cfg: ReadinessConfig,
  now: number,
): Readiness {
  if (set.state === "failed") return { ready: false };
  if (set.state === "waiting") {
    return { ready: false, wakeAt: waitingWake(set, cfg, now) };
  }
  const quietAt = lastChange(set, changedAt) + cfg.settleSeconds * 1000;
  return now >= quietAt ? { ready: true } : { ready: false, wakeAt: quietAt };
}

/** The latest change of any of the set's files. */
export function lastChange(set: CallSet, changedAt: ChangedAt): number {
  const times = [
    set.conversation && changedAt("conversations", set.conversation.name),
    set.recording && changedAt("recordings", set.recording.name),
    set.lead && changedAt("leads", set.lead.name),
  ];
  return Math.max(0, ...times.map((t) => t ?? 0));
}

/**
 * When a call ended (epoch ms): the transcript's end, else the recording's
 * start plus its length, else the call start.
 */
export function callEndMs(set: CallSet): number {
  const conv = set.conversation && conversationEndMs(set.conversation.key);
  if (conv !== undefined) return conv;
  const rec = set.recording;
  const seconds = rec?.media.durationSeconds;
  return seconds === undefined ? set.startMs : set.startMs + seconds * 1000;
}

/**
 * When a waiting set's reason to wait can end with no file event: the
 * earliest of its deadlines still ahead (one passed already is not why it
 * waits).
 */
function waitingWake(
  set: CallSet,
  cfg: ReadinessConfig,
  now: number,
): number | undefined {
  const orphan = cfg.orphanAfterSeconds * 1000;
  const rec = set.recording;
  const conv = set.conversation;
  const uploaded = set.progress?.recording_url !== undefined;
  const endMs = conv && (conv.key.endMs ?? conv.key.startMs);
  const times = [
    set.nextAttemptAt,
    rec && !uploaded && !rec.media.complete && rec.media.salvageable
      ? rec.mtimeMs + cfg.staleSeconds * 1000
      : undefined,
    orphan > 0 && !rec && conv && !uploaded
      ? Math.max(endMs!, conv.mtimeMs) + orphan
      : undefined,
    orphan > 0 && rec && !conv ? rec.mtimeMs + orphan : undefined,
    orphan > 0 && set.kind === "lead-only" && set.lead
      ? set.lead.mtimeMs + orphan
      : undefined,
    orphan > 0 && conv && set.recordingMatch?.rivals.length
      ? endMs! + orphan
      : undefined,
    conv?.key.leadGenerated === true && !set.lead
      ? conv.mtimeMs + cfg.leadWaitSeconds * 1000
      : undefined,
  ].filter((t): t is number => t !== undefined && t > now);
  return times.length > 0 ? Math.min(...times) : undefined;
}
