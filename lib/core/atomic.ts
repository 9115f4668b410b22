/**
 * Crash-safe file writes: a kill or power loss at any instant leaves either
 * the old content or the new, never a torn file. What is written is private
 * ({@link PRIVATE_FILE}) unless asked otherwise, and no link is followed.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import {
  MODES_APPLY,
  openNoFollow,
  PRIVATE_FILE,
  type SafeFile,
  withHandle,
} from "./safe_fs.ts";

const encoder = new TextEncoder();

/**
 * Write `text` to `path` via a temp file in the same folder: write, `sync()`,
 * rename over the target (a link there is replaced, never followed; on
 * Windows a reader holding the target is waited out), then sync the folder
 * so the rename is durable. The file gets `mode` (default
 * {@link PRIVATE_FILE}) whatever the umask.
 */
export async function writeFileAtomic(
  path: string,
  text: string,
  mode: number = PRIVATE_FILE,
): Promise<void> {
  const tmp = await writeSyncedTemp(path, text, mode);
  try {
    await renameOver(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dirname(path));
}

/**
 * How long {@link renameOver} keeps trying on Windows while the target is
 * held open by a program that did not allow its deletion.
 */
const RENAME_PATIENCE_MS = 5_000;

/**
 * `Deno.rename(from, to)`, replacing `to`. On Windows a rename over a file
 * that another program holds open without sharing deletion (a virus scan, a
 * backup, a reader on a file system without POSIX rename semantics, any
 * reader under Wine) fails for as long as it is held: retry for up to
 * {@link RENAME_PATIENCE_MS}, then throw. Elsewhere, and for a missing
 * folder, the first error stands.
 */
export async function renameOver(from: string, to: string): Promise<void> {
  const deadline = Date.now() + RENAME_PATIENCE_MS;
  for (let wait = 5;; wait = Math.min(wait * 2, 100)) {
    try {
      return Deno.renameSync(from, to);
    } catch (e) {
      const retry = Deno.build.os === "windows" &&
        !(e instanceof Deno.errors.NotFound) && Date.now() < deadline;
      if (!retry) throw e;
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * The first half of {@link writeFileAtomic}, for writers that commit many
 * files with one folder sync: write `text` to a new temp file beside `path`
 * and `sync()` it. Resolves to the temp file's path; renaming it over `path`
 * and syncing the folder is the caller's. On failure no temp file is left.
 *
 * @example
 * ```ts
 * const tmp = await writeSyncedTemp("/state/a.uploaded", "{}");
 * await renameOver(tmp, "/state/a.uploaded");
 * await syncDir("/state");
 * ```
 */
export async function writeSyncedTemp(
  path: string,
  text: string,
  mode: number = PRIVATE_FILE,
): Promise<string> {
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`,
  );
  try {
    await withHandle(await openNoFollow(tmp, "create"), async (file) => {
      if (mode !== PRIVATE_FILE && MODES_APPLY) await file.chmod(mode);
      await writeAll(file, encoder.encode(text));
      await file.sync();
    });
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  return tmp;
}

/**
 * Append one line to a journal file and `sync()` it; the file is created
 * private, and a link in its place is refused. Readers skip a torn last line
 * (power loss mid-append); the journal's owner ends such a line before
 * appending again.
 */
export function appendLine(path: string, line: string): Promise<void> {
  return appendLines(path, [line]);
}

/**
 * Append `lines` to a journal file in one write and one `datasync()` (a
 * group commit), as {@link appendLine} does for one.
 */
export async function appendLines(
  path: string,
  lines: readonly string[],
): Promise<void> {
  await withHandle(await openNoFollow(path, "append"), async (file) => {
    await writeAll(file, encoder.encode(lines.join("\n") + "\n"));
    await file.datasync();
  });
}

async function writeAll(file: SafeFile, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += (await file.write(bytes, at, bytes.length - at)).bytesWritten;
  }
}

/** Make a rename in `dir` durable (a no-op where folders cannot be synced). */
export async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  using d = Deno.openSync(dir, { read: true });
  await d.sync();
}
