/**
 * Turns for the event loop during a long stretch of work that awaits only
 * promises already settled: callsync's file calls are made at once on the
 * calling thread (see `safe_fs.ts`), so a scan of many files would
 * otherwise hold every timer, request and file event until it ends.
 *
 * @module
 */
import { setImmediate } from "node:timers";

/** How long a stretch of work may hold the event loop, by default. */
const DEFAULT_STRETCH_MS = 10;

/**
 * Hands the event loop a turn once `stretchMs` have gone by since the last.
 *
 * @example
 * ```ts
 * const breather = new Breather();
 * for (const name of names) {
 *   await breather.breathe(); // timers and requests run every 10 ms
 *   await readOne(name);
 * }
 * ```
 */
export class Breather {
  readonly #stretchMs: number;
  #since = performance.now();

  /** Give a turn every `stretchMs` of work. */
  constructor(stretchMs: number = DEFAULT_STRETCH_MS) {
    this.#stretchMs = stretchMs;
  }

  /**
   * Resolves at once within a stretch; at its end, after the event loop
   * ran what was due (timers, I/O callbacks).
   */
  async breathe(): Promise<void> {
    if (performance.now() - this.#since < this.#stretchMs) return;
    // A turn of its own, as Node's `setImmediate` gives (≈ 30 µs): a
    // `setTimeout(…, 0)` waits for the timer's next tick (≈ 2 ms here).
    await new Promise((turn) => setImmediate(turn));
    this.#since = performance.now();
  }
}
