/**
 * Turning anything thrown into the text a log line or an error report shows.
 *
 * @module
 */

/**
 * The message of an `Error`, or the thrown value as text.
 *
 * @example
 * ```ts
 * errorMessage(new Error("disk full")); // "disk full"
 * errorMessage("timeout"); // "timeout"
 * ```
 */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
