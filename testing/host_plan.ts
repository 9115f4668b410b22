/**
 * A generated host (`busy_host.ts`) as callsync's plan sees it, and how that
 * plan fared against the host's ground truth: the harness of the accuracy
 * tests and of `bench/accuracy.ts`. The files go through the same readers a
 * scan uses (naive times read in the zone given), without touching disk.
 *
 * @module
 */
import type { Host } from "./busy_host.ts";
import { makePlan, type Plan, type PlanConfig } from "../lib/pair/plan.ts";
import type { PairEvidence } from "../lib/state/evidence.ts";
import type {
  ConversationFile,
  LeadFile,
  RecordingFile,
} from "../lib/source/files.ts";
import { parseRecordingName } from "../lib/source/names.ts";
import type { ScanResult } from "../lib/source/scan.ts";
import { readLead, readTranscript } from "../lib/source/transcript.ts";
import type {
  ConversationKey,
  LeadKey,
  RecordingKey,
} from "../lib/source/keys.ts";

/** The files of `host` as a scan reads them, naive times in `zone`. */
export function hostScan(host: Host, zone: string): ScanResult {
  const conversations: ConversationFile[] = host.transcripts.map((t) => {
    const read = readTranscript(t.name, t.data, zone);
    read.key.mtimeMs = t.mtimeMs;
    return { ...file("conversations", t.name, t.mtimeMs), ...read };
  });
  const recordings: RecordingFile[] = host.recordings.map((r) => {
    const parsed = parseRecordingName(r.name)!;
    return {
      ...file("recordings", r.name, r.mtimeMs),
      callerDigits: parsed.callerDigits,
      media: {
        format: "ogg",
        contentType: "audio/ogg",
        complete: true,
        durationSeconds: r.durationSeconds,
        salvageable: true,
        size: 1000,
      },
      key: {
        name: r.name,
        startMs: parsed.startMs,
        durationSeconds: r.durationSeconds,
        complete: true,
        mtimeMs: r.mtimeMs,
        phone: parsed.callerDigits,
      },
    };
  });
  const leads: LeadFile[] = host.leads.map((l) => ({
    ...file("leads", l.name, l.mtimeMs),
    ...readLead(l.name, l.data, zone),
  }));
  return {
    conversations,
    recordings,
    leads,
    problems: [],
    missing: [],
    skipped: 0,
  };
}

function file(folder: string, name: string, mtimeMs: number) {
  return {
    name,
    path: `${folder}/${name}`,
    size: 1000,
    mtimeMs,
    dev: 0,
    ino: 0,
  };
}

/** Settings of a plan over a generated host (the defaults callsync ships). */
export const HOST_PLAN_CONFIG: PlanConfig = {
  matchWindowSeconds: 300,
  staleSeconds: 600,
  orphanAfterSeconds: 1800,
  leadWaitSeconds: 300,
  timezone: "UTC",
};

/** The plan of `host` with nothing delivered, long after its last call. */
export function hostPlan(
  host: Host,
  zone: string,
  evidence: readonly PairEvidence[] = [],
): Plan {
  return makePlan(
    hostScan(host, zone),
    { delivered: new Map(), progress: new Map(), evidence },
    { ...HOST_PLAN_CONFIG, timezone: zone },
    Date.UTC(2030, 0, 1),
  );
}

/** How a pairing fared. */
export interface PairScore {
  /** Calls with both halves on disk. */
  whole: number;
  /** …paired with each other. */
  right: number;
  /** …a half paired with a file of another call: the harm. */
  wrong: number;
  /** …kept apart. */
  apart: number;
  /** Calls with one half lost. */
  halves: number;
  /** Lost halves paired with anything: the harm. */
  halvesJoined: number;
}

/** Scores `pairs` (transcript → recording) against the host's calls. */
export function scorePairs(
  host: Host,
  pairs: ReadonlyMap<string, string>,
): PairScore {
  const paired = new Set(pairs.values());
  const s: PairScore = {
    whole: 0,
    right: 0,
    wrong: 0,
    apart: 0,
    halves: 0,
    halvesJoined: 0,
  };
  for (const call of host.calls) {
    const t = call.transcript;
    const r = call.recording;
    if (t && r) {
      s.whole++;
      const got = pairs.get(t);
      if (got === r) s.right++;
      else if (got !== undefined || paired.has(r)) s.wrong++;
      else s.apart++;
    } else if (t || r) {
      s.halves++;
      if ((t && pairs.has(t)) || (r && paired.has(r))) s.halvesJoined++;
    }
  }
  return s;
}

/** How leads fared. */
export interface LeadScore {
  /** Leads on disk whose call left a transcript or a recording. */
  leads: number;
  /** …attached to a set holding a file of their call. */
  right: number;
  /** …attached to a set of another call: the harm. */
  wrong: number;
  /** …attached to no call (sent alone, or waiting). */
  unattached: number;
  /** Leads whose call lost a half, and of those attached to another call. */
  halfLost: number;
  halfLostWrong: number;
  /** Leads whose call left neither file, and of those attached anywhere. */
  orphans: number;
  orphansAttached: number;
  /**
   * Every lead file on disk, whether its call left a file or not:
   * `files` = `attached` + `alone` + `waiting`.
   */
  files: number;
  /** …attached to a call (its own or another). */
  attached: number;
  /** …sent alone, as a lead-only call record. */
  alone: number;
  /** …neither (not due yet, or orphan delivery off): not sent. */
  waiting: number;
}

/** Scores a plan's lead attachments against the host's calls. */
export function scoreLeads(host: Host, plan: Plan): LeadScore {
  const setOf = new Map<string, string[]>();
  const alone = new Set<string>();
  for (const set of plan.sets) {
    if (!set.lead) continue;
    if (set.kind === "lead-only") {
      alone.add(set.lead.name);
      continue;
    }
    setOf.set(
      set.lead.name,
      [set.conversation?.name, set.recording?.name]
        .filter((n) => n !== undefined),
    );
  }
  const s: LeadScore = {
    leads: 0,
    right: 0,
    wrong: 0,
    unattached: 0,
    halfLost: 0,
    halfLostWrong: 0,
    orphans: 0,
    orphansAttached: 0,
    files: host.leads.length,
    attached: host.leads.filter((l) => setOf.has(l.name)).length,
    alone: host.leads.filter((l) => alone.has(l.name)).length,
    waiting: 0,
  };
  s.waiting = s.files - s.attached - s.alone;
  for (const call of host.calls) {
    if (!call.lead) continue;
    const files = setOf.get(call.lead);
    if (!call.transcript && !call.recording) {
      s.orphans++;
      if (files) s.orphansAttached++;
      continue;
    }
    s.leads++;
    const lostHalf = !call.transcript || !call.recording;
    if (lostHalf) s.halfLost++;
    if (!files) s.unattached++;
    else if (files.some((f) => f === call.transcript || f === call.recording)) {
      s.right++;
    } else {
      s.wrong++;
      if (lostHalf) s.halfLostWrong++;
    }
  }
  return s;
}

/** A host planned as callsync would, scored against its truth. */
export interface Evaluation {
  plan: Plan;
  pairs: PairScore;
  leads: LeadScore;
  /** Transcripts whose local times a clock change repeats, and of those read right. */
  repeatedTimes: number;
  repeatedTimesRight: number;
}

/** Plans `host` with naive times read in `zone` and scores the result. */
export function evaluate(host: Host, zone: string): Evaluation {
  const plan = hostPlan(host, zone);
  const pairs = new Map<string, string>();
  for (const set of plan.sets) {
    if (set.conversation && set.recording) {
      pairs.set(set.conversation.name, set.recording.name);
    }
  }
  const trueStart = new Map(
    host.calls.filter((c) => c.transcript).map((c) => [
      c.transcript!,
      c.startMs,
    ]),
  );
  let repeatedTimes = 0;
  let repeatedTimesRight = 0;
  for (const set of plan.sets) {
    if (!set.timeChoice) continue;
    repeatedTimes++;
    if (Math.abs(set.startMs - trueStart.get(set.name)!) < 1) {
      repeatedTimesRight++;
    }
  }
  return {
    plan,
    pairs: scorePairs(host, pairs),
    leads: scoreLeads(host, plan),
    repeatedTimes,
    repeatedTimesRight,
  };
}

/** The keys of `host`'s files, as pairing gets them from a scan. */
export function hostKeys(host: Host, zone: string): {
  conversations: ConversationKey[];
  recordings: RecordingKey[];
  leads: LeadKey[];
} {
  const scan = hostScan(host, zone);
  return {
    conversations: scan.conversations.map((c) => c.key),
    recordings: scan.recordings.map((r) => r.key),
    leads: scan.leads.map((l) => l.key),
  };
}
