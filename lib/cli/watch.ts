/**
 * `callsync watch`: the long-running service. Wires the watch engine to
 * what reports on it — the heartbeat, `--metrics-listen`, `--serve` — and
 * to the stop signals: the first stops taking sets, lets the requests in
 * flight finish for at most `--stop-timeout`, records the outcome and exits
 * 0; a second exits at once (safe: a kill repeats at most the requests in
 * flight, under the same keys).
 *
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import { EXIT } from "../core/exit.ts";
import type { Logger } from "../core/log.ts";
import { WatchEngine } from "../deliver/watch.ts";
import { serve, serveOptions } from "../dashboard/server.ts";
import { pingTransport } from "../report/healthcheck.ts";
import { startHeartbeat } from "../report/heartbeat.ts";
import {
  Histogram,
  LATENCY_BUCKETS,
  renderWatchMetrics,
} from "../report/metrics.ts";
import { serveMetrics } from "../report/metrics_server.ts";
import type { CommandContext } from "./context.ts";
import { onStopSignals, writeStderrLine } from "./signals.ts";

/** `watch`: see the module doc. Resolves when stopped. */
export async function watchCommand(
  ctx: CommandContext<"watch">,
): Promise<number> {
  const { cfg, log } = ctx;
  const stop = new AbortController();
  const removeListeners = onStopSignals(() => {
    log.info(
      `Stopping: no new sets; waiting up to ${cfg.stopTimeoutSeconds} s for those in flight (Ctrl-C again to stop now)`,
    );
    stop.abort();
  }, () => {
    log.warn("Stopping now");
    Deno.exit(130);
  });
  try {
    const latency = new Histogram(LATENCY_BUCKETS);
    const engine = await WatchEngine.start({
      cfg,
      log,
      signal: stop.signal,
      onDelivered: (seconds) => latency.observe(seconds),
    });
    if (!engine) return EXIT.ok;
    const services = startServices(ctx, engine, latency);
    try {
      await aborted(stop.signal);
    } finally {
      await services.close();
      const left = await engine.stop(cfg.stopTimeoutSeconds * 1000);
      stopped(log, left);
    }
    return EXIT.ok;
  } finally {
    removeListeners();
  }
}

/** The heartbeat, metrics endpoint and dashboard asked for. */
function startServices(
  ctx: CommandContext<"watch">,
  engine: WatchEngine,
  latency: Histogram,
): { close(): Promise<void> } {
  const { cfg, log, cli } = ctx;
  const status = () => engine.status();
  const pings = cfg.healthcheckUrl ? pingTransport(cfg) : undefined;
  const heartbeat = cfg.healthcheckUrl && pings
    ? startHeartbeat(
      cfg.healthcheckUrl,
      cfg.heartbeatMinutes,
      status,
      log,
      pings,
    )
    : undefined;
  const metrics = cfg.metricsListen
    ? serveMetrics(
      cfg.metricsListen,
      () =>
        renderWatchMetrics(
          status(),
          { version: denoJson.version, latency },
          Date.now(),
        ),
      log,
    )
    : undefined;
  const dashboard = cli.serve
    ? serve(cfg, log, {
      ...serveOptions(cli, Deno.env.toObject()),
      echo: writeStderrLine,
      retry: (_log, target) => engine.retry(target),
      watching: true,
    })
    : undefined;
  return {
    async close() {
      heartbeat?.stop();
      pings?.close();
      await metrics?.close();
      await dashboard?.close();
    },
  };
}

function stopped(log: Logger, left: number): void {
  if (left > 0) {
    log.warn(
      `Stopped with ${left} sets still in flight: their requests are repeated, under the same keys, by the next run`,
    );
  } else {
    log.info("Stopped");
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
