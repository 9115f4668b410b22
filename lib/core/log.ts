/**
 * Log lines in the original design's format
 * (`2025-10-29 12:30:00 [INFO] Processing: …`) or one JSON object per line.
 * Lines go to standard error, written synchronously so a kill never leaves
 * half a line, and in order. Secrets are masked before a line is encoded
 * (see `redact.ts`), and a text line shows control characters escaped, so
 * a file name cannot forge a line or drive the terminal.
 *
 * @module
 */
import { redactor } from "./redact.ts";
import { escapeControls, escapeJsonControls } from "./terminal.ts";
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
  /** Secrets to mask wherever they appear (see `redact.ts`). */
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
  #redact: (text: string) => string;
  #status = "";

  constructor(opts: LoggerOptions) {
    this.#opts = opts;
    this.#sink = opts.sink ?? writeStderr;
    this.#redact = redactor(opts.secrets ?? []);
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
    const text = this.#redact(msg);
    const line = this.#opts.format === "json"
      ? escapeJsonControls(JSON.stringify({
        time: new Date(now).toISOString(),
        level,
        msg: text,
        ...this.#redactFields(fields),
      }))
      : `${localDateTime(now, this.#opts.timezone)} [${LABEL[level]}] ${
        escapeControls(text)
      }`;
    if (this.#status) writeRaw("\r\x1b[K");
    this.#sink(line);
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

  #redactFields(fields: LogFields | undefined): LogFields | undefined {
    if (!fields) return undefined;
    const out: LogFields = {};
    for (const [k, v] of Object.entries(fields)) {
      out[k] = typeof v === "string" ? this.#redact(v) : v;
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
