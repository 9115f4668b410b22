/**
 * Pairs each call's transcript ("conversation") with its recording, from
 * keys already read out of the files, learning the host's timing from the
 * files themselves. Pure.
 *
 * @module
 */
import { assign, type Edge } from "./assign.ts";
import {
  canonical,
  compareDigits,
  conversationEndMs,
  type ConversationKey,
  digitsOf,
  lowerBound,
  recordingEndMs,
  type RecordingKey,
} from "./keys.ts";
import {
  type AnchorSample,
  type HostTiming,
  learnTiming,
  type LocalTiming,
} from "./timing.ts";
import type { TimeReading } from "../source/readings.ts";
import {
  fileTimesTrusted,
  offeredReadings,
  type TimeChoice,
  timeChoice,
} from "./time_choice.ts";

export type { TimeChoice } from "./time_choice.ts";

/** Options for {@linkcode pairRecordings}. */
export interface PairOptions {
  /** Largest start difference ever accepted, seconds (`MATCH_WINDOW_SECONDS`). */
  windowSeconds: number;
  /**
   * Evidence of pairs delivered before (kept in the state), learned from
   * together with today's files: a run sees only the calls not yet sent.
   */
  history?: readonly AnchorSample[];
}

/** A conversation paired with its recording, and the evidence. */
export interface RecordingMatch {
  conversation: string;
  recording: string;
  /** Recording start − call start, seconds. */
  startDiffSeconds: number;
  /** Recording end (name epoch + duration) − call end, seconds. */
  endDiffSeconds?: number;
  /** Recording modification time − call end, seconds. */
  mtimeEndDiffSeconds?: number;
  /** Recording duration − call duration, seconds. */
  durationDiffSeconds?: number;
  /** The learned offset this start was held against, seconds. */
  expectedOffsetSeconds: number;
  /** The pair's cost (lower is better). */
  cost: number;
  /**
   * How sure: 1 / (1 + e^−margin), where the margin is how much worse the
   * best pairing without this pair is. A lone pair in band is near 1.
   */
  confidence: number;
  /** The recording is still being written: the pair is provisional. */
  provisional: boolean;
  /**
   * Files this pair beat that fit it too and have no partner of their own
   * (recordings this transcript's end fits, transcripts this recording's end
   * fits). Right after the recorder's offset changed, or before a rival's
   * other half is written, such a file may be the true partner: the set
   * waits while there are any (until the orphan deadline).
   */
  rivals: string[];
}

/** Files kept apart because no pairing among them clearly won. */
export interface Ambiguity {
  conversations: string[];
  recordings: string[];
  reason: string;
}

/** Everything {@linkcode pairRecordings} decided. */
export interface Pairing {
  /** The pairs, ordered by conversation start then name. */
  matches: RecordingMatch[];
  /** Groups kept apart for lack of a clear winner. */
  ambiguous: Ambiguity[];
  /** The host's timing as learned. */
  timing: HostTiming;
  /** Transcripts whose local times were ambiguous, and the reading taken. */
  times: TimeChoice[];
}

/** Below this margin (in cost units) a pair has not clearly won. */
export const CLEAR_MARGIN = 3;
/** Cost of leaving a file unpaired: any pair inside the bands is better. */
const UNPAIRED_COST = 7;
/**
 * Start cost of a pair whose ends agree but whose start does not fit the
 * learned offset: as much as leaving both files unpaired.
 */
const OFF_OFFSET_COST = UNPAIRED_COST;
/** Starts within this many seconds of each other are one level of offset. */
const LEVEL_WIDTH_SECONDS = 10;
/** Extra cost of a pair whose recording's end is not known yet. */
const END_UNKNOWN_COST = 2;
/** Bonus of a pair whose numbers agree (the transcript carries one). */
const PHONE_AGREES_BONUS = 3;

/**
 * Pairs conversations with recordings, each file at most once.
 *
 * 1. **Learn.** A recording ends when its call ends, so its end (name epoch
 *    + container duration, and its file time) against the transcript's
 *    `end_time` is the strongest evidence. Pairs whose ends agree with
 *    nothing else either way (starts anywhere within `windowSeconds`) are
 *    the anchors, with `opts.history` (pairs sent before). Their start
 *    differences give the recorder's offset — the level of the anchors just
 *    before and just after each moment, so a change of offset is followed —
 *    and its spread; their end differences give the end bands. Twice: with
 *    the prior end band, then with the learned ones.
 * 2. **Score.** A candidate's ends must fall in the end bands; its cost is
 *    half the sum of squared residuals, each in thirds of its band. When its
 *    start also fits the local offset (within the spread, never beyond
 *    `windowSeconds`) it may be chosen; otherwise it is a *rival*, costing
 *    as much as leaving both files unpaired: never chosen, but weighed.
 * 3. **Assign** at minimum total cost ({@linkcode assign}); keep a pair only
 *    if the best assignment without it (rivals allowed) costs at least
 *    {@linkcode CLEAR_MARGIN} more, and no two rivals crossing it agree on a
 *    new offset; otherwise its files stay apart and are reported.
 *
 * Two lost halves therefore pair only when both their ends and their start
 * fit the learned bands. A recording still being written pairs by start
 * alone, provisionally. Transcripts whose naive times occur twice (daylight
 * saving ends) offer each reading; the recording's UTC epoch picks one, else
 * the file time (where this host's file times are trusted), else the
 * earlier reading. Inputs are sorted first, so the result does not depend on
 * their order.
 */
export function pairRecordings(
  conversations: readonly ConversationKey[],
  recordings: readonly RecordingKey[],
  opts: PairOptions,
): Pairing {
  const convs = canonical(conversations, (c) => c.startMs);
  const recs = canonical(recordings, (r) => r.startMs);
  const index = new RecordingIndex(recs);
  const trusted = fileTimesTrusted(convs);
  const offered = convs.map((c) => offeredReadings(c, trusted));
  const readings = flattenReadings(offered, convs);
  // Two rounds of learning: the prior end band, then the learned ones.
  const history = opts.history ?? [];
  let local = learnTiming(history, opts.windowSeconds);
  for (const round of [0, 1]) {
    const anchors = endAnchors(readings, index, local.timing, opts, round > 0);
    local = learnTiming([...history, ...anchors], opts.windowSeconds, {
      endsOnly: round === 0,
    });
  }
  const edges = candidates(readings, index, local, opts);
  const { edgeOf, margin } = assign(
    convs.length,
    recs.length,
    edges,
    UNPAIRED_COST,
  );
  const unclear: number[] = [];
  const clear: number[] = [];
  const near = edgesByFile(edges, convs.length, recs.length);
  const crossed = crossedByNewLevel(edges, near);
  edgeOf.forEach((k, i) => {
    if (k < 0) return;
    (margin[i] < CLEAR_MARGIN || crossed(k) ? unclear : clear).push(k);
  });
  const unpaired = unpairedFiles(clear, edges, convs.length, recs.length);
  const readingOf = new Map<number, number>();
  const matches = clear.map((k) => {
    const { left: i, right: j } = edges[k];
    readingOf.set(i, edges[k].reading);
    const match = evidence(
      edges[k],
      convs[i],
      recs[j],
      readings,
      local,
      margin[i],
    );
    if (near.ofConv(i).length + near.ofRec(j).length <= 2) return match;
    match.rivals = [
      ...[...near.ofConv(i)].map((n) => edges[n].right)
        .filter((r) => r !== j && unpaired.recs[r]).map((r) => recs[r].name),
      ...[...near.ofRec(j)].map((n) => edges[n].left)
        .filter((c) => c !== i && unpaired.convs[c]).map((c) => convs[c].name),
    ].filter((name, n, all) => all.indexOf(name) === n).sort();
    return match;
  });
  const pairing: Pairing = {
    matches,
    ambiguous: ambiguities(unclear, edges, near, convs, recs),
    timing: local.timing,
    times: convs.flatMap((c, i) => {
      if (!c.readings || c.readings.length < 2) return [];
      const k = readingOf.get(i);
      return timeChoice(
        c,
        offered[i],
        k === undefined ? undefined : readings.list[k],
      ) ?? [];
    }),
  };
  return pairing;
}

/** A candidate pair: which reading of the conversation, and its residuals. */
interface Candidate extends Edge {
  /** Index into the flattened readings. */
  reading: number;
  startDiff: number;
  endDiff: number;
  mtimeDiff: number;
  /** The part of the cost the ends (and file time) make. */
  endCost: number;
}

/** All readings of all conversations, flat, with their conversation. */
interface Readings {
  conv: Int32Array;
  start: Float64Array;
  /** NaN when the transcript has no end. */
  end: Float64Array;
  list: TimeReading[];
  /** The transcript's caller digits. */
  digits: (string | undefined)[];
}

function flattenReadings(
  offered: readonly { readings: readonly TimeReading[] }[],
  convs: readonly ConversationKey[],
): Readings {
  const list: TimeReading[] = [];
  const conv: number[] = [];
  const digits: (string | undefined)[] = [];
  offered.forEach((o, i) => {
    for (const r of o.readings) {
      list.push(r);
      conv.push(i);
      digits.push(digitsOf(convs[i].phone));
    }
  });
  return {
    conv: Int32Array.from(conv),
    start: Float64Array.from(list, (r) => r.startMs),
    end: Float64Array.from(list, (r) => r.endMs ?? NaN),
    list,
    digits,
  };
}

/**
 * Tells whether a chosen pair is crossed by two rivals that agree on a new
 * offset: its transcript's ends fit recording x and its recording's ends fit
 * transcript y, and x and y started at the same offset (within half a
 * level) from their transcripts. That is what a pair made by a stale offset
 * looks like right after the recorder's offset changed, before the new one
 * has anchors: kept apart until it has.
 */
function crossedByNewLevel(
  edges: readonly Candidate[],
  near: EdgesByFile,
): (k: number) => boolean {
  return (k) => {
    const { left, right } = edges[k];
    const mine = near.ofConv(left);
    const theirs = near.ofRec(right);
    for (const x of mine) {
      if (!edges[x].rival || edges[x].right === right) continue;
      for (const y of theirs) {
        if (!edges[y].rival || edges[y].left === left) continue;
        const gap = edges[x].startDiff - edges[y].startDiff;
        if (Math.abs(gap) <= LEVEL_WIDTH_SECONDS / 2) return true;
      }
    }
    return false;
  };
}

/** Which conversations and recordings no clear pair holds. */
function unpairedFiles(
  clear: readonly number[],
  edges: readonly Candidate[],
  convCount: number,
  recCount: number,
): { convs: Uint8Array; recs: Uint8Array } {
  const convs = new Uint8Array(convCount).fill(1);
  const recs = new Uint8Array(recCount).fill(1);
  for (const k of clear) {
    convs[edges[k].left] = 0;
    recs[edges[k].right] = 0;
  }
  return { convs, recs };
}

/** The candidates of each conversation and of each recording, as indices. */
interface EdgesByFile {
  ofConv(i: number): Int32Array;
  ofRec(j: number): Int32Array;
}

function edgesByFile(
  edges: readonly Candidate[],
  convCount: number,
  recCount: number,
): EdgesByFile {
  const group = (count: number, key: (e: Candidate) => number) => {
    const start = new Int32Array(count + 1);
    for (const e of edges) start[key(e) + 1]++;
    for (let i = 0; i < count; i++) start[i + 1] += start[i];
    const fill = start.slice(0, count);
    const order = new Int32Array(edges.length);
    edges.forEach((e, k) => (order[fill[key(e)]++] = k));
    return (i: number) => order.subarray(start[i], start[i + 1]);
  };
  return {
    ofConv: group(convCount, (e) => e.left),
    ofRec: group(recCount, (e) => e.right),
  };
}

/** Recordings sorted by end (those with one) and by start (those without). */
class RecordingIndex {
  readonly recs: readonly RecordingKey[];
  readonly start: Float64Array;
  readonly end: Float64Array;
  readonly mtime: Float64Array;
  readonly digits: (string | undefined)[];
  /** Indices of recordings with a known end, by end. */
  readonly byEnd: Int32Array;
  readonly endSorted: Float64Array;
  /** Indices of recordings without a known end, by start. */
  readonly open: Int32Array;
  readonly openStart: Float64Array;

  constructor(recs: readonly RecordingKey[]) {
    this.recs = recs;
    this.start = Float64Array.from(recs, (r) => r.startMs);
    this.end = Float64Array.from(recs, (r) => recordingEndMs(r) ?? NaN);
    this.mtime = Float64Array.from(recs, (r) => r.mtimeMs ?? NaN);
    this.digits = recs.map((r) => digitsOf(r.phone));
    const ended: number[] = [];
    const open: number[] = [];
    recs.forEach((_, j) => (Number.isNaN(this.end[j]) ? open : ended).push(j));
    ended.sort((a, b) => this.end[a] - this.end[b] || a - b);
    this.byEnd = Int32Array.from(ended);
    this.endSorted = Float64Array.from(ended, (j) => this.end[j]);
    this.open = Int32Array.from(open); // already by start
    this.openStart = Float64Array.from(open, (j) => this.start[j]);
  }
}

/**
 * Candidate pairs: recordings whose end fits a transcript's end (and file
 * time) within the learned bands, start within the window; in band when the
 * start fits the local offset, else a rival. Recordings without an end yet
 * (and transcripts without one) pair by start alone, in band only.
 */
function candidates(
  readings: Readings,
  index: RecordingIndex,
  local: LocalTiming,
  opts: PairOptions,
): Candidate[] {
  const t = local.timing;
  const windowMs = opts.windowSeconds * 1000;
  const endLo = (t.endBiasSeconds - t.endSpreadSeconds) * 1000;
  const endHi = (t.endBiasSeconds + t.endSpreadSeconds) * 1000;
  const startSpread = t.offsetSpreadSeconds;
  const edges: Candidate[] = [];
  const consider = (k: number, j: number) => {
    const startDiff = (index.start[j] - readings.start[k]) / 1000;
    if (Math.abs(startDiff) * 1000 > windowMs) return;
    const numbers = compareDigits(readings.digits[k], index.digits[j]);
    if (numbers < 0) return;
    const endDiff = (index.end[j] - readings.end[k]) / 1000;
    const mtimeDiff = (index.mtime[j] - readings.end[k]) / 1000;
    const score = scoreOf(
      local,
      readings.start[k],
      startDiff,
      endDiff,
      mtimeDiff,
      startSpread,
    );
    if (score === undefined) return;
    edges.push({
      left: readings.conv[k],
      right: j,
      cost: numbers > 0 ? score.cost - PHONE_AGREES_BONUS : score.cost,
      rival: score.rival,
      endCost: score.endCost,
      reading: k,
      startDiff,
      endDiff,
      mtimeDiff,
    });
  };
  for (let k = 0; k < readings.conv.length; k++) {
    const end = readings.end[k];
    if (!Number.isNaN(end)) {
      const hi = end + endHi;
      for (
        let n = lowerBound(index.endSorted, end + endLo);
        n < index.endSorted.length && index.endSorted[n] <= hi;
        n++
      ) consider(k, index.byEnd[n]);
    }
    // Recordings without an end yet (and transcripts without one) pair by start.
    const offsets = local.offsetsAround(readings.start[k]);
    const reach = Math.min(startSpread, opts.windowSeconds) * 1000;
    const from = readings.start[k] + Math.min(...offsets) * 1000 - reach;
    const to = readings.start[k] + Math.max(...offsets) * 1000 + reach;
    const openOnly = !Number.isNaN(end);
    const starts = openOnly ? index.openStart : index.start;
    for (
      let n = lowerBound(starts, from);
      n < starts.length && starts[n] <= to;
      n++
    ) consider(k, openOnly ? index.open[n] : n);
  }
  return edges;
}

/**
 * The cost of a candidate, or undefined when it falls outside a band. Each
 * residual is measured in thirds of its band; the cost is half their sum of
 * squares.
 */
function scoreOf(
  local: LocalTiming,
  atMs: number,
  startDiff: number,
  endDiff: number,
  mtimeDiff: number,
  startSpread: number,
): { cost: number; rival: boolean; endCost: number } | undefined {
  const t = local.timing;
  let cost = 0;
  const ended = !Number.isNaN(endDiff);
  if (ended) {
    const r = endDiff - t.endBiasSeconds;
    if (Math.abs(r) > t.endSpreadSeconds) return undefined;
    cost += square(r, t.endSpreadSeconds);
  } else {
    cost += END_UNKNOWN_COST;
  }
  if (!Number.isNaN(mtimeDiff) && t.mtimeBiasSeconds !== undefined) {
    const r = mtimeDiff - t.mtimeBiasSeconds;
    if (Math.abs(r) > t.mtimeSpreadSeconds!) return undefined;
    cost += square(r, t.mtimeSpreadSeconds!);
  }
  const r = local.startResidual(atMs, startDiff);
  if (Math.abs(r) <= startSpread) {
    return { cost: cost + square(r, startSpread), rival: false, endCost: cost };
  }
  // Ends agree but the start does not fit the learned offset: never chosen,
  // but a rival (the offset may just have changed).
  return ended
    ? { cost: cost + OFF_OFFSET_COST, rival: true, endCost: cost }
    : undefined;
}

/** Half the square of a residual in thirds of its band. */
function square(residual: number, band: number): number {
  const z = (3 * residual) / band;
  return z * z / 2;
}

/**
 * Anchor samples: pairs whose ends agree (by name and container, and by file
 * time once learned) with nothing else either way, their starts anywhere in
 * the window. The start is not asked to fit any offset, so anchors follow a
 * new offset as soon as it shows.
 */
function endAnchors(
  readings: Readings,
  index: RecordingIndex,
  t: HostTiming,
  opts: PairOptions,
  useFileTimes: boolean,
): AnchorSample[] {
  const convCount = new Int32Array(
    readings.conv.length ? readings.conv[readings.conv.length - 1] + 1 : 0,
  );
  const recCount = new Int32Array(index.start.length);
  const only: { k: number; j: number }[] = [];
  const endLo = (t.endBiasSeconds - t.endSpreadSeconds) * 1000;
  const endHi = (t.endBiasSeconds + t.endSpreadSeconds) * 1000;
  const mtime = useFileTimes && t.mtimeBiasSeconds !== undefined
    ? { bias: t.mtimeBiasSeconds * 1000, spread: t.mtimeSpreadSeconds! * 1000 }
    : undefined;
  const windowMs = opts.windowSeconds * 1000;
  for (let k = 0; k < readings.conv.length; k++) {
    const end = readings.end[k];
    if (Number.isNaN(end)) continue;
    for (
      let n = lowerBound(index.endSorted, end + endLo);
      n < index.endSorted.length && index.endSorted[n] <= end + endHi;
      n++
    ) {
      const j = index.byEnd[n];
      if (Math.abs(index.start[j] - readings.start[k]) > windowMs) continue;
      if (compareDigits(readings.digits[k], index.digits[j]) < 0) continue;
      const m = index.mtime[j] - end;
      if (
        mtime && !Number.isNaN(m) && Math.abs(m - mtime.bias) > mtime.spread
      ) {
        continue;
      }
      convCount[readings.conv[k]]++;
      recCount[j]++;
      only[readings.conv[k]] = { k, j };
    }
  }
  const samples: AnchorSample[] = [];
  convCount.forEach((count, i) => {
    if (count !== 1 || recCount[only[i].j] !== 1) return;
    const { k, j } = only[i];
    samples.push({
      atMs: readings.start[k],
      startDiff: (index.start[j] - readings.start[k]) / 1000,
      endDiff: (index.end[j] - readings.end[k]) / 1000,
      mtimeDiff: (index.mtime[j] - readings.end[k]) / 1000,
    });
  });
  return samples;
}

function evidence(
  e: Candidate,
  c: ConversationKey,
  r: RecordingKey,
  readings: Readings,
  local: LocalTiming,
  margin: number,
): RecordingMatch {
  const reading = readings.list[e.reading];
  const match: RecordingMatch = {
    conversation: c.name,
    recording: r.name,
    startDiffSeconds: round(e.startDiff),
    expectedOffsetSeconds: round(
      local.expectedOffset(reading.startMs, e.startDiff),
    ),
    cost: round(e.cost),
    confidence: Math.round(1e4 / (1 + Math.exp(-margin))) / 1e4,
    provisional: !r.complete,
    rivals: [],
  };
  if (!Number.isNaN(e.endDiff)) match.endDiffSeconds = round(e.endDiff);
  if (!Number.isNaN(e.mtimeDiff)) {
    match.mtimeEndDiffSeconds = round(e.mtimeDiff);
  }
  const end = reading.endMs ?? conversationEndMs(c);
  if (end !== undefined && r.durationSeconds !== undefined) {
    match.durationDiffSeconds = round(
      r.durationSeconds - (end - reading.startMs) / 1000,
    );
  }
  return match;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Groups the unclear pairs with their rivals, one entry per group. */
function ambiguities(
  unclear: readonly number[],
  edges: readonly Candidate[],
  near: EdgesByFile,
  convs: readonly ConversationKey[],
  recs: readonly RecordingKey[],
): Ambiguity[] {
  const involved = new Set<number>();
  const groups: Ambiguity[] = [];
  for (const k of unclear) {
    const { left, right } = edges[k];
    if (involved.has(left)) continue;
    const around = [...near.ofConv(left), ...near.ofRec(right)].map((n) =>
      edges[n]
    );
    const cs = [...new Set(around.map((e) => e.left))].sort((a, b) => a - b);
    const rs = [...new Set(around.map((e) => e.right))].sort((a, b) => a - b);
    for (const i of cs) involved.add(i);
    groups.push({
      conversations: cs.map((i) => convs[i].name),
      recordings: rs.map((j) => recs[j].name),
      reason: `${cs.length} transcript(s) and ${rs.length} recording(s) ` +
        "fit each other about equally well (ends and starts within the " +
        "learned spread); kept apart",
    });
  }
  return groups;
}
