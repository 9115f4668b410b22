/**
 * Sparse minimum-cost one-to-one assignment between two sets ("left" and
 * "right") where only some pairs are allowed, with how clearly each chosen
 * pair won — also against rivals: pairings that may not be chosen but that
 * the evidence does not rule out.
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
  /**
   * Never chosen, but counted as an alternative when judging how clearly a
   * chosen pair won.
   */
  rival?: boolean;
}

/** Options for {@linkcode assign}. */
export interface AssignOptions {
  /**
   * Largest connected component (left plus right nodes) solved exactly;
   * larger ones are solved greedily.
   *
   * @default {300}
   */
  maxExact?: number;
}

/** The chosen pairs and how clearly each won. */
export interface Assignment {
  /** For each left node, the index in `edges` of its chosen edge, or −1. */
  edgeOf: Int32Array;
  /**
   * For each paired left node: the cost of the best assignment without its
   * edge minus the cost of the best one with it (rivals allowed in both);
   * `NaN` when unpaired. Small or negative: a rival was nearly as good.
   */
  margin: Float64Array;
}

const DEFAULT_MAX_EXACT = 300;
/** Components with at most this many edges are solved by listing every matching. */
const SMALL_COMPONENT_EDGES = 12;

/**
 * Pairs left nodes with right nodes, each at most once, over the edges that
 * are not rivals, minimising
 * `Σ cost(chosen edges) + unmatchedCost × (unpaired left + unpaired right)`
 * (an edge costing `2 × unmatchedCost` or more is never worth taking), and
 * tells each chosen edge's margin.
 *
 * The result depends only on the set of edges, never on their order:
 * duplicates collapse to the cheapest (a non-rival first). The graph is split
 * into connected components; a component with at most 12 edges is solved by
 * listing its matchings, one of at most `maxExact` nodes with the Hungarian
 * algorithm (again per chosen edge, with the edge removed and with it forced,
 * for its margin), a larger one (only on extreme hosts) greedily, cheapest
 * edge first, with margins from each end's runner-up.
 *
 * @example Greedy would take the cheapest edge 0–0; the optimum does not
 * ```ts
 * import { assign } from "./assign.ts";
 *
 * const { edgeOf } = assign(2, 2, [
 *   { left: 0, right: 0, cost: 1 },
 *   { left: 0, right: 1, cost: 2 },
 *   { left: 1, right: 0, cost: 2 },
 * ], 10);
 * [...edgeOf]; // [1, 2]: left 0 – right 1, left 1 – right 0
 * ```
 *
 * @throws {RangeError} When an edge index is out of range or a cost is not finite.
 */
export function assign(
  leftCount: number,
  rightCount: number,
  edges: readonly Edge[],
  unmatchedCost: number,
  opts: AssignOptions = {},
): Assignment {
  const maxExact = opts.maxExact ?? DEFAULT_MAX_EXACT;
  const edgeOf = new Int32Array(leftCount).fill(-1);
  const margin = new Float64Array(leftCount).fill(NaN);
  const useful = usefulEdges(leftCount, rightCount, edges, unmatchedCost);
  for (const group of components(leftCount, rightCount, useful, edges)) {
    if (group.length === 1) {
      const e = edges[group[0]];
      if (e.rival) continue;
      edgeOf[e.left] = group[0];
      margin[e.left] = 2 * unmatchedCost - e.cost;
    } else if (group.length === 2) {
      twoEdges(group, edges, unmatchedCost, edgeOf, margin);
    } else if (group.length <= SMALL_COMPONENT_EDGES) {
      enumerate(group, edges, unmatchedCost, edgeOf, margin);
    } else {
      const lefts = distinct(group.map((k) => edges[k].left));
      const rights = distinct(group.map((k) => edges[k].right));
      if (lefts.length + rights.length > maxExact) {
        greedy(group, edges, rightCount, edgeOf, margin);
        continue;
      }
      const c = new Component(lefts, rights, group, edges, unmatchedCost);
      for (const k of c.solve({ rivals: false }).chosen) {
        edgeOf[edges[k].left] = k;
        margin[edges[k].left] = c.solve({ without: k }).total -
          c.solve({ forced: k }).total;
      }
    }
  }
  return { edgeOf, margin };
}

/** Indices of valid edges worth taking, the best per (left, right), sorted. */
function usefulEdges(
  leftCount: number,
  rightCount: number,
  edges: readonly Edge[],
  unmatchedCost: number,
): number[] {
  const kept: number[] = [];
  edges.forEach((e, k) => {
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
    if (e.cost < 2 * unmatchedCost) kept.push(k);
  });
  kept.sort((a, b) =>
    edges[a].left - edges[b].left || edges[a].right - edges[b].right ||
    +!!edges[a].rival - +!!edges[b].rival || edges[a].cost - edges[b].cost ||
    a - b
  );
  return kept.filter((k, n) =>
    n === 0 || edges[k].left !== edges[kept[n - 1]].left ||
    edges[k].right !== edges[kept[n - 1]].right
  );
}

/** Groups edge indices by connected component (union-find over nodes). */
function components(
  leftCount: number,
  rightCount: number,
  useful: readonly number[],
  edges: readonly Edge[],
): number[][] {
  const parent = new Int32Array(leftCount + rightCount);
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  for (const k of useful) {
    const a = find(edges[k].left);
    const b = find(leftCount + edges[k].right);
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
  }
  const byRoot = new Map<number, number[]>();
  for (const k of useful) {
    const root = find(edges[k].left);
    const group = byRoot.get(root);
    if (group) group.push(k);
    else byRoot.set(root, [k]);
  }
  return [...byRoot.values()];
}

function distinct(values: number[]): number[] {
  values.sort((a, b) => a - b);
  return values.filter((v, k) => k === 0 || v !== values[k - 1]);
}

/**
 * The commonest contested component: two edges sharing a node. At most one
 * is taken (the cheaper one that is not a rival); its margin is the other's
 * cost, or leaving both alone, against its own.
 */
function twoEdges(
  group: readonly number[],
  edges: readonly Edge[],
  unmatchedCost: number,
  edgeOf: Int32Array,
  margin: Float64Array,
): void {
  const [a, b] = group;
  const gain = (k: number) => edges[k].cost - 2 * unmatchedCost;
  const candidates = [a, b].filter((k) => !edges[k].rival);
  if (candidates.length === 0) return;
  const k = candidates.reduce((x, y) => gain(y) < gain(x) ? y : x);
  if (gain(k) >= 0) return;
  const other = k === a ? b : a;
  edgeOf[edges[k].left] = k;
  margin[edges[k].left] = Math.min(0, gain(other)) - gain(k);
}

/**
 * Solves a small component by listing every matching (a handful, for the
 * few edges of a typical component): the best one without rivals, and for
 * each of its edges the best matching with and without it.
 */
function enumerate(
  group: readonly number[],
  edges: readonly Edge[],
  unmatchedCost: number,
  edgeOf: Int32Array,
  margin: Float64Array,
): void {
  const n = group.length;
  const gain = group.map((k) => edges[k].cost - 2 * unmatchedCost);
  const rival = group.map((k) => !!edges[k].rival);
  const usedLeft = new Set<number>();
  const usedRight = new Set<number>();
  const taken = new Uint8Array(n);
  const bestWith = new Float64Array(n).fill(Infinity);
  const bestWithout = new Float64Array(n).fill(Infinity);
  let best = Infinity;
  let bestTaken = new Uint8Array(n);
  const visit = (i: number, total: number, rivals: boolean): void => {
    if (i === n) {
      if (!rivals && total < best) {
        best = total;
        bestTaken = taken.slice();
      }
      for (let e = 0; e < n; e++) {
        if (taken[e]) bestWith[e] = Math.min(bestWith[e], total);
        else bestWithout[e] = Math.min(bestWithout[e], total);
      }
      return;
    }
    visit(i + 1, total, rivals);
    const { left, right } = edges[group[i]];
    if (usedLeft.has(left) || usedRight.has(right)) return;
    usedLeft.add(left);
    usedRight.add(right);
    taken[i] = 1;
    visit(i + 1, total + gain[i], rivals || rival[i]);
    taken[i] = 0;
    usedLeft.delete(left);
    usedRight.delete(right);
  };
  visit(0, 0, false);
  for (let i = 0; i < n; i++) {
    if (!bestTaken[i]) continue;
    edgeOf[edges[group[i]].left] = group[i];
    margin[edges[group[i]].left] = bestWithout[i] - bestWith[i];
  }
}

/** One connected component as a dense savings matrix, solvable repeatedly. */
class Component {
  readonly #rows: number;
  readonly #cols: number;
  /** Edge index per cell, −1 where no edge. */
  readonly #edgeAt: Int32Array;
  readonly #savings: Float64Array;
  readonly #rival: Uint8Array;
  readonly #base: number;

  constructor(
    lefts: readonly number[],
    rights: readonly number[],
    group: readonly number[],
    edges: readonly Edge[],
    unmatchedCost: number,
  ) {
    const leftLocal = new Map(lefts.map((v, k) => [v, k]));
    const rightLocal = new Map(rights.map((v, k) => [v, k]));
    // Rows are the smaller side, as the rectangular Hungarian needs.
    const leftRows = lefts.length <= rights.length;
    this.#rows = Math.min(lefts.length, rights.length);
    this.#cols = Math.max(lefts.length, rights.length);
    this.#edgeAt = new Int32Array(this.#rows * this.#cols).fill(-1);
    this.#savings = new Float64Array(this.#rows * this.#cols);
    this.#rival = new Uint8Array(this.#rows * this.#cols);
    for (const k of group) {
      const l = leftLocal.get(edges[k].left)!;
      const r = rightLocal.get(edges[k].right)!;
      const cell = leftRows ? l * this.#cols + r : r * this.#cols + l;
      this.#edgeAt[cell] = k;
      this.#savings[cell] = edges[k].cost - 2 * unmatchedCost;
      this.#rival[cell] = edges[k].rival ? 1 : 0;
    }
    this.#base = unmatchedCost * (lefts.length + rights.length);
  }

  /**
   * The best assignment: without rivals (`rivals: false`), without edge
   * `without`, or with edge `forced` in it.
   */
  solve(
    opts: { rivals?: boolean; without?: number; forced?: number },
  ): { chosen: number[]; total: number } {
    const savings = this.#savings.slice();
    if (opts.rivals === false) {
      this.#rival.forEach((r, cell) => r && (savings[cell] = 0));
    }
    if (opts.without !== undefined) {
      savings[this.#edgeAt.indexOf(opts.without)] = 0;
    }
    let bonus = 0;
    if (opts.forced !== undefined) {
      const cell = this.#edgeAt.indexOf(opts.forced);
      const row = Math.floor(cell / this.#cols);
      const col = cell % this.#cols;
      for (let c = 0; c < this.#cols; c++) savings[row * this.#cols + c] = 0;
      for (let r = 0; r < this.#rows; r++) savings[r * this.#cols + col] = 0;
      bonus = this.#savings[cell];
      savings[cell] = -1e9;
    }
    const colOfRow = hungarian(this.#rows, this.#cols, savings);
    const chosen: number[] = [];
    let total = this.#base;
    for (let row = 0; row < this.#rows; row++) {
      const cell = row * this.#cols + colOfRow[row];
      // A zero entry is "stay unpaired"; every real edge saves something.
      if (savings[cell] >= 0) continue;
      chosen.push(this.#edgeAt[cell]);
      total += savings[cell] === -1e9 ? bonus : savings[cell];
    }
    return { chosen, total };
  }
}

/**
 * Hungarian algorithm (shortest augmenting paths with potentials) for a dense
 * `rows × cols` cost matrix with `rows ≤ cols`; every row gets a distinct column.
 */
function hungarian(rows: number, cols: number, cost: Float64Array): Int32Array {
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

/**
 * Greedy by ascending cost (ties by left, right) over the edges that are not
 * rivals; each chosen edge's margin is the gap to the cheapest other edge
 * (rivals too) at either of its ends.
 */
function greedy(
  group: number[],
  edges: readonly Edge[],
  rightCount: number,
  edgeOf: Int32Array,
  margin: Float64Array,
): void {
  group.sort((a, b) =>
    edges[a].cost - edges[b].cost || edges[a].left - edges[b].left ||
    edges[a].right - edges[b].right
  );
  const rightTaken = new Uint8Array(rightCount);
  for (const k of group) {
    const e = edges[k];
    if (e.rival || edgeOf[e.left] !== -1 || rightTaken[e.right]) continue;
    edgeOf[e.left] = k;
    rightTaken[e.right] = 1;
  }
  // Sorted by cost, so the first unchosen edge at an end is its runner-up.
  const runnerUp = new Map<string, number>();
  for (const k of group) {
    const e = edges[k];
    if (edgeOf[e.left] === k) continue;
    for (const end of [`l${e.left}`, `r${e.right}`]) {
      if (!runnerUp.has(end)) runnerUp.set(end, e.cost);
    }
  }
  for (const k of group) {
    const e = edges[k];
    if (edgeOf[e.left] !== k) continue;
    const rival = Math.min(
      runnerUp.get(`l${e.left}`) ?? Infinity,
      runnerUp.get(`r${e.right}`) ?? Infinity,
    );
    margin[e.left] = Number.isFinite(rival) ? rival - e.cost : Infinity;
  }
}
