/**
 * Scenario "grouping": `pairRecordings` alone and `makePlan` over a whole
 * scan result (what `run` does after listing and reading: zone check,
 * pairing, leads, decisions), on generated hosts of 100,000 calls
 * (`testing/busy_host.ts`: recorder 20 s late, legacy leads): a call every
 * 20 s (≈ 7 in flight) and every 2 s (≈ 70 in flight). Timed in process,
 * median of N runs after a warm-up.
 *
 * @module
 */
import { pairRecordings } from "../lib/pair/match.ts";
import { makePlan } from "../lib/pair/plan.ts";
import type { ScanResult } from "../lib/source/scan.ts";
import { generateHost } from "../testing/busy_host.ts";
import {
  HOST_PLAN_CONFIG,
  hostScan,
  scorePairs,
} from "../testing/host_plan.ts";
import { fmt, median, table } from "./common.ts";

/** A scan result of a generated host, as `scan` would return it, and its truth. */
export function busyScan(
  calls: number,
  meanGapSeconds: number,
): { scan: ScanResult; host: ReturnType<typeof generateHost> } {
  const host = generateHost({
    seed: 1,
    calls,
    meanGapSeconds,
    offsetSeconds: 20,
    leadStyle: "legacy",
  });
  return { scan: hostScan(host, "UTC"), host };
}

/** One row: medians in ms. */
export interface GroupingRow {
  calls: number;
  gapSeconds: number;
  matchMs: number;
  planMs: number;
  accuracy: number;
}

/** Run the grouping scenario and print its table. */
export function grouping(calls: number, runs: number): GroupingRow[] {
  const rows: GroupingRow[] = [];
  for (const gap of [20, 2]) {
    const { scan, host } = busyScan(calls, gap);
    const convKeys = scan.conversations.map((c) => c.key);
    const recKeys = scan.recordings.map((r) => r.key);
    const match: number[] = [];
    const plan: number[] = [];
    let accuracy = 0;
    for (let r = -1; r < runs; r++) {
      let t = performance.now();
      const m = pairRecordings(convKeys, recKeys, { windowSeconds: 300 });
      const tm = performance.now() - t;
      t = performance.now();
      const p = makePlan(
        scan,
        { delivered: new Map(), progress: new Map() },
        HOST_PLAN_CONFIG,
        Date.UTC(2030, 0, 1),
      );
      const tp = performance.now() - t;
      if (r < 0) {
        const s = scorePairs(
          host,
          new Map(m.matches.map((x) => [x.conversation, x.recording])),
        );
        accuracy = s.right / s.whole;
        if (p.sets.length < calls * 0.9) throw new Error("plan lost sets");
        continue; // warm-up
      }
      match.push(tm);
      plan.push(tp);
    }
    rows.push({
      calls,
      gapSeconds: gap,
      matchMs: median(match),
      planMs: median(plan),
      accuracy,
    });
  }
  console.log(`median of ${runs} runs after one warm-up, in process\n`);
  console.log(table(
    [
      "transcripts × recordings",
      "mean gap between calls",
      "pairRecordings",
      "makePlan (whole plan)",
      "pairs right",
    ],
    rows.map((r) => [
      `${r.calls.toLocaleString("en-US")} × ${r.calls.toLocaleString("en-US")}`,
      `${r.gapSeconds} s`,
      `${fmt(r.matchMs, 0)} ms`,
      `${fmt(r.planMs, 0)} ms`,
      `${fmt(r.accuracy * 100, 2)} %`,
    ]),
  ));
  return rows;
}
