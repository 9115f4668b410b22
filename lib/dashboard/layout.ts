/**
 * The frame of every dashboard page (header, token form, the inlined style
 * and script) and the small pieces the pages share: state badges, tags,
 * tables, the retry rule, the message page.
 *
 * @module
 */
import { DASHBOARD_CSS, DASHBOARD_SCRIPT } from "./assets.ts";
import { type Html, html, trusted } from "../core/html.ts";

/** Why the buttons are off on a dashboard started without a token. */
export const READ_ONLY =
  "Read-only: start callsync serve with DASHBOARD_TOKEN (or --token) to run and retry from here.";

/** A set's state as a coloured badge. */
export function badge(state: string): Html {
  return html`<span class="badge ${state}">${state}</span>`;
}

/** A small grey tag; nothing for no text. */
export function tag(text: string | undefined): Html | "" {
  return text ? html`<span class="tag">${text}</span>` : "";
}

/** ` hidden` (or nothing), for inside a start tag. */
export function hiddenIf(hide: boolean): Html {
  return trusted(hide ? " hidden" : "");
}

/** A tag for a set that is not an ordinary call. */
export function kindTag(kind: string): Html | "" {
  return tag(
    kind === "recording-only"
      ? "recording only"
      : kind === "lead-update"
      ? "lead update"
      : kind === "lead-only"
      ? "lead only"
      : kind === "file"
      ? "file"
      : undefined,
  );
}

/** Can the dashboard make this set due again? (Failed, or retried already.) */
export function retryable(
  s: { kind: string; state: string; attempts: number },
): boolean {
  return s.kind !== "file" &&
    (s.state === "failed" || (s.state === "waiting" && s.attempts > 0));
}

/** A scrolling table; without rows, one row says `empty` across it. */
export function table(
  headers: readonly string[],
  rows: readonly Html[],
  empty: string,
): Html {
  const none = html`
    <tr class="empty">
      <td colspan="${headers.length}">${empty}</td>
    </tr>
  `;
  return html`
    <div class="scroll">
      <table>
        <thead>
          <tr>${headers.map((h) => html`<th>${h}</th>`)}</tr>
        </thead>
        <tbody>${rows.length ? rows : none}</tbody>
      </table>
    </div>
  `;
}

/** A whole page: `body` in the frame, with the style and script nonce'd. */
export function layout(
  title: string,
  nonce: string,
  writable: boolean,
  body: Html,
): string {
  const token = writable
    ? html`
      <form id="token-form" class="token" method="post" action="/token"
        autocomplete="off">
        <label for="token-input">Dashboard token</label>
        <input id="token-input" name="token" type="password" autocomplete="off"
          spellcheck="false" placeholder="DASHBOARD_TOKEN" required>
        <button type="submit">Use token</button>
      </form>
      <span id="token-state" class="token" hidden>
        Token set for this tab
        <button type="button" id="token-forget" class="link">forget</button>
      </span>
    `
    : html`
      <span class="token readonly" title="${READ_ONLY}">Read-only</span>
    `;
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>${title}</title>
        <style nonce="${nonce}">${trusted(DASHBOARD_CSS)}</style>
      </head>
      <body data-writable="${String(writable)}">
        <header class="top">
          <a class="brand" href="/">callsync</a>
          <span class="sub">upload dashboard</span>
          <span class="spacer"></span>
          ${token}
        </header>
        <main>${body}</main>
        <script nonce="${nonce}">${trusted(DASHBOARD_SCRIPT)}</script>
      </body>
    </html>
  `.value;
}

/** A small page with a message (404 and the like). */
export function renderMessagePage(
  title: string,
  message: string,
  nonce: string,
  writable: boolean,
): string {
  const body = html`
    <p class="crumbs"><a href="/">← Dashboard</a></p>
    <section class="panel">
      <h1>${title}</h1>
      <p>${message}</p>
    </section>
  `;
  return layout(`${title} · callsync`, nonce, writable, body);
}
