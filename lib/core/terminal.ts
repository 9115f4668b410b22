/**
 * Text from outside (file names, transcript fields, CRM answers) made safe
 * for a terminal: control characters are shown escaped, so a file name can
 * neither forge a log line with a newline nor clear the operator's screen
 * with an escape sequence.
 *
 * @example
 * ```ts
 * escapeControls("a\nb\x1b[2J.json"); // "a\\nb\\x1b[2J.json"
 * ```
 *
 * @module
 */

/**
 * C0 controls, DEL, C1 controls, the Unicode line and paragraph separators,
 * and the bidirectional overrides and isolates (which reorder what follows
 * them on screen).
 */
const CONTROL =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** `text` with every control character shown as an escape (`\n`, `\x1b`, `\u202e`). */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ??
      (code < 0x100
        ? `\\x${code.toString(16).padStart(2, "0")}`
        : `\\u${code.toString(16).padStart(4, "0")}`);
  });
}

/**
 * A JSON text with the characters `JSON.stringify` leaves raw but a
 * terminal may act on (DEL, C1 controls, U+2028/2029) written as `\u` escapes:
 * still the same JSON.
 */
export function escapeJsonControls(json: string): string {
  return json.replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
