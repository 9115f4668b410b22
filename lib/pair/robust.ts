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
  const sorted = Float64Array.from(values).sort();
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
  const distances = Array.from(values, (v) => Math.abs(v - center));
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
  const order: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Keep the run's indices sorted by value: drop the one that left, insert the new.
    if (i === 0) {
      for (let j = 0; j < size; j++) order.push(j);
      order.sort((a, b) => values[a] - values[b] || a - b);
    } else {
      order.splice(order.indexOf(i - 1), 1);
      const add = i + size - 1;
      let at = order.length;
      while (at > 0 && values[order[at - 1]] > values[add]) at--;
      order.splice(at, 0, add);
    }
    const best = { late: [0, 0, 0, -Infinity], early: [0, 0, 0, -Infinity] };
    for (let lo = 0, hi = 0; hi < size; hi++) {
      while (values[order[hi]] - values[order[lo]] > width) lo++;
      const count = hi - lo + 1;
      if (count < best.late[2] && count < best.early[2]) continue;
      // Where the group sits in the run: only asked on a tie or a new best.
      let position = 0;
      for (let m = lo; m <= hi; m++) position += order[m];
      for (const key of ["late", "early"] as const) {
        const lean = key === "late" ? position : -position;
        const b = best[key];
        if (count > b[2] || (count === b[2] && lean > b[3])) {
          best[key] = [lo, hi, count, lean];
        }
      }
    }
    const middle = ([lo, hi]: number[]) =>
      (values[order[Math.floor((lo + hi) / 2)]] +
        values[order[Math.ceil((lo + hi) / 2)]]) / 2;
    late[i] = middle(best.late);
    early[i] = middle(best.early);
  }
  return { late, early };
}
