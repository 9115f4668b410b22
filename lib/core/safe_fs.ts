/**
 * Opening files without following links, and keeping what callsync writes
 * private.
 *
 * - {@link openNoFollow} opens a regular file and nothing else. The path is
 *   checked with `lstat` first (a link or a FIFO is refused before anything
 *   is opened), opened with `O_NONBLOCK` (a FIFO swapped in meanwhile cannot
 *   hang the open), and the handle is refused unless it holds the very file
 *   the path named (device and inode): a swap between the check and the open
 *   is caught, not read or written. `O_NOFOLLOW` is passed too, but cannot be
 *   relied on: under granular permissions (`--allow-read`, as the compiled
 *   binary runs) Deno resolves an existing link before opening, so the flag
 *   only holds under `-A`; and Windows has neither flag.
 * - Files opened for writing are made `0600` through the handle, folders made
 *   with {@link makePrivateDir} `0700`, whatever the umask. (On Windows, modes
 *   are not permissions: a folder's ACL, inherited from its parent, decides.)
 *
 * `Deno.open` follows links and cannot be given these flags, so this opens
 * with `node:fs` and hands out a {@link SafeFile}: it reads at a position (a
 * retry reads the same bytes again) and changes modes by descriptor. Its
 * calls return promises, but all of them except `sync()` and `datasync()`
 * are made at once on the calling thread: on a local disk an `open`,
 * `fstat`, `read` or `write` takes microseconds, while a trip through Deno's
 * pool for blocking calls costs ≈ 50 µs of its own, several times the call
 * (BENCHMARKS.md, section 11). Only the syncs, which wait for the disk, go
 * through the pool.
 *
 * @example
 * ```ts
 * const h = await openNoFollow("processed_uploads/callsync-journal.jsonl", "append");
 * try {
 *   await h.write(new TextEncoder().encode("{}\n"));
 * } finally {
 *   await h.close();
 * }
 * ```
 *
 * @module
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fdatasync,
  fstatSync,
  fsync,
  openSync,
  readSync,
  type Stats,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { concatBytes } from "./bytes.ts";

/** Mode of every file callsync writes in its state and archive folders. */
export const PRIVATE_FILE = 0o600;
/** Mode of `PROCESSED_DIR`, `ARCHIVE_DIR` and the archive's day folders. */
export const PRIVATE_DIR = 0o700;

/** Modes are permissions here (not on Windows). */
export const MODES_APPLY: boolean = Deno.build.os !== "windows";

/** A path that is a symlink, or not a regular file, where one was required. */
export class NotRegularFileError extends Error {
  override name = "NotRegularFileError";
}

/** What a file is opened for. */
export type OpenPurpose =
  /** Read only. */
  | "read"
  /** Append to it, creating it (private) if missing. */
  | "append"
  /** Read and write it in place, creating it (private) if missing. */
  | "update"
  /** Create it (private); fails if anything is already there. */
  | "create";

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const NONBLOCK = constants.O_NONBLOCK ?? 0;
// O_NONBLOCK changes nothing for a regular file; a FIFO cannot block the open.
const FLAGS: Record<OpenPurpose, number> = {
  read: constants.O_RDONLY | NONBLOCK,
  append: constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT |
    NONBLOCK,
  update: constants.O_RDWR | constants.O_CREAT | NONBLOCK,
  create: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL |
    NONBLOCK,
};

/**
 * Open the regular file at `path` for `purpose` without following a link.
 * `checked` is what an `lstat` of `path` just said, when the caller has it.
 * Rejects with {@link NotRegularFileError} for a symlink, a FIFO or anything
 * else that is not a regular file, or a file swapped while being opened;
 * with `Deno.errors.NotFound` or `Deno.errors.PermissionDenied` as
 * `Deno.open` would. A file opened to write is made {@link PRIVATE_FILE}.
 *
 * Without `checked`, a regular file replaced by another between the check
 * and the open (an atomic write landing: a run saving a record the
 * dashboard reads) is checked and opened again, up to
 * {@link REOPEN_TRIES} times; a link is refused at once.
 */
export function openNoFollow(
  path: string,
  purpose: OpenPurpose,
  checked?: FileIdentity,
): Promise<SafeFile> {
  return Promise.try(() => {
    for (let tries = 1;; tries++) {
      try {
        // O_CREAT | O_EXCL fails on anything already there, a link too.
        const before = checked ??
          (purpose === "create" ? undefined : regularOrAbsent(path));
        return openChecked(path, purpose, before);
      } catch (e) {
        if (
          checked || !(e instanceof FileSwappedError) || tries >= REOPEN_TRIES
        ) {
          throw e;
        }
      }
    }
  });
}

/** How often {@link openNoFollow} opens a file replaced meanwhile again. */
const REOPEN_TRIES = 5;

/** The file at a path changed between its check and its open. */
class FileSwappedError extends NotRegularFileError {
  override name = "FileSwappedError";
}

/** {@link openNoFollow} once, with `before` what `lstat` said. */
function openChecked(
  path: string,
  purpose: OpenPurpose,
  before: FileIdentity | undefined,
): SafeFile {
  let fd: number;
  try {
    fd = openSync(path, FLAGS[purpose] | NOFOLLOW, PRIVATE_FILE);
  } catch (e) {
    throw denoError(path, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new NotRegularFileError(`${path} is not a regular file`);
    }
    // A file that was not there before (just created) is checked after.
    const named = before ?? regularOrAbsent(path);
    if (!named || !sameFile(named, st)) {
      throw new FileSwappedError(
        `${path} was replaced (by a link or another file) while being opened`,
      );
    }
    if (
      purpose !== "read" && MODES_APPLY && (st.mode & 0o777) !== PRIVATE_FILE
    ) {
      fchmodSync(fd, PRIVATE_FILE);
    }
    return new SafeFile(fd, st);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * What `lstat` says `path` is: a regular file's identity, or undefined when
 * nothing is there. Throws {@link NotRegularFileError} for a link or
 * anything else.
 */
function regularOrAbsent(path: string): FileIdentity | undefined {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  if (st.isSymlink) {
    throw new NotRegularFileError(`${path} is a symbolic link; not followed`);
  }
  if (!st.isFile) {
    throw new NotRegularFileError(`${path} is not a regular file`);
  }
  return st;
}

/** What a {@link SafeFile}'s `stat()` says: `node:fs`'s `Stats`. */
export type FileStats = Stats;

/**
 * A regular file opened by {@link openNoFollow}: one descriptor, and what
 * `fstat` said of it when it was opened. The shape of `node:fs/promises`'
 * `FileHandle`, as far as callsync uses it; see the module doc for which
 * calls leave the thread. Close it once (again: no effect).
 */
export class SafeFile {
  /** `fstat` of the file as it was opened. */
  readonly opened: FileStats;
  #fd: number;
  #closed = false;

  /** Hold `fd`, which `fstat` described as `opened`. */
  constructor(fd: number, opened: FileStats) {
    this.#fd = fd;
    this.opened = opened;
  }

  /** `fstat` now. */
  stat(): Promise<FileStats> {
    return Promise.try(() => fstatSync(this.#fd));
  }

  /**
   * Read up to `length` bytes into `buf` at `offset`, from `position` (null:
   * where the last read ended).
   */
  read(
    buf: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<{ bytesRead: number }> {
    return Promise.try(() => ({
      bytesRead: readSync(this.#fd, buf, offset, length, position),
    }));
  }

  /** The whole file, from its start. */
  readFile(): Promise<Uint8Array> {
    return Promise.try(() => {
      const parts: Uint8Array[] = [];
      let total = 0;
      for (let size = fstatSync(this.#fd).size + 1;;) {
        const buf = new Uint8Array(size);
        const n = readSync(this.#fd, buf, 0, size, total);
        if (n === 0) break;
        parts.push(buf.subarray(0, n));
        total += n;
        size = 64 * 1024;
      }
      return concatBytes(parts);
    });
  }

  /** Write up to `length` bytes of `buf` from `offset`, where the file is at. */
  write(
    buf: Uint8Array,
    offset: number,
    length: number,
  ): Promise<{ bytesWritten: number }> {
    return Promise.try(() => ({
      bytesWritten: writeSync(this.#fd, buf, offset, length),
    }));
  }

  /** Change the file's mode. */
  chmod(mode: number): Promise<void> {
    return Promise.try(() => fchmodSync(this.#fd, mode));
  }

  /** `fsync`: data and metadata on the disk (through Deno's pool). */
  sync(): Promise<void> {
    return new Promise((done, fail) =>
      fsync(this.#fd, (e) => e ? fail(e) : done())
    );
  }

  /** `fdatasync`: the data on the disk (through Deno's pool). */
  datasync(): Promise<void> {
    return new Promise((done, fail) =>
      fdatasync(this.#fd, (e) => e ? fail(e) : done())
    );
  }

  /** Close the descriptor. */
  close(): Promise<void> {
    return Promise.try(() => {
      if (this.#closed) return;
      this.#closed = true;
      closeSync(this.#fd);
    });
  }
}

/** The whole text of the regular file at `path`, read without following a link. */
export async function readTextNoFollow(path: string): Promise<string> {
  return await withHandle(
    await openNoFollow(path, "read"),
    async (h) => new TextDecoder().decode(await h.readFile()),
  );
}

/** Run `fn` with `handle`, closing it afterwards. */
export async function withHandle<T>(
  handle: SafeFile,
  fn: (handle: SafeFile) => Promise<T>,
): Promise<T> {
  try {
    return await fn(handle);
  } finally {
    await handle.close();
  }
}

/** A file's identity: the device it is on and its number there. */
export interface FileIdentity {
  dev: number;
  ino: number | null;
}

/**
 * Whether two stats describe the same file. Where a platform gives no inode
 * number (`null`), only the device is compared.
 */
export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev &&
    (a.ino === null || b.ino === null || a.ino === b.ino);
}

/**
 * Create `dir` and any missing parents, each created one {@link PRIVATE_DIR}
 * whatever the umask. An existing folder is left as it is.
 */
export async function makePrivateDir(dir: string): Promise<void> {
  try {
    if ((await Deno.stat(dir)).isDirectory) return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const parent = dirname(dir);
  if (parent !== dir) await makePrivateDir(parent);
  try {
    await Deno.mkdir(dir, { mode: PRIVATE_DIR });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return; // made meanwhile
    throw e;
  }
  if (MODES_APPLY) await Deno.chmod(dir, PRIVATE_DIR);
}

/** A `node:fs` error as the `Deno.errors` class `Deno.open` would throw. */
function denoError(path: string, e: unknown): unknown {
  const code = (e as { code?: string }).code;
  const why = e instanceof Error ? e.message : String(e);
  switch (code) {
    case "ELOOP":
      return new NotRegularFileError(
        `${path} is a symbolic link; not followed`,
      );
    case "ENOENT":
      return new Deno.errors.NotFound(why);
    case "EACCES":
    case "EPERM":
      return new Deno.errors.PermissionDenied(why);
    case "EEXIST":
      return new Deno.errors.AlreadyExists(why);
    case "ENXIO":
      // O_NONBLOCK write-open of a FIFO nobody reads.
      return new NotRegularFileError(`${path} is not a regular file`);
    default:
      return e;
  }
}

/** What {@link tightenFolder} changed. */
export interface Tightened {
  /** The folder's mode before. */
  was: number;
  /** Files made {@link PRIVATE_FILE}. */
  files: number;
}

/**
 * Make a folder that others may enter {@link PRIVATE_DIR}, and (with
 * `files`) each regular file in it that others may read {@link PRIVATE_FILE}
 * (links are left alone). A folder already private is not looked into: what
 * it holds is out of others' reach. Resolves to what changed, or undefined
 * when nothing had to; rejects when the folder cannot be changed (another
 * user's).
 */
export async function tightenFolder(
  dir: string,
  opts: { files: boolean },
): Promise<Tightened | undefined> {
  if (!MODES_APPLY) return undefined;
  const was = (await Deno.stat(dir)).mode! & 0o777;
  if ((was & 0o077) === 0) return undefined;
  await Deno.chmod(dir, PRIVATE_DIR);
  let files = 0;
  if (opts.files) {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile) continue;
      const path = join(dir, e.name);
      const mode = (await Deno.lstat(path)).mode! & 0o777;
      if ((mode & 0o077) === 0) continue;
      await Deno.chmod(path, PRIVATE_FILE);
      files++;
    }
  }
  return { was, files };
}
