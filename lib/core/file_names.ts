/**
 * File names compared the way the host's file system compares them. On
 * Windows `Transcript_Session_X.JSON` and `transcript_session_x.json` name one
 * file (a folder cannot hold both), so a set delivered under one spelling is
 * delivered under the other — a file renamed in case only, or written again
 * by a tool that spells it differently, is not sent twice. On POSIX they are
 * two files, and stay two.
 *
 * @module
 */

/** True where file names differ in case only for one file (Windows). */
export const NAMES_IGNORE_CASE: boolean = Deno.build.os === "windows";

/**
 * The spelling each name was first stored under, by its lower-case form
 * (for {@link CaseFoldedMap}).
 */
class Spellings {
  #first = new Map<string, string>();

  /** The stored spelling of `name`, if any. */
  get(name: string): string | undefined {
    return this.#first.get(name.toLowerCase());
  }

  /** The stored spelling of `name`, storing `name` if it is new. */
  keep(name: string): string {
    const stored = this.get(name) ?? name;
    this.#first.set(name.toLowerCase(), stored);
    return stored;
  }

  /** Forget `name`; resolves to the spelling it was stored under. */
  forget(name: string): string | undefined {
    const stored = this.get(name);
    this.#first.delete(name.toLowerCase());
    return stored;
  }

  clear(): void {
    this.#first.clear();
  }
}

/**
 * A `Map` keyed by file name that finds a name in any case. It iterates
 * names as first stored; a later spelling of the same name updates that
 * entry.
 *
 * @example
 * ```ts
 * const m = new CaseFoldedMap<number>();
 * m.set("Transcript_Session_1.JSON", 1);
 * m.get("transcript_session_1.json"); // 1
 * [...m.keys()]; // ["Transcript_Session_1.JSON"]
 * ```
 */
export class CaseFoldedMap<V> extends Map<string, V> {
  #spellings = new Spellings();

  override has(name: string): boolean {
    return this.#spellings.get(name) !== undefined;
  }

  override get(name: string): V | undefined {
    const stored = this.#spellings.get(name);
    return stored === undefined ? undefined : super.get(stored);
  }

  override set(name: string, value: V): this {
    return super.set(this.#spellings.keep(name), value);
  }

  override delete(name: string): boolean {
    const stored = this.#spellings.forget(name);
    return stored !== undefined && super.delete(stored);
  }

  override clear(): void {
    this.#spellings.clear();
    super.clear();
  }
}

/** A map keyed by file name, as this host's file system compares names. */
export function fileNameMap<V>(): Map<string, V> {
  return NAMES_IGNORE_CASE ? new CaseFoldedMap<V>() : new Map<string, V>();
}
