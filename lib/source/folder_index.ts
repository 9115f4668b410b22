/**
 * What `callsync watch` knows of the bot folders between two listings: every
 * file not yet delivered, read, with when it last changed. Built from a full
 * {@link scan}, kept current by reading only the files events name
 * ({@link scanNames}), and turned back into a {@link ScanResult} for the
 * planner — whose work is then proportional to the calls not yet delivered,
 * never to the years of delivered ones.
 *
 * @module
 */
import type { Folder, SourceFiles } from "./files.ts";
import {
  FOLDERS,
  type InputProblem,
  type NamedScan,
  type ScanResult,
} from "./scan.ts";
import { emptyTouched, type Touched } from "./watcher.ts";

/** One undelivered file of a folder: read, or why it cannot be (yet). */
interface Entry<F extends Folder> {
  file?: SourceFiles[F];
  problem?: InputProblem;
  /** Epoch ms of its last change seen: its mtime, or when an event named it. */
  changedAt: number;
}

type Entries = { [F in Folder]: Map<string, Entry<F>> };

/** A file's fingerprint as read: size (files only) and mtime, if known. */
interface Seen {
  size?: number;
  mtimeMs?: number;
}

/** The undelivered files of the three folders; see the module doc. */
export class FolderIndex {
  #entries: Entries = emptyEntries();
  #missing: ScanResult["missing"] = [];

  /** How many files the index holds. */
  get size(): number {
    const e = this.#entries;
    return e.conversations.size + e.recordings.size + e.leads.size;
  }

  /**
   * Replace everything with a full scan. A file unchanged since it was last
   * seen keeps when it changed; any other counts as changed at its mtime.
   */
  replace(scan: ScanResult): void {
    const before = this.#entries;
    this.#entries = emptyEntries();
    this.#missing = scan.missing;
    this.#put(scan, (folder, name, seen) => {
      const old = before[folder].get(name);
      return old && sameFile(old, seen)
        ? old.changedAt
        : seen.mtimeMs ?? Date.now();
    });
  }

  /**
   * Take in the files an event named, read at `touchedAt`: each counts as
   * changed then (or at its mtime, if later); gone ones leave the index.
   */
  update(named: NamedScan, touchedAt: number): void {
    for (const { folder, name } of named.gone) {
      this.#entries[folder].delete(name);
    }
    this.#put(
      named.result,
      (_folder, _name, seen) => Math.max(touchedAt, seen.mtimeMs ?? 0),
    );
  }

  /**
   * The earliest instant after `now` when a file that cannot be read yet
   * (and may still be being written) turns stale, or Infinity.
   */
  nextStaleAt(staleMs: number, now: number): number {
    let next = Infinity;
    for (const folder of FOLDERS) {
      for (const e of this.#entries[folder].values()) {
        const p = e.problem;
        if (!p || p.permanent || p.mtimeMs === undefined) continue;
        const at = p.mtimeMs + staleMs;
        if (at > now && at < next) next = at;
      }
    }
    return next;
  }

  /** Drop a file (its set was delivered). */
  forget(folder: Folder, name: string): void {
    this.#entries[folder].delete(name);
  }

  /** When `name` last changed, if the index holds it. */
  changedAt(folder: Folder, name: string): number | undefined {
    return this.#entries[folder].get(name)?.changedAt;
  }

  /**
   * The index as the planner takes it, without the files `held` names (those
   * of sets being sent: no other set may be given them meanwhile).
   */
  scanResult(held: Touched = emptyTouched()): ScanResult {
    const problems: InputProblem[] = [];
    const files = <F extends Folder>(folder: F): SourceFiles[F][] => {
      const out: SourceFiles[F][] = [];
      const entries = this.#entries[folder] as Map<string, Entry<F>>;
      for (const [name, e] of entries) {
        if (held[folder].has(name)) continue;
        if (e.file) out.push(e.file);
        else if (e.problem) problems.push(e.problem);
      }
      return out;
    };
    return {
      conversations: files("conversations"),
      recordings: files("recordings"),
      leads: files("leads"),
      problems,
      missing: this.#missing,
      skipped: 0,
    };
  }

  #put(
    scan: ScanResult,
    changedAt: (folder: Folder, name: string, seen: Seen) => number,
  ): void {
    const put = <F extends Folder>(
      folder: F,
      name: string,
      e: Omit<Entry<F>, "changedAt">,
      seen: Seen,
    ) => {
      (this.#entries[folder] as Map<string, Entry<F>>).set(name, {
        ...e,
        changedAt: changedAt(folder, name, seen),
      });
    };
    for (const f of scan.conversations) {
      put("conversations", f.name, { file: f }, f);
    }
    for (const f of scan.recordings) put("recordings", f.name, { file: f }, f);
    for (const f of scan.leads) put("leads", f.name, { file: f }, f);
    for (const p of scan.problems) {
      if (p.name !== ".") put(p.folder, p.name, { problem: p }, p);
    }
  }
}

function emptyEntries(): Entries {
  return {
    conversations: new Map(),
    recordings: new Map(),
    leads: new Map(),
  };
}

/** Seen as before: same size (for a file) and mtime. */
function sameFile<F extends Folder>(old: Entry<F>, seen: Seen): boolean {
  const before: Seen = old.file ?? { mtimeMs: old.problem?.mtimeMs };
  return before.size === seen.size && before.mtimeMs === seen.mtimeMs &&
    seen.mtimeMs !== undefined;
}
