/**
 * The dashboard pages' style sheet and script: real files beside this module
 * (`assets/dashboard.css`, `assets/dashboard.js`, checked by `deno fmt` and
 * `deno lint`), imported as text so they are part of the module graph and
 * of the compiled binary, and inlined into every page under the response's
 * CSP nonce. The script finds its elements by the ids and data attributes
 * the page renderers write.
 *
 * @module
 */
import css from "./assets/dashboard.css" with { type: "text" };
import script from "./assets/dashboard.js" with { type: "text" };

/** The pages' style sheet. */
export const DASHBOARD_CSS: string = css;

/** The pages' script: token entry, Run now, retries, following a run, filtering rows. */
export const DASHBOARD_SCRIPT: string = script;
