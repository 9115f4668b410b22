/**
 * Grouping speed on a generated host: `deno bench bench/grouping_bench.ts`.
 * Target: 100,000 transcripts × 100,000 recordings in under 2 s.
 *
 * @module
 */

import { pairRecordings } from "../lib/pair/match.ts";
import { generateHost } from "../testing/busy_host.ts";
import { hostKeys } from "../testing/host_plan.ts";

for (const calls of [10_000, 100_000]) {
  // Generated outside the timed part.
  const keys = hostKeys(
    generateHost({ seed: 1, calls, offsetSeconds: 20 }),
    "UTC",
  );
  Deno.bench({
    name: `pairRecordings() ${calls} transcripts × ${calls} recordings`,
    group: "grouping",
    n: calls >= 100_000 ? 5 : 20,
    warmup: 1,
    fn() {
      pairRecordings(keys.conversations, keys.recordings, {
        windowSeconds: 300,
      });
    },
  });
}
