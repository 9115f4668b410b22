/**
 * Seeded synthetic "busy host": many overlapping voice-bot calls, each with a
 * transcript and a recording whose times are slightly off, plus the ground
 * truth of which recording belongs to which transcript.
 *
 * Pure data; tests, benchmarks and fixture writers build on it.
 *
 * @module
 */

import type { ConversationKey, RecordingKey } from "../lib/pair/match.ts";

/**
 * Small seeded PRNG (mulberry32): the same seed gives the same sequence of
 * floats in `[0, 1)`.
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./busy_host.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(mulberry32(7)(), mulberry32(7)());
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shape of a busy host; every field but `seed` and `calls` has a default. */
export interface BusyHostOptions {
  /** PRNG seed. */
  seed: number;
  /** Number of calls. */
  calls: number;
  /** First call's arrival, unix ms. @default {Date.UTC(2025, 0, 6, 9)} */
  epochMs?: number;
  /** Mean of the exponential inter-arrival time. @default {20} */
  meanInterArrivalSeconds?: number;
  /** Each side's start is off the true start by up to ± this. @default {2} */
  startJitterSeconds?: number;
  /** Each side's duration is off the true duration by up to ± this. @default {2} */
  durationJitterSeconds?: number;
  /** Share of transcripts that carry the caller number. @default {0.7} */
  transcriptPhoneRate?: number;
  /** Share of recordings that carry the caller number. @default {0.7} */
  recordingPhoneRate?: number;
  /** Share of calls from a number among the last 50 callers. @default {0.2} */
  repeatCallerRate?: number;
  /** Share of transcripts that say `lead_generated: true`. @default {0.3} */
  leadGeneratedRate?: number;
}

/** One synthetic call, with its true values and what each file shows. */
export interface SyntheticCall {
  /** Caller number, 10 digits. */
  callerDigits: string;
  /** When the call really started, unix ms. */
  trueStartMs: number;
  /** How long the call really lasted, seconds. */
  trueDurationSeconds: number;
  /** Transcript file name, `transcript_session_<sessionTs>.json`. */
  conversationName: string;
  /** `YYYYMMDD_HHMMSS_mmm` (UTC) of the transcript start; unique. */
  sessionTs: string;
  /** Session id inside the transcript. */
  sessionId: string;
  /** Transcript start, unix ms. */
  transcriptStartMs: number;
  /** Transcript end, unix ms. */
  transcriptEndMs: number;
  /** Whether the transcript carries the caller number. */
  transcriptHasPhone: boolean;
  /** Whether the transcript says `lead_generated: true`. */
  leadGenerated: boolean;
  /** Recording file name, `rec_<unix>_<91 + digits | anon>_<n>.ogg`. */
  recordingName: string;
  /** Recording start, whole unix seconds. */
  recordingUnixStart: number;
  /** Recording length, seconds. */
  recordingDurationSeconds: number;
  /** Whether the recording carries the caller number (with country code 91). */
  recordingHasPhone: boolean;
}

/** A generated busy host. */
export interface BusyHost {
  /** Calls in arrival order. */
  calls: SyntheticCall[];
  /** Transcript keys, sorted by name (directory order). */
  conversations: ConversationKey[];
  /** Recording keys, sorted by name (directory order). */
  recordings: RecordingKey[];
  /** Ground truth: conversation name → recording name. */
  truth: Map<string, string>;
}

const MIN_DURATION_SECONDS = 20;
const MAX_DURATION_SECONDS = 900;
const REPEAT_POOL = 50;

/**
 * Generates a busy host: calls arrive with exponential inter-arrival times,
 * durations are lognormal (median 90 s) clamped to 20–900 s, each side's start
 * and duration are jittered independently, the recording start is truncated
 * to whole seconds.
 *
 * @example
 * ```ts
 * import { generateBusyHost } from "./busy_host.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const host = generateBusyHost({ seed: 1, calls: 100 });
 * deepStrictEqual(host.truth.size, 100);
 * ```
 */
export function generateBusyHost(opts: BusyHostOptions): BusyHost {
  const random = mulberry32(opts.seed);
  const uniform = (halfWidth: number) => (2 * random() - 1) * halfWidth;
  const chance = (rate: number) => random() < rate;
  const meanGapMs = (opts.meanInterArrivalSeconds ?? 20) * 1000;
  const startJitterMs = (opts.startJitterSeconds ?? 2) * 1000;
  const durationJitter = opts.durationJitterSeconds ?? 2;
  const sessionTsTaken = new Set<string>();
  const recordingsPerSecond = new Map<number, number>();
  const callers: string[] = [];
  const calls: SyntheticCall[] = [];
  let arrivalMs = opts.epochMs ?? Date.UTC(2025, 0, 6, 9);
  for (let k = 0; k < opts.calls; k++) {
    if (k > 0) arrivalMs += Math.round(-meanGapMs * Math.log(1 - random()));
    const callerDigits =
      callers.length > 0 && chance(opts.repeatCallerRate ?? 0.2)
        ? callers[
          Math.max(0, callers.length - 1 - Math.floor(random() * REPEAT_POOL))
        ]
        : String(6 + Math.floor(random() * 4)) +
          String(Math.floor(random() * 1e9)).padStart(9, "0");
    callers.push(callerDigits);
    const trueDurationSeconds = Math.round(
      Math.min(
        MAX_DURATION_SECONDS,
        Math.max(MIN_DURATION_SECONDS, 90 * Math.exp(0.9 * gaussian(random))),
      ),
    );

    let transcriptStartMs = arrivalMs + Math.round(uniform(startJitterMs));
    let sessionTs = formatSessionTs(transcriptStartMs);
    while (sessionTsTaken.has(sessionTs)) {
      sessionTs = formatSessionTs(++transcriptStartMs);
    }
    sessionTsTaken.add(sessionTs);
    const transcriptSeconds = trueDurationSeconds + uniform(durationJitter);

    const recordingUnixStart = Math.floor(
      (arrivalMs + uniform(startJitterMs)) / 1000,
    );
    const recordingHasPhone = chance(opts.recordingPhoneRate ?? 0.7);
    const sequence = recordingsPerSecond.get(recordingUnixStart) ?? 0;
    recordingsPerSecond.set(recordingUnixStart, sequence + 1);

    calls.push({
      callerDigits,
      trueStartMs: arrivalMs,
      trueDurationSeconds,
      conversationName: `transcript_session_${sessionTs}.json`,
      sessionTs,
      sessionId: `s${opts.seed}-${k}`,
      transcriptStartMs,
      transcriptEndMs: transcriptStartMs + Math.round(transcriptSeconds * 1000),
      transcriptHasPhone: chance(opts.transcriptPhoneRate ?? 0.7),
      leadGenerated: chance(opts.leadGeneratedRate ?? 0.3),
      recordingName: `rec_${recordingUnixStart}_${
        recordingHasPhone ? `91${callerDigits}` : "anon"
      }_${sequence}.ogg`,
      recordingUnixStart,
      recordingDurationSeconds: Math.round(
        (trueDurationSeconds + uniform(durationJitter)) * 100,
      ) / 100,
      recordingHasPhone,
    });
  }
  return {
    calls,
    conversations: calls.map(conversationKey).sort(byName),
    recordings: calls.map(recordingKey).sort(byName),
    truth: new Map(calls.map((c) => [c.conversationName, c.recordingName])),
  };
}

function conversationKey(c: SyntheticCall): ConversationKey {
  return {
    name: c.conversationName,
    startMs: c.transcriptStartMs,
    endMs: c.transcriptEndMs,
    durationSeconds: (c.transcriptEndMs - c.transcriptStartMs) / 1000,
    phone: c.transcriptHasPhone ? c.callerDigits : undefined,
    sessionTs: c.sessionTs,
    sessionId: c.sessionId,
    leadGenerated: c.leadGenerated,
  };
}

function recordingKey(c: SyntheticCall): RecordingKey {
  return {
    name: c.recordingName,
    startMs: c.recordingUnixStart * 1000,
    durationSeconds: c.recordingDurationSeconds,
    complete: true,
    phone: c.recordingHasPhone ? `91${c.callerDigits}` : undefined,
  };
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : +(a.name > b.name);
}

/** Standard normal sample (Box–Muller). */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) *
    Math.cos(2 * Math.PI * random());
}

/** `YYYYMMDD_HHMMSS_mmm` in UTC. */
function formatSessionTs(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2025-01-06T09:00:00.000Z
  return `${iso.slice(0, 10).replaceAll("-", "")}_${
    iso.slice(11, 19).replaceAll(":", "")
  }_${iso.slice(20, 23)}`;
}
