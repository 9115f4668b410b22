/**
 * Sparse minimum-cost one-to-one assignment between two sets ("left" and
 * "right") where only some pairs are allowed.
 *
 * @module
 */

/** An allowed pairing of `left[i]` with `right[j]` at a cost (lower is better). */
export interface Edge {
  /** Index into the left set, `0 <= left < leftCount`. */
  left: number;
  /** Index into the right set, `0 <= right < rightCount`. */
  right: number;
  /** Cost of pairing the two; any finite number. */
  cost: number;
}

/** Options for {@linkcode assign}. */
export interface AssignOptions {
  /**
   * Largest connected component (counted in nodes, left plus right) that is
   * solved exactly; larger components are solved greedily.
   *
   * @default {300}
   */
  maxExact?: number;
}

/** Default for {@linkcode AssignOptions.maxExact}. */
const DEFAULT_MAX_EXACT = 300;

/**
 * Pairs left nodes with right nodes, each node at most once, at minimum
 * total cost.
 *
 * The objective is `Σ cost(paired edges) + unmatchedCost × (#unmatched left +
 * #unmatched right)`, so an edge is only worth taking when its cost is below
 * `2 × unmatchedCost`; edges at or above that are ignored.
 *
 * How it is solved:
 * - duplicate edges collapse to their cheapest cost and edges are put in a
 *   canonical order, so the result depends only on the set of edges, never on
 *   their order in `edges`;
 * - the bipartite graph is split into connected components (union-find);
 * - a component of at most `maxExact` nodes is solved exactly with the
 *   Hungarian algorithm on its `min(l, r) × max(l, r)` matrix of savings
 *   (`cost − 2 × unmatchedCost` for an edge, `0` for "stay unmatched"):
 *   `O(min(l, r)² × max(l, r))` time;
 * - a larger component falls back to greedy: edges by ascending cost, ties
 *   broken by left then right index, each taken when both ends are still
 *   free. The greedy result is not always optimal, so keep components small
 *   through tight candidate edges.
 *
 * @example Greedy would take the cheapest edge 0–0; the optimum does not
 * ```ts
 * import { assign } from "./assign.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const edges = [
 *   { left: 0, right: 0, cost: 1 },
 *   { left: 0, right: 1, cost: 2 },
 *   { left: 1, right: 0, cost: 2 },
 * ];
 * deepStrictEqual([...assign(2, 2, edges, 10)], [1, 0]);
 * ```
 *
 * @param leftCount Number of left nodes.
 * @param rightCount Number of right nodes.
 * @param edges Allowed pairings; indices must be in range and costs finite.
 * @param unmatchedCost Cost charged for each node left unpaired.
 * @param opts Tuning, see {@linkcode AssignOptions}.
 * @returns For each left index, the right index it is paired with, or `-1`.
 * @throws {RangeError} When an edge index is out of range or a cost is not finite.
 */
export function assign(
  leftCount: number,
  rightCount: number,
  edges: readonly Edge[],
  unmatchedCost: number,
  opts: AssignOptions = {},
): Int32Array {
  const maxExact = opts.maxExact ?? DEFAULT_MAX_EXACT;
  const result = new Int32Array(leftCount).fill(-1);
  const useful = canonicalEdges(leftCount, rightCount, edges, unmatchedCost);
  if (useful.length === 0) return result;

  // Union-find over nodes: left i is node i, right j is node leftCount + j.
  const parent = new Int32Array(leftCount + rightCount);
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  for (const e of useful) {
    const a = find(e.left);
    const b = find(leftCount + e.right);
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
  }

  // Group edges by component; edges stay in canonical (left, right) order.
  const byRoot = new Map<number, Edge[]>();
  for (const e of useful) {
    const root = find(e.left);
    const group = byRoot.get(root);
    if (group) group.push(e);
    else byRoot.set(root, [e]);
  }

  const oversized: Edge[] = [];
  for (const group of byRoot.values()) {
    if (group.length === 1) {
      result[group[0].left] = group[0].right;
      continue;
    }
    const lefts = distinctSorted(group.map((e) => e.left));
    const rights = distinctSorted(group.map((e) => e.right));
    if (lefts.length + rights.length > maxExact) {
      for (const e of group) oversized.push(e);
    } else {
      solveExact(lefts, rights, group, 2 * unmatchedCost, result);
    }
  }
  if (oversized.length > 0) solveGreedy(oversized, rightCount, result);
  return result;
}

/** Validates edges, drops the ones never worth taking and duplicates, sorts by (left, right). */
function canonicalEdges(
  leftCount: number,
  rightCount: number,
  edges: readonly Edge[],
  unmatchedCost: number,
): Edge[] {
  const kept: Edge[] = [];
  for (const e of edges) {
    if (
      !Number.isInteger(e.left) || e.left < 0 || e.left >= leftCount ||
      !Number.isInteger(e.right) || e.right < 0 || e.right >= rightCount
    ) {
      throw new RangeError(
        `Edge (${e.left}, ${e.right}) is outside ${leftCount} × ${rightCount}`,
      );
    }
    if (!Number.isFinite(e.cost)) {
      throw new RangeError(
        `Edge (${e.left}, ${e.right}) has a non-finite cost: ${e.cost}`,
      );
    }
    if (e.cost < 2 * unmatchedCost) kept.push(e);
  }
  kept.sort((a, b) => a.left - b.left || a.right - b.right || a.cost - b.cost);
  return kept.filter((e, k) =>
    k === 0 || e.left !== kept[k - 1].left || e.right !== kept[k - 1].right
  );
}

function distinctSorted(values: number[]): number[] {
  values.sort((a, b) => a - b);
  return values.filter((v, k) => k === 0 || v !== values[k - 1]);
}

/** Solves one component exactly and writes its pairs into `result`. */
function solveExact(
  lefts: readonly number[],
  rights: readonly number[],
  group: readonly Edge[],
  pairValue: number,
  result: Int32Array,
): void {
  const leftLocal = new Map(lefts.map((v, k) => [v, k]));
  const rightLocal = new Map(rights.map((v, k) => [v, k]));
  // Rows are the smaller side so the rectangular Hungarian applies (rows ≤ columns).
  const leftRows = lefts.length <= rights.length;
  const rows = leftRows ? lefts.length : rights.length;
  const cols = leftRows ? rights.length : lefts.length;
  const savings = new Float64Array(rows * cols);
  for (const e of group) {
    const l = leftLocal.get(e.left)!;
    const r = rightLocal.get(e.right)!;
    savings[leftRows ? l * cols + r : r * cols + l] = e.cost - pairValue;
  }
  const colOfRow = hungarian(rows, cols, savings);
  for (let row = 0; row < rows; row++) {
    const col = colOfRow[row];
    // A zero entry is "stay unmatched"; every real edge has a negative saving.
    if (savings[row * cols + col] >= 0) continue;
    if (leftRows) result[lefts[row]] = rights[col];
    else result[lefts[col]] = rights[row];
  }
}

/**
 * Hungarian algorithm (shortest augmenting paths with potentials) for a dense
 * `rows × cols` cost matrix with `rows ≤ cols`; every row gets a distinct column.
 */
function hungarian(rows: number, cols: number, cost: Float64Array): Int32Array {
  // 1-based potentials; column 0 is the virtual start of each augmenting path.
  const u = new Float64Array(rows + 1);
  const v = new Float64Array(cols + 1);
  const rowOfCol = new Int32Array(cols + 1);
  const way = new Int32Array(cols + 1);
  const minv = new Float64Array(cols + 1);
  const used = new Uint8Array(cols + 1);
  for (let i = 1; i <= rows; i++) {
    rowOfCol[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = rowOfCol[j0];
      const base = (i0 - 1) * cols - 1;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= cols; j++) {
        if (used[j]) continue;
        const cur = cost[base + j] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= cols; j++) {
        if (used[j]) {
          u[rowOfCol[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (rowOfCol[j0] !== 0);
    do {
      const j1 = way[j0];
      rowOfCol[j0] = rowOfCol[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const colOfRow = new Int32Array(rows);
  for (let j = 1; j <= cols; j++) {
    if (rowOfCol[j] !== 0) colOfRow[rowOfCol[j] - 1] = j - 1;
  }
  return colOfRow;
}

/** Greedy by ascending cost, ties by left then right; writes pairs into `result`. */
function solveGreedy(
  edges: Edge[],
  rightCount: number,
  result: Int32Array,
): void {
  edges.sort((a, b) => a.cost - b.cost || a.left - b.left || a.right - b.right);
  const rightTaken = new Uint8Array(rightCount);
  for (const e of edges) {
    if (result[e.left] !== -1 || rightTaken[e.right]) continue;
    result[e.left] = e.right;
    rightTaken[e.right] = 1;
  }
}
