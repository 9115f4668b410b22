/**
 * The after-run step both `callsync run` and the dashboard's Run now use:
 * pings around the pass, the metrics file after it (not after a pass skipped
 * for another run's lock).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../lib/config/config.ts";
import { Logger } from "../../lib/core/log.ts";
import { runAndReport } from "../../lib/report/after_run.ts";
import { parseMetrics } from "../../lib/report/metrics.ts";
import { isHeld, tryRunLock } from "../../lib/state/lock.ts";
import { crmEnv, ROOT } from "../../testing/cli.ts";
import { FakeCrm } from "../../testing/fake_crm.ts";
import { FIXTURE_SETS, tempDir } from "../../testing/fixtures.ts";
import { copyTree } from "../../testing/tree.ts";

const QUIET = new Logger({
  format: "text",
  level: "error",
  timezone: "UTC",
  sink() {},
});

async function setup() {
  const dir = await tempDir("callsync-after-run-");
  await copyTree(join(ROOT, "fixtures"), dir.path, Date.now() - 86_400_000);
  const crm = FakeCrm.start();
  const pings: string[] = [];
  const health = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      pings.push(new URL(req.url).pathname);
      return new Response("OK");
    },
  );
  const cfg = await loadConfig({
    flags: {},
    env: crmEnv(crm, {
      METRICS_FILE: join(dir.path, "callsync.prom"),
      HEALTHCHECK_URL: `http://127.0.0.1:${health.addr.port}/ping/abc`,
    }),
    baseDir: dir.path,
    requireUpload: true,
  });
  return {
    cfg,
    pings,
    async [Symbol.asyncDispose]() {
      await health.shutdown();
      await crm.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("runAndReport() pings start and the exit code around the pass and writes the metrics", async () => {
  await using t = await setup();
  const report = await runAndReport({ cfg: t.cfg, log: QUIET });
  assert.equal(report.exitCode, 0);
  assert.equal(report.delivered, FIXTURE_SETS.length);
  assert.deepEqual(t.pings, ["/ping/abc/start", "/ping/abc/0"]);
  const metrics = parseMetrics(await Deno.readTextFile(t.cfg.metricsFile!));
  assert.equal(
    metrics.get('callsync_sets{state="delivered"}'),
    FIXTURE_SETS.length,
  );
  assert.equal(metrics.get("callsync_last_exit_code"), 0);
});

Deno.test("runAndReport() skipped for another run's lock: pings, says who holds it, writes no metrics", async () => {
  await using t = await setup();
  await Deno.mkdir(t.cfg.processedDir);
  const lock = await tryRunLock(t.cfg.processedDir);
  assert.ok(isHeld(lock));
  try {
    const report = await runAndReport({ cfg: t.cfg, log: QUIET });
    assert.equal(report.skipped, true);
    assert.equal(report.lockHolder?.pid, Deno.pid);
  } finally {
    lock.release();
  }
  assert.deepEqual(t.pings, ["/ping/abc/start", "/ping/abc/0"]);
  await assert.rejects(
    () => Deno.stat(t.cfg.metricsFile!),
    Deno.errors.NotFound,
  );
});
