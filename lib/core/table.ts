/**
 * Plain-text tables for the terminal.
 *
 * @module
 */
import { escapeControls } from "./terminal.ts";

/**
 * Render rows under a header, columns padded to their widest cell. Control
 * characters in a cell (a file name's newline or escape sequence) are shown
 * escaped.
 *
 * @example
 * ```ts
 * renderTable(["a", "b"], [["1", "22"]]);
 * // "a  b \n-  --\n1  22"
 * ```
 */
export function renderTable(header: string[], rows: string[][]): string {
  rows = rows.map((r) => r.map(escapeControls));
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ]
    .join("\n");
}
