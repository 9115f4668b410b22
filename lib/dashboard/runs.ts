/**
 * Runs started from the dashboard ("Run now"): one at a time, in this
 * process, each with its log lines captured for the page to follow, the last
 * few remembered while the dashboard runs.
 *
 * @module
 */
import { type Config, configSecrets } from "../config/config.ts";
import type { RunView } from "./model.ts";
import { Logger } from "../core/log.ts";
import { EXIT } from "../core/exit.ts";
import { runAndReport } from "../report/after_run.ts";
import { crmTransport, type Transport } from "../deliver/transport.ts";
import { toUtcIso } from "../core/time.ts";
import { errorMessage } from "../core/errors.ts";

/** Log lines kept per dashboard run. */
const MAX_RUN_LINES = 5000;
/** Dashboard runs remembered. */
const MAX_RUNS = 20;

/** The CRM settings a run needs that `cfg` lacks, by variable name. */
export function missingUploadSettings(cfg: Config): string[] {
  const need: [string, string][] = [
    ["CRM_UPLOAD_URL", cfg.uploadUrl],
    ["CRM_CALL_DATA_URL", cfg.callDataUrl],
    ["DEFAULT_CAMPAIGN_ID", cfg.campaignId],
    ["DEFAULT_VOICE_AGENT_ID", cfg.voiceAgentId],
    ["DEFAULT_CLIENT_ID", cfg.clientId],
  ];
  return need.filter(([, v]) => !v).map(([k]) => k);
}

/** Options of {@link DashboardRuns}. */
export interface DashboardRunsOptions {
  /** The dashboard token, masked in the runs' log lines. */
  token?: string;
  /** Also hand each log line of a run here (e.g. to stderr). */
  echo?: (line: string) => void;
  /** `callsync watch` in this process holds the run lock (`watch --serve`). */
  watching?: boolean;
}

interface RunEntry {
  view: RunView;
  done: Promise<void>;
}

/** The runs started from the dashboard. */
export class DashboardRuns {
  #cfg: Config;
  #log: Logger;
  #opts: DashboardRunsOptions;
  #runs = new Map<string, RunEntry>();
  #seq = 0;
  #current?: RunEntry;
  /** The CRM connections, kept alive from one run to the next. */
  #transport: Transport;

  /** `log` gets a line when a run starts and when it ends. */
  constructor(cfg: Config, log: Logger, opts: DashboardRunsOptions) {
    this.#cfg = cfg;
    this.#log = log;
    this.#opts = opts;
    this.#transport = crmTransport(cfg);
  }

  /** Close the CRM connections (call once no run is going). */
  close(): void {
    this.#transport.close();
  }

  /** The run going now, if any. */
  get current(): RunView | undefined {
    return this.#current?.view;
  }

  /** The run started last, if any. */
  latest(): RunView | undefined {
    return [...this.#runs.values()].at(-1)?.view;
  }

  /** A remembered run by id. */
  get(id: string): RunView | undefined {
    return this.#runs.get(id)?.view;
  }

  /** Resolves once no run is going. */
  idle(): Promise<void> {
    return this.#current?.done ?? Promise.resolve();
  }

  /** Start a run now (the caller checks none is going); its view updates. */
  start(): RunView {
    const cfg = this.#cfg;
    const id = String(++this.#seq);
    const view: RunView = {
      id,
      state: "running",
      startedAt: toUtcIso(Date.now()),
      message: "running",
      lines: [],
      linesDropped: 0,
    };
    const runLog = new Logger({
      format: "text",
      level: "info",
      timezone: cfg.timezone,
      secrets: [...configSecrets(cfg), this.#opts.token ?? ""].filter(Boolean),
      sink: (line) => {
        if (view.lines.length < MAX_RUN_LINES) view.lines.push(line);
        else view.linesDropped++;
        this.#opts.echo?.(line);
      },
    });
    this.#log.info(`Run ${id} started from the dashboard`);
    const done = (async () => {
      try {
        await this.#run(view, runLog);
      } catch (e) {
        view.state = "error";
        view.endedAt = toUtcIso(Date.now());
        view.message = `the run failed: ${errorMessage(e)}`;
        runLog.error(view.message);
      } finally {
        this.#current = undefined;
        this.#log.info(`Run ${id} from the dashboard: ${view.message}`);
      }
    })();
    const entry: RunEntry = { view, done };
    this.#current = entry;
    this.#runs.set(id, entry);
    while (this.#runs.size > MAX_RUNS) {
      this.#runs.delete(this.#runs.keys().next().value!);
    }
    return view;
  }

  /** One pass, as `callsync run` does it; says how it went in `view`. */
  async #run(view: RunView, runLog: Logger): Promise<void> {
    const report = await runAndReport({
      cfg: this.#cfg,
      log: runLog,
      transport: this.#transport,
    });
    view.endedAt = toUtcIso(report.endedMs);
    view.exitCode = report.exitCode;
    view.delivered = report.delivered;
    view.failed = report.failed;
    if (report.skipped) {
      view.state = "skipped";
      view.message = this.#opts.watching
        ? "callsync watch in this process holds the run lock and delivers each call as it completes; nothing to run"
        : `another callsync run (pid ${
          report.lockHolder?.pid ?? "unknown"
        }) holds the run lock, probably cron; nothing was done — try again when it ends`;
      return;
    }
    view.state = "finished";
    view.message = report.exitCode === EXIT.fatal
      ? "stopped by a fatal error (see the log)"
      : `${report.delivered} delivered, ${report.failed} failed${
        report.exitCode === EXIT.ok ? "" : " (they will be retried)"
      }`;
  }
}
