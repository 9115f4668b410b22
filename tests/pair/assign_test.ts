import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { assign, type Edge } from "../../lib/pair/assign.ts";
import { mulberry32 } from "../../testing/busy_host.ts";

Deno.test("assign() finds the optimum greedy misses", () => {
  const { edgeOf } = assign(2, 2, [
    { left: 0, right: 0, cost: 1 },
    { left: 0, right: 1, cost: 2 },
    { left: 1, right: 0, cost: 2 },
  ], 10);
  deepStrictEqual([...edgeOf], [1, 2]);
});

Deno.test("assign() margin: a lone pair against both unpaired, two close rivals against each other", () => {
  const lone = assign(1, 1, [{ left: 0, right: 0, cost: 2 }], 7);
  equal(lone.margin[0], 12);
  const close = assign(1, 2, [
    { left: 0, right: 0, cost: 1 },
    { left: 0, right: 1, cost: 1.5 },
  ], 7);
  equal(close.edgeOf[0], 0);
  equal(close.margin[0], 0.5);
});

Deno.test("assign() never chooses a rival, but a rival can make a pair unclear", () => {
  // T0–R0 fits; T0–R1 and T1–R0 only as rivals, yet together they would
  // pair every file: T0–R0 has not clearly won.
  const edges: Edge[] = [
    { left: 0, right: 0, cost: 2 },
    { left: 0, right: 1, cost: 7.2, rival: true },
    { left: 1, right: 0, cost: 7.1, rival: true },
  ];
  const { edgeOf, margin } = assign(2, 2, edges, 7);
  deepStrictEqual([...edgeOf], [0, -1]);
  ok(margin[0] < 0, `margin ${margin[0]}`);
  // A rival that pairs nothing new does not weaken the pair.
  const one = assign(2, 1, [edges[0], {
    left: 1,
    right: 0,
    cost: 7.1,
    rival: true,
  }], 7);
  equal(one.edgeOf[0], 0);
  ok(one.margin[0] > 3, `margin ${one.margin[0]}`);
});

Deno.test("assign() finds the optimum of random components, small (listed) and large (Hungarian)", () => {
  const random = mulberry32(3);
  let large = 0;
  for (let round = 0; round < 300; round++) {
    const n = 2 + (round % 4);
    const edges: Edge[] = [];
    for (let l = 0; l < n; l++) {
      for (let r = 0; r < n; r++) {
        if (random() < 0.6) {
          edges.push({
            left: l,
            right: r,
            cost: Math.round(random() * 100) / 10,
            rival: random() < 0.2,
          });
        }
      }
    }
    if (edges.length > 12) large++;
    const { edgeOf } = assign(n, n, edges, 7);
    const cost = [...edgeOf].reduce(
      (sum, k) => sum + (k < 0 ? 0 : edges[k].cost - 14),
      0,
    );
    ok(Math.abs(cost - bruteForce(edges, 7)) < 1e-9, `round ${round}`);
    ok([...edgeOf].every((k) => k < 0 || !edges[k].rival), "never a rival");
  }
  ok(large > 20, "some components went to the Hungarian algorithm");
});

function bruteForce(edges: Edge[], u: number): number {
  let best = Infinity;
  const visit = (i: number, total: number, l: Set<number>, r: Set<number>) => {
    if (i === edges.length) return void (best = Math.min(best, total));
    visit(i + 1, total, l, r);
    const e = edges[i];
    if (e.rival || l.has(e.left) || r.has(e.right)) return;
    visit(
      i + 1,
      total + e.cost - 2 * u,
      new Set([...l, e.left]),
      new Set([...r, e.right]),
    );
  };
  visit(0, 0, new Set(), new Set());
  return best;
}

Deno.test("assign() rejects edges out of range and non-finite costs", () => {
  throws(() => assign(1, 1, [{ left: 1, right: 0, cost: 1 }], 5), RangeError);
  throws(() => assign(1, 1, [{ left: 0, right: 0, cost: NaN }], 5), RangeError);
});
