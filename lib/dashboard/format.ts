/**
 * Values as the dashboard pages show them to people: local times, ages,
 * sizes, run outcomes, links to set pages.
 *
 * @module
 */
import { localDate, localDateTime } from "../core/time.ts";

/** Epoch milliseconds as local date and time; nothing for none. */
export function when(ms: number | undefined, timezone: string): string {
  return ms === undefined || !Number.isFinite(ms)
    ? ""
    : localDateTime(ms, timezone);
}

/** An ISO-8601 time as local date and time; nothing for none. */
export function whenIso(iso: string | undefined, timezone: string): string {
  return iso ? when(Date.parse(iso), timezone) : "";
}

/** `YYYY-MM-DD` today in `timezone` (the chart's last day). */
export function today(now: number, timezone: string): string {
  return localDate(now, timezone);
}

/** A duration for people: `42 s`, `5 min`, `3 h 12 min`, `2 d 4 h`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** A file size: `512 B`, `3.4 KB`, `1.25 MB`; nothing for none. */
export function formatBytes(n: number | undefined): string {
  if (n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

/** `n` rounded to two decimals. */
export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** A length in seconds, two decimals at most: `12.35 s`; nothing for none. */
export function formatSeconds(n: number | undefined): string {
  return n === undefined ? "" : `${round2(n)} s`;
}

/** A difference with its sign: `+1.5`, `-0.25`, `0`. */
export function signed(n: number): string {
  return `${n > 0 ? "+" : ""}${round2(n)}`;
}

/** Link to a set's page. */
export function setHref(name: string): string {
  return `/sets/${encodeURIComponent(name)}`;
}

/** How a finished run went, in words, from its exit code. */
export function outcomeText(exitCode: number): string {
  switch (exitCode) {
    case 0:
      return "OK";
    case 1:
      return "some sets failed";
    case 3:
      return "fatal error";
    default:
      return `exit code ${exitCode}`;
  }
}

/** The CSS class of a run outcome: `ok`, `warn` or `bad`. */
export function outcomeClass(exitCode: number): string {
  return exitCode === 0 ? "ok" : exitCode === 1 ? "warn" : "bad";
}
