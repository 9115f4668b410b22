/**
 * Scenario "grouping": `matchRecordings` alone and `makePlan` over a whole
 * scan result (what `run` does after listing and reading), on synthetic busy
 * hosts of 100,000 calls: a call every 20 s (≈ 5 in flight) and a call every
 * 2 s (≈ 50 in flight, heavy overlap). Timed in process, median of N runs.
 *
 * @module
 */
import { matchRecordings } from "../lib/pair/match.ts";
import { makePlan } from "../lib/pair/plan.ts";
import type { ScanResult } from "../lib/source/scan.ts";
import { generateBusyHost } from "../testing/busy_host.ts";
import { fmt, median, table } from "./common.ts";

/** A scan result made from a busy host, as `scan` would return it. */
export function busyScan(
  calls: number,
  meanInterArrivalSeconds: number,
): { scan: ScanResult; truth: Map<string, string> } {
  const host = generateBusyHost({ seed: 1, calls, meanInterArrivalSeconds });
  const mtimeMs = Date.UTC(2025, 0, 1);
  const scan: ScanResult = {
    conversations: host.conversations.map((key) => ({
      name: key.name,
      path: `conversations/${key.name}`,
      size: 2000,
      mtimeMs,
      dev: 0,
      ino: 0,
      key,
      data: {},
    })),
    recordings: host.recordings.map((key) => ({
      name: key.name,
      path: `recordings/${key.name}`,
      size: 200_000,
      mtimeMs,
      dev: 0,
      ino: 0,
      key,
      callerDigits: key.phone,
      ogg: {
        complete: true,
        durationSeconds: key.durationSeconds,
        preSkip: 312,
        size: 200_000,
      },
    })),
    leads: [],
    problems: [],
    missing: [],
    skipped: 0,
  };
  return { scan, truth: host.truth };
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
    const { scan, truth } = busyScan(calls, gap);
    const convKeys = scan.conversations.map((c) => c.key);
    const recKeys = scan.recordings.map((r) => r.key);
    const match: number[] = [];
    const plan: number[] = [];
    let right = 0;
    for (let r = -1; r < runs; r++) {
      let t = performance.now();
      const m = matchRecordings(convKeys, recKeys, { windowSeconds: 300 });
      const tm = performance.now() - t;
      t = performance.now();
      const p = makePlan(scan, { delivered: new Map(), progress: new Map() }, {
        matchWindowSeconds: 300,
        staleSeconds: 600,
        orphanAfterSeconds: 1800,
        timezone: "UTC",
      }, Date.UTC(2025, 0, 2));
      const tp = performance.now() - t;
      if (r < 0) {
        right = m.filter((x) => truth.get(x.conversation) === x.recording)
          .length;
        if (p.sets.length < calls) throw new Error("plan lost sets");
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
      accuracy: right / calls,
    });
  }
  console.log(`median of ${runs} runs after one warm-up, in process\n`);
  console.log(table(
    [
      "conversations × recordings",
      "mean gap between calls",
      "matchRecordings",
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
