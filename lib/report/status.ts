/**
 * What `plan` and `status` print (and the dashboard lists): pure functions
 * from a plan to rows, counts and their text rendering.
 *
 * @module
 */
import { setCallId } from "../pair/call_id.ts";
import type { CallSet, Plan, SetState } from "../pair/plan.ts";
import { zoneMismatchLine } from "../pair/zone.ts";
import { renderTable } from "../core/table.ts";
import { toUtcIso } from "../core/time.ts";
import { backlogGrowing, backlogWarning } from "../state/last_run.ts";

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
  /** Why this recording goes with this transcript, and how sure. */
  pairing?: {
    /** Recording start − transcript start, seconds. */
    startDiffSeconds: number;
    /** Recording end (name + duration) − transcript end, seconds. */
    endDiffSeconds?: number;
    /** Recording duration − transcript duration, seconds. */
    durationDiffSeconds?: number;
    /** The learned recorder offset the start was held against, seconds. */
    expectedOffsetSeconds: number;
    /** 0…1. */
    confidence: number;
    /** Files whose ends fit as well (the set waits for them to settle). */
    rivals: string[];
  };
  /** `lead-update`: the callId this lead updates. */
  updateOf?: string;
  /** `lead-only`: why the lead belongs to no call (no call found, or the calls it fits). */
  aloneReason?: string;
  /** This call's own lead was sent alone before (not sent again): that lead and its callId. */
  leadSentAlone?: { lead: string; callId: string };
  /** How a local time repeated by a clock change was read. */
  timeBasis?: "recording" | "file-time" | "rule";
}

/** The `status` report. */
export interface StatusReport {
  counts: Record<SetState | "delivered", number>;
  /** What needs a person's attention, one line each (zone, ambiguity, clock changes). */
  warnings: string[];
  /** Every set or file that is not delivered. */
  sets: SetRow[];
}

/**
 * Lines for what needs a person: a zone mismatch (nothing is sent), files
 * kept apart for lack of a clear winner, leads that go alone, local times
 * read by the rule.
 */
export function planWarnings(plan: Plan, timezone: string): string[] {
  const lines: string[] = [];
  if (plan.zoneMismatch) {
    lines.push(zoneMismatchLine(plan.zoneMismatch, timezone));
  }
  for (const a of plan.ambiguous) {
    lines.push(
      `Kept apart (no clear winner): ${
        [...a.conversations, ...a.recordings].join(", ")
      }: ${a.reason}. Each is sent on its own after ORPHAN_AFTER_SECONDS.`,
    );
  }
  const alone = plan.sets.filter((s) => s.kind === "lead-only");
  if (alone.length) {
    lines.push(
      `${alone.length} lead(s) belong to no call clearly and go alone (lead-only, after ORPHAN_AFTER_SECONDS): ${
        alone.map((s) => `${s.name} (${s.aloneReason})`).join(", ")
      }`,
    );
  }
  for (const s of plan.sets) {
    if (!s.leadSentAlone) continue;
    lines.push(
      `${s.name}: its lead ${s.leadSentAlone.lead} was already sent alone as ${s.leadSentAlone.callId}; the call goes without it (a lead is never sent twice)`,
    );
  }
  const ruled = plan.sets.filter((s) => s.timeChoice?.basis === "rule");
  if (ruled.length) {
    lines.push(
      `${ruled.length} transcript(s) have local times a clock change repeats and nothing to tell which pass they are from: read as the first pass (${
        ruled.map((s) => s.name).join(", ")
      })`,
    );
  }
  return lines;
}

/** The learned timing in one line, for `plan`. */
export function timingLine(plan: Plan): string {
  const t = plan.timing;
  const sign = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;
  const periods = t.periods.length > 1
    ? `; ${t.periods.length} periods (${
      t.periods.map((p) => sign(p.offsetSeconds)).join(", ")
    } s)`
    : "";
  return t.anchors === 0
    ? `Recorder offset: not learned yet (no unambiguous pair); assuming ${
      sign(t.offsetSeconds)
    } s ± ${t.offsetSpreadSeconds.toFixed(0)} s, ends within ± ${
      t.endSpreadSeconds.toFixed(1)
    } s`
    : `Recorder offset learned from ${t.anchors} pairs: ${
      sign(t.offsetSeconds)
    } s (spread ± ${t.offsetSpreadSeconds.toFixed(1)} s); recording ends ${
      sign(t.endBiasSeconds)
    } s ± ${t.endSpreadSeconds.toFixed(1)} s from the transcript's${
      t.mtimeBiasSeconds !== undefined
        ? `, file times ${sign(t.mtimeBiasSeconds)} s ± ${
          t.mtimeSpreadSeconds!.toFixed(1)
        } s`
        : ""
    }${periods}`;
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
    pairing: s.recordingMatch && {
      startDiffSeconds: s.recordingMatch.startDiffSeconds,
      endDiffSeconds: s.recordingMatch.endDiffSeconds,
      durationDiffSeconds: s.recordingMatch.durationDiffSeconds,
      expectedOffsetSeconds: s.recordingMatch.expectedOffsetSeconds,
      confidence: s.recordingMatch.confidence,
      rivals: s.recordingMatch.rivals,
    },
    updateOf: s.updateOf?.callId,
    aloneReason: s.aloneReason,
    leadSentAlone: s.leadSentAlone,
    timeBasis: s.timeChoice?.basis,
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

/**
 * Build the `status` report; `backlog` is the backlog of the last runs
 * (`callsync-last-run.json`), which adds a warning while it grows.
 */
export function statusReport(
  plan: Plan,
  timezone: string,
  backlog?: readonly number[],
): StatusReport {
  const sets = planRows(plan, timezone);
  const counts = {
    delivered: plan.deliveredCount,
    pending: 0,
    waiting: 0,
    failed: 0,
  };
  for (const r of sets) counts[r.state]++;
  const warnings = planWarnings(plan, timezone);
  if (backlogGrowing(backlog)) warnings.push(backlogWarning(backlog!));
  return { counts, warnings, sets };
}

/** `status` as text. */
export function renderStatus(report: StatusReport): string {
  const c = report.counts;
  const head =
    `delivered ${c.delivered}  pending ${c.pending}  waiting ${c.waiting}  failed ${c.failed}` +
    report.warnings.map((w) => `\n\nWARNING: ${w}`).join("");
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

/** `plan --json`: the learned timing, warnings and every row with its evidence. */
export function planJson(
  plan: Plan,
  timezone: string,
): Record<string, unknown> {
  return {
    timing: plan.timing,
    zoneMismatch: plan.zoneMismatch ?? null,
    warnings: planWarnings(plan, timezone),
    ambiguous: plan.ambiguous,
    deliveredCount: plan.deliveredCount,
    sets: planRows(plan, timezone),
  };
}

/** `plan` as text: what a run would do now, and why files go together. */
export function renderPlan(plan: Plan, timezone: string): string {
  const num = (x: number | undefined) =>
    x === undefined ? "" : `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;
  const rows = planRows(plan, timezone).map((r) => [
    r.callId ?? "",
    r.conversation ?? (r.kind === "file" ? r.name : ""),
    r.recording ?? "",
    num(r.pairing?.startDiffSeconds),
    num(r.pairing?.endDiffSeconds),
    num(r.pairing?.durationDiffSeconds),
    r.pairing ? `${Math.round(r.pairing.confidence * 100)} %` : "",
    r.lead ?? "",
    r.state,
    r.state === "pending" ? r.reason : `wait: ${r.reason}`,
  ]);
  const table = renderTable([
    "call",
    "conversation",
    "recording",
    "Δstart s",
    "Δend s",
    "Δlength s",
    "sure",
    "lead",
    "state",
    "action",
  ], rows);
  const warnings = planWarnings(plan, timezone).map((w) => `WARNING: ${w}\n`)
    .join("");
  return `${warnings}${
    timingLine(plan)
  }\n\n${table}\n\n${plan.deliveredCount} already delivered; ${
    plan.zoneMismatch ? 0 : rows.filter((r) => r[8] === "pending").length
  } would be sent now.`;
}
