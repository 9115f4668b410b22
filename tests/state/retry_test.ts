import assert from "node:assert/strict";
import { loadConfig } from "../../lib/config/config.ts";
import { Logger } from "../../lib/core/log.ts";
import { isHeld, tryRunLock } from "../../lib/state/lock.ts";
import { retrySets } from "../../lib/state/retry.ts";
import { StateStore } from "../../lib/state/store.ts";
import { withTempDir } from "../../testing/fixtures.ts";

const QUIET = new Logger({
  format: "text",
  level: "error",
  timezone: "UTC",
  sink() {},
});

async function setup(dir: string) {
  const cfg = await loadConfig({
    flags: {},
    env: { TIMEZONE: "UTC" },
    baseDir: dir,
    requireUpload: false,
  });
  await Deno.mkdir(cfg.processedDir);
  const store = await StateStore.open(cfg.processedDir, QUIET);
  await store.saveProgress({
    set: "failed.json",
    attempts: 3,
    failed: true,
    last_error: "HTTP 503",
    recording_url: "https://crm.example/r.ogg",
  });
  await store.saveProgress({
    set: "backoff.json",
    attempts: 1,
    next_attempt_at: Date.now() + 60_000,
  });
  return cfg;
}

Deno.test("retrySets('failed') makes every failed set due again and keeps its uploaded recording", async () => {
  await withTempDir("callsync-retry-", async (dir) => {
    const cfg = await setup(dir);
    const result = await retrySets(cfg, QUIET, "failed");
    assert.deepEqual(result, { scheduled: ["failed.json"], skipped: [] });
    const store = await StateStore.open(cfg.processedDir, QUIET);
    const p = store.progress.get("failed.json")!;
    assert.equal(p.attempts, 0);
    assert.equal(p.failed, false);
    assert.equal(p.recording_url, "https://crm.example/r.ogg");
    assert.equal(store.progress.get("backoff.json")!.attempts, 1);
  });
});

Deno.test("retrySets(names) also revives a set waiting out a backoff, and says why others were skipped", async () => {
  await withTempDir("callsync-retry-", async (dir) => {
    const cfg = await setup(dir);
    const result = await retrySets(cfg, QUIET, ["backoff.json", "new.json"]);
    assert.deepEqual(result.scheduled, ["backoff.json"]);
    assert.deepEqual(result.skipped, [
      { name: "new.json", reason: "no failed attempt" },
    ]);
    const store = await StateStore.open(cfg.processedDir, QUIET);
    assert.equal(
      store.progress.get("backoff.json")!.next_attempt_at,
      undefined,
    );
  });
});

Deno.test("retrySets() changes nothing while a run holds the lock", async () => {
  await withTempDir("callsync-retry-", async (dir) => {
    const cfg = await setup(dir);
    const lock = await tryRunLock(cfg.processedDir);
    assert.ok(isHeld(lock));
    try {
      const result = await retrySets(cfg, QUIET, "failed");
      assert.equal(result.busy?.pid, Deno.pid);
      assert.deepEqual(result.scheduled, []);
    } finally {
      lock.release();
    }
    const store = await StateStore.open(cfg.processedDir, QUIET);
    assert.equal(store.progress.get("failed.json")!.failed, true);
  });
});
