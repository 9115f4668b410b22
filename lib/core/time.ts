/**
 * Time conversions between the naive local timestamps a voice bot writes and
 * the absolute instants callsync sends. Uses Temporal, built into Deno 2.9.
 *
 * @module
 */

/** Thrown when a timestamp cannot be read. */
export class TimestampError extends Error {
  override name = "TimestampError";
}

const HAS_OFFSET = /(?:[zZ]|[+-]\d{2}:?\d{2})$/;

/**
 * Convert a timestamp to epoch milliseconds. A naive timestamp (no `Z` or
 * offset) is wall-clock time in `zone`; one with an offset is absolute.
 *
 * @example
 * ```ts
 * toEpochMs("2025-10-29T06:49:07.351452", "UTC"); // 1761720547351
 * toEpochMs("2025-10-29T12:19:07+05:30", "UTC"); // same instant as 06:49:07Z
 * ```
 */
export function toEpochMs(text: string, zone: string): number {
  const trimmed = text.trim().replace(" ", "T");
  try {
    if (HAS_OFFSET.test(trimmed)) {
      return Temporal.Instant.from(trimmed).epochMilliseconds;
    }
    return Temporal.PlainDateTime.from(trimmed)
      .toZonedDateTime(zone, { disambiguation: "compatible" })
      .epochMilliseconds;
  } catch {
    throw new TimestampError(
      `"${text}" is not an ISO-8601 timestamp (expected e.g. 2025-10-29T06:49:07.351452)`,
    );
  }
}

/**
 * Every instant (epoch ms, ascending) that `text` can mean in `zone`: one,
 * or two when the zone repeats that wall-clock time (the hour after a
 * daylight-saving fall-back). A time with an offset or `Z` is absolute; a
 * naive time the zone skips (spring forward) has one reading, moved forward
 * as {@linkcode toEpochMs} does.
 *
 * @example
 * ```ts
 * localReadings("2026-11-01T01:30:00", "America/New_York");
 * // [Date.UTC(2026, 10, 1, 5, 30), Date.UTC(2026, 10, 1, 6, 30)]
 * localReadings("2026-11-01T03:30:00", "America/New_York"); // one reading
 * ```
 *
 * @throws {TimestampError} When `text` is not an ISO-8601 date-time.
 */
export function localReadings(text: string, zone: string): number[] {
  const trimmed = text.trim().replace(" ", "T");
  try {
    if (HAS_OFFSET.test(trimmed)) {
      return [Temporal.Instant.from(trimmed).epochMilliseconds];
    }
    const plain = Temporal.PlainDateTime.from(trimmed);
    const earlier = plain.toZonedDateTime(zone, { disambiguation: "earlier" });
    const later = plain.toZonedDateTime(zone, { disambiguation: "later" });
    // In a gap both name a wall time the clock never showed: keep the later.
    const repeated = earlier.toPlainDateTime().equals(plain) &&
      later.toPlainDateTime().equals(plain) &&
      earlier.epochMilliseconds !== later.epochMilliseconds;
    return repeated
      ? [earlier.epochMilliseconds, later.epochMilliseconds]
      : [later.epochMilliseconds];
  } catch {
    throw new TimestampError(
      `"${text}" is not an ISO-8601 timestamp (expected e.g. 2025-10-29T06:49:07.351452)`,
    );
  }
}

/** UTC ISO-8601 with millisecond precision and `Z`, e.g. `2025-10-29T06:49:07.351Z`. */
export function toUtcIso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function zoned(epochMs: number, zone: string): Temporal.ZonedDateTime {
  return Temporal.Instant.fromEpochMilliseconds(Math.floor(epochMs))
    .toZonedDateTimeISO(zone);
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** `YYYYMMDD-HHMMSS` of an instant in `zone`, as used in call ids. */
export function compactLocal(epochMs: number, zone: string): string {
  const t = zoned(epochMs, zone);
  return `${t.year}${pad(t.month)}${pad(t.day)}-${pad(t.hour)}${pad(t.minute)}${
    pad(t.second)
  }`;
}

/** `YYYY-MM-DD` of an instant in `zone`. */
export function localDate(epochMs: number, zone: string): string {
  const t = zoned(epochMs, zone);
  return `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`;
}

/** `YYYY-MM-DD HH:MM:SS` of an instant in `zone`, as in log lines. */
export function localDateTime(epochMs: number, zone: string): string {
  const t = zoned(epochMs, zone);
  return `${localDate(epochMs, zone)} ${pad(t.hour)}:${pad(t.minute)}:${
    pad(t.second)
  }`;
}

/** Start of the day `YYYY-MM-DD` in `zone`, as epoch milliseconds. */
export function startOfLocalDay(date: string, zone: string): number {
  return Temporal.PlainDate.from(date).toZonedDateTime({ timeZone: zone })
    .epochMilliseconds;
}

/** The host's IANA time zone. */
export function hostZone(): string {
  return Temporal.Now.timeZoneId();
}

/** True when `zone` is an IANA time zone Temporal knows. */
export function isValidZone(zone: string): boolean {
  try {
    Temporal.Now.zonedDateTimeISO(zone);
    return true;
  } catch {
    return false;
  }
}
