/**
 * Prometheus text-format metrics, written after every run for
 * node_exporter's textfile collector (atomically: temp file + rename).
 * Counters carry over from the previous file, so they only ever grow.
 *
 * @module
 */
import { writeFileAtomic } from "../core/atomic.ts";
import type { RunStats } from "../deliver/deliver.ts";
import type { SetCounts } from "../deliver/run.ts";

/** What one run reports to the metrics file. */
export interface RunMetrics {
  /** Epoch ms when the run started and ended. */
  startedMs: number;
  endedMs: number;
  exitCode: number;
  counts: SetCounts;
  /** Call start (epoch ms) of the oldest set not delivered. */
  oldestPendingMs?: number;
  stats: RunStats;
}

/**
 * The metrics file's mode: it holds counts only, nothing personal, and
 * node_exporter reads it as its own user.
 */
const METRICS_MODE = 0o644;

const HELP: Record<string, [string, "gauge" | "counter"]> = {
  callsync_last_run_timestamp_seconds: ["When the last run ended.", "gauge"],
  callsync_last_success_timestamp_seconds: [
    "When the last run with exit code 0 ended.",
    "gauge",
  ],
  callsync_last_exit_code: ["Exit code of the last run.", "gauge"],
  callsync_run_duration_seconds: ["How long the last run took.", "gauge"],
  callsync_sets: ["Call sets by state after the last run.", "gauge"],
  callsync_oldest_pending_age_seconds: [
    "Age of the oldest call not yet delivered (0 if none).",
    "gauge",
  ],
  callsync_uploaded_bytes_total: [
    "Recording bytes the CRM accepted.",
    "counter",
  ],
  callsync_uploads_total: [
    "Requests to the CRM by kind and result.",
    "counter",
  ],
};

/**
 * Parse the samples of a Prometheus text file: `name{labels}` → value.
 *
 * @example
 * ```ts
 * parseMetrics('# HELP x y\nx{a="b"} 3\n').get('x{a="b"}'); // 3
 * ```
 */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)$/.exec(line.trim());
    if (m && !line.startsWith("#")) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** Render the metrics of a run, given the samples of the previous file. */
export function renderMetrics(
  run: RunMetrics,
  previous: Map<string, number>,
): string {
  const samples: [string, number][] = [];
  const add = (name: string, value: number) => samples.push([name, value]);
  const seconds = (ms: number) => Math.round(ms) / 1000;
  add("callsync_last_run_timestamp_seconds", seconds(run.endedMs));
  add(
    "callsync_last_success_timestamp_seconds",
    run.exitCode === 0
      ? seconds(run.endedMs)
      : previous.get("callsync_last_success_timestamp_seconds") ?? 0,
  );
  add("callsync_last_exit_code", run.exitCode);
  add("callsync_run_duration_seconds", seconds(run.endedMs - run.startedMs));
  for (const [state, n] of Object.entries(run.counts)) {
    add(`callsync_sets{state="${state}"}`, n);
  }
  add(
    "callsync_oldest_pending_age_seconds",
    run.oldestPendingMs === undefined
      ? 0
      : Math.max(0, Math.round((run.endedMs - run.oldestPendingMs) / 1000)),
  );
  const counter = (name: string, add_: number) =>
    add(name, (previous.get(name) ?? 0) + add_);
  counter("callsync_uploaded_bytes_total", run.stats.bytes);
  for (const kind of ["recording", "call_data"] as const) {
    for (const result of ["success", "failure"] as const) {
      counter(
        `callsync_uploads_total{kind="${kind}",result="${result}"}`,
        run.stats[kind][result],
      );
    }
  }
  const lines: string[] = [];
  let last = "";
  for (const [name, value] of samples) {
    const base = name.replace(/\{.*$/, "");
    if (base !== last) {
      lines.push(
        `# HELP ${base} ${HELP[base][0]}`,
        `# TYPE ${base} ${HELP[base][1]}`,
      );
      last = base;
    }
    lines.push(`${name} ${value}`);
  }
  return lines.join("\n") + "\n";
}

/** Write the metrics file atomically, carrying counters over from the old one. */
export async function writeMetrics(
  path: string,
  run: RunMetrics,
): Promise<void> {
  let previous = new Map<string, number>();
  try {
    previous = parseMetrics(await Deno.readTextFile(path));
  } catch {
    // first run, or an unreadable file: counters start again (Prometheus copes)
  }
  await writeFileAtomic(path, renderMetrics(run, previous), METRICS_MODE);
}
