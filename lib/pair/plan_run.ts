/**
 * The plan as a run (or `plan`, `status`, the dashboard) sees it now: scan
 * the folders, skipping what is delivered, reusing unchanged listings, then
 * group and decide. Reads only; a read-only store saves nothing.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { errorMessage } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { ListingCache } from "../source/listing_cache.ts";
import {
  type NameFilter,
  scan,
  type ScanOptions,
  type ScanResult,
} from "../source/scan.ts";
import type { StateStore } from "../state/store.ts";
import { makePlan, type Plan } from "./plan.ts";

/** Scan the folders and plan, logging what cannot be used. */
export async function planRun(
  cfg: Config,
  store: StateStore,
  log: Logger,
): Promise<Plan> {
  const cache = await ListingCache.load(cfg.processedDir, store.delivered.size);
  if (store.recordsMissing) cache.reset();
  const result = await scan(scanOptions(cfg, store, cache));
  if (!store.readOnly) {
    await cache.save().catch((e) =>
      log.debug(`Cannot save the folder listings: ${errorMessage(e)}`)
    );
  }
  logScanWarnings(result, log);
  const plan = makePlan(result, store, cfg, Date.now());
  logWaiting(plan, log);
  return plan;
}

/** What to scan: the three folders, skipping files of delivered sets. */
function scanOptions(
  cfg: Config,
  store: StateStore,
  cache: ListingCache,
): ScanOptions {
  return { ...deliveredSkipped(cfg, store, store.usedFiles()), cache };
}

/**
 * The three folders of `cfg`, skipping the files of delivered sets:
 * conversations by set name, recordings and leads by the names `used` holds
 * (`StateStore.usedFiles()`, which `callsync watch` keeps up to date itself).
 */
export function deliveredSkipped(
  cfg: Config,
  store: StateStore,
  used: { recordings: NameFilter; leads: NameFilter },
): Omit<ScanOptions, "cache"> {
  return {
    dirs: {
      conversations: cfg.conversationsDir,
      recordings: cfg.recordingsDir,
      leads: cfg.leadsDir,
    },
    timezone: cfg.timezone,
    skip: {
      conversations: store.delivered,
      recordings: {
        has: (name: string) =>
          used.recordings.has(name) || store.delivered.has(name),
      },
      leads: used.leads,
    },
  };
}

/** Folders that are not there, and files swapped while being read. */
function logScanWarnings(result: ScanResult, log: Logger): void {
  for (const m of result.missing) {
    log.warn(
      `Folder ${m.path} (${m.folder}) does not exist; nothing to read there`,
    );
  }
  for (const p of result.problems) {
    if (p.replaced) log.warn(`${p.folder}/${p.name}: ${p.message}`);
  }
}

function logWaiting(plan: Plan, log: Logger): void {
  for (const s of plan.strays) {
    const line = `${s.folder}/${s.name}: ${s.reason}`;
    if (s.state === "failed") log.error(`Cannot use ${line}`);
    else log.debug(`Waiting for ${line}`);
  }
  for (const s of plan.sets) {
    if (s.state !== "pending") log.debug(`${s.name}: ${s.state}: ${s.reason}`);
  }
}
