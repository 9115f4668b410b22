/**
 * A pass with what reports on it: the health-check pings around it and the
 * metrics file after it. `callsync run` and the dashboard's Run now both go
 * through here, so both are seen alike by monitoring.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { errorMessage } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { runOnce, type RunOptions, type RunReport } from "../deliver/run.ts";
import { ping, pingTransport } from "./healthcheck.ts";
import { writeMetrics } from "./metrics.ts";

/**
 * Ping `<HEALTHCHECK_URL>/start`, run one pass, write `METRICS_FILE` (unless
 * the pass was skipped for another run's lock), then ping
 * `<HEALTHCHECK_URL>/<exit code>`. Neither a failed ping nor a failed metrics
 * write changes the run's outcome; both are logged.
 */
export async function runAndReport(opts: RunOptions): Promise<RunReport> {
  const { cfg, log } = opts;
  using pings = pingTransport(cfg);
  if (cfg.healthcheckUrl) await ping(cfg.healthcheckUrl, "start", log, pings);
  const report = await runOnce(opts);
  if (cfg.metricsFile && !report.skipped) {
    await writeRunMetrics(cfg.metricsFile, report, log);
  }
  if (cfg.healthcheckUrl) {
    await ping(cfg.healthcheckUrl, String(report.exitCode), log, pings);
  }
  return report;
}

async function writeRunMetrics(
  path: NonNullable<Config["metricsFile"]>,
  report: RunReport,
  log: Logger,
): Promise<void> {
  try {
    await writeMetrics(path, {
      ...report,
      counts: report.counts ??
        { delivered: 0, pending: 0, waiting: 0, failed: 0 },
    });
  } catch (e) {
    log.error(`Cannot write METRICS_FILE ${path}: ${errorMessage(e)}`);
  }
}
