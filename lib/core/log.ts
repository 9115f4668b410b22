/**
 * Log lines in the original design's format
 * (`2025-10-29 12:30:00 [INFO] Processing: …`) or one JSON object per line.
 * Lines go to standard error, written synchronously so a kill never leaves
 * half a line, and in order.
 *
 * @module
 */
import { localDateTime } from "./time.ts";

/** Severity of a log line. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Log line format. */
export type LogFormat = "text" | "json";

/** Extra structured fields; shown in JSON lines only. */
export type LogFields = Record<string, string | number | boolean | undefined>;

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const LABEL: Record<LogLevel, string> = {
  debug: "DEBUG",
  info: "INFO",
  warn: "WARNING",
  error: "ERROR",
};

/** Options of a {@link Logger}. */
export interface LoggerOptions {
  format: LogFormat;
  /** Least severe level written. */
  level: LogLevel;
  /** Zone of the text timestamps. */
  timezone: string;
  /** Where lines go; standard error by default. */
  sink?: (line: string) => void;
  /** Secrets to mask wherever they appear. */
  secrets?: string[];
  /**
   * The sink is a terminal a person watches: {@link Logger.status} may keep
   * a live status line under the log lines.
   */
  interactive?: boolean;
}

/** Writes log lines. */
export class Logger {
  #opts: LoggerOptions;
  #sink: (line: string) => void;
  #status = "";

  constructor(opts: LoggerOptions) {
    this.#opts = opts;
    this.#sink = opts.sink ?? writeStderr;
  }

  /** Log at debug level (shown with `-v`). */
  debug(msg: string, fields?: LogFields): void {
    this.#log("debug", msg, fields);
  }
  /** Log at info level (hidden with `-q`). */
  info(msg: string, fields?: LogFields): void {
    this.#log("info", msg, fields);
  }
  /** Log a warning. */
  warn(msg: string, fields?: LogFields): void {
    this.#log("warn", msg, fields);
  }
  /** Log an error. */
  error(msg: string, fields?: LogFields): void {
    this.#log("error", msg, fields);
  }

  #log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] < RANK[this.#opts.level]) return;
    const now = Date.now();
    const line = this.#opts.format === "json"
      ? JSON.stringify({
        time: new Date(now).toISOString(),
        level,
        msg,
        ...fields,
      })
      : `${localDateTime(now, this.#opts.timezone)} [${LABEL[level]}] ${msg}`;
    if (this.#status) writeRaw("\r\x1b[K");
    this.#sink(this.#mask(line));
    if (this.#status) writeRaw(this.#status);
  }

  /**
   * Show (or with `undefined`, clear) a live status line below the log, on an
   * interactive terminal only; elsewhere this does nothing.
   */
  status(text: string | undefined): void {
    if (!this.#opts.interactive) return;
    let width = 80;
    try {
      width = Deno.consoleSize().columns;
    } catch {
      // not a terminal after all
    }
    this.#status = text ? text.slice(0, width - 1) : "";
    writeRaw("\r\x1b[K" + this.#status);
  }

  #mask(line: string): string {
    let out = line;
    for (const s of this.#opts.secrets ?? []) {
      if (s) out = out.replaceAll(s, "***");
    }
    return out;
  }
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  writeRaw(line + "\n");
}

function writeRaw(text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stderr.writeSync(bytes.subarray(written));
  }
}
