/**
 * Grouping speed on a synthetic busy host: `deno bench bench/grouping_bench.ts`.
 * Target: 100,000 conversations × 100,000 recordings in under 2 s.
 *
 * @module
 */

import { matchRecordings } from "../lib/pair/match.ts";
import { generateBusyHost } from "../testing/busy_host.ts";

for (const calls of [10_000, 100_000]) {
  // Generated outside the timed part.
  const host = generateBusyHost({ seed: 1, calls });
  Deno.bench({
    name: `matchRecordings() ${calls} conversations × ${calls} recordings`,
    group: "grouping",
    n: calls >= 100_000 ? 5 : 20,
    warmup: 1,
    fn() {
      matchRecordings(host.conversations, host.recordings, {
        windowSeconds: 300,
      });
    },
  });
}
