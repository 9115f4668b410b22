/**
 * One run at a time: an exclusive lock on `PROCESSED_DIR/callsync.lock`,
 * taken with `FsFile.tryLock`, so the kernel frees it when the process dies,
 * even by `kill -9`. Nobody ever needs to clean up a stale lock.
 *
 * @module
 */
import { join } from "node:path";
import {
  NotRegularFileError,
  openNoFollow,
  readTextNoFollow,
  sameFile,
  withHandle,
} from "../core/safe_fs.ts";
import { StateError } from "./store.ts";
import { errorMessage } from "../core/errors.ts";

/** A held run lock; release it (or exit) to let the next run in. */
export interface RunLock extends Disposable {
  release(): void;
}

/** The lock is held by another process. */
export interface LockBusy {
  /** The holder's pid as it wrote it, if it could be read. */
  pid?: number;
}

/** The lock file's name inside `PROCESSED_DIR`. */
export const LOCK_FILE = "callsync.lock";

/**
 * Try to take the run lock without waiting. Resolves to the lock, or to
 * {@link LockBusy} when another run holds it; throws {@link StateError} when
 * the lock file cannot be opened (a read-only `PROCESSED_DIR`).
 */
export async function tryRunLock(dir: string): Promise<RunLock | LockBusy> {
  const path = join(dir, LOCK_FILE);
  let file: Deno.FsFile;
  try {
    file = await openLockFile(path);
  } catch (e) {
    throw new StateError(
      `cannot open the run lock ${path}: ${errorMessage(e)}${
        e instanceof NotRegularFileError
          ? "; callsync never follows a link in PROCESSED_DIR: remove it"
          : ""
      }`,
    );
  }
  if (!(await file.tryLock(true))) {
    file.close();
    return { pid: await readPid(path) };
  }
  try {
    // Overwrite in place, fixed width: the file is never seen empty again.
    await file.seek(0, Deno.SeekMode.Start);
    await file.write(new TextEncoder().encode(`${Deno.pid}`.padEnd(15) + "\n"));
  } catch {
    // The pid is only a courtesy for the skipped run's log line; a full disk
    // is reported by the first state write.
  }
  const release = () => {
    try {
      file.close();
    } catch {
      // already closed
    }
  };
  return { release, [Symbol.dispose]: release };
}

/**
 * The lock file, created private or vetted as a regular file without
 * following a link, then opened again as a `Deno.FsFile` (only that can be
 * locked) and refused if the path was swapped in between.
 */
async function openLockFile(path: string): Promise<Deno.FsFile> {
  const vetted = await withHandle(
    await openNoFollow(path, "update"),
    (h) => h.stat(),
  );
  const file = await Deno.open(path, { read: true, write: true });
  if (!sameFile(await file.stat(), vetted)) {
    file.close();
    throw new NotRegularFileError(`${path} was replaced while being opened`);
  }
  return file;
}

/** True when {@link tryRunLock} got the lock. */
export function isHeld(lock: RunLock | LockBusy): lock is RunLock {
  return "release" in lock;
}

async function readPid(path: string): Promise<number | undefined> {
  // A brand-new lock file is empty until its holder writes the pid.
  for (let tries = 0; tries < 20; tries++) {
    try {
      const pid = parseInt(await readTextNoFollow(path), 10);
      if (Number.isFinite(pid)) return pid;
    } catch {
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}
