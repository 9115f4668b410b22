/**
 * A small `.env` reader: `KEY=value` lines, optional `export `, `#`
 * comments, single or double quotes (double quotes understand `\n`, `\"`).
 *
 * @module
 */

/** Thrown for a line that is not `KEY=value`; names the file and line. */
export class EnvFileError extends Error {
  override name = "EnvFileError";
}

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

/**
 * Parse the text of an env file.
 *
 * @example
 * ```ts
 * parseEnvFile('A=1\n# note\nexport B="two words" # comment\n', "x.env");
 * // { A: "1", B: "two words" }
 * ```
 */
export function parseEnvFile(
  text: string,
  fileName: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    if (/^\s*(#|$)/.test(raw)) return;
    const m = LINE.exec(raw);
    if (!m) {
      // Only the name is shown: the rest may be a token.
      const name = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(raw)?.[1];
      throw new EnvFileError(
        `${fileName}:${i + 1}: expected KEY=value, found ${
          name ? `"${name} …" (the rest not shown)` : "a line that is not one"
        }`,
      );
    }
    out[m[1]] = unquote(m[2]);
  });
  return out;
}

function unquote(value: string): string {
  const v = value.trim();
  const quote = v[0];
  if (quote === '"' || quote === "'") {
    const end = closingQuote(v, quote);
    if (end > 0) {
      const inner = v.slice(1, end);
      return quote === "'" ? inner : inner.replace(
        /\\([nrt"\\])/g,
        (_, c: string) => ({ n: "\n", r: "\r", t: "\t" })[c] ?? c,
      );
    }
  }
  return v.replace(/\s+#.*$/, "");
}

/** Index of the quote closing `v[0]`; inside double quotes `\"` does not close. */
function closingQuote(v: string, quote: string): number {
  for (let i = 1; i < v.length; i++) {
    if (quote === '"' && v[i] === "\\") i++;
    else if (v[i] === quote) return i;
  }
  return -1;
}
