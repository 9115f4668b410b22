/**
 * Plain-text tables for the terminal.
 *
 * @module
 */

/**
 * Render rows under a header, columns padded to their widest cell.
 *
 * @example
 * ```ts
 * renderTable(["a", "b"], [["1", "22"]]);
 * // "a  b \n-  --\n1  22"
 * ```
 */
export function renderTable(header: string[], rows: string[][]): string {
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
