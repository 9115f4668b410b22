(() => {
  "use strict";
  const KEY = "callsync-dashboard-token";
  const writable = document.body.dataset.writable === "true";
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));
  let busy = false;

  const getToken = () => {
    try {
      return sessionStorage.getItem(KEY) || "";
    } catch (_) {
      return "";
    }
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
      hint.textContent = has
        ? ""
        : "Enter the dashboard token (top right) to run and retry.";
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
      return {
        ok: false,
        status: 0,
        data: { error: "Cannot reach the dashboard: " + e.message },
      };
    }
    let data = {};
    try {
      data = await res.json();
    } catch (_) { /* not JSON */ }
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
    log.textContent = run.lines.join("\n") +
      (run.linesDropped
        ? "\n… " + run.linesDropped + " more lines not kept"
        : "");
    log.scrollTop = log.scrollHeight;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function follow(id) {
    busy = true;
    refresh();
    for (;;) {
      let run;
      try {
        const res = await fetch("/api/runs/" + encodeURIComponent(id), {
          cache: "no-store",
        });
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
      const r = await post(
        "/api/retry",
        action === "retry" ? { names: [btn.dataset.name] } : { failed: true },
      );
      busy = false;
      refresh();
      if (r.ok) {
        flash(r.data.message, "ok");
        await sleep(1500);
        location.reload();
      } else {
        flash(
          r.data.error || ("HTTP " + r.status),
          r.status === 409 ? "warn" : "bad",
        );
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
      flash(
        "Token set for this tab; it is checked when you run or retry.",
        "ok",
      );
    });
  }

  // Filter rows as you type; the same rules as the server's (?state=&q=).
  const filter = $("#filter");
  if (filter) {
    const q = filter.elements.namedItem("q");
    const st = filter.elements.namedItem("state");
    const apply = () => {
      const query = q.value.trim().toLowerCase();
      const qd = query.replace(/\D/g, "");
      const phoneLike = qd.length >= 3 && /^[\d\s+().-]+$/.test(query);
      let shown = 0;
      let total = 0;
      for (const tr of $$("tr[data-search]")) {
        total++;
        const ok = (!st.value || tr.dataset.state === st.value) &&
          (!query || tr.dataset.search.includes(query) ||
            (phoneLike && tr.dataset.digits.replace(/\s/g, " ").split(" ")
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
