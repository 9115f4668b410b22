/**
 * What `summary` prints (and the dashboard charts): the daily report from the
 * journal, as an object and as text. Pure.
 *
 * @module
 */
import { renderTable } from "../core/table.ts";
import { localDate } from "../core/time.ts";
import type { JournalEvent } from "../state/journal.ts";

/** The daily report, in the original design's keys. */
export interface DailySummary {
  date: string;
  files_processed: number;
  recordings_uploaded: number;
  call_data_uploaded: number;
  leads_uploaded: number;
  failed_uploads: number;
  success_rate: string;
  total_data_mb: number;
}

/**
 * Summarise the journal for one local date: deliveries and failed attempts
 * of that day. `files_processed` counts the attempts (delivered + failed).
 */
export function dailySummary(
  events: readonly JournalEvent[],
  date: string,
  timezone: string,
): DailySummary {
  let delivered = 0, recordings = 0, leads = 0, failed = 0, bytes = 0;
  for (const e of events) {
    if (localDate(e.t, timezone) !== date) continue;
    if (e.ev === "failed") {
      failed++;
      continue;
    }
    delivered++;
    if (e.recording) recordings++;
    if (e.lead) leads++;
    bytes += e.bytes;
  }
  const processed = delivered + failed;
  return {
    date,
    files_processed: processed,
    recordings_uploaded: recordings,
    call_data_uploaded: delivered,
    leads_uploaded: leads,
    failed_uploads: failed,
    success_rate: processed === 0
      ? "n/a"
      : `${(delivered / processed * 100).toFixed(1)}%`,
    total_data_mb: Math.round(bytes / 1e6 * 100) / 100,
  };
}

const SUMMARY_HEADER = [
  "date",
  "processed",
  "recordings",
  "call records",
  "leads",
  "failed",
  "success",
  "MB",
];

function summaryCells(s: DailySummary): string[] {
  return [
    s.date,
    String(s.files_processed),
    String(s.recordings_uploaded),
    String(s.call_data_uploaded),
    String(s.leads_uploaded),
    String(s.failed_uploads),
    s.success_rate,
    String(s.total_data_mb),
  ];
}

/** The daily report as text. */
export function renderSummary(s: DailySummary): string {
  return renderTable(SUMMARY_HEADER, [summaryCells(s)]);
}

/** One {@link DailySummary} per day for the `days` days ending on `endDate`. */
export function dailySummaries(
  events: readonly JournalEvent[],
  endDate: string,
  days: number,
  timezone: string,
): DailySummary[] {
  const end = Temporal.PlainDate.from(endDate);
  return Array.from(
    { length: days },
    (_, i) =>
      dailySummary(
        events,
        end.subtract({ days: days - 1 - i }).toString(),
        timezone,
      ),
  );
}

/** Several days as a table, oldest first. */
export function renderSummaries(rows: readonly DailySummary[]): string {
  return renderTable(SUMMARY_HEADER, rows.map(summaryCells));
}

/**
 * A bar chart of calls delivered per day, for a terminal.
 *
 * @example
 * ```ts
 * renderBarChart([{ date: "2025-10-29", call_data_uploaded: 4 } as DailySummary], 8);
 * // "2025-10-29 ████████ 4"
 * ```
 */
export function renderBarChart(
  rows: readonly DailySummary[],
  width = 40,
): string {
  const max = Math.max(1, ...rows.map((r) => r.call_data_uploaded));
  return rows.map((r) => {
    const eighths = Math.round(r.call_data_uploaded / max * width * 8);
    const bar = "█".repeat(Math.floor(eighths / 8)) +
      (eighths % 8 ? PARTIAL[eighths % 8] : "");
    return `${r.date} ${bar} ${r.call_data_uploaded}`;
  }).join("\n");
}

const PARTIAL = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
