import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { assign, type Edge } from "../../lib/pair/assign.ts";
import { mulberry32 } from "../../testing/busy_host.ts";

/** The objective `assign()` minimises. */
function totalCost(
  leftCount: number,
  rightCount: number,
  edges: readonly Edge[],
  unmatchedCost: number,
  pairing: ArrayLike<number>,
): number {
  let total = unmatchedCost * (leftCount + rightCount);
  for (let i = 0; i < leftCount; i++) {
    const j = pairing[i];
    if (j < 0) continue;
    const costs = edges.filter((e) => e.left === i && e.right === j)
      .map((e) => e.cost);
    ok(costs.length > 0, `left ${i} paired with ${j} without an edge`);
    total += Math.min(...costs) - 2 * unmatchedCost;
  }
  return total;
}

/** Lowest objective over every one-to-one pairing, by enumeration. */
function bruteForceCost(
  leftCount: number,
  rightCount: number,
  edges: readonly Edge[],
  unmatchedCost: number,
): number {
  const rightUsed = new Array<boolean>(rightCount).fill(false);
  const pairing: number[] = [];
  const search = (i: number): number => {
    if (i === leftCount) {
      return totalCost(leftCount, rightCount, edges, unmatchedCost, pairing);
    }
    pairing[i] = -1;
    let best = search(i + 1);
    for (const e of edges) {
      if (e.left !== i || rightUsed[e.right]) continue;
      rightUsed[e.right] = true;
      pairing[i] = e.right;
      best = Math.min(best, search(i + 1));
      rightUsed[e.right] = false;
      pairing[i] = -1;
    }
    return best;
  };
  return search(0);
}

function randomInstance(random: () => number) {
  const leftCount = 1 + Math.floor(random() * 6);
  const rightCount = 1 + Math.floor(random() * 6);
  const edges: Edge[] = [];
  for (let i = 0; i < leftCount; i++) {
    for (let j = 0; j < rightCount; j++) {
      if (random() < 0.5) {
        edges.push({ left: i, right: j, cost: Math.floor(random() * 25) });
      }
    }
  }
  return { leftCount, rightCount, edges };
}

/** Greedy takes 0–0 (cost 1) and strands both others; the optimum costs 4. */
const GREEDY_TRAP: Edge[] = [
  { left: 0, right: 0, cost: 1 },
  { left: 0, right: 1, cost: 2 },
  { left: 1, right: 0, cost: 2 },
];

Deno.test("assign() finds the optimum where greedy does not", () => {
  deepStrictEqual([...assign(2, 2, GREEDY_TRAP, 10)], [1, 0]);

  const random = mulberry32(42);
  for (let round = 0; round < 300; round++) {
    const { leftCount, rightCount, edges } = randomInstance(random);
    const pairing = assign(leftCount, rightCount, edges, 10);
    equal(
      totalCost(leftCount, rightCount, edges, 10, pairing),
      bruteForceCost(leftCount, rightCount, edges, 10),
      `round ${round}: ${JSON.stringify(edges)}`,
    );
  }
});

Deno.test("assign() falls back to greedy above maxExact", () => {
  deepStrictEqual([...assign(2, 2, GREEDY_TRAP, 10, { maxExact: 3 })], [0, -1]);
});

Deno.test("assign() pairs each side at most once", () => {
  const edges: Edge[] = [0, 1, 2].map((left) => ({
    left,
    right: 0,
    cost: left,
  }));
  deepStrictEqual([...assign(3, 1, edges, 10)], [0, -1, -1]);
});

Deno.test("assign() skips an edge costing at least twice the unmatched cost", () => {
  deepStrictEqual([...assign(1, 1, [{ left: 0, right: 0, cost: 20 }], 10)], [
    -1,
  ]);
  deepStrictEqual([...assign(1, 1, [{ left: 0, right: 0, cost: 19 }], 10)], [
    0,
  ]);
});

Deno.test("assign() keeps the cheapest of duplicate edges", () => {
  const edges: Edge[] = [
    { left: 0, right: 0, cost: 50 },
    { left: 0, right: 0, cost: 1 },
    { left: 1, right: 0, cost: 3 },
    { left: 1, right: 1, cost: 3 },
  ];
  deepStrictEqual([...assign(2, 2, edges, 10)], [0, 1]);
});

Deno.test("assign() result does not depend on edge order", () => {
  const random = mulberry32(7);
  // Ties everywhere, several components, duplicates.
  const edges: Edge[] = [];
  for (let k = 0; k < 400; k++) {
    edges.push({
      left: Math.floor(random() * 60),
      right: Math.floor(random() * 60),
      cost: Math.floor(random() * 4),
    });
  }
  for (const maxExact of [300, 10]) {
    const expected = assign(60, 60, edges, 5, { maxExact });
    for (let round = 0; round < 5; round++) {
      const shuffled = edges.map((e) => ({ e, k: random() }))
        .sort((a, b) => a.k - b.k).map(({ e }) => e);
      deepStrictEqual(assign(60, 60, shuffled, 5, { maxExact }), expected);
    }
  }
});

Deno.test("assign() leaves nodes without edges unpaired", () => {
  deepStrictEqual([...assign(3, 2, [], 1)], [-1, -1, -1]);
  deepStrictEqual([...assign(0, 0, [], 1)], []);
});

Deno.test("assign() rejects edges out of range or with a non-finite cost", () => {
  throws(() => assign(1, 1, [{ left: 1, right: 0, cost: 0 }], 1), RangeError);
  throws(() => assign(1, 1, [{ left: 0, right: -1, cost: 0 }], 1), RangeError);
  throws(() => assign(1, 1, [{ left: 0, right: 0, cost: NaN }], 1), RangeError);
});
