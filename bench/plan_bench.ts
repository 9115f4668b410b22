/**
 * `deno bench bench/plan_bench.ts`: makePlan over a 100,000-call scan result
 * (a call every 20 s, and every 2 s for heavy overlap). Target: under 2 s.
 *
 * @module
 */
import { makePlan } from "../lib/pair/plan.ts";
import { HOST_PLAN_CONFIG } from "../testing/host_plan.ts";
import { busyScan } from "./grouping.ts";

for (const gap of [20, 2]) {
  const { scan } = busyScan(100_000, gap);
  Deno.bench({
    name: `makePlan() 100000 calls, a call every ${gap} s`,
    group: "plan",
    n: 5,
    warmup: 1,
    fn() {
      makePlan(
        scan,
        { delivered: new Map(), progress: new Map() },
        HOST_PLAN_CONFIG,
        Date.UTC(2030, 0, 1),
      );
    },
  });
}
