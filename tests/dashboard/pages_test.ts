import { ok } from "node:assert/strict";
import { renderSetPage } from "../../lib/dashboard/set_page.ts";
import { renderDashboard } from "../../lib/dashboard/home_page.ts";
import type { DashboardView, SetDetail } from "../../lib/dashboard/model.ts";

const OPTS = { nonce: "n", timezone: "UTC", writable: false, now: 0 };

function detail(extra: Partial<SetDetail>): SetDetail {
  return {
    name: "transcript_session_2026-01-06T09-01-02.000000.json",
    state: "waiting",
    kind: "call",
    reason: "waiting",
    attempts: 0,
    files: [],
    pairing: {},
    delivery: null,
    progress: null,
    payload: null,
    ...extra,
  };
}

Deno.test("renderSetPage() shows a pair's evidence, the learned offset and how sure", () => {
  const page = renderSetPage(
    detail({
      pairing: {
        recording: {
          name: "number-_918655066243-1767690000.ogg",
          startDiffSeconds: 21.4,
          endDiffSeconds: -0.3,
          mtimeEndDiffSeconds: 0.4,
          durationDiffSeconds: -21.7,
          expectedOffsetSeconds: 20.1,
          confidence: 0.9987,
          rivals: ["transcript_session_x.json"],
          pinned: false,
        },
        timing: {
          pairs: 412,
          offsetSeconds: 20.1,
          offsetSpreadSeconds: 4.8,
          endBiasSeconds: -0.2,
          endSpreadSeconds: 1.0,
        },
      },
    }),
    OPTS,
  );
  for (
    const text of [
      "started 21.4 s after the transcript",
      "learned offset here: +20.1 s",
      "ended -0.3 s from the transcript",
      "confidence 99.9 %",
      "also fit by transcript_session_x.json",
      "recorder offset +20.1 s",
      "from 412 unambiguous pairs",
    ]
  ) ok(page.includes(text), text);
});

Deno.test("renderSetPage() says why files were kept apart, how a repeated hour was read, and what a lead update is", () => {
  const apart = renderSetPage(
    detail({
      pairing: {
        keptApartFrom: {
          files: ["a.ogg", "b.json"],
          reason: "no clear winner",
        },
        localTime: { basis: "rule", readings: 2 },
      },
    }),
    OPTS,
  );
  ok(apart.includes("Kept apart"));
  ok(apart.includes("a.ogg, b.json"));
  ok(apart.includes("read as the first (the stated rule)"));
  const update = renderSetPage(
    detail({
      name: "lead_20260106_090104.json",
      kind: "lead-update",
      updateOf: { set: "t.json", callId: "CALL-20260106-090000-66243" },
    }),
    OPTS,
  );
  ok(update.includes("lead update"));
  ok(update.includes("sent as an update of it"));
});

Deno.test("renderDashboard() puts what needs attention first", () => {
  const view: DashboardView = {
    nonce: "n",
    now: 0,
    timezone: "UTC",
    writable: false,
    uploadReady: true,
    counts: { delivered: 0, pending: 0, waiting: 0, failed: 0 },
    warnings: [
      "TIMEZONE=UTC does not fit the files: set TIMEZONE=Asia/Kolkata",
    ],
    rows: [],
    rowsTotal: 0,
    recent: [],
    summaries: [],
    filter: { state: "", q: "" },
  };
  const page = renderDashboard(view);
  ok(page.includes("Needs attention"));
  ok(page.indexOf("set TIMEZONE=Asia/Kolkata") < page.indexOf("Upload pass"));
});

Deno.test("renderSetPage() says a call's lead was already sent alone and is not sent again", () => {
  const page = renderSetPage(
    detail({
      leadSentAlone: {
        lead: "leads_session_2026-01-06T09-01-02.000000.json",
        callId: "CALL-20260106-090102-66243",
      },
    }),
    OPTS,
  );
  ok(page.includes("leads_session_2026-01-06T09-01-02.000000.json"));
  ok(page.includes("already sent alone as CALL-20260106-090102-66243"));
  ok(page.includes("this call goes without it"));
});
