/**
 * Attach leads to calls: by session timestamp or session id first, then
 * legacy `lead_YYYYMMDD_HHMMSS.json` files by nearest call end. Pure.
 *
 * @module
 */

import { assign, type Edge } from "./assign.ts";
import {
  canonical,
  conversationEndMs,
  type ConversationKey,
  forEachInWindow,
  type LeadKey,
  type LeadMatch,
  type MatchOptions,
  phonesConflict,
} from "./keys.ts";

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
