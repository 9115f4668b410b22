import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { isHeld, LOCK_FILE, tryRunLock } from "../../lib/state/lock.ts";
import { StateError } from "../../lib/state/store.ts";
import { withTempDir } from "../../testing/fixtures.ts";

/** Runs `fn` with a fresh temp dir, removed afterwards. */
const withDir = (fn: (dir: string) => Promise<void>) =>
  withTempDir("callsync-lock-", fn);

Deno.test("tryRunLock() takes a free lock and writes its pid", async () => {
  await withDir(async (dir) => {
    const lock = await tryRunLock(dir);
    try {
      ok(isHeld(lock));
      equal(
        (await Deno.readTextFile(join(dir, LOCK_FILE))).trim(),
        String(Deno.pid),
      );
    } finally {
      if (isHeld(lock)) lock.release();
    }
  });
});

Deno.test("tryRunLock() while the lock is held in this process is busy with the holder's pid", async () => {
  await withDir(async (dir) => {
    const first = await tryRunLock(dir);
    ok(isHeld(first));
    try {
      const second = await tryRunLock(dir);
      ok(!isHeld(second), "a second run must not get in");
      deepStrictEqual(second, { pid: Deno.pid });
      // The failed attempt closed its own handle; that must not free the lock.
      ok(!isHeld(await tryRunLock(dir)), "still held after a failed attempt");
    } finally {
      first.release();
    }
  });
});

Deno.test("a released lock can be taken again, and release twice is harmless", async () => {
  await withDir(async (dir) => {
    const first = await tryRunLock(dir);
    ok(isHeld(first));
    first.release();
    first.release();
    {
      const second = await tryRunLock(dir);
      if (!isHeld(second)) throw new Error("not free after release");
      using _held = second;
    }
    // `using` released it at the end of the block.
    const third = await tryRunLock(dir);
    ok(isHeld(third), "free after dispose");
    third.release();
  });
});

Deno.test("a lock held by a process killed with SIGKILL is free again", async () => {
  await withDir(async (dir) => {
    const lockModule = new URL("../../lib/state/lock.ts", import.meta.url).href;
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
    const reader = child.stdout.getReader();
    let killed = false;
    try {
      let out = "";
      const decoder = new TextDecoder();
      while (!out.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += decoder.decode(value, { stream: true });
      }
      equal(out.trim(), "locked", "the child took the lock");

      const busy = await tryRunLock(dir);
      ok(!isHeld(busy), "held by the child");
      equal(busy.pid, child.pid, "busy names the child's pid");

      child.kill("SIGKILL");
      killed = true;
      const status = await child.status;
      equal(status.signal, "SIGKILL");

      const lock = await tryRunLock(dir);
      ok(isHeld(lock), "the kernel freed the lock when the child died");
      lock.release();
    } finally {
      if (!killed) {
        child.kill("SIGKILL");
        await child.status;
      }
      await reader.cancel();
    }
  });
});

Deno.test("tryRunLock() refuses a symlinked lock file and never writes through it", async () => {
  await withDir(async (dir) => {
    const victim = join(dir, "victim.conf");
    await Deno.writeTextFile(victim, "FIRST LINE OF ANOTHER PROGRAM'S FILE\n");
    await Deno.symlink(victim, join(dir, LOCK_FILE));
    await rejects(
      tryRunLock(dir),
      (e: unknown) =>
        e instanceof StateError &&
        /symbolic link.*never follows a link in PROCESSED_DIR: remove it/
          .test(e.message),
    );
    equal(
      await Deno.readTextFile(victim),
      "FIRST LINE OF ANOTHER PROGRAM'S FILE\n",
    );
  });
});

Deno.test({
  name: "tryRunLock() creates the lock file 0600 whatever the umask",
  ignore: Deno.build.os === "windows",
  async fn() {
    await withDir(async (dir) => {
      const before = Deno.umask(0o000);
      try {
        const lock = await tryRunLock(dir);
        ok(isHeld(lock));
        lock.release();
      } finally {
        Deno.umask(before);
      }
      equal((await Deno.stat(join(dir, LOCK_FILE))).mode! & 0o777, 0o600);
    });
  },
});
