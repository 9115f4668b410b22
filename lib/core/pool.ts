/**
 * Run async work over a list with at most `limit` items in flight.
 *
 * @module
 */

/**
 * Call `fn` for every item, at most `limit` at a time, in list order of
 * starting. `shouldStop` is asked before each start; once it says yes, no
 * new item starts and the ones in flight finish.
 *
 * @example
 * ```ts
 * await forEachLimited([1, 2, 3], 2, async (n) => console.log(n));
 * ```
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  shouldStop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !shouldStop()) await fn(items[next++]);
  };
  const workers = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
}
