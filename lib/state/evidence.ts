/**
 * `callsync-pairing.json` in `PROCESSED_DIR`: the timing evidence of the
 * latest pairs delivered (how late the recorder started, how its end agreed
 * with the transcript's). A run only sees files not yet delivered, so this
 * is what lets pairing learn a host's recorder offset from its history.
 * Losing it costs nothing but a few runs of learning afresh.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic.ts";

/** The evidence of one delivered pair. */
export interface PairEvidence {
  /** Call start, unix ms. */
  atMs: number;
  /** Recording start − call start, seconds. */
  startDiff: number;
  /** Recording end (name + duration) − call end, seconds; NaN if unknown. */
  endDiff: number;
  /** Recording modification time − call end, seconds; NaN if unknown. */
  mtimeDiff: number;
}

/** The file's name in `PROCESSED_DIR`. */
export const EVIDENCE_FILE = "callsync-pairing.json";
/** Pairs kept: the latest (a few hours on a busy host). */
export const EVIDENCE_KEEP = 300;

/** The evidence kept in `dir`; none when missing or unreadable. */
export async function readEvidence(dir: string): Promise<PairEvidence[]> {
  try {
    const v: unknown = JSON.parse(
      await Deno.readTextFile(join(dir, EVIDENCE_FILE)),
    );
    if (!Array.isArray(v)) return [];
    return v.flatMap((row) => {
      if (!Array.isArray(row) || typeof row[0] !== "number") return [];
      const [atMs, startDiff, endDiff, mtimeDiff] = row.map((x) =>
        typeof x === "number" ? x : NaN
      );
      return Number.isFinite(startDiff)
        ? [{ atMs, startDiff, endDiff, mtimeDiff }]
        : [];
    });
  } catch {
    return [];
  }
}

/** The latest {@linkcode EVIDENCE_KEEP} pairs of `evidence`, oldest first. */
export function latestEvidence(
  evidence: readonly PairEvidence[],
): PairEvidence[] {
  return [...evidence].sort((a, b) => a.atMs - b.atMs).slice(-EVIDENCE_KEEP);
}

/**
 * Keep the latest {@linkcode EVIDENCE_KEEP} of `evidence` in `dir`,
 * atomically (rows `[atMs, startDiff, endDiff, mtimeDiff]`, unknown as null).
 */
export async function writeEvidence(
  dir: string,
  evidence: readonly PairEvidence[],
): Promise<void> {
  const rows = latestEvidence(evidence).map((e) =>
    [e.atMs, e.startDiff, e.endDiff, e.mtimeDiff].map((x) =>
      Number.isFinite(x) ? x : null
    )
  );
  await writeFileAtomic(join(dir, EVIDENCE_FILE), JSON.stringify(rows));
}
