/**
 * Errors every layer may raise or report: {@link UsageError} for a bad
 * command line, and {@link errorMessage} for the text of anything thrown.
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

/** Bad command-line usage; `main` exits 2 with the message. */
export class UsageError extends Error {
  override name = "UsageError";
}
