/**
 * Build and inspect real file trees for tests, the demo and benchmarks.
 *
 * @module
 */
import { join } from "node:path";

/**
 * Copy a folder tree; with `mtimeMs`, give every copied file that mtime.
 */
export async function copyTree(
  from: string,
  to: string,
  mtimeMs?: number,
): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory) {
      await copyTree(src, dst, mtimeMs);
    } else if (e.isFile) {
      await Deno.copyFile(src, dst);
      if (mtimeMs !== undefined) {
        await Deno.utime(dst, mtimeMs / 1000, mtimeMs / 1000);
      }
    }
  }
}

/** Every file below `dir` with its bytes' SHA-256, by path relative to `dir`. */
export async function fingerprintTree(
  dir: string,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (sub: string) => {
    for await (const e of Deno.readDir(join(dir, sub))) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory) await walk(rel);
      else if (e.isFile) {
        const hash = await crypto.subtle.digest(
          "SHA-256",
          await Deno.readFile(join(dir, rel)),
        );
        out.set(
          rel,
          Array.from(
            new Uint8Array(hash),
            (b) => b.toString(16).padStart(2, "0"),
          ).join(""),
        );
      }
    }
  };
  await walk("");
  return out;
}
