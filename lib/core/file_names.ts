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

const fold = (name: string) => name.toLowerCase();

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
  #stored = new Map<string, string>();

  override has(name: string): boolean {
    return this.#stored.has(fold(name));
  }

  override get(name: string): V | undefined {
    const stored = this.#stored.get(fold(name));
    return stored === undefined ? undefined : super.get(stored);
  }

  override set(name: string, value: V): this {
    const key = fold(name);
    const stored = this.#stored.get(key) ?? name;
    this.#stored.set(key, stored);
    return super.set(stored, value);
  }

  override delete(name: string): boolean {
    const key = fold(name);
    const stored = this.#stored.get(key);
    if (stored === undefined) return false;
    this.#stored.delete(key);
    return super.delete(stored);
  }

  override clear(): void {
    this.#stored.clear();
    super.clear();
  }
}

/**
 * A `Set` of file names that finds a name in any case (see
 * {@link CaseFoldedMap}).
 */
export class CaseFoldedSet extends Set<string> {
  #stored = new Map<string, string>();

  override has(name: string): boolean {
    return this.#stored.has(fold(name));
  }

  override add(name: string): this {
    const key = fold(name);
    if (this.#stored.has(key)) return this;
    this.#stored.set(key, name);
    return super.add(name);
  }

  override delete(name: string): boolean {
    const key = fold(name);
    const stored = this.#stored.get(key);
    if (stored === undefined) return false;
    this.#stored.delete(key);
    return super.delete(stored);
  }

  override clear(): void {
    this.#stored.clear();
    super.clear();
  }
}

/** A map keyed by file name, as this host's file system compares names. */
export function fileNameMap<V>(): Map<string, V> {
  return NAMES_IGNORE_CASE ? new CaseFoldedMap<V>() : new Map<string, V>();
}

/** A set of file names, as this host's file system compares names. */
export function fileNameSet(): Set<string> {
  return NAMES_IGNORE_CASE ? new CaseFoldedSet() : new Set<string>();
}
