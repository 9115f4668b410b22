/**
 * Secrets out of text. Every error callsync keeps or shows passes through
 * {@link redact} first: the CRM token, the dashboard token and proxy
 * passwords (in their raw, JSON-escaped and percent-encoded forms), and the
 * user-info of any URL (`https://user:password@host` → `https://***@host`),
 * become `***` — before the text is stored in the state, shown by `status` or
 * the dashboard, or encoded as a JSON log line.
 *
 * @example
 * ```ts
 * redact('401 from ftp://bot:pw@x.example: bad token "s3cret"', ["s3cret"]);
 * // '401 from ftp://***@x.example: bad token "***"'
 * ```
 *
 * @module
 */

/** What a secret is replaced with. */
export const MASK = "***";

/** `scheme://` then user-info up to the `@` that ends it. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*@/gi;

/** `text` with every form of every secret, and URL user-info, masked. */
export function redact(text: string, secrets: readonly string[]): string {
  return redactor(secrets)(text);
}

/**
 * A function that redacts like {@link redact}, with the secrets' forms
 * worked out once (for a logger that redacts every line).
 */
export function redactor(
  secrets: readonly string[],
): (text: string) => string {
  const forms = [...new Set(secrets.filter((s) => s !== "").flatMap(formsOf))]
    // Longest first, so a form is not cut by a shorter one inside it.
    .sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const form of forms) {
      if (out.includes(form)) out = out.replaceAll(form, MASK);
    }
    return out.replace(USERINFO, `$1${MASK}@`);
  };
}

/** How a secret may appear in text: as is, JSON-escaped, percent-encoded. */
function formsOf(secret: string): string[] {
  return [
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
  ];
}
