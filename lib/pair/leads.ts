/**
 * Attach leads to calls: by session timestamp or session id first, then by
 * time (legacy `lead_YYYYMMDD_HHMMSS.json`, and session leads whose
 * transcript is missing), against bands learned from the files. Pure.
 *
 * @module
 */
import { assign, type Edge } from "./assign.ts";
import {
  canonical,
  compareDigits,
  digitsOf,
  type LeadKey,
  lowerBound,
} from "./keys.ts";
import { median, spread } from "./robust.ts";
import { CLEAR_MARGIN } from "./match.ts";

/** A call a lead may belong to: a paired call, a transcript alone or a recording alone. */
export interface LeadTarget {
  /** The set's name (its transcript's, else its recording's). */
  name: string;
  sessionTs?: string;
  sessionId?: string;
  /** When the transcript was saved (its name's time, as read), unix ms. */
  savedMs?: number;
  /** When the call ended: the transcript's `end_time`, else the recording's end. */
  endMs?: number;
  /** The set has a transcript (else it is a recording alone). */
  transcript: boolean;
  /** The transcript's `lead_generated`; undefined when it does not say. */
  leadGenerated?: boolean;
  /** Caller digits, from the recording's name or the transcript. */
  phone?: string;
}

/** A lead attached to a call. */
export interface LeadMatch {
  target: string;
  lead: string;
  reason: "session-timestamp" | "session-id" | "time";
  /** For "time": lead time − the call's save time (or end, without a transcript), seconds. */
  diffSeconds?: number;
  /** For "time": what the lead's time was held against. */
  against?: "saved" | "end";
  /** For "time": 1 / (1 + e^−margin), as for recordings. */
  confidence?: number;
}

/** A lead's time against a call's: learned band, seconds. */
export interface Band {
  bias: number;
  spread: number;
}

/** What {@linkcode matchLeads} decided. */
export interface LeadPairing {
  matches: LeadMatch[];
  /** Leads that found no call, sorted. */
  unmatched: string[];
  /** Leads kept off calls for lack of a clear winner, with their candidates. */
  ambiguous: { lead: string; targets: string[] }[];
  /** Lead time − save time, and lead time − call end, as learned. */
  bands: { saved: Band; end: Band; anchors: number };
}

/** Options for {@linkcode matchLeads}. */
export interface LeadOptions {
  /** Largest time difference ever accepted, seconds (`MATCH_WINDOW_SECONDS`). */
  windowSeconds: number;
}

const UNPAIRED_COST = 7;
/** A transcript that says `lead_generated: true` expects a lead. */
const ANNOUNCED_BONUS = 2;
/** A call without a transcript might or might not have made a lead. */
const NO_TRANSCRIPT_COST = 1;
const PHONE_AGREES_BONUS = 3;
/** A lead is written with its transcript (session leads: the same timestamp). */
const PRIOR_SAVED: Band = { bias: 0, spread: 3 };
/** …which is saved a few seconds after the call ends. */
const PRIOR_END: Band = { bias: 3, spread: 10 };
const FLOOR = { saved: 1.5, end: 3 };
const MIN_ANCHORS = 3;
/** Anchors are sought this far from a lead's time. */
const ANCHOR_REACH_SECONDS = 120;
/** A lead nearest one call, whose runner-up is this much farther, is an anchor. */
const ANCHOR_GAP_SECONDS = 20;

/**
 * Attaches leads to calls, at most one lead per call.
 *
 * 1. Exact: a lead whose `sessionTs` equals a transcript's, else whose
 *    `sessionId` does. Several exact leads for one call: the first by name.
 * 2. By time: each remaining lead with a time (legacy names; session leads
 *    whose transcript is gone) against each call's save time (a transcript's
 *    name), else its end (a recording alone). The bands come from anchors —
 *    leads whose nearest `lead_generated` call has no rival within 20 s —
 *    and a candidate must fall inside them, never beyond `windowSeconds`;
 *    numbers that differ rule a call out. Cost as for recordings, plus 4 for
 *    a transcript without `lead_generated: true` (1 without a transcript).
 *    Assigned at minimum total cost; a lead whose best call does not win by
 *    {@linkcode CLEAR_MARGIN} stays unattached and is reported.
 */
export function matchLeads(
  targets: readonly LeadTarget[],
  leads: readonly LeadKey[],
  opts: LeadOptions,
): LeadPairing {
  const result: LeadPairing = {
    matches: [],
    unmatched: [],
    ambiguous: [],
    bands: { saved: PRIOR_SAVED, end: PRIOR_END, anchors: 0 },
  };
  if (leads.length === 0) return result;
  const calls = canonical(targets, (t) => t.endMs ?? t.savedMs ?? 0);
  const taken = new Set<number>();
  const timed: LeadKey[] = [];
  const exactOf = exactIndex(calls, leads);
  // Lead time − call end of exact matches: the end band, for calls without a transcript.
  const exactEnds: number[] = [];
  for (const lead of canonical(leads, () => 0)) {
    const exact = exactTarget(lead, exactOf);
    if (exact && !taken.has(exact.index)) {
      taken.add(exact.index);
      const endMs = calls[exact.index].endMs;
      if (lead.timesMs?.length && endMs !== undefined) {
        exactEnds.push((lead.timesMs[0] - endMs) / 1000);
      }
      result.matches.push({
        target: calls[exact.index].name,
        lead: lead.name,
        reason: exact.reason,
      });
    } else if (!exact && lead.timesMs?.length) {
      timed.push(lead);
    } else {
      result.unmatched.push(lead.name);
    }
  }
  const free = calls.map((_, i) => i).filter((i) => !taken.has(i));
  byTime(calls, free, timed, exactEnds, opts, result);
  result.matches.sort((a, b) => a.lead < b.lead ? -1 : +(a.lead > b.lead));
  result.unmatched.sort();
  return result;
}

/**
 * First call (in canonical order) per session timestamp and per session id
 * that some lead names (leads are far fewer than calls).
 */
function exactIndex(
  calls: readonly LeadTarget[],
  leads: readonly LeadKey[],
): { byTs: Map<string, number>; byId: Map<string, number> } {
  const wantTs = new Set(leads.map((l) => l.sessionTs));
  const wantId = new Set(leads.map((l) => l.sessionId));
  const byTs = new Map<string, number>();
  const byId = new Map<string, number>();
  calls.forEach((c, i) => {
    if (
      c.sessionTs !== undefined && wantTs.has(c.sessionTs) &&
      !byTs.has(c.sessionTs)
    ) byTs.set(c.sessionTs, i);
    if (
      c.sessionId !== undefined && wantId.has(c.sessionId) &&
      !byId.has(c.sessionId)
    ) byId.set(c.sessionId, i);
  });
  return { byTs, byId };
}

function exactTarget(
  lead: LeadKey,
  index: ReturnType<typeof exactIndex>,
): { index: number; reason: LeadMatch["reason"] } | undefined {
  const ts = lead.sessionTs === undefined
    ? undefined
    : index.byTs.get(lead.sessionTs);
  if (ts !== undefined) return { index: ts, reason: "session-timestamp" };
  const id = lead.sessionId === undefined
    ? undefined
    : index.byId.get(lead.sessionId);
  if (id !== undefined) return { index: id, reason: "session-id" };
  return undefined;
}

/** One reading of one lead against one call. */
interface LeadEdge extends Edge {
  diff: number;
  against: "saved" | "end";
}

/** Calls sorted by one reference time: their save time, or their end. */
interface TimeIndex {
  against: "saved" | "end";
  times: Float64Array;
  calls: Int32Array;
}

/**
 * Two indexes: calls with a transcript by its save time, the others (a
 * recording alone, a transcript without a name time) by their end.
 */
function timeIndexes(
  calls: readonly LeadTarget[],
  free: readonly number[],
): TimeIndex[] {
  const rows = { saved: [] as number[][], end: [] as number[][] };
  for (const i of free) {
    const c = calls[i];
    if (c.savedMs !== undefined) rows.saved.push([c.savedMs, i]);
    else if (c.endMs !== undefined) rows.end.push([c.endMs, i]);
  }
  return (["saved", "end"] as const).map((against) => {
    const sorted = rows[against].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    return {
      against,
      times: Float64Array.from(sorted, (r) => r[0]),
      calls: Int32Array.from(sorted, (r) => r[1]),
    };
  });
}

/** Visits the calls of `index` whose time lies in `[from, to]`. */
function forEachIn(
  index: TimeIndex,
  from: number,
  to: number,
  visit: (n: number) => void,
): void {
  for (
    let n = lowerBound(index.times, from);
    n < index.times.length && index.times[n] <= to;
    n++
  ) visit(n);
}

function byTime(
  calls: readonly LeadTarget[],
  free: readonly number[],
  leads: readonly LeadKey[],
  exactEnds: readonly number[],
  opts: LeadOptions,
  result: LeadPairing,
): void {
  if (leads.length === 0) return;
  const indexes = timeIndexes(calls, free);
  const digits = {
    calls: calls.map((c) => digitsOf(c.phone)),
    leads: leads.map((l) => digitsOf(l.phone)),
  };
  const bands = learnBands(calls, indexes[0], leads, digits, exactEnds, opts);
  result.bands = bands;
  const edges: LeadEdge[] = [];
  const windowMs = opts.windowSeconds * 1000;
  leads.forEach((lead, j) => {
    for (const t of lead.timesMs!) {
      for (const index of indexes) {
        const band = bands[index.against];
        const lo = Math.max(band.bias - band.spread, -opts.windowSeconds);
        const hi = Math.min(band.bias + band.spread, opts.windowSeconds);
        forEachIn(index, t - hi * 1000, t - lo * 1000, (n) => {
          const i = index.calls[n];
          const numbers = compareDigits(digits.calls[i], digits.leads[j]);
          const edge = leadEdge(
            calls[i],
            i,
            numbers,
            lead,
            j,
            t,
            index,
            n,
            band,
          );
          if (edge && Math.abs(edge.diff) * 1000 <= windowMs) edges.push(edge);
        });
      }
    }
  });
  const { edgeOf, margin } = assign(
    calls.length,
    leads.length,
    edges,
    UNPAIRED_COST,
  );
  const targetsOf = new Map<number, Set<string>>();
  for (const e of edges) {
    const set = targetsOf.get(e.right) ?? new Set<string>();
    set.add(calls[e.left].name);
    targetsOf.set(e.right, set);
  }
  const attached = new Set<number>();
  edgeOf.forEach((k, i) => {
    if (k < 0) return;
    const e = edges[k];
    attached.add(e.right);
    if (margin[i] < CLEAR_MARGIN) {
      result.ambiguous.push({
        lead: leads[e.right].name,
        targets: [...targetsOf.get(e.right)!].sort(),
      });
      return;
    }
    result.matches.push({
      target: calls[i].name,
      lead: leads[e.right].name,
      reason: "time",
      diffSeconds: Math.round(e.diff * 1000) / 1000,
      against: e.against,
      confidence: Math.round(1e4 / (1 + Math.exp(-margin[i]))) / 1e4,
    });
  });
  leads.forEach((lead, j) => {
    if (!attached.has(j)) result.unmatched.push(lead.name);
  });
}

function leadEdge(
  call: LeadTarget,
  i: number,
  numbers: -1 | 0 | 1,
  lead: LeadKey,
  j: number,
  leadMs: number,
  index: TimeIndex,
  n: number,
  band: Band,
): LeadEdge | undefined {
  // Numbers that differ rule a call out. A transcript that says it made no
  // lead gets none; a session lead's timestamp is its transcript's, so it
  // only ever fits a call without one. A recording alone dates its call's
  // end only to the transcript's save delay, too loosely on a busy host: it
  // needs the lead's number to agree.
  if (numbers < 0 || call.leadGenerated === false) return undefined;
  if (lead.kind === "session" && call.transcript) return undefined;
  if (!call.transcript && numbers <= 0) return undefined;
  const diff = (leadMs - index.times[n]) / 1000;
  const r = diff - band.bias;
  if (Math.abs(r) > band.spread) return undefined;
  const z = (3 * r) / band.spread;
  let cost = z * z / 2;
  if (call.leadGenerated === true) cost -= ANNOUNCED_BONUS;
  if (!call.transcript) cost += NO_TRANSCRIPT_COST;
  if (numbers > 0) cost -= PHONE_AGREES_BONUS;
  return { left: i, right: j, cost, diff, against: index.against };
}

/**
 * The bands, from anchors: leads whose nearest announcing transcript (by
 * save time, within {@linkcode ANCHOR_REACH_SECONDS}) has no rival within
 * {@linkcode ANCHOR_GAP_SECONDS} more, and that are that call's only such
 * lead; and the exact matches' lead time − call end.
 */
function learnBands(
  calls: readonly LeadTarget[],
  index: TimeIndex,
  leads: readonly LeadKey[],
  digits: { calls: (string | undefined)[]; leads: (string | undefined)[] },
  exactEnds: readonly number[],
  opts: LeadOptions,
): LeadPairing["bands"] {
  const reach = Math.min(opts.windowSeconds, ANCHOR_REACH_SECONDS) * 1000;
  const gap = ANCHOR_GAP_SECONDS * 1000;
  const nearest = new Map<number, { lead: number; d: number }[]>();
  leads.forEach((lead, j) => {
    if (lead.kind !== "legacy") return;
    const t = lead.timesMs![0];
    const near: { n: number; d: number }[] = [];
    forEachIn(index, t - reach, t + reach, (n) => {
      const i = index.calls[n];
      if (calls[i].leadGenerated !== true) return;
      if (compareDigits(digits.calls[i], digits.leads[j]) < 0) return;
      near.push({ n, d: t - index.times[n] });
    });
    near.sort((a, b) => Math.abs(a.d) - Math.abs(b.d));
    if (near.length === 0) return;
    if (near.length > 1 && Math.abs(near[1].d) - Math.abs(near[0].d) < gap) {
      return;
    }
    const list = nearest.get(near[0].n) ?? [];
    list.push({ lead: j, d: near[0].d });
    nearest.set(near[0].n, list);
  });
  const saved: number[] = [];
  const end: number[] = [...exactEnds];
  for (const [n, list] of nearest) {
    if (list.length !== 1) continue;
    saved.push(list[0].d / 1000);
    const c = calls[index.calls[n]];
    if (c.endMs !== undefined) {
      end.push((leads[list[0].lead].timesMs![0] - c.endMs) / 1000);
    }
  }
  const band = (values: number[], prior: Band, floor: number): Band => {
    if (values.length < MIN_ANCHORS) return prior;
    const bias = median(values);
    return { bias, spread: spread(values, bias, floor, opts.windowSeconds) };
  };
  return {
    saved: band(saved, PRIOR_SAVED, FLOOR.saved),
    end: band(end, PRIOR_END, FLOOR.end),
    anchors: saved.length,
  };
}
