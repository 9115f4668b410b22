/**
 * What the dashboard shows, read from the plan and the state without
 * writing anything: totals, the sets not delivered, the last run, the oldest
 * set not delivered, the latest deliveries, deliveries per day.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import type { DashboardRow, OldestPending, RecentDelivery } from "./model.ts";
import type { Logger } from "../core/log.ts";
import { callerDigits } from "../pair/call_id.ts";
import type { CallSet, Plan } from "../pair/plan.ts";
import { statusReport } from "../report/status.ts";
import { dailySummaries, type DailySummary } from "../report/summary.ts";
import { planRun } from "../pair/plan_run.ts";
import { type LastRun, readLastRun } from "../state/last_run.ts";
import { StateStore } from "../state/store.ts";
import { toUtcIso } from "../core/time.ts";

/** The state, opened read-only, and the plan a run would follow now. */
export interface Snapshot {
  store: StateStore;
  plan: Plan;
}

/** Read the state and plan as they are now; `log` hears about problems. */
export async function snapshot(cfg: Config, log: Logger): Promise<Snapshot> {
  const store = await openStore(cfg, log);
  const plan = await planRun(cfg, store, log);
  return { store, plan };
}

function openStore(cfg: Config, log: Logger): Promise<StateStore> {
  return StateStore.openFor(cfg, log, { readOnly: true });
}

/** The status the dashboard page and `GET /api/status` show. */
export interface StatusView extends Snapshot {
  /** When it was read, epoch milliseconds. */
  now: number;
  counts: Record<"delivered" | "pending" | "waiting" | "failed", number>;
  /** What needs a person: a zone mismatch, files kept apart, clock changes. */
  warnings: string[];
  /** Every set and stray file not delivered. */
  rows: DashboardRow[];
  lastRun?: LastRun;
  oldestPending?: OldestPending;
  /** The latest deliveries, newest first. */
  recent: RecentDelivery[];
}

/** Read the status, with at most `recentLimit` recent deliveries. */
export async function readStatus(
  cfg: Config,
  log: Logger,
  recentLimit: number,
): Promise<StatusView> {
  const now = Date.now();
  const { store, plan } = await snapshot(cfg, log);
  const report = statusReport(plan, cfg.timezone);
  const phones = new Map(plan.sets.map((s) => [s.name, callerDigits(s)]));
  const rows: DashboardRow[] = report.sets.map((r) => ({
    ...r,
    phone: phones.get(r.name),
  }));
  const oldestSet = plan.sets.reduce<CallSet | undefined>(
    (a, s) => (!a || s.startMs < a.startMs ? s : a),
    undefined,
  );
  return {
    now,
    store,
    plan,
    counts: report.counts,
    warnings: report.warnings,
    rows,
    lastRun: await readLastRun(cfg.processedDir),
    oldestPending: oldestSet
      ? {
        set: oldestSet.name,
        startedAt: toUtcIso(oldestSet.startMs),
        ageSeconds: Math.max(0, Math.round((now - oldestSet.startMs) / 1000)),
      }
      : undefined,
    recent: await recentDeliveries(store, recentLimit),
  };
}

/** Deliveries per day for the `days` days up to `endDate`, from the journal. */
export async function readSummaries(
  cfg: Config,
  log: Logger,
  endDate: string,
  days: number,
): Promise<DailySummary[]> {
  const store = await openStore(cfg, log);
  return dailySummaries(
    await store.readJournal(),
    endDate,
    days,
    cfg.timezone,
  );
}

/** The most recent deliveries, newest first; reads at most `limit` records. */
async function recentDeliveries(
  store: StateStore,
  limit: number,
): Promise<RecentDelivery[]> {
  const latest = [...store.delivered.entries()]
    .sort((a, b) => b[1].at - a[1].at || (a[0] < b[0] ? -1 : 1))
    .slice(0, limit);
  return await Promise.all(latest.map(async ([set, e]) => {
    const r = await store.readRecord(set);
    return {
      set,
      callId: e.callId,
      deliveredAt: toUtcIso(e.at),
      kind: r?.kind,
      recordingFile: e.recording ?? r?.recording_file,
      recordingUrl: typeof r?.recording_url === "string"
        ? r.recording_url
        : undefined,
      leadFile: e.lead ?? r?.lead_file,
    };
  }));
}
