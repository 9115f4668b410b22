/**
 * Pure grouping layer: pairs each call's transcript ("conversation") with its
 * recording and attaches leads, from keys already read out of the files.
 *
 * @module
 */

import { assign, type Edge } from "./assign.ts";

/**
 * Largest duration difference, in seconds, between one call's recording and
 * its transcript; a pair further apart than this is never made.
 */
export const DURATION_TOLERANCE_SECONDS = 30;

/**
 * Stands in for the duration term of a pairing's cost when either duration is
 * unknown, so that a pair with matching durations beats an unverifiable one.
 */
const UNKNOWN_DURATION_PENALTY_SECONDS = 5;

/** What the grouping needs to know about one transcript. */
export interface ConversationKey {
  /** File name; unique. */
  name: string;
  /** Call start, unix ms. */
  startMs: number;
  /** Call end, unix ms. */
  endMs?: number;
  /** Call length; when absent, derived from `endMs − startMs`. */
  durationSeconds?: number;
  /** Caller number, digits only. */
  phone?: string;
  /** `<ts>` of `transcript_session_<ts>`. */
  sessionTs?: string;
  /** Session id inside the transcript. */
  sessionId?: string;
  /** The transcript says `lead_generated: true`. */
  leadGenerated: boolean;
}

/** What the grouping needs to know about one Ogg recording. */
export interface RecordingKey {
  /** File name; unique. */
  name: string;
  /** Recording start, unix ms. */
  startMs: number;
  /** Recording length in seconds. */
  durationSeconds?: number;
  /** `false` while still being written: `durationSeconds` is then a lower bound. */
  complete: boolean;
  /** Caller number, digits only. */
  phone?: string;
}

/** What the grouping needs to know about one lead file. */
export interface LeadKey {
  /** File name; unique. */
  name: string;
  /** `leads_session_<ts>.json` ("session") or `lead_YYYYMMDD_HHMMSS.json` ("legacy"). */
  kind: "session" | "legacy";
  /** `<ts>` of `leads_session_<ts>`. */
  sessionTs?: string;
  /** Session id inside the lead. */
  sessionId?: string;
  /** Legacy: the time in the file name, unix ms. */
  timeMs?: number;
  /** Caller number in the lead, digits; a legacy lead never goes to a call with another number. */
  phone?: string;
}

/** A conversation paired with its recording. */
export interface RecordingMatch {
  /** Conversation name. */
  conversation: string;
  /** Recording name. */
  recording: string;
  /** Recording start minus conversation start, seconds. */
  startDiffSeconds: number;
  /** Recording duration minus conversation duration, seconds, when both are known. */
  durationDiffSeconds?: number;
  /** The pairing's cost (lower is better). */
  cost: number;
}

/** A lead attached to a conversation. */
export interface LeadMatch {
  /** Conversation name. */
  conversation: string;
  /** Lead name. */
  lead: string;
  /** Which rule attached it. */
  reason: "session-timestamp" | "session-id" | "nearest-end";
  /** For "nearest-end": lead time minus conversation end, seconds. */
  endDiffSeconds?: number;
}

/** Options for {@linkcode matchRecordings} and {@linkcode matchLeads}. */
export interface MatchOptions {
  /** Largest start-time (recordings) or end-time (legacy leads) difference, seconds. */
  windowSeconds: number;
}

/**
 * Tells whether two caller numbers rule out being the same call: `true` only
 * when both are known and differ. Non-digits are ignored. Numbers of different
 * lengths agree when the longer ends with the shorter and the shorter has at
 * least 7 digits, so a number with and without its country code agree.
 *
 * @example
 * ```ts
 * import { phonesConflict } from "./match.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(!phonesConflict("+91 86550 66243", "8655066243"));
 * ok(!phonesConflict(undefined, "8655066243"));
 * ok(phonesConflict("8655066243", "8655066244"));
 * ```
 */
export function phonesConflict(a?: string, b?: string): boolean {
  return digitsConflict(digitsOf(a), digitsOf(b));
}

function digitsOf(phone?: string): string | undefined {
  const digits = phone?.replace(/\D/g, "");
  return digits ? digits : undefined;
}

function digitsConflict(a?: string, b?: string): boolean {
  if (a === undefined || b === undefined || a === b) return false;
  const [shorter, longer] = a.length < b.length ? [a, b] : [b, a];
  return shorter.length === longer.length || shorter.length < 7 ||
    !longer.endsWith(shorter);
}

/** Duration of a conversation in seconds, if known. */
function conversationSeconds(c: ConversationKey): number | undefined {
  if (c.durationSeconds !== undefined) return c.durationSeconds;
  return c.endMs === undefined ? undefined : (c.endMs - c.startMs) / 1000;
}

/** End of a conversation in unix ms, if known. */
function conversationEndMs(c: ConversationKey): number | undefined {
  if (c.endMs !== undefined) return c.endMs;
  return c.durationSeconds === undefined
    ? undefined
    : c.startMs + c.durationSeconds * 1000;
}

/** Sorts a copy by `key` then name, so results do not depend on input order. */
function canonical<T extends { name: string }>(
  items: readonly T[],
  key: (item: T) => number,
): T[] {
  return items.map((item) => ({ item, k: key(item) }))
    .sort((a, b) =>
      a.k - b.k ||
      (a.item.name < b.item.name ? -1 : +(a.item.name > b.item.name))
    )
    .map(({ item }) => item);
}

/** Index of the first element of ascending `sorted` that is `>= value`. */
function lowerBound(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Calls `visit(i, j)` for every conversation `i` and sorted item `j` whose
 * time lies within `windowMs` of the conversation's time (inclusive).
 */
function forEachInWindow(
  conversationTimes: readonly (number | undefined)[],
  sortedTimes: Float64Array,
  windowMs: number,
  visit: (i: number, j: number) => void,
): void {
  conversationTimes.forEach((t, i) => {
    if (t === undefined) return;
    for (
      let j = lowerBound(sortedTimes, t - windowMs);
      j < sortedTimes.length && sortedTimes[j] <= t + windowMs;
      j++
    ) visit(i, j);
  });
}

/**
 * Pairs costing less than this (start difference plus duration difference,
 * seconds) are settled first, among themselves; what remains is paired
 * afterwards within the whole window. One call's recording and transcript
 * differ by a few seconds, so a true pair lands in the first round, and a
 * leftover transcript can never pull a recording away from its own call.
 */
export const CONFIDENT_COST_SECONDS = 30;

/**
 * Pairs each conversation with at most one recording and each recording with
 * at most one conversation, choosing the pairing with the lowest total cost.
 *
 * A pair is a candidate only when the starts are at most `windowSeconds` apart,
 * the caller numbers do not conflict ({@linkcode phonesConflict}) and the
 * durations differ by at most {@linkcode DURATION_TOLERANCE_SECONDS}. For a
 * recording still being written only a recording already longer than the
 * conversation counts as a difference. The cost is the start difference plus
 * the duration difference (or a fixed 5 s when a duration is unknown), both in
 * seconds. Pairs below {@linkcode CONFIDENT_COST_SECONDS} are chosen first,
 * minimising their total cost ({@linkcode assign}); the files left over are
 * then paired the same way among themselves, where any candidate is worth
 * taking when it has no competitor.
 * Inputs are sorted by start time and name first, so the result does not
 * depend on their order.
 *
 * @example Two overlapping calls
 * ```ts
 * import { matchRecordings } from "./match.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const t = Date.UTC(2025, 0, 1, 10);
 * const matches = matchRecordings([
 *   { name: "a.json", startMs: t, durationSeconds: 300, leadGenerated: false },
 *   { name: "b.json", startMs: t + 3000, durationSeconds: 60, leadGenerated: false },
 * ], [
 *   { name: "x.ogg", startMs: t + 1000, durationSeconds: 61, complete: true },
 *   { name: "y.ogg", startMs: t + 1000, durationSeconds: 299, complete: true },
 * ], { windowSeconds: 300 });
 * deepStrictEqual(matches.map((m) => [m.conversation, m.recording]), [
 *   ["a.json", "y.ogg"],
 *   ["b.json", "x.ogg"],
 * ]);
 * ```
 *
 * @returns The pairs, ordered by conversation start then name.
 */
export function matchRecordings(
  conversations: readonly ConversationKey[],
  recordings: readonly RecordingKey[],
  opts: MatchOptions,
): RecordingMatch[] {
  const convs = canonical(conversations, (c) => c.startMs);
  const recs = canonical(recordings, (r) => r.startMs);
  const convSeconds = convs.map(conversationSeconds);
  const convPhones = convs.map((c) => digitsOf(c.phone));
  const recPhones = recs.map((r) => digitsOf(r.phone));
  /** Cost of pairing convs[i] with recs[j], or undefined when ruled out. */
  const pairCost = (i: number, j: number): number | undefined => {
    if (digitsConflict(convPhones[i], recPhones[j])) return undefined;
    const term = durationTerm(convSeconds[i], recs[j]);
    if (term > DURATION_TOLERANCE_SECONDS) return undefined;
    return Math.abs(recs[j].startMs - convs[i].startMs) / 1000 + term;
  };
  const sweep = candidateSweep(
    convs,
    convSeconds,
    convPhones,
    recs,
    recPhones,
  );
  // Confident pairs first, so that a far-fetched pair for a leftover never
  // displaces a close one; then leftovers pair up anywhere in the window.
  // `assign` ignores edges costing twice its unmatched cost or more, so the
  // first round needs only pairs costing under CONFIDENT_COST_SECONDS, which
  // start less than that apart: a narrow sweep finds exactly those.
  const windowMs = opts.windowSeconds * 1000;
  const confidentUnmatched = CONFIDENT_COST_SECONDS / 2;
  const paired = assign(
    convs.length,
    recs.length,
    sweep(
      Math.min(windowMs, CONFIDENT_COST_SECONDS * 1000),
      2 * confidentUnmatched,
    ),
    confidentUnmatched,
  );
  const taken = new Uint8Array(recs.length);
  for (const j of paired) if (j >= 0) taken[j] = 1;
  const rest = sweep(
    windowMs,
    Infinity,
    (i) => paired[i] < 0,
    (j) => !taken[j],
  );
  const worstCost = opts.windowSeconds +
    Math.max(DURATION_TOLERANCE_SECONDS, UNKNOWN_DURATION_PENALTY_SECONDS);
  assign(convs.length, recs.length, rest, worstCost / 2 + 1).forEach((j, i) => {
    if (j >= 0) paired[i] = j;
  });
  const matches: RecordingMatch[] = [];
  paired.forEach((j, i) => {
    if (j < 0) return;
    const c = convs[i];
    const r = recs[j];
    const match: RecordingMatch = {
      conversation: c.name,
      recording: r.name,
      startDiffSeconds: (r.startMs - c.startMs) / 1000,
      cost: pairCost(i, j)!,
    };
    if (convSeconds[i] !== undefined && r.durationSeconds !== undefined) {
      match.durationDiffSeconds = r.durationSeconds - convSeconds[i];
    }
    matches.push(match);
  });
  return matches;
}

/**
 * Prepares the sweep that lists allowed pairs: a conversation and a
 * recording whose starts are at most `windowMs` apart (inclusive), whose
 * numbers do not conflict and whose durations are within tolerance, costing
 * less than `maxCost` (start difference plus duration term, seconds). Both
 * lists are sorted by start, so the window's lower end only moves forward.
 * Numbers are compared by their last seven digits first ({@link phoneKey});
 * only equal keys need the full {@link digitsConflict} test.
 */
function candidateSweep(
  convs: readonly ConversationKey[],
  convSeconds: readonly (number | undefined)[],
  convPhones: readonly (string | undefined)[],
  recs: readonly RecordingKey[],
  recPhones: readonly (string | undefined)[],
): (
  windowMs: number,
  maxCost: number,
  convOk?: (i: number) => boolean,
  recOk?: (j: number) => boolean,
) => Edge[] {
  const n = recs.length;
  const recStart = Float64Array.from(recs, (r) => r.startMs);
  const recKey = Float64Array.from(recPhones, phoneKey);
  // NaN: duration unknown (the fixed penalty applies).
  const recSeconds = Float64Array.from(recs, (r) => r.durationSeconds ?? NaN);
  const recComplete = Uint8Array.from(recs, (r) => r.complete ? 1 : 0);
  const convKey = Float64Array.from(convPhones, phoneKey);
  return (windowMs, maxCost, convOk = () => true, recOk = () => true) => {
    const edges: Edge[] = [];
    let lo = 0;
    for (let i = 0; i < convs.length; i++) {
      const t = convs[i].startMs;
      const from = t - windowMs;
      const to = t + windowMs;
      while (lo < n && recStart[lo] < from) lo++;
      if (!convOk(i)) continue;
      const cKey = convKey[i];
      const cSeconds = convSeconds[i];
      for (let j = lo; j < n && recStart[j] <= to; j++) {
        const rKey = recKey[j];
        if (cKey >= 0 && rKey >= 0) {
          if (cKey !== rKey) continue;
          if (digitsConflict(convPhones[i], recPhones[j])) continue;
        }
        let term: number;
        const rSeconds = recSeconds[j];
        if (cSeconds === undefined || rSeconds !== rSeconds) {
          term = UNKNOWN_DURATION_PENALTY_SECONDS;
        } else {
          const diff = rSeconds - cSeconds;
          term = recComplete[j] ? Math.abs(diff) : Math.max(0, diff);
        }
        if (term > DURATION_TOLERANCE_SECONDS) continue;
        const cost = Math.abs(recStart[j] - t) / 1000 + term;
        if (cost < maxCost && recOk(j)) edges.push({ left: i, right: j, cost });
      }
    }
    return edges;
  };
}

/**
 * A number's last seven digits (shorter numbers: the digits and their
 * count), or -1 when unknown. Two numbers that do not conflict have equal
 * keys, so unequal keys mean a conflict.
 */
function phoneKey(digits: string | undefined): number {
  if (digits === undefined) return -1;
  return digits.length >= 7
    ? Number(digits.slice(-7))
    : digits.length * 1e7 + Number(digits);
}

/** Duration part of a pairing's cost; above the tolerance the pair is impossible. */
function durationTerm(
  convSeconds: number | undefined,
  r: RecordingKey,
): number {
  if (convSeconds === undefined || r.durationSeconds === undefined) {
    return UNKNOWN_DURATION_PENALTY_SECONDS;
  }
  const diff = r.durationSeconds - convSeconds;
  return r.complete ? Math.abs(diff) : Math.max(0, diff);
}

/**
 * Attaches leads to conversations, at most one lead per conversation.
 *
 * 1. Exact: a lead whose `sessionTs` equals a conversation's (from
 *    `leads_session_<ts>` ↔ `transcript_session_<ts>`), else whose `sessionId`
 *    equals a conversation's. When several exact leads name one conversation,
 *    the first by name wins and the others stay unmatched.
 * 2. Legacy (`lead_YYYYMMDD_HHMMSS.json`): each remaining legacy lead goes to a
 *    conversation without a lead whose end lies within `windowSeconds` of the
 *    lead time, minimising over all legacy leads the total of `|lead time − end|`
 *    plus `windowSeconds` for each transcript without `lead_generated: true`,
 *    so such transcripts are preferred.
 *
 * @example
 * ```ts
 * import { matchLeads } from "./match.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const t = Date.UTC(2025, 0, 1, 10);
 * const { matches, unmatched } = matchLeads([
 *   { name: "transcript_session_1.json", startMs: t, endMs: t + 60_000, sessionTs: "1", leadGenerated: true },
 * ], [
 *   { name: "leads_session_1.json", kind: "session", sessionTs: "1" },
 *   { name: "lead_20250101_100100.json", kind: "legacy", timeMs: t + 60_000 },
 * ], { windowSeconds: 300 });
 * deepStrictEqual(matches.map((m) => [m.lead, m.reason]), [["leads_session_1.json", "session-timestamp"]]);
 * deepStrictEqual(unmatched, ["lead_20250101_100100.json"]);
 * ```
 *
 * @returns The matches, ordered by lead name, and the names of leads that found
 * no conversation, sorted.
 */
export function matchLeads(
  conversations: readonly ConversationKey[],
  leads: readonly LeadKey[],
  opts: MatchOptions,
): { matches: LeadMatch[]; unmatched: string[] } {
  if (leads.length === 0) return { matches: [], unmatched: [] };
  const convs = canonical(conversations, (c) => c.startMs);
  const sorted = canonical(leads, () => 0);
  // Index only the keys some lead names: leads are far fewer than calls.
  const wantTs = new Set(sorted.map((l) => l.sessionTs));
  const wantId = new Set(sorted.map((l) => l.sessionId));
  const byTs = firstBy(convs, (c) => c.sessionTs, wantTs);
  const byId = firstBy(convs, (c) => c.sessionId, wantId);
  const taken = new Set<ConversationKey>();
  const matches: LeadMatch[] = [];
  const legacy: LeadKey[] = [];
  const unmatched: string[] = [];
  for (const lead of sorted) {
    const exact = exactMatch(lead, byTs, byId);
    if (exact && !taken.has(exact.conversation)) {
      taken.add(exact.conversation);
      matches.push({
        conversation: exact.conversation.name,
        lead: lead.name,
        reason: exact.reason,
      });
    } else if (!exact && lead.kind === "legacy" && lead.timeMs !== undefined) {
      legacy.push(lead);
    } else {
      unmatched.push(lead.name);
    }
  }
  matches.push(...nearestEnd(convs.filter((c) => !taken.has(c)), legacy, opts));
  const attached = new Set(matches.map((m) => m.lead));
  unmatched.push(
    ...legacy.filter((l) => !attached.has(l.name)).map((l) => l.name),
  );
  matches.sort((a, b) => a.lead < b.lead ? -1 : +(a.lead > b.lead));
  return { matches, unmatched: unmatched.sort() };
}

/** Maps each defined key in `wanted` to the first conversation carrying it. */
function firstBy(
  convs: readonly ConversationKey[],
  key: (c: ConversationKey) => string | undefined,
  wanted: ReadonlySet<string | undefined>,
): Map<string, ConversationKey> {
  const map = new Map<string, ConversationKey>();
  for (const c of convs) {
    const k = key(c);
    if (k !== undefined && wanted.has(k) && !map.has(k)) map.set(k, c);
  }
  return map;
}

function exactMatch(
  lead: LeadKey,
  byTs: Map<string, ConversationKey>,
  byId: Map<string, ConversationKey>,
): { conversation: ConversationKey; reason: LeadMatch["reason"] } | undefined {
  const ts = lead.sessionTs === undefined
    ? undefined
    : byTs.get(lead.sessionTs);
  if (ts) return { conversation: ts, reason: "session-timestamp" };
  const id = lead.sessionId === undefined
    ? undefined
    : byId.get(lead.sessionId);
  if (id) return { conversation: id, reason: "session-id" };
  return undefined;
}

/** Legacy leads to conversations by nearest end time (see {@linkcode matchLeads}). */
function nearestEnd(
  convs: readonly ConversationKey[],
  legacy: readonly LeadKey[],
  opts: MatchOptions,
): LeadMatch[] {
  const sortedLeads = canonical(legacy, (l) => l.timeMs!);
  const windowMs = opts.windowSeconds * 1000;
  const ends = convs.map(conversationEndMs);
  const edges: Edge[] = [];
  forEachInWindow(
    ends,
    Float64Array.from(sortedLeads, (l) => l.timeMs!),
    windowMs,
    (i, j) => {
      if (phonesConflict(convs[i].phone, sortedLeads[j].phone)) return;
      const diff = Math.abs(sortedLeads[j].timeMs! - ends[i]!) / 1000;
      const preference = convs[i].leadGenerated ? 0 : opts.windowSeconds;
      edges.push({ left: i, right: j, cost: diff + preference });
    },
  );
  const paired = assign(
    convs.length,
    sortedLeads.length,
    edges,
    opts.windowSeconds + 1,
  );
  const matches: LeadMatch[] = [];
  paired.forEach((j, i) => {
    if (j < 0) return;
    matches.push({
      conversation: convs[i].name,
      lead: sortedLeads[j].name,
      reason: "nearest-end",
      endDiffSeconds: (sortedLeads[j].timeMs! - ends[i]!) / 1000,
    });
  });
  return matches;
}
