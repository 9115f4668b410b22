/**
 * The page of one set (`/sets/<name>`): its state, files, pairing, delivery
 * record and call record. A pure function of the {@link SetDetail} the
 * server builds.
 *
 * @module
 */
import {
  formatBytes,
  formatSeconds,
  round2,
  signed,
  whenIso,
} from "./format.ts";
import { badge, kindTag, layout, retryable, table, tag } from "./layout.ts";
import type { SetDetail } from "./model.ts";
import { type Html, html } from "../core/html.ts";

/** Options of {@link renderSetPage}. */
export interface SetPageOptions {
  nonce: string;
  timezone: string;
  writable: boolean;
  now: number;
}

const LEAD_REASON: Record<string, string> = {
  "session-timestamp": "same session timestamp in both file names",
  "session-id": "the lead's session_id is the transcript's",
  time: "the time in its name fits this call's (learned band) and no other",
};

const TIME_BASIS: Record<string, string> = {
  recording: "read by the recording it pairs with (its name is UTC)",
  "file-time": "read by the transcript's own file time (UTC)",
  rule: "nothing tells which pass: read as the first (the stated rule)",
};

const FILE_COLUMNS = ["Folder", "Name", "Size", "Modified", "Recording"];

/** JSON indented for a `<pre>`. */
function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** How the set's recording was paired with its transcript, in words. */
function recordingPairing(d: SetDetail): Html {
  const rm = d.pairing.recording;
  if (!rm) {
    const none = d.kind === "call"
      ? "no recording paired"
      : d.kind === "recording-only"
      ? "recording-only call: no transcript matched it"
      : d.kind === "lead-only"
      ? "lead-only call: no recording, no transcript"
      : "—";
    return html`<span class="muted">${none}</span>`;
  }
  const facts: string[] = [];
  if (rm.startDiffSeconds !== undefined) {
    const s = rm.startDiffSeconds;
    facts.push(
      `started ${Math.abs(round2(s))} s ${
        s <= 0 ? "before" : "after"
      } the transcript` +
        (rm.expectedOffsetSeconds !== undefined
          ? ` (the recorder's learned offset here: ${
            signed(rm.expectedOffsetSeconds)
          } s)`
          : ""),
    );
  }
  if (rm.endDiffSeconds !== undefined) {
    facts.push(
      `ended ${signed(rm.endDiffSeconds)} s from the transcript's end`,
    );
  }
  if (rm.mtimeEndDiffSeconds !== undefined) {
    facts.push(`last written ${signed(rm.mtimeEndDiffSeconds)} s after it`);
  }
  if (rm.durationDiffSeconds !== undefined) {
    facts.push(`length difference ${signed(rm.durationDiffSeconds)} s`);
  }
  if (rm.confidence !== undefined) {
    facts.push(`confidence ${Math.round(rm.confidence * 1000) / 10} %`);
  }
  if (rm.rivals?.length) {
    facts.push(`also fit by ${rm.rivals.join(", ")}`);
  }
  const how = d.state === "delivered"
    ? "delivered with this call"
    : rm.pinned
    ? "uploaded earlier with this conversation, so the pairing is pinned"
    : "";
  const text = [how, ...facts].filter(Boolean).join("; ");
  return html`<code>${rm.name}</code>: ${text}.`;
}

/** How the set's lead was attached, in words. */
function leadPairing(d: SetDetail): Html {
  if (d.updateOf) {
    return html`<code>${d.name}</code>: came after ${d.updateOf.callId} was delivered; sent as an update of it (same callId, its own Idempotency-Key).`;
  }
  if (d.aloneReason !== undefined) {
    const went = d.state === "delivered" ? "sent" : "goes";
    return html`<code>${d.name}</code>: belongs to no call clearly (${d.aloneReason}); ${went} alone as a lead-only call record (its own callId and Idempotency-Key), never attached to a call afterwards.`;
  }
  if (d.leadSentAlone) {
    return html`<code>${d.leadSentAlone.lead}</code>: this call's lead was already sent alone as ${d.leadSentAlone.callId}; this call goes without it (a lead is never sent twice).`;
  }
  const lm = d.pairing.lead;
  if (!lm) return html`<span class="muted">no lead</span>`;
  const why = lm.reason
    ? LEAD_REASON[lm.reason] ?? lm.reason
    : "delivered with this call";
  const diff = lm.diffSeconds !== undefined
    ? ` (${signed(lm.diffSeconds)} s from the call's ${
      lm.against === "end" ? "end" : "save time"
    })`
    : "";
  return html`<code>${lm.name}</code>: ${why}${diff}.`;
}

/** The host's learned timing, ambiguity and clock changes, in words. */
function pairingContext(d: SetDetail): Html {
  const t = d.pairing.timing;
  const apart = d.pairing.keptApartFrom;
  const time = d.pairing.localTime;
  return html`
    ${apart
      ? html`
        <dt>Kept apart</dt>
        <dd class="err">from ${apart.files.join(", ")}: ${apart.reason}</dd>
      `
      : ""} ${time
      ? html`
        <dt>Local time</dt>
        <dd>repeated by a clock change (${time
          .readings} readings); ${TIME_BASIS[
            time.basis
          ]}</dd>
      `
      : ""} ${t
      ? html`
        <dt>Learned</dt>
        <dd>${t.pairs
          ? `recorder offset ${signed(t.offsetSeconds)} s ± ${
            round2(t.offsetSpreadSeconds)
          } s, ends ${signed(t.endBiasSeconds)} s ± ${
            round2(t.endSpreadSeconds)
          } s, from ${t.pairs} unambiguous pairs`
          : "nothing yet (no unambiguous pair): wide priors"}</dd>
      `
      : ""}
  `;
}

/** The page of one set. */
export function renderSetPage(d: SetDetail, o: SetPageOptions): string {
  const tz = o.timezone;
  const retry = retryable(d)
    ? html`
      <button type="button" data-action="retry" data-name="${d.name}"
        disabled>Retry</button>
    `
    : "";
  const fact = (label: string, value: Html | string | undefined, cls = "") =>
    value
      ? html`
        <dt>${label}</dt>
        <dd class="${cls}">${value}</dd>
      `
      : "";
  const files = d.files.map((f) => {
    const recording = f.folder === "recordings" && !f.missing
      ? `${formatSeconds(f.durationSeconds)}${
        f.complete === false ? " · not finished" : ""
      }${f.contentType ? ` · ${f.contentType}` : ""}`
      : "";
    return html`
      <tr>
        <td>${f.folder}</td>
        <td class="name">${f.name} ${f.missing ? tag("not on disk") : ""}</td>
        <td class="num">${formatBytes(f.size)}</td>
        <td class="nowrap">${whenIso(f.modifiedAt, tz)}</td>
        <td>${recording}</td>
      </tr>
    `;
  });
  const progress = d.progress
    ? html`
      <h3>Progress (<code>.pending</code>)</h3>
      <pre class="json">${pretty(d.progress)}</pre>
    `
    : "";
  const delivery = d.delivery
    ? html`<pre class="json">${pretty(d.delivery)}</pre>`
    : html`<p class="muted">Not delivered yet.</p>`;
  const payload = d.payload
    ? html`
      <p class="hint">${d.payload.note}</p>
      <pre class="json">${pretty(d.payload.record)}</pre>
    `
    : html`<p class="muted">No call record: this file belongs to no call.</p>`;
  const body = html`
    <p class="crumbs"><a href="/">← Dashboard</a></p>
    <section class="panel">
      <div class="panel-head">
        <h1 class="name">${d.name}</h1>
        ${badge(d.state)} ${kindTag(d.kind)}
        <span class="spacer"></span>
        ${retry}
      </div>
      <p id="flash" class="flash" hidden></p>
      <dl class="facts">
        ${fact("State", `${d.state}: ${d.reason}`)}
        ${fact("Delivered", whenIso(d.deliveredAt, tz))}
        ${fact("Call ID", d.callId, "mono")}
        ${fact("Call start", whenIso(d.startedAt, tz))}
        ${fact("Attempts", String(d.attempts))}
        ${fact("Last error", d.lastError, "err")}
        ${fact("Next attempt", whenIso(d.nextAttemptAt, tz))}
      </dl>
    </section>
    <section class="panel">
      <h2>Files</h2>
      ${table(FILE_COLUMNS, files, "No files.")}
    </section>
    <section class="panel">
      <h2>Pairing</h2>
      <dl class="facts">
        <dt>Recording</dt>
        <dd>${recordingPairing(d)}</dd>
        <dt>Lead</dt>
        <dd>${leadPairing(d)}</dd>
        ${pairingContext(d)}
      </dl>
    </section>
    <section class="panel">
      <h2>Delivery record</h2>
      ${delivery} ${progress}
    </section>
    <section class="panel">
      <h2>Call record</h2>
      ${payload}
    </section>
    <footer>
      Times in ${tz}.
      <a href="/api/sets/${encodeURIComponent(d.name)}">JSON</a>
    </footer>
  `;
  return layout(`${d.name} · callsync`, o.nonce, o.writable, body);
}
