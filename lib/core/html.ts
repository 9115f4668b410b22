/**
 * Safe HTML building: the {@link html} tagged template escapes every
 * interpolated value unless it is already {@link Html} (made by `html` itself
 * or explicitly wrapped with {@link trusted}). File names, transcripts, leads
 * and error messages are untrusted text and are only ever interpolated, never
 * concatenated into markup.
 *
 * @module
 */

/** Markup that is safe to insert as is. */
export class Html {
  /** The markup. */
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  /** The markup. */
  toString(): string {
    return this.value;
  }
}

/** What {@link html} accepts between `${…}`. */
export type HtmlValue =
  | Html
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly HtmlValue[];

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** Escape text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

function fragment(v: HtmlValue): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(fragment).join("");
  if (v === null || v === undefined || v === false) return "";
  return escapeHtml(String(v));
}

/**
 * Build markup; every interpolation is escaped unless it is {@link Html}.
 * Arrays are joined; `null`, `undefined` and `false` render as nothing.
 * Attribute values must be quoted in the template.
 *
 * @example
 * ```ts
 * html`<td title="${name}">${name}</td>`.value;
 * // with name = "<img src=x>": '<td title="&lt;img src=x&gt;">&lt;img src=x&gt;</td>'
 * ```
 */
export function html(
  strings: TemplateStringsArray,
  ...values: HtmlValue[]
): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) {
    out += fragment(values[i]) + strings[i + 1];
  }
  return new Html(out);
}

/** Mark a constant of our own as markup. Never pass it untrusted text. */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/** The URL if it is http(s), else undefined (no `javascript:` links). */
export function safeHttpUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:"
      ? u.href
      : undefined;
  } catch {
    return undefined;
  }
}
