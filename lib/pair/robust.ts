/**
 * Robust statistics for learning a host's timing from its files: medians and
 * quantiles (a few wrong samples do not move them), and a rolling median
 * over time-ordered samples. Pure.
 *
 * @module
 */

/**
 * The `q`-quantile (0…1) of `values`, interpolated; `NaN` when empty.
 *
 * @example
 * ```ts
 * import { quantile } from "./robust.ts";
 *
 * quantile([4, 1, 3, 2], 0.5); // 2.5
 * ```
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = new Float64Array(n);
  for (let i = 0; i < n; i++) sorted[i] = values[i];
  sorted.sort();
  const at = Math.min(Math.max(q, 0), 1) * (n - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/** The median of `values`; `NaN` when empty. */
export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

/**
 * Half-width of the band around `center` that holds a host's samples with
 * room to spare: twice the 90th percentile of the distances to `center`,
 * kept within `[floor, ceiling]`. For samples spread evenly over ±a this is
 * 1.8 a; for normal ones with deviation σ, 3.3 σ.
 */
export function spread(
  values: ArrayLike<number>,
  center: number,
  floor: number,
  ceiling: number,
): number {
  const distances = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    distances[i] = Math.abs(values[i] - center);
  }
  const h = 2 * quantile(distances, 0.9);
  return Math.min(ceiling, Math.max(floor, Number.isNaN(h) ? ceiling : h));
}

/**
 * Medians of every run of `k` consecutive values: `out[i]` is the median of
 * `values[i … i + k − 1]`. With fewer than `k` values, one median of all.
 */
export function runMedians(values: Float64Array, k: number): Float64Array {
  const n = values.length;
  if (n <= k) return Float64Array.of(median(values));
  const out = new Float64Array(n - k + 1);
  const window = new Float64Array(k);
  for (let i = 0; i + k <= n; i++) {
    window.set(values.subarray(i, i + k));
    window.sort();
    out[i] = k % 2 ? window[k >> 1] : (window[k / 2 - 1] + window[k / 2]) / 2;
  }
  return out;
}

/**
 * The typical value of every run of `k` consecutive values: the median of
 * the largest group that fits within `width` (`late[i]` and `early[i]` for
 * `values[i … i + k − 1]`). Unlike the median, it stays on one level where
 * a run straddles a jump between two. On a tie `late` takes the group nearer
 * the run's end, `early` the one nearer its start. With fewer than `k`
 * values, one result for all.
 *
 * @example
 * ```ts
 * import { runModes } from "./robust.ts";
 *
 * runModes(Float64Array.of(-7, -6, -7, 10, 35, 34, 36, 35), 8, 10).late; // [35]
 * ```
 */
export function runModes(
  values: Float64Array,
  k: number,
  width: number,
): { late: Float64Array; early: Float64Array } {
  const n = values.length;
  const size = Math.min(k, n);
  const runs = Math.max(1, n - size + 1);
  const late = new Float64Array(runs);
  const early = new Float64Array(runs);
  // The run's indices sorted by value, kept sorted as the run slides. A
  // long-running watch plans on every file event, so nothing here allocates
  // per run.
  const order = new Int32Array(size);
  for (let j = 0; j < size; j++) order[j] = j;
  order.sort((a, b) => values[a] - values[b] || a - b);
  for (let i = 0; i < runs; i++) {
    if (i > 0) slide(order, values, i - 1, i + size - 1);
    // The largest group within `width`; on a tie `late` takes the one whose
    // indices sum higher (nearer the run's end), `early` the lower.
    let lateLo = 0, lateHi = 0, lateCount = 0, latePosition = -Infinity;
    let earlyLo = 0, earlyHi = 0, earlyCount = 0, earlyPosition = Infinity;
    for (let lo = 0, hi = 0; hi < size; hi++) {
      while (values[order[hi]] - values[order[lo]] > width) lo++;
      const count = hi - lo + 1;
      if (count < lateCount && count < earlyCount) continue;
      let position = 0;
      for (let m = lo; m <= hi; m++) position += order[m];
      if (
        count > lateCount || (count === lateCount && position > latePosition)
      ) {
        lateLo = lo;
        lateHi = hi;
        lateCount = count;
        latePosition = position;
      }
      if (
        count > earlyCount ||
        (count === earlyCount && position < earlyPosition)
      ) {
        earlyLo = lo;
        earlyHi = hi;
        earlyCount = count;
        earlyPosition = position;
      }
    }
    late[i] = middle(values, order, lateLo, lateHi);
    early[i] = middle(values, order, earlyLo, earlyHi);
  }
  return { late, early };
}

/** Slide a sorted run of indices: drop index `gone`, insert index `added`. */
function slide(
  order: Int32Array,
  values: Float64Array,
  gone: number,
  added: number,
): void {
  let at = order.indexOf(gone);
  order.copyWithin(at, at + 1);
  at = order.length - 1;
  while (at > 0 && values[order[at - 1]] > values[added]) {
    order[at] = order[at - 1];
    at--;
  }
  order[at] = added;
}

/** The median of the sorted group `order[lo … hi]`. */
function middle(
  values: Float64Array,
  order: Int32Array,
  lo: number,
  hi: number,
): number {
  return (values[order[Math.floor((lo + hi) / 2)]] +
    values[order[Math.ceil((lo + hi) / 2)]]) / 2;
}
