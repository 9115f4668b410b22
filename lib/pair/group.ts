/**
 * The grouping stage in one pure call: check the zone, pair transcripts
 * with recordings, then attach leads to the resulting calls.
 *
 * @module
 */
import {
  conversationEndMs,
  type ConversationKey,
  type LeadKey,
  recordingEndMs,
  type RecordingKey,
} from "./keys.ts";
import { type LeadPairing, type LeadTarget, matchLeads } from "./leads.ts";
import { type Pairing, pairRecordings } from "./match.ts";
import { detectZoneMismatch, type ZoneMismatch } from "./zone.ts";

/** Options for {@linkcode groupCalls}. */
export interface GroupOptions {
  /** `MATCH_WINDOW_SECONDS`. */
  windowSeconds: number;
  /** `TIMEZONE`: the zone naive times were read in. */
  zone: string;
}

/** Everything grouping decided. */
export interface Grouping {
  /** Set when the files show the bot writes another zone: deliver nothing. */
  zoneMismatch?: ZoneMismatch;
  pairing: Pairing;
  leads: LeadPairing;
}

/**
 * Groups the files of each call. A zone mismatch is reported and grouping
 * still runs (so `plan` can show what it would do), but callers must send
 * nothing while `zoneMismatch` is set.
 */
export function groupCalls(
  conversations: readonly ConversationKey[],
  recordings: readonly RecordingKey[],
  leads: readonly LeadKey[],
  opts: GroupOptions,
): Grouping {
  const zoneMismatch = detectZoneMismatch(conversations, recordings, opts.zone);
  const pairing = pairRecordings(conversations, recordings, opts);
  const targets = leadTargets(conversations, recordings, pairing);
  return {
    zoneMismatch,
    pairing,
    leads: matchLeads(targets, leads, opts),
  };
}

/** One target per call: each transcript (with its recording's number), each recording alone. */
function leadTargets(
  conversations: readonly ConversationKey[],
  recordings: readonly RecordingKey[],
  pairing: Pairing,
): LeadTarget[] {
  const byName = new Map(recordings.map((r) => [r.name, r]));
  const recordingOf = new Map(
    pairing.matches.map((m) => [m.conversation, m.recording]),
  );
  const readingOf = new Map(
    pairing.times.map((t) => [t.conversation, t.reading]),
  );
  const paired = new Set(recordingOf.values());
  const targets: LeadTarget[] = conversations.map((c) => {
    const reading = readingOf.get(c.name);
    const r = byName.get(recordingOf.get(c.name) ?? "");
    return {
      name: c.name,
      transcript: true,
      sessionTs: c.sessionTs,
      sessionId: c.sessionId,
      savedMs: reading ? reading.savedMs : c.savedMs,
      endMs: reading ? reading.endMs : conversationEndMs(c),
      leadGenerated: c.leadGenerated,
      phone: r?.phone ?? c.phone,
    };
  });
  for (const r of recordings) {
    if (paired.has(r.name)) continue;
    targets.push({
      name: r.name,
      transcript: false,
      endMs: recordingEndMs(r),
      phone: r.phone,
    });
  }
  return targets;
}
