/**
 * Group commit for the records in `PROCESSED_DIR`. Writers queue their
 * changes and wait until those are on disk; meanwhile the recorder commits
 * whatever has queued up in one batch, so sets finishing together share the
 * cost of `fsync` instead of paying it one after another:
 *
 * 1. every record file of the batch is written to a temp file and synced
 *    (side by side), renamed over its record, and the folder synced once;
 * 2. the batch's journal lines are appended in one write and one
 *    `datasync()`;
 * 3. the files the batch removes are removed.
 *
 * So within a batch a record is durable before any journal line, and a line
 * before any removal: a kill at any instant leaves a state the store's
 * repairs already handle (a record the journal lacks is adopted, a stale
 * `.pending` beside a `.uploaded` is dropped). A writer's promise resolves
 * only once its whole batch is committed, and rejects if any step failed
 * (then nothing of it may be counted on, as with a kill).
 *
 * @module
 */
import { join } from "node:path";
import {
  appendLines,
  renameOver,
  syncDir,
  writeSyncedTemp,
} from "../core/atomic.ts";

/** One change to the state folder. */
export type StateWrite =
  /** Replace the file `name` in the folder with `text`, atomically. */
  | { kind: "file"; name: string; text: string }
  /** Append `line` to the journal. */
  | { kind: "line"; line: string }
  /** Remove the file `name`, if it is there. */
  | { kind: "remove"; name: string };

/** Changes queued together, and their writer's promise. */
interface Entry {
  writes: readonly StateWrite[];
  done: () => void;
  fail: (e: unknown) => void;
}

/** How many entries may wait for the next batch before writers wait too. */
const QUEUE_LIMIT = 256;

/**
 * Commits changes to one state folder in batches (see the module doc). One
 * per `StateStore`; it holds no timer and no open file while idle.
 *
 * @example
 * ```ts
 * const recorder = new Recorder("/var/callsync/processed_uploads", "j.jsonl");
 * await recorder.record(
 *   { kind: "file", name: "a.uploaded", text: "{}" },
 *   { kind: "line", line: '{"ev":"delivered","set":"a"}' },
 *   { kind: "remove", name: "a.pending" },
 * );
 * ```
 */
export class Recorder {
  readonly #dir: string;
  readonly #journal: string;
  readonly #limit: number;
  #queue: Entry[] = [];
  #committing = false;
  #commits = 0;
  /** Writers waiting for room in the queue. */
  #waiting: (() => void)[] = [];

  /** Records in `dir`; journal lines go to the file `journal` in it. */
  constructor(dir: string, journal: string, limit = QUEUE_LIMIT) {
    this.#dir = dir;
    this.#journal = join(dir, journal);
    this.#limit = limit;
  }

  /** Batches committed (or failed) so far. */
  get commits(): number {
    return this.#commits;
  }

  /**
   * Queue `writes` (applied in the order of the steps above) and resolve
   * once they are durable. Waits first while the queue is full.
   */
  async record(...writes: StateWrite[]): Promise<void> {
    while (this.#queue.length >= this.#limit) {
      await new Promise<void>((room) => this.#waiting.push(room));
    }
    const committed = new Promise<void>((done, fail) =>
      this.#queue.push({ writes, done, fail })
    );
    if (!this.#committing) void this.#commitAll();
    await committed;
  }

  /** Commit batch after batch until the queue is empty. */
  async #commitAll(): Promise<void> {
    this.#committing = true;
    while (this.#queue.length > 0) {
      const batch = this.#takeBatch();
      for (const room of this.#waiting.splice(0)) room();
      this.#commits++;
      try {
        await this.#commit(batch.flatMap((e) => e.writes));
        for (const e of batch) e.done();
      } catch (err) {
        for (const e of batch) e.fail(err);
      }
    }
    this.#committing = false;
  }

  /**
   * The entries at the head of the queue that one batch can hold: all of
   * them, unless one writes a file an earlier entry removes (the batch
   * removes last, so that entry waits for the next batch).
   */
  #takeBatch(): Entry[] {
    const removed = new Set<string>();
    let n = 0;
    for (; n < this.#queue.length; n++) {
      const writes = this.#queue[n].writes;
      if (writes.some((w) => w.kind === "file" && removed.has(w.name))) break;
      for (const w of writes) if (w.kind === "remove") removed.add(w.name);
    }
    return this.#queue.splice(0, Math.max(n, 1));
  }

  /** Apply `writes` in the three steps; a file written twice keeps the last. */
  async #commit(writes: readonly StateWrite[]): Promise<void> {
    const files = new Map<string, string>();
    const lines: string[] = [];
    const removals = new Set<string>();
    for (const w of writes) {
      if (w.kind === "file") files.set(w.name, w.text);
      else if (w.kind === "line") lines.push(w.line);
      else removals.add(w.name);
    }
    if (files.size > 0) await this.#replaceFiles(files);
    if (lines.length > 0) await appendLines(this.#journal, lines);
    for (const name of removals) removeIfThere(join(this.#dir, name));
  }

  /** Write and sync every temp file, rename each over its file, sync the folder. */
  async #replaceFiles(files: ReadonlyMap<string, string>): Promise<void> {
    const temps = await Promise.allSettled(
      [...files].map(([name, text]) =>
        writeSyncedTemp(join(this.#dir, name), text)
      ),
    );
    const failed = temps.find((t) => t.status === "rejected");
    if (failed) {
      await Promise.all(
        temps.map((t) =>
          t.status === "fulfilled" ? Deno.remove(t.value).catch(() => {}) : null
        ),
      );
      throw failed.reason;
    }
    const names = [...files.keys()];
    for (const [i, t] of temps.entries()) {
      const tmp = (t as PromiseFulfilledResult<string>).value;
      await renameOver(tmp, join(this.#dir, names[i]));
    }
    await syncDir(this.#dir);
  }
}

/** Remove `path`; a file already gone (or not removable) is let be. */
function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // gone already, or the next open repairs it (see the module doc)
  }
}
