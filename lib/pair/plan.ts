/**
 * Decide, for every call not yet delivered, what its files are and whether
 * it is due now. Pure: takes a scan, the state and the clock; `run`, `plan`
 * and `status` all read the same decisions.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import type { CallFiles } from "./call_id.ts";
import type {
  ConversationFile,
  LeadFile,
  RecordingFile,
} from "../source/files.ts";
import {
  type LeadMatch,
  matchLeads,
  matchRecordings,
  type RecordingMatch,
} from "./match.ts";
import { sessionTimestamp } from "../source/names.ts";
import type { InputProblem, ScanResult } from "../source/scan.ts";
import type { DeliveredEntry, Progress } from "../state/store.ts";

/** Where a set stands. */
export type SetState = "pending" | "waiting" | "failed";

/** One call's files and what happens to them next. */
export interface CallSet extends CallFiles {
  kind: "call" | "recording-only";
  /** Why this recording goes with this conversation. */
  recordingMatch?: RecordingMatch;
  leadMatch?: LeadMatch;
  state: SetState;
  /** Human-readable reason for the state. */
  reason: string;
  nextAttemptAt?: number;
  progress?: Progress;
  /** The recording has no end-of-stream page but stopped changing. */
  truncated: boolean;
}

/** A file that is not part of any set, with its state. */
export interface StrayFile {
  folder: "conversations" | "recordings" | "leads";
  name: string;
  state: Exclude<SetState, "pending">;
  reason: string;
}

/** The decisions of one scan. */
export interface Plan {
  /** Undelivered sets, oldest call first. */
  sets: CallSet[];
  /** Unusable files and leads that belong to no call. */
  strays: StrayFile[];
  deliveredCount: number;
}

/** The settings planning depends on. */
export type PlanConfig = Pick<
  Config,
  "matchWindowSeconds" | "staleSeconds" | "orphanAfterSeconds" | "timezone"
>;

/** The state planning depends on. */
export interface PlanState {
  delivered: ReadonlyMap<string, DeliveredEntry>;
  progress: ReadonlyMap<string, Progress>;
}

/** Group scanned files into sets and decide what each set needs. */
export function makePlan(
  scan: ScanResult,
  state: PlanState,
  cfg: PlanConfig,
  now: number,
): Plan {
  const clock = clockOf(cfg, now);
  const convs = scan.conversations.filter((c) => !state.delivered.has(c.name));
  const pairs = pairRecordings(scan, state, convs, cfg);
  const leads = attachLeads(scan, convs, pairs, cfg);
  const writingLeads = leadsBeingWritten(scan, clock);
  const sets = [
    ...convs.map((c) => callSet(c, pairs, leads, state, writingLeads, clock)),
    ...scan.recordings
      .filter((r) => !pairs.used.has(r.name))
      .map((r) => recordingOnlySet(r, state, clock)),
  ];
  const strays = [
    ...scan.problems.map((p) => strayProblem(p, clock.stale)),
    ...unmatchedLeads(leads, clock),
  ];
  sets.sort((a, b) => a.startMs - b.startMs || (a.name < b.name ? -1 : 1));
  return { sets, strays, deliveredCount: state.delivered.size };
}

/** Time-based rules: when a file is stale, when an orphan is due. */
interface Clock {
  cfg: PlanConfig;
  now: number;
  stale: (mtimeMs: number) => boolean;
  orphanDue: (sinceMs: number) => boolean;
}

function clockOf(cfg: PlanConfig, now: number): Clock {
  return {
    cfg,
    now,
    stale: (mtimeMs) => now - mtimeMs >= cfg.staleSeconds * 1000,
    orphanDue: (sinceMs) =>
      cfg.orphanAfterSeconds > 0 &&
      now - sinceMs >= cfg.orphanAfterSeconds * 1000,
  };
}

/** Which recording goes with which conversation. */
interface Pairs {
  recordingsByName: Map<string, RecordingFile>;
  /** Recordings pinned by an earlier upload, by conversation. */
  pinned: Map<string, string>;
  /** This scan's matches, by conversation. */
  matches: Map<string, RecordingMatch>;
  /** Recordings that belong to a conversation (pinned or matched). */
  used: Set<string>;
}

/**
 * Pair recordings with the conversations not yet delivered: a set whose
 * recording is already uploaded keeps that recording; the rest are matched.
 */
function pairRecordings(
  scan: ScanResult,
  state: PlanState,
  convs: readonly ConversationFile[],
  cfg: PlanConfig,
): Pairs {
  const pinned = new Map<string, string>();
  for (const c of convs) {
    const file = state.progress.get(c.name)?.recording_file;
    if (file) pinned.set(c.name, file);
  }
  const pinnedRecordings = new Set(pinned.values());
  const free = scan.recordings.filter((r) => !pinnedRecordings.has(r.name));
  const unpinned = convs.filter((c) => !pinned.has(c.name));
  const matches = new Map(
    matchRecordings(
      unpinned.map((c) => c.key),
      free.map((r) => r.key),
      { windowSeconds: cfg.matchWindowSeconds },
    ).map((m) => [m.conversation, m]),
  );
  const used = new Set([
    ...pinnedRecordings,
    ...[...matches.values()].map((m) => m.recording),
  ]);
  const recordingsByName = new Map(scan.recordings.map((r) => [r.name, r]));
  return { recordingsByName, pinned, matches, used };
}

/** The recording name paired with conversation `name`, if any. */
function pairedRecording(pairs: Pairs, name: string): string | undefined {
  return pairs.pinned.get(name) ?? pairs.matches.get(name)?.recording;
}

/** Leads attached to conversations, and those that found none. */
interface Leads {
  byName: Map<string, LeadFile>;
  /** Lead matches, by conversation. */
  matches: Map<string, LeadMatch>;
  unmatched: string[];
}

function attachLeads(
  scan: ScanResult,
  convs: readonly ConversationFile[],
  pairs: Pairs,
  cfg: PlanConfig,
): Leads {
  // A call's number may be known only from its recording's name.
  const callKeys = convs.map((c) => {
    const rec = pairs.recordingsByName.get(
      pairedRecording(pairs, c.name) ?? "",
    );
    return { ...c.key, phone: c.key.phone ?? rec?.callerDigits };
  });
  const result = matchLeads(
    callKeys,
    scan.leads.map((l) => l.key),
    { windowSeconds: cfg.matchWindowSeconds },
  );
  return {
    byName: new Map(scan.leads.map((l) => [l.name, l])),
    matches: new Map(result.matches.map((m) => [m.conversation, m])),
    unmatched: result.unmatched,
  };
}

/** Session timestamps of lead files still being written (fresh, unreadable). */
function leadsBeingWritten(
  scan: ScanResult,
  clock: Clock,
): Set<string | undefined> {
  return new Set(
    scan.problems
      .filter((p) =>
        p.folder === "leads" && !p.permanent && !clock.stale(p.mtimeMs ?? 0)
      )
      .map((p) => sessionTimestamp(p.name)),
  );
}

/** A conversation's set: its files, and whether it is due. */
function callSet(
  c: ConversationFile,
  pairs: Pairs,
  leads: Leads,
  state: PlanState,
  writingLeads: ReadonlySet<string | undefined>,
  clock: Clock,
): CallSet {
  const recName = pairedRecording(pairs, c.name);
  const lm = leads.matches.get(c.name);
  const set = base(c.name, "call", c.key.startMs, state.progress.get(c.name));
  set.conversation = c;
  set.recording = recName ? pairs.recordingsByName.get(recName) : undefined;
  set.recordingMatch = pairs.matches.get(c.name);
  set.lead = lm ? leads.byName.get(lm.lead) : undefined;
  set.leadMatch = lm;
  const rec = set.recording;
  const uploaded = set.progress?.recording_url !== undefined;
  if (rec && !uploaded && !rec.ogg.complete) {
    set.truncated = clock.stale(rec.mtimeMs);
  }
  const { cfg } = clock;
  const wait = rec && !uploaded && !rec.ogg.complete && !set.truncated
    ? `recording ${rec.name} is still being written`
    : !rec && !uploaded &&
        !clock.orphanDue(Math.max(c.key.endMs ?? c.key.startMs, c.mtimeMs))
    ? cfg.orphanAfterSeconds > 0
      ? `no recording yet; sent without one after ${cfg.orphanAfterSeconds} s`
      : "no recording; orphan delivery is off (ORPHAN_AFTER_SECONDS=0)"
    : c.key.sessionTs && writingLeads.has(c.key.sessionTs)
    ? "its lead file is still being written"
    : undefined;
  return decide(set, wait, clock.now);
}

/** A recording no conversation claims: its own set, once it is an orphan. */
function recordingOnlySet(
  r: RecordingFile,
  state: PlanState,
  clock: Clock,
): CallSet {
  const { cfg } = clock;
  const set = base(
    r.name,
    "recording-only",
    r.key.startMs,
    state.progress.get(r.name),
  );
  set.recording = r;
  set.truncated = !r.ogg.complete && clock.stale(r.mtimeMs);
  const wait = !r.ogg.complete && !set.truncated
    ? "still being written"
    : !clock.orphanDue(r.mtimeMs)
    ? cfg.orphanAfterSeconds > 0
      ? `no transcript yet; sent as recording-only after ${cfg.orphanAfterSeconds} s`
      : "no transcript; orphan delivery is off (ORPHAN_AFTER_SECONDS=0)"
    : undefined;
  return decide(set, wait, clock.now);
}

/** Leads that belong to no call: waiting, or failed once orphans are due. */
function unmatchedLeads(leads: Leads, clock: Clock): StrayFile[] {
  return leads.unmatched.map((name) => ({
    folder: "leads",
    name,
    ...(clock.orphanDue(leads.byName.get(name)!.mtimeMs)
      ? { state: "failed", reason: "no call found for this lead" }
      : { state: "waiting", reason: "no call found for this lead yet" }),
  }));
}

function base(
  name: string,
  kind: CallSet["kind"],
  startMs: number,
  progress: Progress | undefined,
): CallSet {
  return {
    name,
    kind,
    startMs,
    progress,
    truncated: false,
    state: "pending",
    reason: "",
  };
}

function decide(set: CallSet, wait: string | undefined, now: number): CallSet {
  const p = set.progress;
  if (p?.failed) {
    return {
      ...set,
      state: "failed",
      reason: `gave up after ${p.attempts} attempts: ${p.last_error}`,
    };
  }
  if (wait) return { ...set, state: "waiting", reason: wait };
  if (p?.next_attempt_at && p.next_attempt_at > now) {
    return {
      ...set,
      state: "waiting",
      nextAttemptAt: p.next_attempt_at,
      reason: `retry ${p.attempts + 1} due later; last error: ${p.last_error}`,
    };
  }
  const what = set.kind === "recording-only"
    ? "send recording, then a recording-only call record"
    : set.progress?.recording_url
    ? "send the call record (recording already uploaded)"
    : set.recording
    ? "send recording, then call record"
    : "send call record without a recording";
  return {
    ...set,
    state: "pending",
    reason: set.truncated ? `${what} (recording truncated)` : what,
  };
}

function strayProblem(
  p: InputProblem,
  stale: (ms: number) => boolean,
): StrayFile {
  const final = p.permanent || stale(p.mtimeMs ?? 0);
  return {
    folder: p.folder,
    name: p.name,
    state: final ? "failed" : "waiting",
    reason: final ? p.message : `${p.message} (may still be being written)`,
  };
}
