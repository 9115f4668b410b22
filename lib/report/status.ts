/**
 * What `plan` and `status` print (and the dashboard lists): pure functions
 * from a plan to rows, counts and their text rendering.
 *
 * @module
 */
import { setCallId } from "../pair/call_id.ts";
import type { CallSet, Plan, SetState } from "../pair/plan.ts";
import { renderTable } from "../core/table.ts";
import { toUtcIso } from "../core/time.ts";

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
