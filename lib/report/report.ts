/**
 * What `plan`, `status` and `summary` print: pure functions from a plan or
 * the journal to a report object and its text rendering.
 *
 * @module
 */
import { setCallId } from "../pair/call_id.ts";
import type { CallSet, Plan, SetState } from "../pair/plan.ts";
import type { JournalEvent } from "../state/journal.ts";
import { renderTable } from "../core/table.ts";
import { localDate, toUtcIso } from "../core/time.ts";

/** One row of `plan` and `status`. */
export interface SetRow {
  name: string;
  kind: CallSet["kind"] | "file";
  callId?: string;
  conversation?: string;
  recording?: string;
  lead?: string;
  state: SetState;
  reason: string;
  attempts: number;
  lastError?: string;
  nextAttemptAt?: string;
}

/** The `status` report. */
export interface StatusReport {
  counts: Record<SetState | "delivered", number>;
  /** Every set or file that is not delivered. */
  sets: SetRow[];
}

/** Rows for every undelivered set and every stray file of a plan. */
export function planRows(plan: Plan, timezone: string): SetRow[] {
  const rows: SetRow[] = plan.sets.map((s) => ({
    name: s.name,
    kind: s.kind,
    callId: setCallId(s, timezone),
    conversation: s.conversation?.name,
    recording: s.recording?.name ?? s.progress?.recording_file,
    lead: s.lead?.name,
    state: s.state,
    reason: s.reason,
    attempts: s.progress?.attempts ?? 0,
    lastError: s.progress?.last_error,
    nextAttemptAt: s.nextAttemptAt ? toUtcIso(s.nextAttemptAt) : undefined,
  }));
  for (const f of plan.strays) {
    rows.push({
      name: `${f.folder}/${f.name}`,
      kind: "file",
      state: f.state,
      reason: f.reason,
      attempts: 0,
    });
  }
  return rows;
}

/** Build the `status` report. */
export function statusReport(plan: Plan, timezone: string): StatusReport {
  const sets = planRows(plan, timezone);
  const counts = {
    delivered: plan.deliveredCount,
    pending: 0,
    waiting: 0,
    failed: 0,
  };
  for (const r of sets) counts[r.state]++;
  return { counts, sets };
}

/** `status` as text. */
export function renderStatus(report: StatusReport): string {
  const c = report.counts;
  const head =
    `delivered ${c.delivered}  pending ${c.pending}  waiting ${c.waiting}  failed ${c.failed}`;
  if (report.sets.length === 0) return `${head}\n\nEverything is delivered.`;
  const rows = report.sets.map((r) => [
    r.state,
    r.name,
    String(r.attempts),
    r.nextAttemptAt ?? "",
    r.reason,
  ]);
  return `${head}\n\n${
    renderTable(["state", "set", "attempts", "next attempt", "reason"], rows)
  }`;
}

/** `plan` as text: what a run would do now. */
export function renderPlan(plan: Plan, timezone: string): string {
  const rows = planRows(plan, timezone).map((r) => [
    r.callId ?? "",
    r.conversation ?? (r.kind === "file" ? r.name : ""),
    r.recording ?? "",
    r.lead ?? "",
    r.state,
    r.state === "pending" ? r.reason : `wait: ${r.reason}`,
  ]);
  const table = renderTable([
    "call",
    "conversation",
    "recording",
    "lead",
    "state",
    "action",
  ], rows);
  return `${table}\n\n${plan.deliveredCount} already delivered; ${
    rows.filter((r) => r[4] === "pending").length
  } would be sent now.`;
}

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
