/**
 * Crash-safe file writes: a kill or power loss at any instant leaves either
 * the old content or the new, never a torn file.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

const encoder = new TextEncoder();

/**
 * Write `text` to `path` via a temp file in the same folder: write, `sync()`,
 * rename over the target, then sync the folder so the rename is durable.
 */
export async function writeFileAtomic(
  path: string,
  text: string,
): Promise<void> {
  const dir = dirname(path);
  const tmp = join(
    dir,
    `.${basename(path)}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`,
  );
  try {
    using file = await Deno.open(tmp, { write: true, createNew: true });
    await writeAll(file, encoder.encode(text));
    await file.sync();
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await Deno.rename(tmp, path);
  await syncDir(dir);
}

/**
 * Append one line to a journal file and `sync()` it. Readers skip a torn
 * last line (power loss mid-append); the journal's owner ends such a line
 * before appending again.
 */
export async function appendLine(path: string, line: string): Promise<void> {
  using file = await Deno.open(path, { append: true, create: true });
  await writeAll(file, encoder.encode(line + "\n"));
  await file.syncData();
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await file.write(bytes.subarray(written));
  }
}

/** Make a rename in `dir` durable (a no-op where folders cannot be synced). */
export async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  using d = await Deno.open(dir, { read: true });
  await d.sync();
}
