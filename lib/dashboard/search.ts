/**
 * Searching the dashboard's lists by state, text and phone number. The page's
 * script applies the same rules to the rows' `data-search` and `data-digits`
 * attributes as you type; the server applies them to `?state=&q=`.
 *
 * @module
 */
import type { DashboardRow, RecentDelivery } from "./model.ts";

/** What a listed row is searched in (also its data attributes). */
export interface SearchKeys {
  /** Lowercased names and ids. */
  text: string;
  /** Phone digits, space separated. */
  digits: string;
}

/** A filter of the lists: a state (or "" for all) and a search query. */
export interface RowFilter {
  state: string;
  q: string;
}

/**
 * Does a row match the search `q`? Text is matched as a substring, case
 * insensitive; a query that looks like a phone number (digits, spaces,
 * `+ ( ) . -`, at least 3 digits) also matches the row's digits, so
 * `+91 86550 66243` finds `number-_918655066243-….ogg`.
 */
export function matchesQuery(text: string, digits: string, q: string): boolean {
  const query = q.trim().toLowerCase();
  if (!query) return true;
  if (text.includes(query)) return true;
  const qd = query.replace(/\D/g, "");
  return qd.length >= 3 && /^[\d\s+().-]+$/.test(query) && digits.includes(qd);
}

/** Does a row in `state` with these keys pass the filter? */
export function matchesFilter(
  state: string,
  keys: SearchKeys,
  filter: RowFilter,
): boolean {
  return (!filter.state || state === filter.state) &&
    matchesQuery(keys.text, keys.digits, filter.q);
}

/** Lowercased text a row is searched in. */
function searchText(parts: (string | undefined)[]): string {
  return parts.filter(Boolean).join(" ").toLowerCase();
}

/** The caller's digits in a recording's name (`number-_<digits>-<epoch>.ogg`). */
function recordingDigits(name: string | undefined): string | undefined {
  return name?.match(/\d{5,15}(?=-\d{9,11}\.ogg$)/i)?.[0];
}

/** The search keys of a not-delivered row. */
export function rowKeys(r: DashboardRow): SearchKeys {
  return {
    text: searchText([
      r.name,
      r.conversation,
      r.recording,
      r.lead,
      r.callId,
      r.phone,
    ]),
    digits: [r.phone, recordingDigits(r.recording)].filter(Boolean).join(" "),
  };
}

/** The search keys of a recent delivery. */
export function recentKeys(r: RecentDelivery): SearchKeys {
  return {
    text: searchText([r.set, r.callId, r.recordingFile, r.leadFile]),
    digits: [
      recordingDigits(r.recordingFile),
      recordingDigits(r.set),
      r.callId.replace(/\D/g, "").slice(-5),
    ].filter(Boolean).join(" "),
  };
}

/** Rows matching the filter (state and search). */
export function filterRows(
  rows: readonly DashboardRow[],
  filter: RowFilter,
): DashboardRow[] {
  return rows.filter((r) => matchesFilter(r.state, rowKeys(r), filter));
}
