/**
 * Things kept for reuse, such as read buffers: on this kind of machine a
 * fresh `Uint8Array` under 128 KiB costs far more than its size (a page
 * fault for every page a read fills; BENCHMARKS.md, section 11), and a scan
 * reads thousands of small files.
 *
 * @module
 */

/**
 * A stack of spare items made by `make` when none is free. As many are kept
 * as were ever in use at once (one, for a scan reading file after file).
 *
 * @example
 * ```ts
 * import { Spares } from "./spares.ts";
 *
 * const buffers = new Spares(() => new Uint8Array(64 * 1024));
 * const first = await buffers.use(async (buf) => {
 *   buf[0] = 1;
 *   return buf[0];
 * });
 * first; // 1; the buffer is back on the stack for the next use
 * ```
 */
export class Spares<T> {
  readonly #make: () => T;
  readonly #free: T[] = [];

  constructor(make: () => T) {
    this.#make = make;
  }

  /**
   * `fn` with a spare item (a new one if none is free), which is put back
   * once `fn` has settled; `fn` must not keep it.
   */
  async use<R>(fn: (item: T) => Promise<R>): Promise<R> {
    const item = this.#free.pop() ?? this.#make();
    try {
      return await fn(item);
    } finally {
      this.#free.push(item);
    }
  }
}
