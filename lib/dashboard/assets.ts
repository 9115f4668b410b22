/**
 * The dashboard pages' style sheet and script: constants of our own, inlined
 * into every page and allowed by the response's CSP nonce. The script finds
 * its elements by the ids and data attributes the page renderers write.
 *
 * @module
 */

/** The pages' style sheet. */
export const DASHBOARD_CSS = `
:root{--bg:#f5f6f8;--card:#fff;--ink:#1c2330;--muted:#667085;--line:#e3e6eb;
--accent:#2459c4;--ok:#18794e;--okbg:#e6f4ea;--warn:#9a5b00;--warnbg:#fff4dc;
--bad:#b42318;--badbg:#fde8e6;--wait:#475467;--waitbg:#eef0f3;--pend:#2459c4;--pendbg:#e7efff}
*{box-sizing:border-box}
[hidden]{display:none !important}
html{background:var(--bg)}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink)}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
code,.mono,pre,.name{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
header.top{display:flex;align-items:center;gap:12px;padding:10px 24px;background:#101828;color:#e4e7ec;flex-wrap:wrap}
header.top .brand{color:#fff;font-weight:700;font-size:17px;letter-spacing:.2px}
header.top .sub{color:#98a2b3}
.spacer{flex:1}
.token{display:flex;align-items:center;gap:8px;font-size:13px}
.token[hidden]{display:none}
.token input{width:200px;padding:5px 8px;border-radius:6px;border:1px solid #475467;background:#1d2939;color:#fff}
.token.readonly{padding:3px 10px;border-radius:999px;background:#344054;color:#fff}
main{max-width:1280px;margin:0 auto;padding:20px 24px 32px}
.cards{display:grid;grid-template-columns:repeat(4,minmax(0,1fr)) repeat(2,minmax(0,1.6fr));gap:12px;margin-bottom:16px}
.card{display:flex;flex-direction:column;gap:2px;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px;color:inherit;min-width:0}
a.card:hover{text-decoration:none;border-color:#b8c0cc}
.card .num{font-size:28px;font-weight:700;line-height:1.1}
.card .label{font-size:12px;text-transform:uppercase;letter-spacing:.6px;color:var(--muted);font-weight:600}
.card .big{font-size:17px;font-weight:600}
.card .hint{font-size:12px;color:var(--muted);overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.card.delivered .num{color:var(--ok)}.card.pending .num{color:var(--pend)}
.card.waiting .num{color:var(--wait)}.card.failed .num{color:var(--bad)}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin-bottom:16px}
.panel-head{display:flex;align-items:center;gap:12px;flex-wrap:wrap;margin-bottom:8px}
h1{font-size:18px;margin:0}h2{font-size:15px;margin:0}h3{font-size:13px;margin:14px 0 6px}
h1.name{font-size:15px;word-break:break-all}
.count{display:inline-block;min-width:22px;padding:0 7px;border-radius:999px;background:var(--waitbg);color:var(--wait);font-size:12px;text-align:center;vertical-align:1px}
.buttons{display:flex;gap:8px;margin-left:auto}
button{font:inherit;font-size:13px;padding:6px 14px;border-radius:6px;border:1px solid #c4cad4;background:#fff;color:var(--ink);cursor:pointer}
button:hover:not(:disabled){background:#f2f4f7}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff;font-weight:600}
button.primary:hover:not(:disabled){background:#1d4aa6}
button:disabled{opacity:.45;cursor:not-allowed}
button.small{padding:3px 10px;font-size:12px}
button.link{border:0;background:none;color:#9ec1ff;padding:0;text-decoration:underline}
.hint{color:var(--muted);font-size:12.5px;margin:4px 0}
.hint:empty{display:none}
.muted{color:var(--muted)}
.flash{margin:8px 0;padding:7px 10px;border-radius:6px;font-size:13px}
.flash.info{background:var(--pendbg);color:var(--pend)}.flash.ok{background:var(--okbg);color:var(--ok)}
.flash.warn{background:var(--warnbg);color:var(--warn)}.flash.bad{background:var(--badbg);color:var(--bad)}
.run{margin-top:10px;border-top:1px solid var(--line);padding-top:8px}
.run-head{margin:0 0 6px}
pre{margin:0;white-space:pre-wrap;word-break:break-word}
pre.log{max-height:260px;overflow:auto;background:#101828;color:#d0d5dd;padding:10px 12px;border-radius:8px;font-size:12px;line-height:1.5}
pre.log:empty{display:none}
pre.json{max-height:520px;overflow:auto;background:#f8f9fb;border:1px solid var(--line);padding:10px 12px;border-radius:8px}
.filter{display:flex;align-items:center;gap:8px;margin-left:auto;font-size:13px}
.filter select,.filter input{font:inherit;font-size:13px;padding:5px 8px;border:1px solid #c4cad4;border-radius:6px;background:#fff}
.filter input{width:240px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-size:12px;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line);padding:6px 8px;white-space:nowrap}
td{border-bottom:1px solid #eef0f3;padding:7px 8px;vertical-align:top}
tbody tr:hover td{background:#fafbfc}
tr.empty td{color:var(--muted);text-align:center;padding:16px}
td.name{word-break:break-all;min-width:120px}
td.num{text-align:right}
td.err{color:var(--bad);font-size:12.5px;max-width:260px;word-break:break-word}
td.nowrap,.nowrap{white-space:nowrap}
.reason{font-family:system-ui,sans-serif;font-size:12px;color:var(--muted);word-break:normal;margin-top:2px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600}
.badge.delivered{background:var(--okbg);color:var(--ok)}.badge.pending{background:var(--pendbg);color:var(--pend)}
.badge.waiting{background:var(--waitbg);color:var(--wait)}.badge.failed{background:var(--badbg);color:var(--bad)}
.tag{display:inline-block;padding:0 6px;border:1px solid var(--line);border-radius:4px;font:11px system-ui,sans-serif;color:var(--muted)}
.pill{display:inline-block;padding:0 7px;border-radius:999px;font-weight:600}
.pill.ok{background:var(--okbg);color:var(--ok)}.pill.warn{background:var(--warnbg);color:var(--warn)}.pill.bad{background:var(--badbg);color:var(--bad)}
svg.chart{width:100%;height:auto;display:block}
svg .bar{fill:var(--accent)}svg .bar.zero{fill:#d0d5dd}
svg .grid{stroke:#eaecf0;stroke-width:1}
svg .axis{fill:#98a2b3;font-size:10px}svg .value{fill:#475467;font-size:9.5px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:8px 0 0}
dl.facts dt{color:var(--muted);font-size:12.5px}dl.facts dd{margin:0;word-break:break-word}
.crumbs{margin:0 0 10px}
footer{color:var(--muted);font-size:12px;margin-top:8px}
@media (max-width:1000px){.cards{grid-template-columns:repeat(2,minmax(0,1fr))}.filter{margin-left:0}}
`;

/** The pages' script: token entry, Run now, retries, following a run, filtering rows. */
export const DASHBOARD_SCRIPT = `
(() => {
  "use strict";
  const KEY = "callsync-dashboard-token";
  const writable = document.body.dataset.writable === "true";
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));
  let busy = false;

  const getToken = () => {
    try { return sessionStorage.getItem(KEY) || ""; } catch (_) { return ""; }
  };
  const setToken = (value) => {
    try {
      if (value) sessionStorage.setItem(KEY, value);
      else sessionStorage.removeItem(KEY);
    } catch (_) { /* storage off: the token lives until reload */ }
  };

  const flash = (text, kind) => {
    const el = $("#flash");
    if (!el) return;
    el.textContent = text || "";
    el.className = "flash " + (kind || "info");
    el.hidden = !text;
  };

  function refresh() {
    const has = getToken() !== "";
    for (const b of $$("button[data-action]")) {
      b.disabled = !writable || !has || busy || b.dataset.blocked === "crm";
    }
    const form = $("#token-form");
    const state = $("#token-state");
    if (form) form.hidden = has;
    if (state) state.hidden = !has;
    const hint = $("#action-hint");
    if (hint && writable && !$("[data-blocked]")) {
      hint.textContent = has ? "" : "Enter the dashboard token (top right) to run and retry.";
    }
  }

  async function post(path, payload) {
    let res;
    try {
      res = await fetch(path, {
        method: "POST",
        cache: "no-store",
        headers: {
          "Authorization": "Bearer " + getToken(),
          "Content-Type": "application/json",
        },
        body: JSON.stringify(payload || {}),
      });
    } catch (e) {
      return { ok: false, status: 0, data: { error: "Cannot reach the dashboard: " + e.message } };
    }
    let data = {};
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (data.code === "token-refused" || data.code === "token-missing") {
      setToken("");
      refresh();
    }
    return { ok: res.ok, status: res.status, data: data };
  }

  function showRun(run) {
    const box = $("#run");
    if (!box) return;
    box.hidden = false;
    box.dataset.runId = run.id;
    box.dataset.runState = run.state;
    $("#run-id").textContent = run.id;
    $("#run-started").textContent = "";
    $("#run-status").textContent = run.message;
    const log = $("#run-log");
    log.textContent = run.lines.join("\\n") +
      (run.linesDropped ? "\\n… " + run.linesDropped + " more lines not kept" : "");
    log.scrollTop = log.scrollHeight;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function follow(id) {
    busy = true;
    refresh();
    for (;;) {
      let run;
      try {
        const res = await fetch("/api/runs/" + encodeURIComponent(id), { cache: "no-store" });
        run = await res.json();
        if (!res.ok) throw new Error(run.error || ("HTTP " + res.status));
      } catch (e) {
        flash("Lost track of the run: " + e.message, "bad");
        busy = false;
        refresh();
        return;
      }
      showRun(run);
      if (run.state !== "running") break;
      await sleep(500);
    }
    flash("Run over; refreshing the page…", "info");
    await sleep(1200);
    location.reload();
  }

  document.addEventListener("click", async (ev) => {
    const target = ev.target;
    if (!(target instanceof Element)) return;
    if (target.id === "token-forget") {
      setToken("");
      refresh();
      flash("Token forgotten.", "info");
      return;
    }
    const btn = target.closest("button[data-action]");
    if (!btn || btn.disabled) return;
    const action = btn.dataset.action;
    if (action === "run") {
      busy = true;
      refresh();
      flash("Starting a run…", "info");
      const r = await post("/api/run");
      if (r.status === 202) {
        flash("Running…", "info");
        follow(r.data.id);
        return;
      }
      busy = false;
      refresh();
      if (r.status === 409 && r.data.run) {
        flash(r.data.error, "warn");
        follow(r.data.run);
        return;
      }
      flash(r.data.error || ("HTTP " + r.status), "bad");
    } else if (action === "retry" || action === "retry-all") {
      busy = true;
      refresh();
      const r = await post("/api/retry",
        action === "retry" ? { names: [btn.dataset.name] } : { failed: true });
      busy = false;
      refresh();
      if (r.ok) {
        flash(r.data.message, "ok");
        await sleep(1500);
        location.reload();
      } else {
        flash(r.data.error || ("HTTP " + r.status), r.status === 409 ? "warn" : "bad");
      }
    }
  });

  const tokenForm = $("#token-form");
  if (tokenForm) {
    tokenForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input = $("#token-input");
      const value = input.value.trim();
      input.value = "";
      if (!value) return;
      setToken(value);
      refresh();
      flash("Token set for this tab; it is checked when you run or retry.", "ok");
    });
  }

  // Filter rows as you type; the same rules as the server's (?state=&q=).
  const filter = $("#filter");
  if (filter) {
    const q = filter.elements.namedItem("q");
    const st = filter.elements.namedItem("state");
    const apply = () => {
      const query = q.value.trim().toLowerCase();
      const qd = query.replace(/\\D/g, "");
      const phoneLike = qd.length >= 3 && /^[\\d\\s+().-]+$/.test(query);
      let shown = 0;
      let total = 0;
      for (const tr of $$("tr[data-search]")) {
        total++;
        const ok = (!st.value || tr.dataset.state === st.value) &&
          (!query || tr.dataset.search.includes(query) ||
            (phoneLike && tr.dataset.digits.replace(/\\s/g, " ").split(" ")
              .some((d) => d.includes(qd))));
        tr.hidden = !ok;
        if (ok) shown++;
      }
      const none = $("#filter-none");
      if (none) none.hidden = shown > 0 || total === 0;
      const params = new URLSearchParams();
      if (st.value) params.set("state", st.value);
      if (query) params.set("q", q.value.trim());
      const search = params.toString();
      history.replaceState(null, "", search ? "?" + search : location.pathname);
    };
    q.addEventListener("input", apply);
    st.addEventListener("change", apply);
  }

  refresh();
  const box = $("#run");
  if (box && box.dataset.runState === "running" && box.dataset.runId) {
    follow(box.dataset.runId);
  }
})();
`;
