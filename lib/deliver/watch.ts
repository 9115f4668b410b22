/**
 * The engine behind `callsync watch`: one long-lived process that holds the
 * run lock, keeps an index of the files not yet delivered (one full scan,
 * then only the files events name), and delivers each call once it is
 * complete and its files have been quiet for `SETTLE_SECONDS`.
 *
 * It delivers with the same {@link deliverSet} as `run`: the same progress
 * records, backoff, attempt counts and idempotency keys in the same state,
 * so stopping `watch` and running `run` (or the reverse) continues where the
 * other left off, and a SIGKILL at any instant keeps the crash guarantees.
 *
 * Events are hints: a full rescan runs every `WATCH_RESCAN_SECONDS` and after
 * an event overflow, a watcher error or a watched folder going away. An idle
 * engine holds three timers and one pending watcher read; it never polls.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { errorMessage } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { callEndMs, readiness } from "../pair/readiness.ts";
import { type CallSet, makePlan, type Plan } from "../pair/plan.ts";
import { zoneMismatchLine } from "../pair/zone.ts";
import { deliveredSkipped } from "../pair/plan_run.ts";
import type { Folder } from "../source/files.ts";
import { FolderIndex } from "../source/folder_index.ts";
import { ListingCache } from "../source/listing_cache.ts";
import { scan, scanNames, type ScanOptions } from "../source/scan.ts";
import {
  emptyTouched,
  FolderWatcher,
  type Touched,
} from "../source/watcher.ts";
import { writeLastRun } from "../state/last_run.ts";
import { isHeld, type RunLock, tryRunLock } from "../state/lock.ts";
import { resetAttempts, type RetryResult } from "../state/retry.ts";
import {
  ensureStateDir,
  StateError,
  StateStore,
  type UsedNames,
} from "../state/store.ts";
import { CrmError, type RetryPolicy } from "./crm.ts";
import { deliverSet, newRunStats, type RunStats } from "./deliver.ts";
import { crmTransport, type Transport } from "./transport.ts";
import type { SetCounts } from "./run.ts";

/** How often a watch waiting for the run lock tries again (ms). */
export const LOCK_RETRY_MS = 5000;

/** Options of {@link WatchEngine.start}. */
export interface WatchOptions {
  cfg: Config;
  log: Logger;
  retry?: RetryPolicy;
  /** Each delivery, with seconds from the call's end to its record accepted. */
  onDelivered?: (secondsSinceCallEnd: number) => void;
  /** Aborting it gives up waiting for the run lock. */
  signal?: AbortSignal;
}

/** What the engine reports while it runs (metrics, heartbeat, dashboard). */
export interface WatchStatus {
  startedMs: number;
  /** Sets by state as last planned (delivered: all delivered so far). */
  counts: SetCounts;
  /** Sets due now: waiting to be sent or being sent. */
  queueDepth: number;
  /** Call start (epoch ms) of the oldest set not delivered. */
  oldestPendingMs?: number;
  /** When the last call record was accepted. */
  lastDeliveryMs?: number;
  delivered: number;
  failed: number;
  /** Failed attempts, ever, at the time of asking (for heartbeat codes). */
  failedAttempts: number;
  /** Why delivery is paused (credentials refused, state not writable). */
  paused?: string;
  /** Full rescans by reason. */
  rescans: Record<string, number>;
  /**
   * Files the engine holds: those of calls not yet delivered, never the
   * delivered ones. Each plan covers just these.
   */
  indexed: number;
  stats: RunStats;
}

/** See the module doc. */
export class WatchEngine {
  readonly #opts: WatchOptions;
  readonly #lock: RunLock;
  readonly #store: StateStore;
  readonly #cache: ListingCache;
  readonly #used: { recordings: UsedNames; leads: UsedNames };
  readonly #index = new FolderIndex();
  readonly #watcher: FolderWatcher;
  readonly #queue: CallSet[] = [];
  readonly #inFlight = new Map<string, Promise<void>>();
  /** The files of the sets in flight, kept out of planning meanwhile. */
  readonly #held: Touched = emptyTouched();
  readonly #status: WatchStatus;
  /** One HTTP client for the engine's life: connections kept alive. */
  readonly #transport: Transport;
  #plan?: Plan;
  /** Why nothing is sent: the files show TIMEZONE is wrong (as `run` refuses). */
  #zoneBlocked?: string;
  /** The shift and zones {@link #zoneBlocked} last said (to say it once). */
  #zoneFinding?: string;
  /** Pairs delivered since the timing evidence was last saved. */
  #evidenceUnsaved = 0;
  #wake?: ReturnType<typeof setTimeout>;
  #rescanTimer?: ReturnType<typeof setInterval>;
  #pausedUntil = 0;
  #stopping = false;
  /** The work in progress (a rescan, an update), so steps never overlap. */
  #busy: Promise<void> = Promise.resolve();
  /** Steps waiting for the next round, and whether that round is queued. */
  #steps: (() => Promise<void>)[] = [];
  #roundQueued = false;
  #rescanWanted?: string;
  #touched: Touched[] = [];

  private constructor(
    opts: WatchOptions,
    lock: RunLock,
    store: StateStore,
    cache: ListingCache,
  ) {
    this.#opts = opts;
    this.#lock = lock;
    this.#store = store;
    this.#cache = cache;
    this.#used = store.usedFiles();
    this.#transport = crmTransport(opts.cfg);
    this.#status = {
      startedMs: Date.now(),
      counts: {
        delivered: store.delivered.size,
        pending: 0,
        waiting: 0,
        failed: 0,
      },
      queueDepth: 0,
      delivered: 0,
      failed: 0,
      failedAttempts: 0,
      rescans: {},
      indexed: 0,
      stats: newRunStats(),
    };
    this.#watcher = new FolderWatcher(
      deliveredSkipped(opts.cfg, store, this.#used).dirs,
      {
        touched: (names) => this.#onTouched(names),
        rescan: (reason) => this.#requestRescan(reason),
      },
    );
  }

  /**
   * Take the run lock (waiting while another run holds it), open the state,
   * scan once, start watching. Resolves undefined if `signal` aborted the
   * wait for the lock.
   */
  static async start(opts: WatchOptions): Promise<WatchEngine | undefined> {
    const lock = await waitForLock(opts);
    if (!lock) return undefined;
    try {
      const store = await StateStore.openFor(opts.cfg, opts.log);
      const cache = await ListingCache.load(
        opts.cfg.processedDir,
        store.delivered.size,
      );
      if (store.recordsMissing) cache.reset();
      const engine = new WatchEngine(opts, lock, store, cache);
      // The first scan is the first step of the chain: events that come
      // while it lists the folders are applied after it, never overwritten
      // by its older listing.
      engine.#busy = engine.#rescan("start");
      await engine.#busy;
      engine.#replan();
      engine.#rescanTimer = setInterval(
        () => engine.#requestRescan("periodic"),
        opts.cfg.watchRescanSeconds * 1000,
      );
      return engine;
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /** A snapshot of where things stand. */
  status(): WatchStatus {
    return structuredClone(this.#status);
  }

  /** List everything anew now (the dashboard's "Run now"). */
  rescanNow(): Promise<void> {
    this.#requestRescan("requested");
    return this.#busy;
  }

  /** Make failed sets (or the named ones) due again now. */
  async retry(names: readonly string[] | "failed"): Promise<RetryResult> {
    const result = await resetAttempts(this.#store, this.#opts.log, names);
    this.#schedule(() => Promise.resolve());
    await this.#busy;
    return result;
  }

  /**
   * Stop: take no new set, let the ones in flight finish for at most
   * `timeoutMs`, record the outcome, release the lock. Resolves with how
   * many sets were still in flight when it gave up waiting (their requests
   * are repeated, with the same keys, by the next run).
   */
  async stop(timeoutMs: number): Promise<number> {
    this.#stopping = true;
    this.#watcher.close();
    clearTimeout(this.#wake);
    clearInterval(this.#rescanTimer);
    this.#queue.length = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = Promise.allSettled([...this.#inFlight.values()]);
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const late = await Promise.race([settled.then(() => false), timedOut]);
    clearTimeout(timer);
    const left = late ? this.#inFlight.size : 0;
    await this.#busy.catch(() => {});
    await this.#recordOutcome();
    // Requests still in flight keep their client until they end.
    void settled.then(() => this.#transport.close());
    this.#lock.release();
    return left;
  }

  // ---------------------------------------------------------------- events

  #onTouched(names: Touched): void {
    this.#touched.push(names);
    this.#schedule(() => this.#applyTouches());
  }

  #requestRescan(reason: string): void {
    if (this.#rescanWanted !== undefined) return;
    this.#rescanWanted = reason;
    this.#schedule(() => {
      const why = this.#rescanWanted ?? reason;
      this.#rescanWanted = undefined;
      return this.#rescan(why);
    });
  }

  /**
   * Run `step` after the work in progress, then plan again. Steps that
   * arrive meanwhile (events, finished deliveries) are run together, with
   * one plan after them: however far behind the engine falls, it plans once
   * per round, never once per event.
   */
  #schedule(step: () => Promise<void>): void {
    this.#steps.push(step);
    if (this.#roundQueued) return;
    this.#roundQueued = true;
    this.#busy = this.#busy.then(async () => {
      const steps = this.#steps.splice(0);
      this.#roundQueued = false;
      if (this.#stopping) return;
      for (const run of steps) {
        await run().catch((e) =>
          this.#opts.log.error(`Watch: ${errorMessage(e)}`)
        );
      }
      try {
        this.#replan();
      } catch (e) {
        this.#opts.log.error(`Watch: ${errorMessage(e)}`);
      }
    });
  }

  async #applyTouches(): Promise<void> {
    const batches = this.#touched.splice(0);
    if (batches.length === 0) return;
    const names: Record<Folder, Set<string>> = {
      conversations: new Set(batches.flatMap((b) => [...b.conversations])),
      recordings: new Set(batches.flatMap((b) => [...b.recordings])),
      leads: new Set(batches.flatMap((b) => [...b.leads])),
    };
    const touchedAt = Date.now();
    const named = await scanNames(this.#scanOptions(), names);
    this.#index.update(named, touchedAt);
  }

  async #rescan(reason: string): Promise<void> {
    const { log } = this.#opts;
    this.#status.rescans[reason] = (this.#status.rescans[reason] ?? 0) + 1;
    if (reason !== "periodic" && reason !== "start") {
      log.info(`Listing the folders anew: ${reason}`);
    }
    await this.#saveEvidence();
    const missing = await this.#watcher.open();
    const result = await scan({ ...this.#scanOptions(), cache: this.#cache });
    await this.#cache.save().catch((e) =>
      log.debug(`Cannot save the folder listings: ${errorMessage(e)}`)
    );
    this.#index.replace(result);
    if (reason === "start") {
      for (const dir of missing) {
        log.warn(
          `Folder ${dir} does not exist; watching it once it does (checked every ${this.#opts.cfg.watchRescanSeconds} s)`,
        );
      }
      log.info(
        `Watching ${
          this.#watcher.watched.join(", ")
        } (${result.skipped} delivered files skipped, ${this.#index.size} to look at)`,
      );
    }
  }

  // ------------------------------------------------------------- planning

  #replan(): void {
    if (this.#stopping) return;
    const { cfg } = this.#opts;
    const now = Date.now();
    this.#plan = makePlan(
      this.#index.scanResult(this.#held),
      this.#store,
      cfg,
      now,
    );
    const changedAt = (f: Folder, name: string) =>
      this.#index.changedAt(f, name);
    this.#checkZone(this.#plan);
    // The queue is rebuilt from each plan, so it never holds a stale pairing.
    this.#queue.length = 0;
    // A file still being written (a lead that does not parse yet) is taken
    // as it is once stale; sets may wait for it.
    let wakeAt = this.#index.nextStaleAt(cfg.staleSeconds * 1000, now);
    for (const set of this.#plan.sets) {
      if (this.#inFlight.has(set.name)) continue;
      const r = readiness(set, changedAt, cfg, now);
      if (!r.ready) wakeAt = Math.min(wakeAt, r.wakeAt ?? Infinity);
      else if (!this.#zoneBlocked) this.#queue.push(set);
    }
    this.#updateCounts();
    if (this.#pausedUntil > now) wakeAt = Math.min(wakeAt, this.#pausedUntil);
    this.#arm(wakeAt);
    this.#pump();
  }

  /**
   * Send nothing while the files show TIMEZONE is not the bot's zone (every
   * time sent would be off and calls would come apart), as `run` does; say
   * so once, and again when it is fixed.
   */
  #checkZone(plan: Plan): void {
    const { cfg, log } = this.#opts;
    const m = plan.zoneMismatch;
    this.#zoneBlocked = m && zoneMismatchLine(m, cfg.timezone);
    // The counts in the line grow with every call: what is said again is a
    // change of shift or of the zones that fit, not of the evidence.
    const finding = m && `${m.shiftSeconds} ${m.zones.join(" ")}`;
    if (finding === this.#zoneFinding) return;
    this.#zoneFinding = finding;
    if (this.#zoneBlocked) log.error(this.#zoneBlocked);
    else log.info("TIMEZONE fits the files again; delivering");
    this.#status.paused = this.#zoneBlocked;
  }

  /** One timer, at the earliest instant a decision can change. */
  #arm(wakeAt: number): void {
    clearTimeout(this.#wake);
    this.#wake = undefined;
    if (!Number.isFinite(wakeAt)) return;
    const delay = Math.min(Math.max(wakeAt - Date.now(), 0) + 5, 2 ** 31 - 1);
    this.#wake = setTimeout(() => {
      this.#wake = undefined;
      this.#schedule(() => Promise.resolve());
    }, delay);
  }

  #updateCounts(): void {
    const counts: SetCounts = {
      delivered: this.#store.delivered.size,
      pending: 0,
      waiting: 0,
      failed: 0,
    };
    let oldest: number | undefined;
    const plan = this.#plan!;
    for (const s of plan.sets) {
      counts[s.state]++;
      oldest = Math.min(oldest ?? Infinity, s.startMs);
    }
    for (const f of plan.strays) counts[f.state]++;
    counts.pending += this.#inFlight.size;
    this.#status.counts = counts;
    this.#status.oldestPendingMs = oldest;
    this.#status.queueDepth = this.#queue.length + this.#inFlight.size;
    this.#status.indexed = this.#index.size;
  }

  // ------------------------------------------------------------- delivery

  #pump(): void {
    const { cfg } = this.#opts;
    while (
      !this.#stopping && Date.now() >= this.#pausedUntil &&
      this.#queue.length > 0 && this.#inFlight.size < cfg.concurrency
    ) {
      const set = this.#queue.shift()!;
      this.#hold(set, true);
      const done = this.#deliver(set).finally(() => {
        this.#hold(set, false);
        this.#inFlight.delete(set.name);
        // The next due set goes at once; the plan catches up in its round.
        this.#pump();
        this.#schedule(() => Promise.resolve());
      });
      this.#inFlight.set(set.name, done);
    }
    this.#status.queueDepth = this.#queue.length + this.#inFlight.size;
  }

  /** Keep (or stop keeping) the files of `set` out of planning. */
  #hold(set: CallSet, on: boolean): void {
    const files: [Folder, string | undefined][] = [
      ["conversations", set.conversation?.name],
      ["recordings", set.recording?.name],
      ["leads", set.lead?.name],
    ];
    for (const [folder, name] of files) {
      if (name === undefined) continue;
      if (on) this.#held[folder].add(name);
      else this.#held[folder].delete(name);
    }
  }

  async #deliver(set: CallSet): Promise<void> {
    const { cfg, log } = this.#opts;
    const ctx = {
      cfg,
      log,
      store: this.#store,
      stats: this.#status.stats,
      retry: this.#opts.retry,
      transport: this.#transport,
    };
    try {
      const r = await deliverSet(ctx, set);
      if (r.outcome === "delivered") this.#delivered(set);
      else if (r.outcome === "failed") {
        this.#status.failed++;
        this.#status.failedAttempts++;
      } else this.#touchFiles(set);
    } catch (e) {
      if (!(e instanceof StateError || e instanceof CrmError)) throw e;
      this.#pause(e);
    }
  }

  #delivered(set: CallSet): void {
    const now = Date.now();
    this.#status.delivered++;
    this.#status.lastDeliveryMs = now;
    this.#status.paused = this.#zoneBlocked;
    if (set.recordingMatch) this.#evidenceUnsaved++;
    if (set.conversation) this.#index.forget("conversations", set.name);
    if (set.recording) this.#index.forget("recordings", set.recording.name);
    if (set.lead) this.#index.forget("leads", set.lead.name);
    // A lead update is not a call reaching the CRM: no latency to record.
    if (set.kind !== "lead-update") {
      this.#opts.onDelivered?.(Math.max(0, (now - callEndMs(set)) / 1000));
    }
  }

  /** A file changed under an attempt: read the set's files again. */
  #touchFiles(set: CallSet): void {
    const names: Touched = {
      conversations: new Set(set.conversation ? [set.conversation.name] : []),
      recordings: new Set(set.recording ? [set.recording.name] : []),
      leads: new Set(set.lead ? [set.lead.name] : []),
    };
    this.#onTouched(names);
  }

  /** Credentials refused or state not writable: wait, then try again. */
  #pause(e: StateError | CrmError): void {
    const { cfg, log } = this.#opts;
    const seconds = cfg.retryBackoffSeconds.at(-1) ?? 60;
    this.#pausedUntil = Date.now() + Math.max(seconds, 1) * 1000;
    this.#status.paused = errorMessage(e);
    this.#status.failedAttempts++;
    log.error(
      `Delivery paused for ${seconds} s: ${this.#status.paused} (fix it; callsync tries again then)`,
    );
  }

  #scanOptions(): Omit<ScanOptions, "cache"> {
    return deliveredSkipped(this.#opts.cfg, this.#store, this.#used);
  }

  /** Keep what delivered pairs taught about the host's timing (as a run does). */
  async #saveEvidence(): Promise<void> {
    if (this.#evidenceUnsaved === 0) return;
    this.#evidenceUnsaved = 0;
    await this.#store.saveEvidence().catch((e) =>
      this.#opts.log.warn(
        `Cannot save the pairing evidence: ${errorMessage(e)}`,
      )
    );
  }

  async #recordOutcome(): Promise<void> {
    await this.#saveEvidence();
    const s = this.#status;
    await writeLastRun(this.#opts.cfg.processedDir, {
      started_at: new Date(s.startedMs).toISOString(),
      ended_at: new Date().toISOString(),
      exit_code: s.failed > 0 ? 1 : 0,
      delivered: s.delivered,
      failed: s.failed,
    }).catch((e) =>
      this.#opts.log.warn(`Cannot record the run's outcome: ${errorMessage(e)}`)
    );
  }
}

/**
 * The run lock, waiting (and saying so once) while another run holds it:
 * a cron run in progress, or another watch (this one then stands by).
 */
async function waitForLock(opts: WatchOptions): Promise<RunLock | undefined> {
  await ensureStateDir(opts.cfg.processedDir, opts.log);
  let said = false;
  while (!opts.signal?.aborted) {
    const lock = await tryRunLock(opts.cfg.processedDir);
    if (isHeld(lock)) return lock;
    if (!said) {
      opts.log.info(
        `another run (pid ${
          lock.pid ?? "unknown"
        }) holds the run lock; waiting for it to end`,
      );
      said = true;
    }
    await sleep(LOCK_RETRY_MS, opts.signal);
  }
  return undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
