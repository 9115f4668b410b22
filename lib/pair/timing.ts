/**
 * A host's timing, learned from its files: how late its recorder starts
 * (the offset, per period), how closely a recording's end agrees with its
 * call's end, and how far those vary (the spreads). Pure.
 *
 * @module
 */
import { median, runModes, spread } from "./robust.ts";
import type { PairEvidence } from "../state/evidence.ts";
import { lowerBound } from "./keys.ts";

/** One pair known to belong together, as timing evidence. */
export type AnchorSample = PairEvidence;

/** A stretch of time over which the recorder's offset held steady. */
export interface OffsetPeriod {
  fromMs: number;
  toMs: number;
  offsetSeconds: number;
  pairs: number;
}

/** What was learned (or assumed, with too few pairs to learn from). */
export interface HostTiming {
  /** Pairs learned from: one candidate each way. 0: the priors below. */
  anchors: number;
  /** Recording start − call start in the latest period, seconds. */
  offsetSeconds: number;
  /** A pair's start may differ from the local offset by up to this, seconds. */
  offsetSpreadSeconds: number;
  /** Recording end (name epoch + duration) − call end: median, seconds. */
  endBiasSeconds: number;
  /** …and the half-width a pair's end difference stays within, seconds. */
  endSpreadSeconds: number;
  /** Recording modification time − call end: median, seconds; absent when file times do not agree (copied files). */
  mtimeBiasSeconds?: number;
  /** …and its half-width, seconds. */
  mtimeSpreadSeconds?: number;
  /** How the offset moved, oldest first. */
  periods: OffsetPeriod[];
}

/** The end bands are learned from at most this many pairs (evenly spread). */
const MAX_BAND_SAMPLES = 5000;
/**
 * The offset is learned from at most this many pairs, evenly spread over
 * time: every period of a long backlog still holds hundreds.
 */
const MAX_OFFSET_SAMPLES = 20_000;

/** At most `max` of `items`, evenly spread (all of them when fewer). */
function evenly<T>(items: readonly T[], max: number): readonly T[] {
  if (items.length <= max) return items;
  const step = items.length / max;
  return Array.from({ length: max }, (_, k) => items[Math.floor(k * step)]);
}

/** Fewer pairs than this and the priors stand. */
export const MIN_ANCHORS = 3;
/** Anchors per side for the local offset: the level of the K before and of the K after. */
const LOCAL_ANCHORS = 15;
/** A level of offset: anchors within this many seconds of each other. */
const LEVEL_WIDTH_SECONDS = 10;

/** Before anything is learned: what LiveKit Egress does on a typical host. */
export const PRIOR = {
  /** An egress offset somewhere from −20 s to +50 s. */
  offsetSeconds: 15,
  offsetSpreadSeconds: 35,
  /** Name epochs are whole seconds: the end by name is up to 1 s early. */
  endBiasSeconds: -0.5,
  endSpreadSeconds: 2.5,
} as const;

/** Bounds on learned half-widths, seconds. */
const FLOOR = { start: 2, end: 1, mtime: 0.75 };
/** File times spread wider than this are not used as evidence. */
const MTIME_USABLE_SECONDS = 5;

/**
 * The host's timing from anchor pairs. With fewer than
 * {@linkcode MIN_ANCHORS}, the priors. `windowSeconds` caps the start spread.
 */
export function learnTiming(
  samples: readonly AnchorSample[],
  windowSeconds: number,
  opts: { endsOnly?: boolean } = {},
): LocalTiming {
  if (samples.length < MIN_ANCHORS) {
    return new LocalTiming(priorTiming(windowSeconds));
  }
  const ends = learnEnds(evenly(samples, MAX_BAND_SAMPLES));
  if (opts.endsOnly) {
    return new LocalTiming({ ...priorTiming(windowSeconds), ...ends });
  }
  const sorted = evenly(
    [...samples].sort((a, b) => a.atMs - b.atMs),
    MAX_OFFSET_SAMPLES,
  );
  const at = numbers(sorted, (s) => s.atMs);
  const starts = numbers(sorted, (s) => s.startDiff);
  const runs = runModes(starts, LOCAL_ANCHORS, LEVEL_WIDTH_SECONDS);
  const local = new LocalTiming(undefined, at, starts, runs);
  const residuals = new Float64Array(at.length);
  for (let i = 0; i < at.length; i++) {
    residuals[i] = local.startResidual(at[i], starts[i]);
  }
  const { late } = runs;
  const timing: HostTiming = {
    ...ends,
    anchors: samples.length,
    offsetSeconds: late[late.length - 1],
    offsetSpreadSeconds: spread(residuals, 0, FLOOR.start, windowSeconds),
    periods: periodsOf(at, starts, late),
  };
  return new LocalTiming(timing, at, starts, runs);
}

/** The end bands: by name and container, and by file time when file times agree. */
function learnEnds(
  samples: readonly AnchorSample[],
): Pick<
  HostTiming,
  | "endBiasSeconds"
  | "endSpreadSeconds"
  | "mtimeBiasSeconds"
  | "mtimeSpreadSeconds"
> {
  const ends = known(numbers(samples, (s) => s.endDiff));
  const mtimes = known(numbers(samples, (s) => s.mtimeDiff));
  const endBias = ends.length ? median(ends) : PRIOR.endBiasSeconds;
  const bands: ReturnType<typeof learnEnds> = {
    endBiasSeconds: endBias,
    endSpreadSeconds: ends.length >= MIN_ANCHORS
      ? spread(ends, endBias, FLOOR.end, PRIOR.endSpreadSeconds)
      : PRIOR.endSpreadSeconds,
  };
  if (mtimes.length >= MIN_ANCHORS) {
    const bias = median(mtimes);
    const width = spread(mtimes, bias, FLOOR.mtime, Infinity);
    if (width <= MTIME_USABLE_SECONDS) {
      bands.mtimeBiasSeconds = bias;
      bands.mtimeSpreadSeconds = width;
    }
  }
  return bands;
}

/**
 * One number of each item, in a typed array. `watch` learns its timing on
 * every file event, so this is a plain loop: no iterator, no boxed numbers.
 */
function numbers<T>(
  items: readonly T[],
  of: (item: T) => number,
): Float64Array {
  const out = new Float64Array(items.length);
  for (let i = 0; i < items.length; i++) out[i] = of(items[i]);
  return out;
}

/** The values that are numbers (not `NaN`), in place: a view of the prefix. */
function known(values: Float64Array): Float64Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isNaN(values[i])) values[n++] = values[i];
  }
  return values.subarray(0, n);
}

function priorTiming(windowSeconds: number): HostTiming {
  return {
    anchors: 0,
    offsetSeconds: PRIOR.offsetSeconds,
    offsetSpreadSeconds: Math.min(windowSeconds, PRIOR.offsetSpreadSeconds),
    endBiasSeconds: PRIOR.endBiasSeconds,
    endSpreadSeconds: PRIOR.endSpreadSeconds,
    periods: [],
  };
}

/**
 * The learned timing with the offset as it was around any moment: the
 * medians of the anchors just before and just after it. A call near a change
 * of offset fits one side or the other, so a start is measured against the
 * nearer of the two.
 */
export class LocalTiming {
  readonly timing: HostTiming;
  readonly #at: Float64Array;
  readonly #starts: Float64Array;
  /** Typical offset of each run of anchors, ties to the later / earlier level. */
  readonly #late: Float64Array;
  readonly #early: Float64Array;
  /** {@link offsetsAround}'s answer, reused. */
  readonly #offsets = new Float64Array(3);

  /** `runs`: {@link runModes} of `starts`, when the caller has them already. */
  constructor(
    timing: HostTiming | undefined,
    at: Float64Array = new Float64Array(0),
    starts: Float64Array = new Float64Array(0),
    runs: { late: Float64Array; early: Float64Array } = runModes(
      starts,
      LOCAL_ANCHORS,
      LEVEL_WIDTH_SECONDS,
    ),
  ) {
    this.timing = timing ?? priorTiming(Infinity);
    this.#at = at;
    this.#starts = starts;
    this.#late = runs.late;
    this.#early = runs.early;
  }

  /**
   * The offsets a call at `atMs` may have, seconds: the level of the anchors
   * just before it and of those just after it. Near the newest anchors, the
   * few after it count on their own (at least three), so a new offset is
   * followed as soon as it shows.
   */
  offsetsAround(atMs: number): number[] {
    return Array.from(this.#offsets.subarray(0, this.#around(atMs)));
  }

  /** Start difference minus the nearest local offset, seconds. */
  startResidual(atMs: number, startDiff: number): number {
    let best = Infinity;
    for (let k = 0, n = this.#around(atMs); k < n; k++) {
      const r = startDiff - this.#offsets[k];
      if (Math.abs(r) < Math.abs(best)) best = r;
    }
    return best;
  }

  /**
   * Fills {@link offsetsAround}'s offsets into `#offsets` and says how many:
   * pairing asks for every candidate of every plan, so nothing is allocated.
   */
  #around(atMs: number): number {
    const out = this.#offsets;
    const n = this.#at.length;
    if (n === 0) {
      out[0] = this.timing.offsetSeconds;
      return 1;
    }
    const i = lowerBound(this.#at, atMs);
    const last = this.#late.length - 1;
    out[0] = this.#late[Math.min(last, Math.max(0, i - LOCAL_ANCHORS))];
    if (i + LOCAL_ANCHORS <= n) {
      out[1] = this.#early[i];
      return 2;
    }
    out[1] = this.#early[last];
    const newest = this.#starts.subarray(i);
    if (newest.length < MIN_ANCHORS) return 2;
    out[2] = runModes(newest, newest.length, LEVEL_WIDTH_SECONDS).early[0];
    return 3;
  }

  /** The local offset a start difference was measured against, seconds. */
  expectedOffset(atMs: number, startDiff: number): number {
    return startDiff - this.startResidual(atMs, startDiff);
  }
}

/** A new period starts where the running offset moves by more than this, seconds. */
const PERIOD_STEP_SECONDS = 3;
/** A period holds at least this many pairs; shorter runs join the one before. */
const MIN_PERIOD_PAIRS = 5;

/**
 * The anchors cut into periods of steady offset: a cut wherever the running
 * median (centred on each anchor) moves more than
 * {@linkcode PERIOD_STEP_SECONDS} from where the period began.
 */
function periodsOf(
  at: Float64Array,
  starts: Float64Array,
  runs: Float64Array,
): OffsetPeriod[] {
  const centred = (i: number) =>
    runs[Math.min(runs.length - 1, Math.max(0, i - (LOCAL_ANCHORS >> 1)))];
  const cuts = [0];
  let level = centred(0);
  for (let i = 1; i < at.length; i++) {
    if (Math.abs(centred(i) - level) <= PERIOD_STEP_SECONDS) continue;
    if (i - cuts[cuts.length - 1] < MIN_PERIOD_PAIRS) cuts.pop();
    if (cuts.length === 0 || cuts[cuts.length - 1] !== i) cuts.push(i);
    level = centred(i);
  }
  if (cuts[0] !== 0) cuts.unshift(0);
  // Neighbours that ended up at the same level (within a step) are one period.
  const merged: { from: number; to: number; level: number }[] = [];
  cuts.forEach((from, n) => {
    const to = n + 1 < cuts.length ? cuts[n + 1] : at.length;
    const level = median(starts.subarray(from, to));
    const last = merged[merged.length - 1];
    if (last && Math.abs(last.level - level) <= PERIOD_STEP_SECONDS) {
      last.to = to;
    } else {
      merged.push({ from, to, level });
    }
  });
  return merged.map(({ from, to }) => ({
    fromMs: at[from],
    toMs: at[to - 1],
    offsetSeconds: median(starts.subarray(from, to)),
    pairs: to - from,
  }));
}
