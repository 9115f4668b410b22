/**
 * The journal `callsync-journal.jsonl` in `PROCESSED_DIR`: one JSON line per
 * delivery or failed attempt, appended and synced by the state store, read
 * here chunk by chunk so a journal of 100,000 deliveries is never held whole.
 *
 * @module
 */

import { Breather } from "../core/breather.ts";
import { openNoFollow, type SafeFile, withHandle } from "../core/safe_fs.ts";

/** The journal's file name in `PROCESSED_DIR`. */
export const JOURNAL_FILE = "callsync-journal.jsonl";

/** One line of the journal. */
export type JournalEvent =
  | {
    ev: "delivered";
    t: number;
    set: string;
    call_id: string;
    recording?: string;
    lead?: string;
    bytes: number;
    /** A lead delivered alone (`lead-only`). */
    alone?: true;
  }
  | { ev: "failed"; t: number; set: string; error: string };

/** What {@link forEachJournalLine} reports. */
export interface JournalVisitor {
  /** Every parsed event, in order. */
  any?: (ev: JournalEvent) => void;
  /** Every `delivered` event, in order. */
  delivered?: (ev: Extract<JournalEvent, { ev: "delivered" }>) => void;
}

/** `failed` lines start so ({@link StateStore.journalFailure} writes them). */
const FAILED_PREFIX = '{"ev":"failed",';
const JOURNAL_CHUNK = 1 << 20;

/**
 * Read the journal at `path` chunk by chunk and visit each line's event. A
 * visitor that wants deliveries only never parses a `failed` line.
 */
export async function forEachJournalLine(
  path: string,
  visit: JournalVisitor,
  torn: () => void,
): Promise<void> {
  await withHandle(
    await openNoFollow(path, "read"),
    (file) => readLines(file, visit, torn),
  );
}

async function readLines(
  file: SafeFile,
  visit: JournalVisitor,
  torn: () => void,
): Promise<void> {
  const buf = new Uint8Array(JOURNAL_CHUNK);
  const decoder = new TextDecoder();
  const all = visit.any !== undefined;
  const line = (text: string, from: number, to: number) => {
    if (to <= from || (!all && text.startsWith(FAILED_PREFIX, from))) return;
    let ev: JournalEvent;
    try {
      ev = JSON.parse(text.slice(from, to));
    } catch {
      torn();
      return;
    }
    visit.any?.(ev);
    if (ev.ev === "delivered") visit.delivered?.(ev);
  };
  let carry = "";
  const breather = new Breather();
  while (true) {
    await breather.breathe();
    const { bytesRead } = await file.read(buf, 0, buf.length, null);
    const n = bytesRead === 0 ? null : bytesRead;
    const text = carry +
      (n === null
        ? decoder.decode()
        : decoder.decode(buf.subarray(0, n), { stream: true }));
    let at = 0;
    for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n", at)) {
      line(text, at, end);
      at = end + 1;
    }
    carry = text.slice(at);
    if (n === null) break;
  }
  line(carry, 0, carry.length);
}
