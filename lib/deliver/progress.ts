/**
 * The live progress line of a run on an interactive terminal: sets done of
 * total, bytes, rate and ETA. Never shown under cron or with JSON logs (the
 * logger decides: see `LoggerOptions.interactive`).
 *
 * @module
 */
import type { Logger } from "../core/log.ts";
import type { CallSet } from "../pair/plan.ts";

/** Tracks a batch of sets and keeps the logger's status line current. */
export class ProgressLine {
  #log: Logger;
  #total: number;
  #totalBytes: number;
  #done = 0;
  #bytes = 0;
  #started = Date.now();

  constructor(log: Logger, batch: readonly CallSet[]) {
    this.#log = log;
    this.#total = batch.length;
    this.#totalBytes = batch.reduce((n, s) => n + bytesOf(s), 0);
    if (this.#total > 0) this.#show();
  }

  /** A set finished (whatever its outcome). */
  done(set: CallSet): void {
    this.#done++;
    this.#bytes += bytesOf(set);
    this.#show();
  }

  /** Remove the line. */
  clear(): void {
    this.#log.status(undefined);
  }

  #show(): void {
    const seconds = Math.max(0.001, (Date.now() - this.#started) / 1000);
    const rate = this.#bytes / seconds;
    const left = this.#totalBytes - this.#bytes;
    const setsPerSecond = this.#done / seconds;
    const eta = rate > 0
      ? left / rate
      : setsPerSecond > 0
      ? (this.#total - this.#done) / setsPerSecond
      : NaN;
    this.#log.status(
      `[${this.#done}/${this.#total} sets] ${mb(this.#bytes)} of ${
        mb(this.#totalBytes)
      }, ${mb(rate)}/s, ETA ${Number.isFinite(eta) ? duration(eta) : "…"}`,
    );
  }
}

function bytesOf(set: CallSet): number {
  return set.progress?.recording_url ? 0 : set.recording?.size ?? 0;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 60
    ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
    : `${s}s`;
}
