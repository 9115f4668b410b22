/**
 * Remembered folder listings, so an idle run over years of delivered calls
 * does not list 300,000 names again when nothing was added or removed.
 *
 * A folder's modification and change times move whenever an entry is
 * created, removed or renamed in it (not when a file in it is written to: the
 * files still to read are read again on every run anyway), and its change
 * time (ctime) also moves when anyone sets its mtime back, which no program
 * can undo. So a run may reuse the names the last listing kept when the
 * folder's times and identity are the same as then, provided both times were
 * already at least {@link SETTLED_MS} older than the listing: a change made
 * after the listing started then necessarily gives the folder a later time,
 * even on file systems (and a Deno) with whole-second timestamps. Every
 * listing older than {@link MAX_AGE_MS} is redone regardless, which bounds the
 * delay should a file system not keep folder times at all.
 *
 * A listing keeps only the names not yet delivered, so it stays valid only
 * while the delivered sets only grow: the cache records how many there were
 * when it was written, and a run that finds fewer (records deleted so that
 * sets are sent again) lists every folder.
 *
 * The file `callsync-listing.json` in `PROCESSED_DIR` is only a shortcut:
 * missing, torn or stale, it is ignored and rewritten.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic.ts";
import { readTextNoFollow } from "../core/safe_fs.ts";

/** How long a folder must have been unchanged before a listing of it is reused. */
export const SETTLED_MS = 2_000;
/** A listing older than this is never reused. */
export const MAX_AGE_MS = 60 * 60 * 1000;

/** What one listing of a folder kept. */
export interface CachedListing {
  /** The folder's mtime (epoch ms), taken just before it was listed. */
  mtimeMs: number;
  /** The folder's ctime (epoch ms) then, where the platform has one. */
  ctimeMs: number | null;
  /** The folder's identity (`dev:ino`), so a replaced folder is listed anew. */
  id: string;
  /** Epoch ms when the listing started. */
  listedAt: number;
  /** How many names matched the folder's pattern. */
  names: number;
  /** The names that were not skipped then (skipped ones stay skipped). */
  todo: string[];
}

/** The folder facts a listing is checked against. */
export interface FolderStamp {
  mtimeMs: number;
  ctimeMs: number | null;
  id: string;
}

const FILE = "callsync-listing.json";
const VERSION = 2;

/** The stamp of a folder from its `Deno.stat`, or undefined if it has no mtime. */
export function stampOf(st: Deno.FileInfo): FolderStamp | undefined {
  if (!st.mtime) return undefined;
  return {
    mtimeMs: st.mtime.getTime(),
    ctimeMs: st.ctime?.getTime() ?? null,
    id: `${st.dev}:${st.ino ?? ""}`,
  };
}

/**
 * Whether `cached` still describes the folder whose stamp is now `stamp`.
 *
 * @example
 * ```ts
 * const stamp = { mtimeMs: 1_000, ctimeMs: 1_000, id: "1:2" };
 * const listed = { ...stamp, listedAt: 10_000, names: 0, todo: [] };
 * isReusable(listed, stamp, 20_000); // true
 * isReusable(listed, { ...stamp, ctimeMs: 9_000 }, 20_000); // false: changed
 * ```
 */
export function isReusable(
  cached: CachedListing,
  stamp: FolderStamp,
  nowMs: number,
): boolean {
  return cached.mtimeMs === stamp.mtimeMs &&
    cached.ctimeMs === stamp.ctimeMs &&
    cached.id === stamp.id &&
    Math.max(cached.mtimeMs, cached.ctimeMs ?? -Infinity) <=
      cached.listedAt - SETTLED_MS &&
    nowMs >= cached.listedAt &&
    nowMs - cached.listedAt < MAX_AGE_MS;
}

/** The remembered listings of one `PROCESSED_DIR`, by folder path. */
export class ListingCache {
  readonly #path: string;
  readonly #listings = new Map<string, CachedListing>();
  readonly #delivered: number;
  #changed = false;

  private constructor(path: string, delivered: number) {
    this.#path = path;
    this.#delivered = delivered;
  }

  /**
   * Load the cache of `processedDir` for a run that starts with `delivered`
   * sets delivered. Anything unreadable, or written when more sets were
   * delivered than now, is an empty cache.
   */
  static async load(
    processedDir: string,
    delivered: number,
  ): Promise<ListingCache> {
    const cache = new ListingCache(join(processedDir, FILE), delivered);
    try {
      const data = JSON.parse(await readTextNoFollow(cache.#path));
      if (
        data?.version === VERSION && typeof data.folders === "object" &&
        typeof data.delivered === "number" && data.delivered <= delivered
      ) {
        for (const [dir, l] of Object.entries(data.folders)) {
          if (isListing(l)) cache.#listings.set(dir, l);
        }
      }
    } catch {
      // No cache, or a torn one: every folder is listed.
    }
    return cache;
  }

  /** Reuse nothing this run (fresh listings are still remembered). */
  reset(): void {
    this.#listings.clear();
    this.#changed = true;
  }

  /** The listing of `dir` if it may be reused now. */
  reusable(
    dir: string,
    stamp: FolderStamp,
    nowMs: number,
  ): CachedListing | undefined {
    const cached = this.#listings.get(dir);
    return cached && isReusable(cached, stamp, nowMs) ? cached : undefined;
  }

  /** Remember a fresh listing of `dir`. */
  remember(dir: string, listing: CachedListing): void {
    this.#listings.set(dir, listing);
    this.#changed = true;
  }

  /** Write the cache if a folder was listed anew (atomically). */
  async save(): Promise<void> {
    if (!this.#changed) return;
    await writeFileAtomic(
      this.#path,
      JSON.stringify({
        version: VERSION,
        delivered: this.#delivered,
        folders: Object.fromEntries(this.#listings),
      }),
    );
    this.#changed = false;
  }
}

function isListing(v: unknown): v is CachedListing {
  const l = v as CachedListing;
  return typeof l === "object" && l !== null &&
    typeof l.mtimeMs === "number" && typeof l.id === "string" &&
    (typeof l.ctimeMs === "number" || l.ctimeMs === null) &&
    typeof l.listedAt === "number" && typeof l.names === "number" &&
    Array.isArray(l.todo) && l.todo.every((n) => typeof n === "string");
}
