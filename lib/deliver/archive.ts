/**
 * Opt-in archiving (`ARCHIVE_DIR`): once a set is delivered (and its record
 * written), move its conversation, recording and lead into
 * `ARCHIVE_DIR/YYYY/MM/DD/` (the call's day), keeping their names.
 *
 * A move is a rename, atomic within one filesystem: a crash leaves each file
 * in exactly one place. Across filesystems it is copy to a temp name, sync,
 * rename into place, then remove the source; a crash between the last two
 * steps leaves an identical copy in both places, and the next run completes
 * the move by removing the source after comparing the bytes.
 *
 * The archive holds the same personal data as the bot's folders: it and its
 * day folders are created 0700, and an archive others may enter is made
 * private, with one log line.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { syncDir } from "../core/atomic.ts";
import {
  makePrivateDir,
  openNoFollow,
  type SafeFile,
  tightenFolder,
  withHandle,
} from "../core/safe_fs.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../core/log.ts";
import type { DeliveredEntry, StateStore } from "../state/store.ts";
import { errorMessage } from "../core/errors.ts";

/** Move the files of delivered sets old enough; returns how many moved. */
export async function archiveDelivered(
  cfg: Config,
  store: StateStore,
  log: Logger,
): Promise<number> {
  const archiveDir = cfg.archiveDir!;
  const cutoff = Date.now() - cfg.archiveAfterDays * 86_400_000;
  const present = {
    conversations: await listNames(cfg.conversationsDir),
    recordings: await listNames(cfg.recordingsDir),
    leads: await listNames(cfg.leadsDir),
  };
  await makeArchivePrivate(archiveDir, log);
  let moved = 0;
  const swept = new Set<string>();
  for (const [set, entry] of store.delivered) {
    const day = dayOf(entry.callId);
    if (entry.at > cutoff || !day) continue;
    const files = filesStillThere(cfg, present, set, entry);
    const dayDir = join(archiveDir, day);
    if (files.length > 0 && !swept.has(dayDir)) {
      await removePartials(dayDir);
      swept.add(dayDir);
    }
    for (const src of files) {
      if (await tryMove(src, join(dayDir, basename(src)), log)) moved++;
    }
  }
  if (moved > 0) log.info(`Archived ${moved} files to ${archiveDir}`);
  return moved;
}

/** Create `ARCHIVE_DIR` private, or make an existing one private. */
async function makeArchivePrivate(dir: string, log: Logger): Promise<void> {
  try {
    await makePrivateDir(dir);
    const t = await tightenFolder(dir, { files: false });
    if (t) {
      log.warn(
        `Made ARCHIVE_DIR ${dir} private (it was 0${
          t.was.toString(8)
        }): it holds transcripts, recordings and leads`,
      );
    }
  } catch (e) {
    log.warn(`Cannot make ARCHIVE_DIR ${dir} private: ${errorMessage(e)}`);
  }
}

/** Names listed in each of the three folders. */
type Present = Record<"conversations" | "recordings" | "leads", Set<string>>;

/** The paths of a delivered set's files that are still in the bot's folders. */
function filesStillThere(
  cfg: Config,
  present: Present,
  set: string,
  entry: DeliveredEntry,
): string[] {
  return [
    set !== entry.recording && present.conversations.has(set)
      ? join(cfg.conversationsDir, set)
      : undefined,
    entry.recording && present.recordings.has(entry.recording)
      ? join(cfg.recordingsDir, entry.recording)
      : undefined,
    entry.lead && present.leads.has(entry.lead)
      ? join(cfg.leadsDir, entry.lead)
      : undefined,
  ].filter((f) => f !== undefined);
}

/** Move one file; a failure is logged and retried next run. */
async function tryMove(
  src: string,
  dst: string,
  log: Logger,
): Promise<boolean> {
  try {
    await moveFile(src, dst);
    return true;
  } catch (e) {
    log.warn(
      `Could not archive ${src}: ${errorMessage(e)}; will try again next run`,
    );
    return false;
  }
}

/**
 * Where the archive keeps file `name` of the call `callId`, if the archive
 * is on (`ARCHIVE_DIR/YYYY/MM/DD/name`).
 */
export function archivedPath(
  cfg: Pick<Config, "archiveDir">,
  callId: string,
  name: string,
): string | undefined {
  const day = dayOf(callId);
  return cfg.archiveDir && day ? join(cfg.archiveDir, day, name) : undefined;
}

/** `YYYY/MM/DD` from a call id `CALL-YYYYMMDD-…`. */
function dayOf(callId: string): string | undefined {
  const m = /^CALL-(\d{4})(\d{2})(\d{2})-/.exec(callId);
  return m ? `${m[1]}/${m[2]}/${m[3]}` : undefined;
}

async function listNames(dir: string): Promise<Set<string>> {
  const names = new Set<string>();
  try {
    for await (const e of Deno.readDir(dir)) names.add(e.name);
  } catch {
    // a missing folder has nothing to archive
  }
  return names;
}

/**
 * Move `src` to `dst` so that a crash at any point can be completed by
 * calling this again (after removing stale `*.partial-<pid>` copies from the
 * target folder). Throws when a different file of that name is already
 * archived.
 */
export async function moveFile(src: string, dst: string): Promise<void> {
  if (!(await Deno.lstat(src)).isFile) {
    throw new Error(`${src} is not a regular file (a link?); not archived`);
  }
  await makePrivateDir(dirname(dst));
  const there = await Deno.stat(dst).catch(() => undefined);
  if (there) {
    // An earlier move copied the file but was killed before removing the source.
    if (!(await sameBytes(src, dst))) {
      throw new Error(
        `${dst} already exists with other content; left both in place`,
      );
    }
    await Deno.remove(src);
    return;
  }
  try {
    await Deno.rename(src, dst);
  } catch (e) {
    if (!isCrossDevice(e)) throw e;
    const tmp = `${dst}.partial-${Deno.pid}`;
    await copyNoFollow(src, tmp);
    await Deno.rename(tmp, dst);
    await syncDir(dirname(dst));
    await Deno.remove(src);
    return;
  }
  await syncDir(dirname(dst));
}

/** Remove the copies a killed run left half-written in `dir`. */
async function removePartials(dir: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(dir)) {
      if (/\.partial-\d+$/.test(e.name)) await Deno.remove(join(dir, e.name));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

function isCrossDevice(e: unknown): boolean {
  return e instanceof Error &&
    /EXDEV|cross-device/i.test(`${(e as { code?: string }).code} ${e.message}`);
}

/**
 * Copy the regular file `src` (never through a link) to a new private file
 * `dst`, synced.
 */
async function copyNoFollow(src: string, dst: string): Promise<void> {
  await withHandle(await openNoFollow(src, "read"), async (from) => {
    await withHandle(await openNoFollow(dst, "create"), async (to) => {
      const buf = new Uint8Array(1 << 20);
      for (let at = 0;;) {
        const n = await readFull(from, buf, at);
        if (n === 0) break;
        for (let w = 0; w < n;) {
          w += (await to.write(buf, w, n - w)).bytesWritten;
        }
        at += n;
      }
      await to.sync();
    });
  });
}

/** Whether two regular files (neither read through a link) hold the same bytes. */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const fa = await openNoFollow(a, "read");
  return await withHandle(fa, async () => {
    const fb = await openNoFollow(b, "read");
    return await withHandle(fb, () => sameContent(fa, fb));
  });
}

async function sameContent(fa: SafeFile, fb: SafeFile): Promise<boolean> {
  const [sa, sb] = await Promise.all([fa.stat(), fb.stat()]);
  if (sa.size !== sb.size) return false;
  const ba = new Uint8Array(1 << 16);
  const bb = new Uint8Array(1 << 16);
  for (let at = 0;;) {
    const na = await readFull(fa, ba, at);
    const nb = await readFull(fb, bb, at);
    if (na !== nb) return false;
    if (na === 0) return true;
    for (let i = 0; i < na; i++) if (ba[i] !== bb[i]) return false;
    at += na;
  }
}

/** Fill `buf` from `position`; fewer bytes only at the end of the file. */
async function readFull(
  f: SafeFile,
  buf: Uint8Array,
  position: number,
): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const { bytesRead } = await f.read(buf, n, buf.length - n, position + n);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return n;
}
