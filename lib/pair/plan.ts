/**
 * Decide, for every call not yet delivered, what its files are and whether
 * it is due now. Pure: takes a scan, the state and the clock; `run`, `plan`
 * and `status` all read the same decisions.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { localReadings } from "../core/time.ts";
import { type CallFiles, leadTimeMs } from "./call_id.ts";
import type {
  ConversationFile,
  LeadFile,
  RecordingFile,
} from "../source/files.ts";
import { sessionTimestamp, sessionTimestampIso } from "../source/names.ts";
import type { InputProblem, ScanResult } from "../source/scan.ts";
import type { DeliveredEntry, Progress } from "../state/store.ts";
import type { PairEvidence } from "../state/evidence.ts";
import {
  compareDigits,
  conversationEndMs,
  type ConversationKey,
  digitsOf,
  recordingEndMs,
} from "./keys.ts";
import {
  type LeadMatch,
  type LeadPairing,
  type LeadTarget,
  matchLeads,
} from "./leads.ts";
import {
  type Ambiguity,
  type Pairing,
  pairRecordings,
  type RecordingMatch,
  type TimeChoice,
} from "./match.ts";
import type { HostTiming } from "./timing.ts";
import { detectZoneMismatch, type ZoneMismatch } from "./zone.ts";

export type { Ambiguity, LeadMatch, RecordingMatch, TimeChoice, ZoneMismatch };

/** Where a set stands. */
export type SetState = "pending" | "waiting" | "failed";

/** One call's files and what happens to them next. */
export interface CallSet extends CallFiles {
  /**
   * `call`: a transcript (with its recording and lead when found);
   * `recording-only`: a recording no transcript claims; `lead-update`: a
   * lead that came after its call was delivered, sent as an update of it;
   * `lead-only`: a lead that belongs to no call clearly, sent alone.
   */
  kind: "call" | "recording-only" | "lead-update" | "lead-only";
  /** Why this recording goes with this conversation, and how sure. */
  recordingMatch?: RecordingMatch;
  leadMatch?: LeadMatch;
  /** Files this set was kept apart from for lack of a clear winner. */
  ambiguity?: Ambiguity;
  /** How the transcript's ambiguous local times were read (daylight saving). */
  timeChoice?: TimeChoice;
  /** `lead-update`: the delivered call this lead belongs to. */
  updateOf?: { set: string; callId: string };
  /** The transcript announced a lead that did not come in time. */
  leadMissing?: boolean;
  /** `lead-only`: why the lead belongs to no call (no call found, or which calls it fits). */
  aloneReason?: string;
  /** This call's own lead (same session timestamp) was sent alone before: not sent again. */
  leadSentAlone?: { lead: string; callId: string };
  state: SetState;
  /** Human-readable reason for the state. */
  reason: string;
  nextAttemptAt?: number;
  progress?: Progress;
  /** The recording is unfinished but stopped changing (sent as it is). */
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
  /** Files that cannot be used. */
  strays: StrayFile[];
  deliveredCount: number;
  /** The host's timing, as learned from its files (offset, spreads, periods). */
  timing: HostTiming;
  /** Groups kept apart for lack of a clear winner. */
  ambiguous: Ambiguity[];
  /** The bot writes its times in another zone than TIMEZONE: send nothing. */
  zoneMismatch?: ZoneMismatch;
}

/** The settings planning depends on. */
export type PlanConfig = Pick<
  Config,
  | "matchWindowSeconds"
  | "staleSeconds"
  | "orphanAfterSeconds"
  | "leadWaitSeconds"
  | "timezone"
>;

/** The state planning depends on. */
export interface PlanState {
  delivered: ReadonlyMap<string, DeliveredEntry>;
  progress: ReadonlyMap<string, Progress>;
  /** Evidence of pairs delivered before, learned from with the files. */
  evidence?: readonly PairEvidence[];
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
  // A lead whose lead-only record was attempted stays alone (pinned).
  const pinned = scan.leads.filter((l) => aloneReasonOf(state, l.name));
  const open = pinned.length
    ? { ...scan, leads: scan.leads.filter((l) => !pinned.includes(l)) }
    : scan;
  const pairs = pairFiles(open, state, convs, cfg);
  const leads = attachLeads(open, convs, pairs, state, cfg);
  const writingLeads = leadsBeingWritten(scan, clock);
  const lone = [
    ...leads.alone,
    ...pinned.map((lead) => ({
      lead,
      reason: aloneReasonOf(state, lead.name)!,
      pinned: true,
    })),
  ];
  const sets = [
    ...convs.map((c) => callSet(c, pairs, leads, state, writingLeads, clock)),
    ...scan.recordings
      .filter((r) => !pairs.used.has(r.name))
      .map((r) => recordingOnlySet(r, pairs, leads, state, clock)),
    ...leads.updates.map((u) => leadUpdateSet(u, state, clock)),
    ...lone.map((l) => leadOnlySet(l, state, clock)),
  ];
  const strays = scan.problems.map((p) => strayProblem(p, clock.stale));
  sets.sort((a, b) => a.startMs - b.startMs || (a.name < b.name ? -1 : 1));
  return {
    sets,
    strays,
    deliveredCount: state.delivered.size,
    timing: pairs.pairing.timing,
    ambiguous: pairs.pairing.ambiguous,
    zoneMismatch: detectZoneMismatch(
      convs.map((c) => c.key),
      scan.recordings.map((r) => r.key),
      cfg.timezone,
    ),
  };
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
  /** Kept-apart groups by each file name in them. */
  ambiguityOf: Map<string, Ambiguity>;
  /** Readings chosen for transcripts with ambiguous local times. */
  timeOf: Map<string, TimeChoice>;
  pairing: Pairing;
}

/**
 * Pair recordings with the conversations not yet delivered: a set whose
 * recording went out (or was about to), or whose call record is frozen (it
 * may have reached the CRM), keeps what it had, a recording or none; so does
 * a recording-only set that got that far. The rest are paired by
 * {@link pairRecordings}, learning from the files and the evidence kept.
 */
function pairFiles(
  scan: ScanResult,
  state: PlanState,
  convs: readonly ConversationFile[],
  cfg: PlanConfig,
): Pairs {
  const pinned = new Map<string, string>();
  const settled = new Set<string>();
  for (const c of convs) {
    const p = state.progress.get(c.name);
    if (p?.recording_file) pinned.set(c.name, p.recording_file);
    if (p?.recording_file || p?.call_record) settled.add(c.name);
  }
  const pinnedRecordings = new Set(pinned.values());
  const free = scan.recordings.filter((r) =>
    !pinnedRecordings.has(r.name) && !startedAlone(state.progress.get(r.name))
  );
  const unpinned = convs.filter((c) => !settled.has(c.name));
  const phoneOf = leadPhones(scan.leads);
  const pairing = pairRecordings(
    unpinned.map((c) => withLeadPhone(c.key, phoneOf)),
    free.map((r) => r.key),
    { windowSeconds: cfg.matchWindowSeconds, history: state.evidence },
  );
  const matches = new Map(pairing.matches.map((m) => [m.conversation, m]));
  const ambiguityOf = new Map<string, Ambiguity>();
  for (const a of pairing.ambiguous) {
    for (const name of [...a.conversations, ...a.recordings]) {
      ambiguityOf.set(name, a);
    }
  }
  return {
    recordingsByName: new Map(scan.recordings.map((r) => [r.name, r])),
    pinned,
    matches,
    used: new Set([
      ...pinnedRecordings,
      ...[...matches.values()].map((m) => m.recording),
    ]),
    ambiguityOf,
    timeOf: new Map(pairing.times.map((t) => [t.conversation, t])),
    pairing,
  };
}

/** The caller numbers session leads carry, by session timestamp and by session id. */
interface LeadPhones {
  byTs: Map<string, string>;
  byId: Map<string, string>;
}

/** A transcript names no number, but its own lead may. */
function leadPhones(leads: readonly LeadFile[]): LeadPhones {
  const phones: LeadPhones = { byTs: new Map(), byId: new Map() };
  for (const l of leads) {
    if (!l.phone) continue;
    if (l.key.sessionTs) phones.byTs.set(l.key.sessionTs, l.phone);
    if (l.key.sessionId) phones.byId.set(l.key.sessionId, l.phone);
  }
  return phones;
}

/** A transcript's key with its own lead's number when it has none. */
function withLeadPhone(
  key: ConversationKey,
  phones: LeadPhones,
): ConversationKey {
  if (key.phone) return key;
  const phone = (key.sessionTs && phones.byTs.get(key.sessionTs)) ||
    (key.sessionId && phones.byId.get(key.sessionId));
  return phone ? { ...key, phone } : key;
}

/** True when a recording-only set got as far as its upload or its record. */
function startedAlone(p: Progress | undefined): boolean {
  return p?.recording_file !== undefined || p?.call_record !== undefined;
}

/** The recording name paired with conversation `name`, if any. */
function pairedRecording(pairs: Pairs, name: string): string | undefined {
  return pairs.pinned.get(name) ?? pairs.matches.get(name)?.recording;
}

/** A lead that came after its call was delivered. */
interface LeadUpdate {
  lead: LeadFile;
  set: string;
  entry: DeliveredEntry;
  /** When the delivered call was saved (its transcript name's time). */
  atMs: number;
}

/** A lead that belongs to no call clearly: it goes alone, saying why. */
interface LoneLead {
  lead: LeadFile;
  /** No call found, or the calls it fits about as well. */
  reason: string;
  /** Its lead-only record was attempted already: due now, never attached. */
  pinned?: boolean;
}

/** Leads attached to sets, updates of delivered calls, and those that found none. */
interface Leads {
  byName: Map<string, LeadFile>;
  /** Lead matches, by set name. */
  matches: Map<string, LeadMatch>;
  updates: LeadUpdate[];
  /** Leads that fit no call clearly. */
  alone: LoneLead[];
}

const NO_CALL = "no call found for this lead";

/** Why a lead fits none of `calls`: it fits them all about as well. */
function fitsSeveral(calls: readonly string[]): string {
  return `fits ${calls.join(" and ")} about as well (no clear winner)`;
}

/**
 * Attach leads to the sets of this plan (each transcript, each recording
 * alone); a lead that fits none but belongs to a call already delivered
 * becomes an update of that call.
 */
function attachLeads(
  scan: ScanResult,
  convs: readonly ConversationFile[],
  pairs: Pairs,
  state: PlanState,
  cfg: PlanConfig,
): Leads {
  const result = matchLeads(
    leadTargets(scan, convs, pairs),
    scan.leads.map((l) => l.key),
    { windowSeconds: cfg.matchWindowSeconds },
  );
  const byName = new Map(scan.leads.map((l) => [l.name, l]));
  const late = lateLeads(
    result.unmatched.map((n) => byName.get(n)!),
    state,
    result.bands,
    cfg,
  );
  return {
    byName,
    matches: new Map(result.matches.map((m) => [m.target, m])),
    updates: late.updates,
    alone: [
      ...result.ambiguous.map((a) => ({
        lead: byName.get(a.lead)!,
        reason: fitsSeveral(a.targets),
      })),
      ...late.alone,
    ],
  };
}

/** One lead target per set: each transcript (with its recording's number), each recording alone. */
function leadTargets(
  scan: ScanResult,
  convs: readonly ConversationFile[],
  pairs: Pairs,
): LeadTarget[] {
  const targets: LeadTarget[] = convs.map((c) => {
    const rec = pairs.recordingsByName.get(
      pairedRecording(pairs, c.name) ?? "",
    );
    const key = keyAsRead(c.key, pairs.timeOf.get(c.name));
    return {
      name: c.name,
      transcript: true,
      sessionTs: key.sessionTs,
      sessionId: key.sessionId,
      savedMs: key.savedMs,
      endMs: conversationEndMs(key),
      leadGenerated: key.leadGenerated,
      phone: rec?.callerDigits ?? key.phone,
    };
  });
  for (const r of scan.recordings) {
    if (pairs.used.has(r.name)) continue;
    targets.push({
      name: r.name,
      transcript: false,
      endMs: recordingEndMs(r.key),
      phone: r.callerDigits,
    });
  }
  return targets;
}

/**
 * Leads that fit no set of this plan, checked against calls already
 * delivered without a lead: a session lead by its transcript's name only,
 * a legacy one by the time in its name against delivered transcripts' save times
 * (in the band learned for leads), when exactly one fits and no number
 * says otherwise. The rest go alone, saying why.
 */
function lateLeads(
  leads: readonly LeadFile[],
  state: PlanState,
  bands: LeadPairing["bands"],
  cfg: PlanConfig,
): { updates: LeadUpdate[]; alone: LoneLead[] } {
  const updates: LeadUpdate[] = [];
  const alone: LoneLead[] = [];
  let saved: readonly DeliveredSave[] | undefined;
  for (const lead of leads) {
    const bySession = lead.key.sessionTs === undefined
      ? undefined
      : `transcript_session_${lead.key.sessionTs}.json`;
    const exact = bySession && state.delivered.get(bySession);
    if (exact) {
      if (!exact.lead) {
        updates.push({ lead, set: bySession, entry: exact, atMs: NaN });
      } else {
        alone.push({
          lead,
          reason:
            `its call ${bySession} was delivered with another lead (${exact.lead})`,
        });
      }
      continue;
    }
    // A session lead's timestamp is its own transcript's: any other
    // delivered transcript is another session's call.
    if (lead.key.kind === "session") {
      alone.push({ lead, reason: NO_CALL });
      continue;
    }
    saved ??= deliveredSaves(state, cfg.timezone);
    const fits = saved.filter((d) =>
      (lead.key.timesMs ?? []).some((t) =>
        Math.abs((t - d.atMs) / 1000 - bands.saved.bias) <= bands.saved.spread
      )
    ).flatMap((d) => {
      const entry = state.delivered.get(d.set);
      return entry && !entry.lead &&
          compareDigits(recordingDigits(entry), digitsOf(lead.phone)) >= 0
        ? [{ ...d, entry }]
        : [];
    });
    if (fits.length === 1) {
      updates.push({ lead, ...fits[0] });
    } else {
      const reason = fits.length === 0
        ? NO_CALL
        : fitsSeveral([...new Set(fits.map((d) => d.set))].sort());
      alone.push({ lead, reason });
    }
  }
  return { updates, alone };
}

/**
 * A delivered transcript set, by the time in its name (its entry is looked
 * up when a lead's time fits: a lead update may have given it a lead since).
 */
interface DeliveredSave {
  set: string;
  atMs: number;
}

/** Save times worked out so far for one delivered map, in one zone. */
interface SavesSoFar {
  timezone: string;
  /** How many entries of the map they cover (its first ones). */
  seen: number;
  saves: DeliveredSave[];
}

/**
 * Save times already worked out, by delivered map. Reading 100,000 names
 * in a zone takes a second, and `callsync watch` plans on every file event
 * over a map that only grows (entries are added, never replaced; a map that
 * shrank is read afresh), so each plan reads only the sets delivered since
 * the last. The plan stays a function of its inputs.
 */
const savesByMap = new WeakMap<
  ReadonlyMap<string, DeliveredEntry>,
  SavesSoFar
>();

/**
 * Delivered sets that are transcripts, with their save times (a lead can
 * only go to one without a lead: checked where used, as a lead update may
 * give one its lead later).
 */
function deliveredSaves(
  state: PlanState,
  timezone: string,
): readonly DeliveredSave[] {
  const map = state.delivered;
  let so = savesByMap.get(map);
  if (!so || so.timezone !== timezone || so.seen > map.size) {
    so = { timezone, seen: 0, saves: [] };
    savesByMap.set(map, so);
  }
  if (so.seen === map.size) return so.saves;
  let i = 0;
  for (const set of map.keys()) {
    if (i++ < so.seen || !/^transcript_session_/i.test(set)) continue;
    const iso = sessionTimestampIso(set);
    if (!iso) continue;
    for (const atMs of localReadings(iso, timezone)) {
      so.saves.push({ set, atMs });
    }
  }
  so.seen = map.size;
  return so.saves;
}

/** The caller digits in a delivered set's recording name, if any. */
function recordingDigits(entry: DeliveredEntry): string | undefined {
  return entry.recording
    ? /(\d{5,15})-\d{9,11}\.[a-z0-9]+$/i.exec(entry.recording)?.[1]
    : undefined;
}

/** The key with the reading pairing chose for it (daylight saving). */
function keyAsRead(
  key: ConversationKey,
  choice: TimeChoice | undefined,
): ConversationKey {
  if (!choice) return key;
  const { startMs, endMs, savedMs } = choice.reading;
  return {
    ...key,
    startMs,
    endMs: endMs ?? key.endMs,
    savedMs,
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
  const timeChoice = pairs.timeOf.get(c.name);
  const key = keyAsRead(c.key, timeChoice);
  const set = base(c.name, "call", key.startMs, state.progress.get(c.name));
  set.conversation = key === c.key ? c : { ...c, key };
  set.recording = recName ? pairs.recordingsByName.get(recName) : undefined;
  set.recordingMatch = pairs.matches.get(c.name);
  set.lead = lm ? leads.byName.get(lm.lead) : undefined;
  set.leadMatch = lm;
  set.timeChoice = timeChoice;
  set.ambiguity = set.recording ? undefined : pairs.ambiguityOf.get(c.name);
  const rec = set.recording;
  const uploaded = set.progress?.recording_url !== undefined;
  if (rec && !uploaded && !rec.media.complete) {
    set.truncated = rec.media.salvageable && clock.stale(rec.mtimeMs);
  }
  set.leadSentAlone = set.lead ? undefined : sentAlone(state, key.sessionTs);
  const endMs = key.endMs ?? key.startMs;
  const leadDue = c.mtimeMs + clock.cfg.leadWaitSeconds * 1000;
  const awaitsLead = key.leadGenerated === true && !set.lead &&
    !set.leadSentAlone;
  set.leadMissing = awaitsLead && clock.now >= leadDue;
  const wait = recordingWait(set, uploaded, clock) ??
    (!rec && !uploaded
      ? orphanWait(set, Math.max(endMs, c.mtimeMs), clock)
      : undefined) ??
    rivalWait(set, endMs, uploaded, clock) ??
    (key.sessionTs && writingLeads.has(key.sessionTs)
      ? "its lead file is still being written"
      : undefined) ??
    (awaitsLead && clock.now < leadDue && !set.progress?.call_record
      ? `its transcript announces a lead (lead_generated); waiting up to ${clock.cfg.leadWaitSeconds} s for the lead file (LEAD_WAIT_SECONDS)`
      : undefined);
  return decide(set, wait, clock.now);
}

/** Why a set waits for its recording to be finished, if it does. */
function recordingWait(
  set: CallSet,
  uploaded: boolean,
  clock: Clock,
): string | undefined {
  const rec = set.recording;
  if (!rec || uploaded || rec.media.complete || set.truncated) return undefined;
  const why = rec.media.pending ?? "still being written";
  return rec.media.salvageable || !clock.stale(rec.mtimeMs)
    ? `recording ${rec.name} is still being written (${why})`
    : `recording ${rec.name} stopped changing unfinished (${why}) and cannot be played; replace or remove it`;
}

/**
 * Why a set missing its other half waits, if it does: until the orphan
 * deadline, then it goes alone (saying so when it was kept apart).
 */
function orphanWait(
  set: CallSet,
  sinceMs: number,
  clock: Clock,
): string | undefined {
  const { cfg } = clock;
  if (clock.orphanDue(sinceMs)) return undefined;
  if (set.kind === "lead-only") {
    return cfg.orphanAfterSeconds > 0
      ? `${set.aloneReason}; sent alone (lead-only) ${cfg.orphanAfterSeconds} s after it was written unless its call shows up`
      : `${set.aloneReason}; orphan delivery is off (ORPHAN_AFTER_SECONDS=0)`;
  }
  const missing = set.kind === "call" ? "recording" : "transcript";
  const apart = set.ambiguity
    ? `kept apart: ${ambiguityText(set.ambiguity, set.name)}; `
    : "";
  return cfg.orphanAfterSeconds > 0
    ? `${apart}no ${missing} yet; sent ${
      set.kind === "call" ? "without one" : "as recording-only"
    } after ${cfg.orphanAfterSeconds} s`
    : `${apart}no ${missing}; orphan delivery is off (ORPHAN_AFTER_SECONDS=0)`;
}

/** The other files of an ambiguity, for a reason line. */
export function ambiguityText(a: Ambiguity, own: string): string {
  const others = [...a.conversations, ...a.recordings].filter((n) => n !== own);
  return `fits ${others.join(", ")} about as well (no clear winner)`;
}

/**
 * A pair that beat files with no partner of their own (its rivals) waits
 * while they stay unexplained, up to the orphan deadline: a rival's other
 * half may not be written yet, or the recorder's offset may just have
 * changed and its true partner is this pair's recording.
 */
function rivalWait(
  set: CallSet,
  endMs: number,
  uploaded: boolean,
  clock: Clock,
): string | undefined {
  const rivals = set.recordingMatch?.rivals ?? [];
  if (uploaded || rivals.length === 0 || clock.orphanDue(endMs)) {
    return undefined;
  }
  return `${
    rivals.join(", ")
  } fit as well and have no partner yet; waiting for them (at most ${clock.cfg.orphanAfterSeconds} s after the call)`;
}

/** A recording no conversation claims: its own set, once it is an orphan. */
function recordingOnlySet(
  r: RecordingFile,
  pairs: Pairs,
  leads: Leads,
  state: PlanState,
  clock: Clock,
): CallSet {
  const set = base(
    r.name,
    "recording-only",
    r.key.startMs,
    state.progress.get(r.name),
  );
  set.recording = r;
  set.ambiguity = pairs.ambiguityOf.get(r.name);
  const lm = leads.matches.get(r.name);
  set.lead = lm ? leads.byName.get(lm.lead) : undefined;
  set.leadMatch = lm;
  const uploaded = set.progress?.recording_url !== undefined;
  set.truncated = !r.media.complete && r.media.salvageable &&
    clock.stale(r.mtimeMs);
  const wait = recordingWait(set, uploaded, clock) ??
    orphanWait(set, r.mtimeMs, clock);
  return decide(set, wait, clock.now);
}

/** A lead for a call already delivered: an update of that call. */
function leadUpdateSet(
  u: LeadUpdate,
  state: PlanState,
  clock: Clock,
): CallSet {
  const startMs = Number.isFinite(u.atMs)
    ? u.atMs
    : u.lead.key.timesMs?.[0] ?? u.entry.at;
  const set = base(
    u.lead.name,
    "lead-update",
    startMs,
    state.progress.get(u.lead.name),
  );
  set.lead = u.lead;
  set.updateOf = { set: u.set, callId: u.entry.callId };
  return decide(set, undefined, clock.now);
}

/**
 * A lead that belongs to no call clearly: waits like any orphan (its call's
 * files may still come), then goes alone; once attempted it stays alone.
 */
function leadOnlySet(lone: LoneLead, state: PlanState, clock: Clock): CallSet {
  const { lead } = lone;
  const set = base(
    lead.name,
    "lead-only",
    leadTimeMs(lead),
    state.progress.get(lead.name),
  );
  set.lead = lead;
  set.aloneReason = lone.reason;
  const wait = lone.pinned ? undefined : orphanWait(set, lead.mtimeMs, clock);
  return decide(set, wait, clock.now);
}

/** Why a lead-only record was (or is being) sent, if one was attempted. */
function aloneReasonOf(state: PlanState, lead: string): string | undefined {
  return state.progress.get(lead)?.alone_reason;
}

/**
 * The lead of session `ts` when it was sent alone (delivered, or attempted
 * and pinned): its call, showing up later, goes without it.
 */
function sentAlone(
  state: PlanState,
  ts: string | undefined,
): CallSet["leadSentAlone"] {
  if (ts === undefined) return undefined;
  const lead = `leads_session_${ts}.json`;
  const delivered = state.delivered.get(lead);
  if (delivered?.alone) return { lead, callId: delivered.callId };
  const p = state.progress.get(lead);
  if (p?.alone_reason === undefined) return undefined;
  const details = p.call_record?.callDetails as { callId?: string } | undefined;
  return { lead, callId: details?.callId ?? "its own callId" };
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
  return { ...set, state: "pending", reason: action(set) };
}

/** What a run does with a due set, in words. */
function action(set: CallSet): string {
  const what = set.kind === "lead-update"
    ? `send the call record of ${
      set.updateOf!.callId
    } again with this lead (an update)`
    : set.kind === "lead-only"
    ? `send the lead alone as a lead-only call record (${set.aloneReason})`
    : set.kind === "recording-only"
    ? "send recording, then a recording-only call record"
    : set.progress?.recording_url
    ? "send the call record (recording already uploaded)"
    : set.recording
    ? "send recording, then call record"
    : "send call record without a recording";
  const notes = [
    set.truncated ? "recording truncated" : "",
    set.ambiguity
      ? `kept apart: ${ambiguityText(set.ambiguity, set.name)}`
      : "",
    set.leadMissing
      ? "its announced lead did not come; a late one is sent as an update"
      : "",
    set.leadSentAlone
      ? `its lead ${set.leadSentAlone.lead} was already sent alone as ${set.leadSentAlone.callId}; not sent again`
      : "",
    set.timeChoice && set.timeChoice.basis === "rule"
      ? "local time repeated by a clock change: read as the first pass"
      : "",
  ].filter(Boolean);
  return notes.length ? `${what} (${notes.join("; ")})` : what;
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
