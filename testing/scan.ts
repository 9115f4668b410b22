/**
 * Scan a bot folder in tests the way a run does, with the defaults a test
 * wants (UTC, nothing skipped).
 *
 * @module
 */
import { join } from "node:path";
import type { ListingCache } from "../lib/source/listing_cache.ts";
import type { Folder } from "../lib/source/files.ts";
import { scan, type ScanResult } from "../lib/source/scan.ts";

/** What {@link scanBase} may skip and remember. */
export interface ScanBaseOptions {
  /** File names to skip, per folder. */
  skip?: Partial<Record<Folder, string[]>>;
  cache?: ListingCache;
}

/** Scan `base`'s `conversations/`, `recordings/` and `leads/` in UTC. */
export function scanBase(
  base: string,
  opts: ScanBaseOptions = {},
): Promise<ScanResult> {
  return scan({
    dirs: {
      conversations: join(base, "conversations"),
      recordings: join(base, "recordings"),
      leads: join(base, "leads"),
    },
    timezone: "UTC",
    skip: {
      conversations: new Set(opts.skip?.conversations),
      recordings: new Set(opts.skip?.recordings),
      leads: new Set(opts.skip?.leads),
    },
    cache: opts.cache,
  });
}
