/**
 * Prometheus text-format metrics: written after every run for
 * node_exporter's textfile collector (atomically: temp file + rename;
 * counters carry over from the previous file, so they only ever grow), and
 * served live by `callsync watch --metrics-listen` ({@link renderWatchMetrics}).
 *
 * @module
 */
import { writeFileAtomic } from "../core/atomic.ts";
import type { RunStats } from "../deliver/deliver.ts";
import type { SetCounts } from "../deliver/run.ts";
import type { WatchStatus } from "../deliver/watch.ts";

/** What one run reports to the metrics file. */
export interface RunMetrics {
  /** Epoch ms when the run started and ended. */
  startedMs: number;
  endedMs: number;
  exitCode: number;
  counts: SetCounts;
  /** Call start (epoch ms) of the oldest set not delivered. */
  oldestPendingMs?: number;
  /** Sets left due or waiting for a retry after the run. */
  backlog?: number;
  /** The backlog grew at each of the last runs. */
  backlogGrowing?: boolean;
  stats: RunStats;
}

/**
 * The metrics file's mode: it holds counts only, nothing personal, and
 * node_exporter reads it as its own user.
 */
const METRICS_MODE = 0o644;

type MetricType = "gauge" | "counter" | "histogram";

/** Every metric callsync exports, with its help text and type. */
export const METRICS: Record<string, [string, MetricType]> = {
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
  callsync_backlog_sets: [
    "Sets left due, or waiting for a retry, after the last run.",
    "gauge",
  ],
  callsync_backlog_growing: [
    "1 when the backlog grew at each of the last 3 runs.",
    "gauge",
  ],
  callsync_build_info: ["callsync's version (value 1).", "gauge"],
  callsync_watch_up: [
    "1 while callsync watch runs (served by watch only).",
    "gauge",
  ],
  callsync_watch_started_timestamp_seconds: [
    "When the running callsync watch started.",
    "gauge",
  ],
  callsync_queue_depth: [
    "Sets due now: waiting to be sent or being sent.",
    "gauge",
  ],
  callsync_last_delivery_timestamp_seconds: [
    "When the CRM last accepted a call record (0: none since start).",
    "gauge",
  ],
  callsync_delivery_paused: [
    "1 while delivery is paused (credentials refused, state not writable).",
    "gauge",
  ],
  callsync_watch_rescans_total: [
    "Full listings of the folders by reason.",
    "counter",
  ],
  callsync_delivery_latency_seconds: [
    "Time from a call's end to its call record accepted by the CRM.",
    "histogram",
  ],
};

/** Upper bounds (seconds) of the delivery latency histogram's buckets. */
export const LATENCY_BUCKETS: readonly number[] = [
  5,
  10,
  11,
  12,
  13,
  15,
  20,
  30,
  60,
  120,
  300,
  600,
  1800,
  3600,
];

/**
 * A Prometheus histogram with fixed buckets.
 *
 * @example
 * ```ts
 * const h = new Histogram([1, 10]);
 * h.observe(3);
 * h.lines("x"); // ['x_bucket{le="1"} 0', 'x_bucket{le="10"} 1', …]
 * ```
 */
export class Histogram {
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }

  /** Count one value. */
  observe(value: number): void {
    for (let i = 0; i < this.#bounds.length; i++) {
      if (value <= this.#bounds[i]) this.#counts[i]++;
    }
    this.#sum += value;
    this.#count++;
  }

  /** The sample lines of the histogram `name` (cumulative buckets). */
  lines(name: string): string[] {
    return [
      ...this.#bounds.map((b, i) =>
        `${name}_bucket{le="${b}"} ${this.#counts[i]}`
      ),
      `${name}_bucket{le="+Inf"} ${this.#count}`,
      `${name}_sum ${Math.round(this.#sum * 1000) / 1000}`,
      `${name}_count ${this.#count}`,
    ];
  }
}

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
  add("callsync_backlog_sets", run.backlog ?? 0);
  add("callsync_backlog_growing", run.backlogGrowing ? 1 : 0);
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
  return exposition(samples);
}

/** What {@link renderWatchMetrics} reports besides the engine's status. */
export interface WatchMetricsExtra {
  version: string;
  latency: Histogram;
}

/**
 * The live metrics of a running `callsync watch` (`/metrics`): the run
 * metrics' series as of now, plus the watch's own.
 */
export function renderWatchMetrics(
  s: WatchStatus,
  extra: WatchMetricsExtra,
  now: number,
): string {
  const seconds = (ms: number) => Math.round(ms) / 1000;
  const samples: [string, number][] = [
    [`callsync_build_info{version="${extra.version}"}`, 1],
    ["callsync_watch_up", 1],
    ["callsync_watch_started_timestamp_seconds", seconds(s.startedMs)],
    [
      "callsync_last_success_timestamp_seconds",
      seconds(s.paused ? s.lastDeliveryMs ?? 0 : now),
    ],
    [
      "callsync_last_delivery_timestamp_seconds",
      seconds(s.lastDeliveryMs ?? 0),
    ],
    ["callsync_delivery_paused", s.paused ? 1 : 0],
    ["callsync_queue_depth", s.queueDepth],
    ...Object.entries(s.counts).map(([state, n]): [string, number] => [
      `callsync_sets{state="${state}"}`,
      n,
    ]),
    [
      "callsync_oldest_pending_age_seconds",
      s.oldestPendingMs === undefined
        ? 0
        : Math.max(0, Math.round((now - s.oldestPendingMs) / 1000)),
    ],
    ["callsync_uploaded_bytes_total", s.stats.bytes],
    ...(["recording", "call_data"] as const).flatMap((kind) =>
      (["success", "failure"] as const).map((result): [string, number] => [
        `callsync_uploads_total{kind="${kind}",result="${result}"}`,
        s.stats[kind][result],
      ])
    ),
    ...Object.entries(s.rescans).map(([reason, n]): [string, number] => [
      `callsync_watch_rescans_total{reason="${reason}"}`,
      n,
    ]),
  ];
  return exposition(samples, [
    ["callsync_delivery_latency_seconds", extra.latency],
  ]);
}

/** Text format 0.0.4: samples grouped by metric, each with HELP and TYPE. */
function exposition(
  samples: [string, number][],
  histograms: [string, Histogram][] = [],
): string {
  const lines: string[] = [];
  const header = (base: string) =>
    lines.push(
      `# HELP ${base} ${METRICS[base][0]}`,
      `# TYPE ${base} ${METRICS[base][1]}`,
    );
  let last = "";
  for (const [name, value] of samples) {
    const base = name.replace(/\{.*$/, "");
    if (base !== last) header(base);
    last = base;
    lines.push(`${name} ${value}`);
  }
  for (const [name, h] of histograms) {
    header(name);
    lines.push(...h.lines(name));
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
