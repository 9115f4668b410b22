/**
 * Seeded synthetic voice-bot hosts that follow the physical model of
 * LiveKit Egress and a voice bot, with the ground truth of which files
 * belong to which call. Pure data: the same options give the same host.
 *
 * The model, per call (times are the bot's clock unless said otherwise):
 * - calls arrive with exponential gaps (mean `meanGapSeconds`), last a
 *   lognormal time (median 90 s, clamped to 20–900 s), and come from a
 *   number among the last 50 callers (not on a call) with probability
 *   `repeatCallerRate`;
 * - the **recording** starts `offset + jitter` seconds after the call, where
 *   the offset holds for a period (`periodMinutes`) and the jitter is even
 *   over ±`jitterSeconds`; it ends when the call ends (up to `stopLagSeconds`
 *   later), so it is `offset` seconds shorter. Its name carries the caller's
 *   digits and the unix second it started by the recorder's clock (the
 *   bot's ± `clockSkewSeconds`, fixed per host); its container duration is
 *   exact to 20 ms; its modification time is its last write. A recorder that
 *   would start after the call ended writes nothing;
 * - the **transcript** carries the call's `start_time` and `end_time`
 *   (naive, in `botZone`, microseconds) and no phone number; it is saved
 *   `saveDelaySeconds` after the end, its name is that moment (naive) and its
 *   modification time that moment (UTC);
 * - with probability `leadRate` the transcript says `lead_generated: true`
 *   and a **lead** is saved: `leads_session_<same timestamp>.json`, or for a
 *   `legacy` host `lead_YYYYMMDD_HHMMSS.json` named (whole seconds, naive)
 *   within a second of the transcript's save; a lead carries the caller's
 *   number with probability `leadPhoneRate`. Two legacy leads named the same
 *   second overwrite each other: the earlier is lost;
 * - a call loses its recording with probability `lostRecordingRate` and its
 *   transcript with `lostTranscriptRate` (independently).
 *
 * @module
 */

/** Shape of a host; every field but `seed` and `calls` has a default. */
export interface HostOptions {
  seed: number;
  calls: number;
  /** First call, unix ms. @default {Date.UTC(2026, 0, 6, 9)} */
  firstCallMs?: number;
  /** Mean gap between calls, seconds. @default {20} */
  meanGapSeconds?: number;
  /** Zone the bot writes its naive times in. @default {"UTC"} */
  botZone?: string;
  /** The recorder's usual offset, seconds. @default {0} */
  offsetSeconds?: number;
  /** Each period's offset differs from `offsetSeconds` by up to ± this. @default {2} */
  offsetDriftSeconds?: number;
  /** When set, each period draws its offset evenly from this range instead. */
  offsetRange?: readonly [number, number];
  /** Length of a period of steady offset, minutes, drawn evenly. @default {[60, 240]} */
  periodMinutes?: readonly [number, number];
  /** Per-call jitter of the recorder's start, ± seconds. @default {3} */
  jitterSeconds?: number;
  /** The recording ends up to this long after the call. @default {0.5} */
  stopLagSeconds?: number;
  /** Recorder's clock minus the bot's, up to ± this, per host. @default {0.3} */
  clockSkewSeconds?: number;
  /** The transcript is saved this long after the end, drawn evenly. @default {[0.5, 4]} */
  saveDelaySeconds?: readonly [number, number];
  /** @default {0} */
  lostRecordingRate?: number;
  /** @default {0} */
  lostTranscriptRate?: number;
  /** @default {0.2} */
  repeatCallerRate?: number;
  /** @default {0.3} */
  leadRate?: number;
  /** @default {"session"} */
  leadStyle?: "session" | "legacy";
  /** @default {0.5} */
  leadPhoneRate?: number;
  /** File times are whole seconds (FAT, some network shares). @default {false} */
  coarseFileTimes?: boolean;
  /** Every file was copied at once after the fact: file times say nothing. @default {false} */
  copied?: boolean;
}

/** A file as the bot left it. */
export interface HostFile {
  name: string;
  /** Modification time, unix ms. */
  mtimeMs: number;
}

/** A transcript file. */
export interface TranscriptFile extends HostFile {
  data: Record<string, unknown>;
}

/** A recording file (its bytes are not generated; what a reader finds is). */
export interface RecordingFile extends HostFile {
  durationSeconds: number;
}

/** A lead file. */
export interface LeadFile extends HostFile {
  data: Record<string, unknown>;
}

/** One call and the names of the files it left. */
export interface Call {
  callerDigits: string;
  startMs: number;
  endMs: number;
  /** The recorder's actual offset for this call, seconds. */
  offsetSeconds: number;
  transcript?: string;
  recording?: string;
  lead?: string;
}

/** A generated host. */
export interface Host {
  calls: Call[];
  transcripts: TranscriptFile[];
  recordings: RecordingFile[];
  leads: LeadFile[];
  botZone: string;
}

/**
 * Small seeded PRNG (mulberry32): the same seed gives the same sequence of
 * floats in `[0, 1)`.
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

const REPEAT_POOL = 50;
const COPIED_AT_MS = Date.UTC(2027, 0, 1);

/**
 * Generates a host (see the module documentation for the model).
 *
 * @example
 * ```ts
 * import { generateHost } from "./busy_host.ts";
 *
 * const host = generateHost({ seed: 1, calls: 100, offsetSeconds: 20 });
 * host.calls.length; // 100
 * ```
 */
export function generateHost(opts: HostOptions): Host {
  const o = withDefaults(opts);
  const random = mulberry32(o.seed);
  const between = (lo: number, hi: number) => lo + (hi - lo) * random();
  const chance = (p: number) => random() < p;
  const skew = between(-o.clockSkewSeconds, o.clockSkewSeconds);
  const offsets = periodOffsets(o, random);
  const callers: string[] = [];
  const busyUntil = new Map<string, number>();
  const host: Host = {
    calls: [],
    transcripts: [],
    recordings: [],
    leads: [],
    botZone: o.botZone,
  };
  const leadByName = new Map<string, Call>();
  const recordingByName = new Map<string, Call>();
  let startMs = o.firstCallMs;
  for (let k = 0; k < o.calls; k++) {
    if (k > 0) {
      startMs += Math.round(-o.meanGapSeconds * 1000 * Math.log(1 - random()));
    }
    const repeat = callers.length > 0 && chance(o.repeatCallerRate)
      ? callers[
        Math.max(0, callers.length - 1 - Math.floor(random() * REPEAT_POOL))
      ]
      : undefined;
    const fresh = String(6 + Math.floor(random() * 4)) +
      String(Math.floor(random() * 1e9)).padStart(9, "0");
    // A number already on a call cannot place another one.
    const callerDigits = repeat && (busyUntil.get(repeat) ?? 0) < startMs
      ? repeat
      : fresh;
    callers.push(callerDigits);
    const seconds = Math.min(
      900,
      Math.max(20, 90 * Math.exp(0.9 * gaussian(random))),
    );
    const endMs = startMs + Math.round(seconds * 1e6) / 1e3;
    const offset = offsets(startMs) +
      between(-o.jitterSeconds, o.jitterSeconds);
    const call: Call = { callerDigits, startMs, endMs, offsetSeconds: offset };
    busyUntil.set(callerDigits, endMs);
    host.calls.push(call);
    const saveMs = endMs + 1000 * between(...o.saveDelaySeconds);
    const leadGenerated = chance(o.leadRate);
    const leadPhone = chance(o.leadPhoneRate);
    const leadJitter = between(-1, 1);
    const loseRecording = chance(o.lostRecordingRate);
    const loseTranscript = chance(o.lostTranscriptRate);
    const stop = endMs + 1000 * between(0, o.stopLagSeconds);
    const flush = 1000 * between(0, 0.2);
    const recStart = startMs + offset * 1000;
    const durationSeconds = Math.round((stop - recStart) / 20) / 50;
    if (!loseRecording && durationSeconds >= 1) {
      const epoch = Math.floor((recStart + skew * 1000) / 1000);
      const name = `number-_91${callerDigits}-${epoch}.ogg`;
      host.recordings = claim(recordingByName, name, call, host.recordings);
      call.recording = name;
      host.recordings.push({
        name,
        mtimeMs: fileTime(o, stop + skew * 1000 + flush),
        durationSeconds,
      });
    }
    const ts = nameTimestamp(saveMs, o.botZone, random);
    const data = transcriptData(call, o.botZone, leadGenerated, random);
    if (!loseTranscript) {
      call.transcript = `transcript_session_${ts}.json`;
      host.transcripts.push({
        name: call.transcript,
        mtimeMs: fileTime(o, saveMs),
        data,
      });
    }
    if (leadGenerated) {
      const data: Record<string, unknown> = {
        name: `Caller ${k}`,
        email: `caller${k}@example.com`,
      };
      if (leadPhone) data.phone = `+91${callerDigits}`;
      const leadMs = o.leadStyle === "legacy"
        ? saveMs + 1000 * leadJitter
        : saveMs + 500 * Math.abs(leadJitter);
      const name = o.leadStyle === "legacy"
        ? `lead_${compactLocal(leadMs, o.botZone)}.json`
        : `leads_session_${ts}.json`;
      host.leads = claim(leadByName, name, call, host.leads);
      call.lead = name;
      host.leads.push({ name, mtimeMs: fileTime(o, leadMs), data });
    }
  }
  return host;
}

/**
 * `call` writes file `name`: a file of that name written earlier is
 * overwritten, so its call loses it. Returns `files` without that file.
 */
function claim<F extends HostFile>(
  owners: Map<string, Call>,
  name: string,
  call: Call,
  files: F[],
): F[] {
  const earlier = owners.get(name);
  owners.set(name, call);
  if (!earlier) return files;
  if (earlier.recording === name) earlier.recording = undefined;
  if (earlier.lead === name) earlier.lead = undefined;
  return files.filter((f) => f.name !== name);
}

type Options = Required<Omit<HostOptions, "offsetRange">> & {
  offsetRange?: readonly [number, number];
};

function withDefaults(opts: HostOptions): Options {
  // An option given as undefined keeps its default.
  const given = Object.fromEntries(
    Object.entries(opts).filter(([, v]) => v !== undefined),
  ) as HostOptions;
  return {
    firstCallMs: Date.UTC(2026, 0, 6, 9),
    meanGapSeconds: 20,
    botZone: "UTC",
    offsetSeconds: 0,
    offsetDriftSeconds: 2,
    periodMinutes: [60, 240],
    jitterSeconds: 3,
    stopLagSeconds: 0.5,
    clockSkewSeconds: 0.3,
    saveDelaySeconds: [0.5, 4],
    lostRecordingRate: 0,
    lostTranscriptRate: 0,
    repeatCallerRate: 0.2,
    leadRate: 0.3,
    leadStyle: "session",
    leadPhoneRate: 0.5,
    coarseFileTimes: false,
    copied: false,
    ...given,
  };
}

/** The recorder's offset over time: steady within each period. */
function periodOffsets(
  o: Options,
  random: () => number,
): (atMs: number) => number {
  let periodEnd = -Infinity;
  let offset = 0;
  return (atMs) => {
    while (atMs >= periodEnd) {
      const [lo, hi] = o.periodMinutes;
      periodEnd = (Number.isFinite(periodEnd) ? periodEnd : atMs) +
        60_000 * (lo + (hi - lo) * random());
      offset = o.offsetRange
        ? o.offsetRange[0] + (o.offsetRange[1] - o.offsetRange[0]) * random()
        : o.offsetSeconds + o.offsetDriftSeconds * (2 * random() - 1);
    }
    return offset;
  };
}

function fileTime(o: Options, ms: number): number {
  if (o.copied) return COPIED_AT_MS;
  return o.coarseFileTimes ? Math.floor(ms / 1000) * 1000 : Math.round(ms);
}

function transcriptData(
  call: Call,
  zone: string,
  leadGenerated: boolean,
  random: () => number,
): Record<string, unknown> {
  const hex = Math.floor(random() * 2 ** 32).toString(16).padStart(8, "0");
  return {
    session_id: `session_${compactLocal(call.startMs, zone)}_${hex}`,
    start_time: naiveLocal(call.startMs, zone, random),
    end_time: naiveLocal(call.endMs, zone, random),
    duration_seconds: Math.round(call.endMs - call.startMs) / 1000,
    total_items: 2,
    conversation_items: [
      {
        role: "assistant",
        content: "Hello!",
        timestamp: naiveLocal(call.startMs + 1500, zone, random),
      },
      {
        role: "user",
        content: "Hi.",
        timestamp: naiveLocal(call.startMs + 4000, zone, random),
      },
    ],
    lead_generated: leadGenerated,
    metadata: { auto_saved: true },
  };
}

/** `2026-11-01T01:30:00.123456`: naive wall time in `zone`, microseconds. */
export function naiveLocal(
  ms: number,
  zone: string,
  random: () => number,
): string {
  const t = Temporal.Instant.fromEpochMilliseconds(Math.floor(ms))
    .toZonedDateTimeISO(zone).toPlainDateTime();
  const micro = String(Math.floor(random() * 1000)).padStart(3, "0");
  return `${t.toString({ smallestUnit: "millisecond" })}${micro}`;
}

function nameTimestamp(ms: number, zone: string, random: () => number): string {
  return naiveLocal(ms, zone, random).replaceAll(":", "-");
}

/** `YYYYMMDD_HHMMSS` in `zone`. */
function compactLocal(ms: number, zone: string): string {
  const t = Temporal.Instant.fromEpochMilliseconds(Math.floor(ms))
    .toZonedDateTimeISO(zone);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${t.year}${p(t.month)}${p(t.day)}_${p(t.hour)}${p(t.minute)}${
    p(t.second)
  }`;
}

/** Standard normal sample (Box–Muller). */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) *
    Math.cos(2 * Math.PI * random());
}
