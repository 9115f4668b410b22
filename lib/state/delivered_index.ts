/**
 * The index of delivered sets, kept small: a host holds years of them, and
 * `callsync watch` holds the index for its whole life. Each set is one
 * string (its name, call id, recording, lead, time), found by name through
 * hash tables of record numbers, so a set costs ≈ 180 bytes instead of a
 * map entry, an object and four strings (≈ 410 bytes with the used-name
 * sets, measured over 100,000 sets). A session lead named like its
 * transcript (`leads_session_<stamp>.json` of `transcript_session_<stamp>.json`)
 * is not stored at all: it is found through its set.
 *
 * Names are compared as the host's file system compares them (see
 * `file_names.ts`): on Windows in any case, the first spelling kept.
 *
 * @module
 */
import { NAMES_IGNORE_CASE } from "../core/file_names.ts";

/** What the index keeps of a delivered set. */
export interface DeliveredEntry {
  callId: string;
  recording?: string;
  lead?: string;
  at: number;
  /** A lead delivered alone (`lead-only`): its call, if it shows up, goes without it. */
  alone?: true;
}

/** Field separator in a record: no file name can hold a NUL. */
const SEP = "\0";
const SEP_CODE = 0;
/** The lead field of a set whose lead is named like its transcript. */
const SESSION_LEAD = "\x01";
const TRANSCRIPT_PREFIX = "transcript_session_";
const LEAD_PREFIX = "leads_session_";

/** The fields of a record, in order. */
const enum Field {
  Set = 0,
  CallId = 1,
  Recording = 2,
  Lead = 3,
  At = 4,
  Alone = 5,
}

/**
 * Delivered sets by name, with the recordings and leads they used.
 *
 * @example
 * ```ts
 * const index = new DeliveredIndex();
 * index.set("transcript_session_2025-10-29T06-49-07.351452.json", {
 *   callId: "CALL-20251029-064824-66243",
 *   recording: "number-_918655066243-1761720502.ogg",
 *   lead: "leads_session_2025-10-29T06-49-07.351452.json",
 *   at: Date.UTC(2025, 9, 29, 6, 55),
 * });
 * index.usesLead("leads_session_2025-10-29T06-49-07.351452.json"); // true
 * index.usesRecording("number-_918655066243-1761720502.ogg"); // true
 * ```
 */
export class DeliveredIndex implements ReadonlyMap<string, DeliveredEntry> {
  /** One string per set ever added; "" once deleted. */
  #records: string[] = [];
  #size = 0;
  #bySet = new NameTable((n, name) => this.#fieldIs(n, Field.Set, name));
  #byRecording = new NameTable((n, name) =>
    this.#fieldIs(n, Field.Recording, name)
  );
  /** Leads not named like their set's transcript (those are found by set). */
  #byLead = new NameTable((n, name) => this.#fieldIs(n, Field.Lead, name));

  get size(): number {
    return this.#size;
  }

  has(set: string): boolean {
    return this.#bySet.find(set) >= 0;
  }

  get(set: string): DeliveredEntry | undefined {
    const n = this.#bySet.find(set);
    return n < 0 ? undefined : this.#entry(n);
  }

  /** Add or replace a set (a replaced set keeps its first spelling and place). */
  set(set: string, entry: DeliveredEntry): this {
    const n = this.#bySet.find(set);
    if (n >= 0) {
      this.#unlinkNames(n);
      this.#records[n] = encode(this.#field(n, Field.Set)!, entry);
      this.#linkNames(n);
      return this;
    }
    const added = this.#records.push(encode(set, entry)) - 1;
    this.#bySet.add(set, added);
    this.#linkNames(added);
    this.#size++;
    return this;
  }

  delete(set: string): boolean {
    const n = this.#bySet.find(set);
    if (n < 0) return false;
    this.#unlinkNames(n);
    this.#bySet.remove(set, n);
    this.#records[n] = "";
    this.#size--;
    return true;
  }

  clear(): void {
    this.#records = [];
    this.#size = 0;
    this.#bySet.clear();
    this.#byRecording.clear();
    this.#byLead.clear();
  }

  /** True when a delivered set used the recording `name`. */
  usesRecording(name: string): boolean {
    return this.#byRecording.find(name) >= 0;
  }

  /** True when a delivered set used the lead `name`. */
  usesLead(name: string): boolean {
    if (this.#byLead.find(name) >= 0) return true;
    const set = sessionSetOf(name);
    const n = set === undefined ? -1 : this.#bySet.find(set);
    return n >= 0 && this.#field(n, Field.Lead) === SESSION_LEAD;
  }

  *entries(): MapIterator<[string, DeliveredEntry]> {
    for (let n = 0; n < this.#records.length; n++) {
      if (this.#records[n] !== "") {
        yield [this.#field(n, Field.Set)!, this.#entry(n)];
      }
    }
  }

  *keys(): MapIterator<string> {
    for (let n = 0; n < this.#records.length; n++) {
      if (this.#records[n] !== "") yield this.#field(n, Field.Set)!;
    }
  }

  *values(): MapIterator<DeliveredEntry> {
    for (const [, entry] of this.entries()) yield entry;
  }

  [Symbol.iterator](): MapIterator<[string, DeliveredEntry]> {
    return this.entries();
  }

  forEach(
    fn: (entry: DeliveredEntry, set: string, map: this) => void,
  ): void {
    for (const [set, entry] of this.entries()) fn(entry, set, this);
  }

  #entry(n: number): DeliveredEntry {
    const f = this.#records[n].split(SEP);
    return {
      callId: f[Field.CallId],
      ...(f[Field.Recording] ? { recording: f[Field.Recording] } : {}),
      ...(f[Field.Lead] ? { lead: this.#lead(n) } : {}),
      at: Number(f[Field.At]),
      ...(f[Field.Alone] ? { alone: true } : {}),
    };
  }

  /** Field `k` of record `n`, undefined when empty (or deleted). */
  #field(n: number, k: Field): string | undefined {
    const record = this.#records[n];
    const start = fieldStart(record, k);
    const end = record.indexOf(SEP, start);
    return end > start ? record.slice(start, end) : undefined;
  }

  /**
   * Whether field `k` of record `n` is the folded name `name`. Compared in
   * place where case matters, so a rescan that looks up every delivered
   * name copies none of them.
   */
  #fieldIs(n: number, k: Field, name: string): boolean {
    const record = this.#records[n];
    const start = fieldStart(record, k);
    if (NAMES_IGNORE_CASE) {
      return fold(record.slice(start, record.indexOf(SEP, start))) === name;
    }
    return record.startsWith(name, start) &&
      record.charCodeAt(start + name.length) === SEP_CODE;
  }

  /** The lead of record `n` as delivered. */
  #lead(n: number): string | undefined {
    const lead = this.#field(n, Field.Lead);
    return lead === SESSION_LEAD
      ? sessionLeadOf(this.#field(n, Field.Set)!)
      : lead;
  }

  /** The lead of record `n` when it is spelled out (not a session lead). */
  #storedLead(n: number): string | undefined {
    const lead = this.#field(n, Field.Lead);
    return lead === SESSION_LEAD ? undefined : lead;
  }

  #linkNames(n: number): void {
    const recording = this.#field(n, Field.Recording);
    if (recording !== undefined) this.#byRecording.add(recording, n);
    const lead = this.#storedLead(n);
    if (lead !== undefined) this.#byLead.add(lead, n);
  }

  #unlinkNames(n: number): void {
    const recording = this.#field(n, Field.Recording);
    if (recording !== undefined) this.#byRecording.remove(recording, n);
    const lead = this.#storedLead(n);
    if (lead !== undefined) this.#byLead.remove(lead, n);
  }
}

/** Where field `k` of `record` starts. */
function fieldStart(record: string, k: Field): number {
  let start = 0;
  for (let i = 0; i < k; i++) start = record.indexOf(SEP, start) + 1;
  return start;
}

/** One record: the fields joined by {@link SEP}. */
function encode(set: string, e: DeliveredEntry): string {
  const lead = e.lead !== undefined && e.lead === sessionLeadOf(set)
    ? SESSION_LEAD
    : e.lead ?? "";
  return [set, e.callId, e.recording ?? "", lead, e.at, e.alone ? "1" : ""]
    .join(SEP);
}

/** `leads_session_<stamp>.json` for `transcript_session_<stamp>.json`. */
function sessionLeadOf(set: string): string | undefined {
  return set.startsWith(TRANSCRIPT_PREFIX)
    ? LEAD_PREFIX + set.slice(TRANSCRIPT_PREFIX.length)
    : undefined;
}

/** `transcript_session_<stamp>.json` for `leads_session_<stamp>.json`. */
function sessionSetOf(lead: string): string | undefined {
  const folded = fold(lead);
  return folded.startsWith(LEAD_PREFIX)
    ? TRANSCRIPT_PREFIX + lead.slice(LEAD_PREFIX.length)
    : undefined;
}

/** A name as compared (lower case where the file system ignores case). */
function fold(name: string): string {
  return NAMES_IGNORE_CASE ? name.toLowerCase() : name;
}

/** Largest share of a table's slots in use (or deleted) before it grows. */
const MAX_LOAD = 0.5;
const EMPTY = 0;
const DELETED = -1;

/**
 * An open-addressing hash table from names to record numbers that stores
 * numbers only: a slot's name is compared with the record's through `is`.
 */
class NameTable {
  /** Record number + 1, {@link EMPTY} or {@link DELETED}. */
  #slots = new Int32Array(16);
  #hashes = new Int32Array(16);
  #used = 0;
  #is: (n: number, folded: string) => boolean;

  /** `is(n, folded)`: whether record `n` is stored under the folded name. */
  constructor(is: (n: number, folded: string) => boolean) {
    this.#is = is;
  }

  /** The record number stored under `name`, or -1. */
  find(name: string): number {
    const folded = fold(name);
    const h = hash(folded);
    const mask = this.#slots.length - 1;
    for (let i = h & mask;; i = (i + 1) & mask) {
      const s = this.#slots[i];
      if (s === EMPTY) return -1;
      if (s !== DELETED && this.#hashes[i] === h && this.#is(s - 1, folded)) {
        return s - 1;
      }
    }
  }

  add(name: string, n: number): void {
    if ((this.#used + 1) > this.#slots.length * MAX_LOAD) this.#grow();
    this.#put(hash(fold(name)), n);
    this.#used++;
  }

  /** Remove record `n` stored under `name`. */
  remove(name: string, n: number): void {
    const h = hash(fold(name));
    const mask = this.#slots.length - 1;
    for (let i = h & mask;; i = (i + 1) & mask) {
      const s = this.#slots[i];
      if (s === EMPTY) return;
      if (s === n + 1) {
        this.#slots[i] = DELETED;
        return;
      }
    }
  }

  clear(): void {
    this.#slots = new Int32Array(16);
    this.#hashes = new Int32Array(16);
    this.#used = 0;
  }

  #put(h: number, n: number): void {
    const mask = this.#slots.length - 1;
    let i = h & mask;
    while (this.#slots[i] > EMPTY) i = (i + 1) & mask;
    this.#slots[i] = n + 1;
    this.#hashes[i] = h;
  }

  /** Double the table (or rebuild it, if most of it is deleted slots). */
  #grow(): void {
    const slots = this.#slots;
    const hashes = this.#hashes;
    let live = 0;
    for (const s of slots) if (s > EMPTY) live++;
    const size = live + 1 > slots.length * MAX_LOAD / 2
      ? slots.length * 2
      : slots.length;
    this.#slots = new Int32Array(size);
    this.#hashes = new Int32Array(size);
    for (let i = 0; i < slots.length; i++) {
      if (slots[i] > EMPTY) this.#put(hashes[i], slots[i] - 1);
    }
    this.#used = live;
  }
}

/** 32-bit FNV-1a over the UTF-16 code units of `text`. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return h | 0;
}
