/**
 * File events from the three bot folders, as hints: which names to look at
 * again, and when to list everything anew.
 *
 * Events are not the truth (BENCHMARKS.md and the issue-15 memo show why):
 * the kind is unreliable (a file moved in is a `rename`, a write into a
 * folder renamed away is a `remove` under the old name), Deno reports an
 * overflow of its own queue as one `rescan`-flagged event but drops the
 * kernel's, and a folder deleted or renamed away goes silent. So every event
 * only names a file to read again, and a `rescan` flag, an error, or an event
 * about a watched folder itself asks for a full rescan — which also reopens
 * the watcher.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import { errorMessage } from "../core/errors.ts";
import type { Folder } from "./files.ts";
import { FOLDERS, isListed } from "./scan.ts";

/** Names touched since the last batch, by folder. */
export type Touched = Record<Folder, Set<string>>;

/** What the watcher tells its owner. */
export interface WatcherEvents {
  /** Files named by events in the last batch (never empty). */
  touched(names: Touched): void;
  /** Events may have been lost, or a folder went away: list everything. */
  rescan(reason: string): void;
}

/** How long events are gathered before they are handed on (ms). */
export const BATCH_MS = 100;

/** Opens a watcher over folders: `Deno.watchFs`, or a fault-injecting stand-in. */
export type WatchFs = (paths: string[]) => Deno.FsWatcher;

const watchFs: WatchFs = (paths) => Deno.watchFs(paths, { recursive: false });

/** Watches the folders that exist; see the module doc. */
export class FolderWatcher {
  readonly #dirs: Record<Folder, string>;
  readonly #events: WatcherEvents;
  readonly #watchFs: WatchFs;
  #watcher?: Deno.FsWatcher;
  #pending: Touched = emptyTouched();
  #batch?: ReturnType<typeof setTimeout>;
  #watched: string[] = [];

  /** Nothing is watched until {@link open}. */
  constructor(
    dirs: Record<Folder, string>,
    events: WatcherEvents,
    watch: WatchFs = watchFs,
  ) {
    this.#dirs = dirs;
    this.#events = events;
    this.#watchFs = watch;
  }

  /** The folders being watched now. */
  get watched(): readonly string[] {
    return this.#watched;
  }

  /**
   * (Re)open the watcher on every folder that exists; returns the folders
   * that do not (watched from the next reopen on, once they exist).
   */
  async open(): Promise<string[]> {
    this.close();
    const dirs = [...new Set(FOLDERS.map((f) => this.#dirs[f]))];
    const present: string[] = [];
    const missing: string[] = [];
    for (const dir of dirs) {
      const isDir = await Deno.stat(dir).then(
        (s) => s.isDirectory,
        () => false,
      );
      (isDir ? present : missing).push(dir);
    }
    if (present.length > 0) {
      const watcher = this.#watchFs(present);
      this.#watcher = watcher;
      this.#watched = present;
      this.#consume(watcher);
    }
    return missing;
  }

  /** Stop watching; a batch not yet handed on is dropped. */
  close(): void {
    clearTimeout(this.#batch);
    this.#batch = undefined;
    this.#pending = emptyTouched();
    const watcher = this.#watcher;
    this.#watcher = undefined;
    this.#watched = [];
    try {
      watcher?.close();
    } catch {
      // already closed
    }
  }

  async #consume(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const ev of watcher) {
        // Events still queued when it was closed (or reopened) are not ours.
        if (this.#watcher !== watcher) break;
        if (ev.flag === "rescan") {
          this.#events.rescan("file events were lost (event queue overflow)");
          continue;
        }
        for (const path of ev.paths) this.#note(path);
      }
    } catch (e) {
      if (this.#watcher === watcher) {
        this.#events.rescan(`the file watcher failed: ${errorMessage(e)}`);
      }
    }
  }

  #note(path: string): void {
    if (this.#watched.includes(path)) {
      this.#events.rescan(`folder ${path} was removed or renamed`);
      return;
    }
    const dir = dirname(path);
    const name = basename(path);
    let any = false;
    for (const folder of FOLDERS) {
      if (this.#dirs[folder] !== dir || !isListed(folder, name)) continue;
      this.#pending[folder].add(name);
      any = true;
    }
    if (any && this.#batch === undefined) {
      this.#batch = setTimeout(() => this.#flush(), BATCH_MS);
    }
  }

  #flush(): void {
    this.#batch = undefined;
    const touched = this.#pending;
    this.#pending = emptyTouched();
    this.#events.touched(touched);
  }
}

/** No names in any folder. */
export function emptyTouched(): Touched {
  return {
    conversations: new Set(),
    recordings: new Set(),
    leads: new Set(),
  };
}
