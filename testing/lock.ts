/**
 * Another process holding the run lock, for tests of what a run, the
 * dashboard or `retry` does beside it.
 *
 * @module
 */
import { killHard } from "./platform.ts";

/** A child process that holds the run lock of one `PROCESSED_DIR`. */
export interface LockHolder extends AsyncDisposable {
  child: Deno.ChildProcess;
  pid: number;
}

/**
 * Start a child Deno that takes the run lock on `dir` (which must exist) and
 * holds it for a minute; resolves once it holds it. Disposing kills it.
 */
export async function holdRunLock(dir: string): Promise<LockHolder> {
  const lockModule = new URL("../lib/state/lock.ts", import.meta.url).href;
  const code = `
    import { isHeld, tryRunLock } from ${JSON.stringify(lockModule)};
    const lock = await tryRunLock(${JSON.stringify(dir)});
    console.log(isHeld(lock) ? "locked" : "busy");
    await new Promise((resolve) => setTimeout(resolve, 60_000));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  await reader.cancel();
  if (out.trim() !== "locked") {
    await killHard(child);
    throw new Error(`the child did not take the lock: ${out.trim()}`);
  }
  return {
    child,
    pid: child.pid,
    [Symbol.asyncDispose]: async () => void await killHard(child),
  };
}
