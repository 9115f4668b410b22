/**
 * A generated host as callsync meets it in production: a run every minute
 * plans only the files written so far and not yet delivered (recordings
 * still being written among them), "delivers" every due set, and keeps the
 * delivered pairs' evidence for the next run — `makePlan` and the state's
 * bookkeeping, without disk or network.
 *
 * @module
 */
import type { Host } from "./busy_host.ts";
import { HOST_PLAN_CONFIG, hostScan } from "./host_plan.ts";
import { makePlan } from "../lib/pair/plan.ts";
import type { RecordingFile } from "../lib/source/files.ts";
import type { DeliveredEntry } from "../lib/state/store.ts";
import { EVIDENCE_KEEP, type PairEvidence } from "../lib/state/evidence.ts";

/** What the runs delivered. */
export interface LiveResult {
  /** Transcript → the recording delivered with it. */
  pairs: Map<string, string>;
  /** Every delivered set, by name. */
  delivered: Map<string, DeliveredEntry>;
  runs: number;
  /**
   * Where the lead files went: `files` = `attached` (to a call, or as an
   * update of one) + `alone` (lead-only records) + `unsent`; `twice`: lead
   * files delivered in more than one set.
   */
  leads: {
    files: number;
    attached: number;
    alone: number;
    unsent: number;
    twice: number;
  };
}

/** Replays `host`'s files run by run, a run every `everySeconds`. */
export function simulateLive(
  host: Host,
  zone: string,
  everySeconds = 60,
): LiveResult {
  const all = hostScan(host, zone);
  const delivered = new Map<string, DeliveredEntry>();
  const used = new Set<string>();
  let evidence: PairEvidence[] = [];
  const every = everySeconds * 1000;
  const first = Math.min(...host.calls.map((c) => c.startMs));
  const last = Math.max(
    ...host.transcripts.map((t) => t.mtimeMs),
    ...host.recordings.map((r) => r.mtimeMs),
  ) + (HOST_PLAN_CONFIG.orphanAfterSeconds + 600) * 1000;
  let runs = 0;
  for (let now = first; now <= last; now += every) {
    const scan = {
      ...all,
      conversations: all.conversations.filter((c) =>
        c.mtimeMs <= now && !delivered.has(c.name)
      ),
      recordings: all.recordings
        .filter((r) => r.key.startMs <= now && !used.has(r.name))
        .map((r) => asSeenAt(r, now)),
      leads: all.leads.filter((l) => l.mtimeMs <= now && !used.has(l.name)),
    };
    if (scan.conversations.length + scan.recordings.length === 0) continue;
    runs++;
    const plan = makePlan(
      scan,
      { delivered, progress: new Map(), evidence },
      { ...HOST_PLAN_CONFIG, timezone: zone },
      now,
    );
    for (const set of plan.sets) {
      if (set.state !== "pending") continue;
      const entry: DeliveredEntry = {
        callId: set.name,
        recording: set.recording?.name,
        lead: set.lead?.name,
        at: now,
        alone: set.kind === "lead-only" ? true : undefined,
      };
      delivered.set(set.name, entry);
      for (const f of [entry.recording, entry.lead]) if (f) used.add(f);
      const m = set.recordingMatch;
      if (m?.endDiffSeconds !== undefined) {
        evidence.push({
          atMs: set.startMs,
          startDiff: m.startDiffSeconds,
          endDiff: m.endDiffSeconds,
          mtimeDiff: m.mtimeEndDiffSeconds ?? NaN,
        });
      }
    }
    evidence = evidence.slice(-EVIDENCE_KEEP);
  }
  const pairs = new Map<string, string>();
  const leads = {
    files: all.leads.length,
    attached: 0,
    alone: 0,
    unsent: 0,
    twice: 0,
  };
  const sent = new Set<string>();
  for (const [set, e] of delivered) {
    if (e.recording && set !== e.recording) pairs.set(set, e.recording);
    if (!e.lead) continue;
    if (sent.has(e.lead)) leads.twice++;
    else leads[e.alone ? "alone" : "attached"]++;
    sent.add(e.lead);
  }
  leads.unsent = leads.files - leads.attached - leads.alone;
  return { pairs, delivered, runs, leads };
}

/** A recording as a scan at `now` finds it: still growing until it stops. */
function asSeenAt(r: RecordingFile, now: number): RecordingFile {
  if (r.mtimeMs <= now) return r;
  const soFar = Math.max(0, (now - r.key.startMs) / 1000);
  return {
    ...r,
    mtimeMs: now,
    media: { ...r.media, complete: false, durationSeconds: soFar },
    key: { ...r.key, complete: false, durationSeconds: soFar, mtimeMs: now },
  };
}
