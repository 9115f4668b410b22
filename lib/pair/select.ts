/**
 * `--since`, `--until` and `--only`: restrict a run (and `plan`) to some
 * sets; the others are left untouched.
 *
 * @module
 */
import type { CallSet } from "./plan.ts";
import { startOfLocalDay } from "../core/time.ts";

/** Which sets to work on; empty means all. */
export interface Selection {
  /** First day (YYYY-MM-DD, in the zone) of call starts to include. */
  since?: string;
  /** Last day (YYYY-MM-DD, in the zone) of call starts to include. */
  until?: string;
  /** Set names, or the conversation, recording or lead file names of sets. */
  only: string[];
}

/**
 * A predicate for the sets a selection takes.
 *
 * @example
 * ```ts
 * const take = selector({ since: "2025-10-29", only: [] }, "UTC");
 * take({ name: "x.json", startMs: Date.UTC(2025, 9, 28, 23, 59) } as CallSet); // false
 * ```
 */
export function selector(
  sel: Selection,
  timezone: string,
): (set: CallSet) => boolean {
  const from = sel.since ? startOfLocalDay(sel.since, timezone) : -Infinity;
  const to = sel.until ? nextDay(sel.until, timezone) : Infinity;
  const names = new Set(sel.only);
  return (set) => {
    if (set.startMs < from || set.startMs >= to) return false;
    if (names.size === 0) return true;
    return [
      set.name,
      set.conversation?.name,
      set.recording?.name,
      set.lead?.name,
    ]
      .some((n) => n !== undefined && names.has(n));
  };
}

/** True when the selection restricts anything. */
export function isSelective(sel: Selection): boolean {
  return sel.since !== undefined || sel.until !== undefined ||
    sel.only.length > 0;
}

function nextDay(date: string, timezone: string): number {
  return startOfLocalDay(
    Temporal.PlainDate.from(date).add({ days: 1 }).toString(),
    timezone,
  );
}
