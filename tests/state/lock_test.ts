import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import {
  isHeld,
  LOCK_FILE,
  PID_FILE,
  tryRunLock,
} from "../../lib/state/lock.ts";
import { StateError } from "../../lib/state/store.ts";
import { withTempDir } from "../../testing/fixtures.ts";
import { holdRunLock } from "../../testing/lock.ts";
import {
  FILE_MODES,
  killHard,
  SYMLINKS,
  testOn,
} from "../../testing/platform.ts";

/** Runs `fn` with a fresh temp dir, removed afterwards. */
const withDir = (fn: (dir: string) => Promise<void>) =>
  withTempDir("callsync-lock-", fn);

const pidFileText = (dir: string) => Deno.readTextFile(join(dir, PID_FILE));

Deno.test("tryRunLock() takes a free lock and names its holder in callsync.pid, not in the lock file", async () => {
  await withDir(async (dir) => {
    const lock = await tryRunLock(dir);
    try {
      ok(isHeld(lock));
      equal((await pidFileText(dir)).trim(), String(Deno.pid));
      // Windows locks are mandatory: nobody else could read this file.
      equal((await Deno.stat(join(dir, LOCK_FILE))).size, 0);
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
    equal((await pidFileText(dir)).trim(), "", "no holder named once released");
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

Deno.test("a lock held by another process names it, and is free again once that process is killed", async () => {
  await withDir(async (dir) => {
    await using holder = await holdRunLock(dir);
    const busy = await tryRunLock(dir);
    ok(!isHeld(busy), "held by the child");
    equal(busy.pid, holder.pid, "busy names the child's pid");

    const kill = await killHard(holder.child);
    ok(kill.landed, `killed while it held the lock: ${JSON.stringify(kill)}`);

    const lock = await tryRunLock(dir);
    ok(isHeld(lock), "the kernel freed the lock when the child died");
    equal((await pidFileText(dir)).trim(), String(Deno.pid));
    lock.release();
  });
});

for (const name of [LOCK_FILE, PID_FILE]) {
  Deno.test(testOn(SYMLINKS, {
    name:
      `tryRunLock() refuses a symlinked ${name} and never writes through it`,
    async fn() {
      await withDir(async (dir) => {
        const victim = join(dir, "victim.conf");
        await Deno.writeTextFile(
          victim,
          "FIRST LINE OF ANOTHER PROGRAM'S FILE\n",
        );
        await Deno.symlink(victim, join(dir, name));
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
        await Deno.remove(join(dir, name));
        const lock = await tryRunLock(dir);
        ok(isHeld(lock), "the refused attempt left no lock behind");
        lock.release();
      });
    },
  }));
}

Deno.test(testOn(FILE_MODES, {
  name: "tryRunLock() creates the lock and pid files 0600 whatever the umask",
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
      for (const name of [LOCK_FILE, PID_FILE]) {
        equal((await Deno.stat(join(dir, name))).mode! & 0o777, 0o600, name);
      }
    });
  },
}));
