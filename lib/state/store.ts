/**
 * callsync's own records in `PROCESSED_DIR`:
 *
 * - `<set>.uploaded`: the delivery record, written (atomically) only once the
 *   CRM accepted the call record. A set with one is never sent again.
 * - `<set>.pending`: progress of an unfinished set (recording URL already
 *   obtained, attempts, next attempt, last error).
 * - `callsync-journal.jsonl`: one line per delivery or failed attempt; the
 *   index that spares an idle run from reading every `.uploaded` record, and
 *   the source of `summary`.
 *
 * The `.uploaded` files are the truth; the journal is rebuilt from them where
 * it lags (a kill between the two writes).
 *
 * Writes go through one {@link Recorder}, which commits the writes of sets
 * finishing together in one batch (one folder sync, one journal `datasync`);
 * each write method still resolves only once its change is on disk.
 *
 * The folder is private (0700, files 0600), no link in it is ever followed,
 * and no secret is kept: errors are redacted as they are written, and as
 * they are read (state written before redaction existed).
 *
 * @module
 */
import { join } from "node:path";
import { fileNameMap } from "../core/file_names.ts";
import { type DeliveredEntry, DeliveredIndex } from "./delivered_index.ts";
import {
  makePrivateDir,
  NotRegularFileError,
  openNoFollow,
  PRIVATE_DIR,
  readTextNoFollow,
  tightenFolder,
  withHandle,
} from "../core/safe_fs.ts";
import {
  forEachJournalLine,
  JOURNAL_FILE,
  type JournalEvent,
  type JournalVisitor,
} from "./journal.ts";
import type { Logger } from "../core/log.ts";
import { errorMessage } from "../core/errors.ts";
import { redactor } from "../core/redact.ts";
import { type Config, configSecrets } from "../config/config.ts";
import {
  EVIDENCE_KEEP,
  latestEvidence,
  type PairEvidence,
  readEvidence,
  writeEvidence,
} from "./evidence.ts";
import { Recorder, type StateWrite } from "./recorder.ts";

/** `PROCESSED_DIR` cannot be created or written: fatal (exit 3). */
export class StateError extends Error {
  override name = "StateError";
}

/**
 * Create `PROCESSED_DIR` (0700) if missing, or make one that others may
 * read private, with one log line: it holds transcripts, names and phone
 * numbers. Throws {@link StateError} if it cannot be created.
 */
export async function ensureStateDir(dir: string, log: Logger): Promise<void> {
  try {
    await makePrivateDir(dir);
  } catch (e) {
    throw new StateError(
      `cannot create PROCESSED_DIR ${dir}: ${errorMessage(e)}`,
    );
  }
  try {
    const t = await tightenFolder(dir, { files: true });
    if (t) {
      log.warn(
        `Made PROCESSED_DIR ${dir} private: ${octal(t.was)} → ${
          octal(PRIVATE_DIR)
        }, ${t.files} file${
          t.files === 1 ? "" : "s"
        } → 0600 (it holds transcripts, names and phone numbers)`,
      );
    }
  } catch (e) {
    log.warn(
      `PROCESSED_DIR ${dir} can be read by other users and cannot be made private (${
        errorMessage(e)
      }): chmod 700 it as its owner`,
    );
  }
}

function octal(mode: number): string {
  return "0" + mode.toString(8).padStart(3, "0");
}

/** The delivery record `<set>.uploaded`. */
export interface DeliveryRecord {
  uploaded_at: string;
  original_path: string;
  set: string;
  /**
   * `lead-update`: a lead sent after its call, as an update of `update_of`;
   * `lead-only`: a lead that belongs to no call clearly, sent alone.
   */
  kind: "call" | "recording-only" | "lead-update" | "lead-only";
  call_id: string;
  /** `lead-update`: the delivered set this lead updated. */
  update_of?: string;
  /** `lead-only`: why the lead was sent alone (no call found, or the calls it fits). */
  alone_reason?: string;
  idempotency_key: string;
  recording_uploaded: boolean;
  recording_file?: string;
  recording_url?: string;
  recording_size?: number;
  recording_duration?: number;
  truncated?: boolean;
  call_data_uploaded: true;
  lead_uploaded: boolean;
  lead_file?: string;
  upload_attempts: number;
}

/** The progress record `<set>.pending` of a set not yet delivered. */
export interface Progress {
  set: string;
  /** Failed runs so far. */
  attempts: number;
  /** Epoch ms before which the set is not retried. */
  next_attempt_at?: number;
  last_error?: string;
  /** True once attempts are used up: waits for `retry`. */
  failed?: boolean;
  /** The recording this set was paired with when it was uploaded (pinned). */
  recording_file?: string;
  recording_url?: string;
  recording_size?: number;
  recording_duration?: number;
  /** The recording had no end-of-stream page when it was uploaded. */
  truncated?: boolean;
  /** The call record as built once the recording was up; retries send it as is. */
  call_record?: Record<string, unknown>;
  /** The lead file that record carries. */
  lead_file?: string;
  /**
   * A lead-only record was attempted for this lead, and why it goes alone:
   * the lead is never attached to a call afterwards (pinned).
   */
  alone_reason?: string;
}

/** Options of {@link StateStore.open}. */
export interface StoreOptions {
  /** Write nothing (for `plan`, `status`, `summary` and the dashboard). */
  readOnly?: boolean;
  /** Secrets no error written or read may hold (see `redact.ts`). */
  secrets?: readonly string[];
}

export type { DeliveredEntry } from "./delivered_index.ts";

/** A check whether a file name is one a delivered set used. */
export interface UsedNames {
  has(name: string): boolean;
}

const UPLOADED = ".uploaded";
const PENDING = ".pending";
/** A file listed in `PROCESSED_DIR` that was gone when read. */
const GONE = Symbol("gone");

/** Reads and writes callsync's records in one `PROCESSED_DIR`. */
export class StateStore {
  /** Delivered sets by set name (what the journal and listing say of each). */
  readonly delivered: DeliveredIndex = new DeliveredIndex();
  /** Progress of unfinished sets by set name. */
  readonly progress: Map<string, Progress> = fileNameMap();
  /** Timing evidence of the latest pairs delivered (see `evidence.ts`). */
  evidence: PairEvidence[] = [];
  readonly dir: string;
  #log: Logger;
  #readOnly: boolean;
  #redact: (text: string) => string;
  #recordsMissing = false;
  #recorder: Recorder;

  private constructor(dir: string, log: Logger, opts: StoreOptions) {
    this.dir = dir;
    this.#recorder = new Recorder(dir, JOURNAL_FILE);
    this.#log = log;
    this.#readOnly = opts.readOnly ?? false;
    this.#redact = redactor(opts.secrets ?? []);
  }

  /**
   * Load the state of `dir`; a missing folder is empty state. With
   * `readOnly` (for `plan`, `status`, `summary`, which run beside a `run`
   * without its lock), repairs are left to the next run: nothing is written.
   */
  static async open(
    dir: string,
    log: Logger,
    opts: StoreOptions = {},
  ): Promise<StateStore> {
    const store = new StateStore(dir, log, opts);
    await store.#load();
    store.evidence = await readEvidence(dir);
    return store;
  }

  /**
   * Open the state of `cfg`'s `PROCESSED_DIR`, redacting `cfg`'s secrets
   * (see {@link open}).
   */
  static openFor(
    cfg: Config,
    log: Logger,
    opts: { readOnly?: boolean } = {},
  ): Promise<StateStore> {
    return StateStore.open(cfg.processedDir, log, {
      ...opts,
      secrets: configSecrets(cfg),
    });
  }

  /** True for a store opened read-only: nothing is written. */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /**
   * True when the journal names delivered sets whose `.uploaded` record is
   * gone (deleted so that they are sent again): they are not delivered.
   */
  get recordsMissing(): boolean {
    return this.#recordsMissing;
  }

  /**
   * Recordings and leads used by delivered sets (names compared as this
   * host's file system compares them): views of {@link delivered}, so they
   * follow it as sets are delivered.
   */
  usedFiles(): { recordings: UsedNames; leads: UsedNames } {
    const index = this.delivered;
    return {
      recordings: { has: (name) => index.usesRecording(name) },
      leads: { has: (name) => index.usesLead(name) },
    };
  }

  /**
   * Save a set's progress atomically (its error redacted); resolves once it
   * is on disk.
   */
  async saveProgress(progress: Progress): Promise<void> {
    const p = this.#redacted(progress);
    await this.#record({
      kind: "file",
      name: p.set + PENDING,
      text: JSON.stringify(p, null, 2),
    });
    this.progress.set(p.set, p);
  }

  /**
   * Learn from a pair just delivered. Only the latest pairs are kept, so a
   * long-running `watch` holds as much evidence as a run reads.
   */
  addEvidence(e: PairEvidence): void {
    this.evidence.push(e);
    if (this.evidence.length > 2 * EVIDENCE_KEEP) {
      this.evidence = latestEvidence(this.evidence);
    }
  }

  /** Keep the timing evidence of the pairs delivered so far (`evidence.ts`). */
  async saveEvidence(): Promise<void> {
    await this.#write(() => writeEvidence(this.dir, this.evidence));
  }

  /** Record a failed attempt in the journal (for `summary`), redacted. */
  async journalFailure(set: string, error: string): Promise<void> {
    await this.#append({
      ev: "failed",
      t: Date.now(),
      set,
      error: this.#redact(error),
    });
  }

  /** `p` with no secret in its error. */
  #redacted(p: Progress): Progress {
    return p.last_error === undefined
      ? p
      : { ...p, last_error: this.#redact(p.last_error) };
  }

  /**
   * Mark a set delivered: write `<set>.uploaded`, journal it, then drop its
   * progress (in that order, see {@link Recorder}); resolves once all of it
   * is on disk. A kill between the steps is repaired by the next
   * {@link open}.
   */
  async markDelivered(record: DeliveryRecord): Promise<void> {
    const entry = entryOf(record);
    const writes: StateWrite[] = [
      {
        kind: "file",
        name: record.set + UPLOADED,
        text: JSON.stringify(record, null, 2),
      },
      { kind: "line", line: JSON.stringify(journalLine(record, entry)) },
    ];
    if (this.progress.has(record.set)) {
      writes.push({ kind: "remove", name: record.set + PENDING });
    }
    await this.#record(...writes);
    this.delivered.set(record.set, entry);
    this.progress.delete(record.set);
  }

  /**
   * A delivered set's `.uploaded` record as written, if it can be read (a
   * record from an older callsync may lack fields).
   */
  async readRecord(set: string): Promise<Partial<DeliveryRecord> | undefined> {
    try {
      const v: unknown = JSON.parse(
        await readTextNoFollow(this.#path(set + UPLOADED)),
      );
      return v && typeof v === "object" && !Array.isArray(v)
        ? v as Partial<DeliveryRecord>
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every journal event, oldest first (torn lines skipped, errors redacted). */
  async readJournal(): Promise<JournalEvent[]> {
    const events: JournalEvent[] = [];
    await this.#walkJournal({
      any: (ev) =>
        events.push(
          ev.ev === "failed" ? { ...ev, error: this.#redact(ev.error) } : ev,
        ),
    });
    return events;
  }

  async #load(): Promise<void> {
    // The journal first: it names (nearly) every delivered set, so the
    // listing then only checks each record against it, with no second
    // index of 100,000 names.
    if (!this.#readOnly) await this.#repairJournalEnd();
    await this.#walkJournal({
      delivered: (ev) =>
        this.delivered.set(ev.set, {
          callId: ev.call_id,
          recording: ev.recording,
          lead: ev.lead,
          at: ev.t,
          ...(ev.alone ? { alone: true } : {}),
        }),
    });
    let listing: Listing;
    try {
      listing = await listState(this.dir, this.delivered);
    } catch (e) {
      this.delivered.clear();
      if (e instanceof Deno.errors.NotFound) return;
      throw new StateError(
        `cannot list PROCESSED_DIR ${this.dir}: ${errorMessage(e)}`,
      );
    }
    if (listing.journaled < this.delivered.size) {
      // Some journaled sets have no record any more (deleted so that they
      // are sent again): they are not delivered. Rare, so listed anew.
      const present = await listRecords(this.dir).catch((e) => {
        throw new StateError(
          `cannot list PROCESSED_DIR ${this.dir}: ${errorMessage(e)}`,
        );
      });
      for (const set of [...this.delivered.keys()]) {
        if (present.has(set)) continue;
        this.delivered.delete(set);
        this.#recordsMissing = true;
      }
    }
    for (const set of listing.unjournaled) {
      if (!this.delivered.has(set)) await this.#adoptRecord(set);
    }
    for (const name of listing.pending) await this.#loadProgress(name);
  }

  /**
   * Visit every journal line, reading the file in chunks so a journal of
   * 100,000 deliveries is never held in memory whole. A missing journal has
   * no lines; a torn line is reported and skipped.
   */
  async #walkJournal(visit: JournalVisitor): Promise<void> {
    const path = this.#path(JOURNAL_FILE);
    const torn = () =>
      this.#log.warn(`Skipping a torn line in ${JOURNAL_FILE}`);
    try {
      await forEachJournalLine(path, visit, torn);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw stateError(`cannot read ${path}`, e);
    }
  }

  /**
   * A `.uploaded` record missing from the journal: read, validate, journal.
   * One gone since the listing (removed, so that the set is sent again)
   * leaves the set undelivered.
   */
  async #adoptRecord(set: string): Promise<void> {
    const file = set + UPLOADED;
    const record = await this.#readJson<DeliveryRecord>(file);
    if (record === GONE) return;
    if (!record || typeof record.call_id !== "string") {
      this.#log.warn(
        `State file ${file} is empty or torn; treating ${set} as not delivered`,
      );
      await this.#setAside(file);
      return;
    }
    const entry = entryOf({ ...record, set });
    this.delivered.set(set, entry);
    if (!this.#readOnly) {
      await this.#append(journalLine({ ...record, set }, entry));
    }
  }

  /**
   * A `.pending` file: the set's progress. One gone since the listing was
   * removed by a run beside this reader as it delivered the set (its record
   * is there now), or by a user.
   */
  async #loadProgress(file: string): Promise<void> {
    const set = file.slice(0, -PENDING.length);
    if (this.delivered.has(set)) {
      if (!this.#readOnly) await Deno.remove(this.#path(file)).catch(() => {});
      return;
    }
    const p = await this.#readJson<Progress>(file);
    if (p === GONE) return await this.#adoptRecord(set);
    if (!p || typeof p.attempts !== "number") {
      this.#log.warn(
        `State file ${file} is empty or torn; starting ${set} afresh`,
      );
      await this.#setAside(file);
      return;
    }
    this.progress.set(set, this.#redacted({ ...p, set }));
  }

  /**
   * `file` parsed: undefined when torn or not an object, {@link GONE} when
   * it is no longer there.
   */
  async #readJson<T>(file: string): Promise<T | undefined | typeof GONE> {
    try {
      const value = JSON.parse(await readTextNoFollow(this.#path(file)));
      return value && typeof value === "object" ? value as T : undefined;
    } catch (e) {
      if (e instanceof SyntaxError) return undefined;
      if (e instanceof Deno.errors.NotFound) return GONE;
      throw stateError(`cannot read ${this.#path(file)}`, e);
    }
  }

  /** Keep a damaged record for inspection under another name. */
  async #setAside(file: string): Promise<void> {
    if (this.#readOnly) return;
    const aside = `${file}.corrupt-${Date.now()}`;
    await this.#write(() => Deno.rename(this.#path(file), this.#path(aside)));
  }

  async #repairJournalEnd(): Promise<void> {
    const path = this.#path(JOURNAL_FILE);
    let handle;
    try {
      handle = await openNoFollow(path, "read");
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw stateError(`cannot read ${path}`, e);
    }
    const last = await withHandle(handle, async (f) => {
      const size = (await f.stat()).size;
      const byte = new Uint8Array(1);
      if (size > 0) await f.read(byte, 0, 1, size - 1);
      return size === 0 ? 0x0a : byte[0];
    });
    if (last !== 0x0a) await this.#record({ kind: "line", line: "" });
  }

  async #append(ev: JournalEvent): Promise<void> {
    await this.#record({ kind: "line", line: JSON.stringify(ev) });
  }

  /** Commit `writes` through the recorder; a failure is a {@link StateError}. */
  #record(...writes: StateWrite[]): Promise<void> {
    return this.#write(() => this.#recorder.record(...writes));
  }

  async #write(op: () => Promise<void>): Promise<void> {
    try {
      await op();
    } catch (e) {
      throw stateError(`cannot write to PROCESSED_DIR ${this.dir}`, e);
    }
  }

  #path(file: string): string {
    return join(this.dir, file);
  }
}

/**
 * A {@link StateError} saying what failed and why; for a link where a state
 * file should be, what to do about it.
 */
function stateError(what: string, e: unknown): StateError {
  const hint = e instanceof NotRegularFileError
    ? "; callsync never follows a link in PROCESSED_DIR: remove it"
    : "";
  return new StateError(`${what}: ${errorMessage(e)}${hint}`);
}

/** What the listing of `PROCESSED_DIR` found. */
interface Listing {
  /** How many `.uploaded` records name a set the journal has. */
  journaled: number;
  /** Sets with a `.uploaded` record the journal lacks. */
  unjournaled: string[];
  /** `.pending` files. */
  pending: string[];
}

/**
 * List `PROCESSED_DIR`, checking each `.uploaded` record against the sets
 * the journal names. Rejects as `Deno.readDir` does (NotFound: no folder).
 */
async function listState(
  dir: string,
  journaled: ReadonlyMap<string, unknown>,
): Promise<Listing> {
  const out: Listing = { journaled: 0, unjournaled: [], pending: [] };
  for await (const e of Deno.readDir(dir)) {
    const name = e.name;
    if (name.endsWith(UPLOADED)) {
      const set = name.slice(0, -UPLOADED.length);
      if (journaled.has(set)) out.journaled++;
      else out.unjournaled.push(set);
    } else if (name.endsWith(PENDING)) {
      out.pending.push(name);
    }
  }
  return out;
}

/** The sets with a `.uploaded` record. */
async function listRecords(dir: string): Promise<Set<string>> {
  const sets = new Set<string>();
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(UPLOADED)) sets.add(e.name.slice(0, -UPLOADED.length));
  }
  return sets;
}

function entryOf(r: DeliveryRecord): DeliveredEntry {
  return {
    callId: r.call_id,
    recording: r.recording_file,
    lead: r.lead_file,
    at: Date.parse(r.uploaded_at) || Date.now(),
    ...(r.kind === "lead-only" ? { alone: true } : {}),
  };
}

function journalLine(r: DeliveryRecord, e: DeliveredEntry): JournalEvent {
  return {
    ev: "delivered",
    t: e.at,
    set: r.set,
    call_id: r.call_id,
    recording: r.recording_file,
    lead: r.lead_file,
    bytes: r.recording_uploaded ? r.recording_size ?? 0 : 0,
    alone: e.alone,
  };
}
