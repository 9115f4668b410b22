/**
 * The error every recording reader throws for bytes it cannot read: a file
 * that is not what its name says, or one still being written. The scan
 * treats it as possibly temporary (final once the file is stale).
 *
 * @module
 */

/**
 * Thrown when a recording's bytes are not (yet) a readable container.
 *
 * @example
 * ```ts
 * import { RecordingFormatError } from "./format_error.ts";
 *
 * try {
 *   await readRecordingMedia("notes.ogg", "ogg");
 * } catch (error) {
 *   if (error instanceof RecordingFormatError) console.error(error.message);
 * }
 * ```
 */
export class RecordingFormatError extends Error {
  override name = "RecordingFormatError";
}
