/**
 * One run at a time: an exclusive lock on `PROCESSED_DIR/callsync.lock`,
 * taken with `FsFile.tryLock`, so the kernel frees it when the process dies,
 * even by `kill -9` or TerminateProcess. Nobody ever needs to clean up a
 * stale lock.
 *
 * The holder's pid goes into `callsync.pid` beside it, never into the lock
 * file: on Windows the lock is mandatory (`LockFileEx` over the whole file),
 * so no other process could read a pid kept there.
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

/** The file naming the lock's holder, inside `PROCESSED_DIR`. */
export const PID_FILE = "callsync.pid";

/** Fixed width, so an overwrite in place never leaves a longer pid's tail. */
const WIDTH = 15;

const encoder = new TextEncoder();

/**
 * Try to take the run lock without waiting. Resolves to the lock, or to
 * {@link LockBusy} when another run holds it; throws {@link StateError} when
 * the lock file cannot be opened (a read-only `PROCESSED_DIR`).
 */
export async function tryRunLock(dir: string): Promise<RunLock | LockBusy> {
  const file = await openStateFile(join(dir, LOCK_FILE));
  if (!(await file.tryLock(true))) {
    file.close();
    return { pid: await readPid(join(dir, PID_FILE)) };
  }
  let pidFile: Deno.FsFile;
  try {
    pidFile = await openStateFile(join(dir, PID_FILE));
  } catch (e) {
    file.close();
    throw e;
  }
  writeAt(pidFile, `${Deno.pid}`);
  const release = () => {
    // Blank, so the run that takes the lock next is not named by our pid
    // before it writes its own (after a kill the old pid stays that long).
    writeAt(pidFile, "");
    close(pidFile);
    close(file);
  };
  return { release, [Symbol.dispose]: release };
}

/**
 * {@link openLockFile}, with its failure as a {@link StateError} naming the
 * path.
 */
async function openStateFile(path: string): Promise<Deno.FsFile> {
  try {
    return await openLockFile(path);
  } catch (e) {
    throw new StateError(
      `cannot open the run lock ${path}: ${errorMessage(e)}${
        e instanceof NotRegularFileError
          ? "; callsync never follows a link in PROCESSED_DIR: remove it"
          : ""
      }`,
    );
  }
}

/**
 * A file of the run lock, created private or vetted as a regular file
 * without following a link, then opened again as a `Deno.FsFile` (only that
 * can be locked, and written in place synchronously on release) and refused
 * if the path was swapped in between.
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

/**
 * Overwrite the file's start in place with `text`, padded to {@link WIDTH}:
 * one small write, never seen half done. Failures are ignored: the pid is
 * only a courtesy for the skipped run's log line, and a full disk is
 * reported by the first state write.
 */
function writeAt(file: Deno.FsFile, text: string): void {
  try {
    file.seekSync(0, Deno.SeekMode.Start);
    file.writeSync(encoder.encode(text.padEnd(WIDTH) + "\n"));
  } catch {
    // see above
  }
}

function close(file: Deno.FsFile): void {
  try {
    file.close();
  } catch {
    // already closed
  }
}

async function readPid(path: string): Promise<number | undefined> {
  // The holder writes its pid just after taking the lock: until then the
  // file is missing or blank.
  for (let tries = 0; tries < 20; tries++) {
    try {
      const pid = parseInt(await readTextNoFollow(path), 10);
      if (Number.isFinite(pid)) return pid;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) return undefined;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}
