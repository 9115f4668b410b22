/**
 * Operating callsync: metrics, health checks, selection, concurrency,
 * --max-duration, archive and the multi-day summary, through the CLI.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseMetrics } from "../../lib/report/metrics.ts";
import { cliArgs, ROOT, sandbox } from "../../testing/cli.ts";
import { fixtureCall } from "../../testing/fixtures.ts";
import { acceptedCallIds, statusOf } from "../../testing/status.ts";
import { testOn, when } from "../../testing/platform.ts";

Deno.test("the metrics file reports the run and its counters only grow", async () => {
  await using box = await sandbox();
  const file = join(box.dir, "metrics", "callsync.prom");
  await Deno.mkdir(join(box.dir, "metrics"));
  const first = await box.run(["run", "--metrics-file", file]);
  assert.equal(first.code, 0, first.stderr);
  const m = parseMetrics(await Deno.readTextFile(file));
  assert.equal(m.get('callsync_sets{state="delivered"}'), 6);
  assert.equal(m.get('callsync_sets{state="pending"}'), 0);
  assert.equal(
    m.get('callsync_uploads_total{kind="recording",result="success"}'),
    5,
  );
  assert.equal(
    m.get('callsync_uploads_total{kind="call_data",result="success"}'),
    6,
  );
  const bytes = box.crm.requests.filter((r) => r.endpoint === "upload")
    .reduce((n, r) => n + r.fileSize!, 0);
  const onDisk = [...Deno.readDirSync(join(box.dir, "recordings"))]
    .reduce(
      (n, e) => n + Deno.statSync(join(box.dir, "recordings", e.name)).size,
      0,
    );
  assert.equal(bytes, onDisk);
  assert.equal(m.get("callsync_uploaded_bytes_total"), bytes);
  const lastRun = m.get("callsync_last_run_timestamp_seconds")!;
  assert.ok(Math.abs(lastRun - Date.now() / 1000) < 60);
  assert.equal(m.get("callsync_last_success_timestamp_seconds"), lastRun);
  assert.equal(m.get("callsync_oldest_pending_age_seconds"), 0);
  assert.ok(m.get("callsync_run_duration_seconds")! >= 0);

  // A failing run moves the last-run time but not the last-success time.
  const late = join(
    box.dir,
    "conversations",
    "transcript_session_2025-11-01T10-00-00.000000.json",
  );
  await Deno.writeTextFile(
    late,
    JSON.stringify({
      start_time: "2025-11-01T10:00:00",
      end_time: "2025-11-01T10:01:00",
    }),
  );
  const dayAgo = Date.now() / 1000 - 86400;
  await Deno.utime(late, dayAgo, dayAgo);
  await new Promise((r) => setTimeout(r, 1100));
  const failing = await box.run(["run", "--metrics-file", file], {
    CRM_CALL_DATA_URL: "http://127.0.0.1:1/closed",
  });
  assert.equal(failing.code, 1, failing.stderr);
  const m2 = parseMetrics(await Deno.readTextFile(file));
  assert.ok(m2.get("callsync_last_run_timestamp_seconds")! > lastRun);
  assert.equal(m2.get("callsync_last_success_timestamp_seconds"), lastRun);
  assert.equal(m2.get("callsync_last_exit_code"), 1);
  assert.equal(
    m2.get('callsync_uploads_total{kind="call_data",result="failure"}'),
    1,
  );
  assert.equal(
    m2.get('callsync_uploads_total{kind="call_data",result="success"}'),
    6,
  );
  assert.equal(m2.get('callsync_sets{state="waiting"}'), 1);
  assert.ok(m2.get("callsync_oldest_pending_age_seconds")! > 86400);
  // Written atomically: no temp file left behind.
  const left = [...Deno.readDirSync(join(box.dir, "metrics"))].map((e) =>
    e.name
  );
  assert.deepEqual(left, ["callsync.prom"]);
});

/** A tiny ping receiver on 127.0.0.1. */
function pingServer() {
  const paths: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      paths.push(new URL(req.url).pathname);
      return new Response("OK");
    },
  );
  return {
    paths,
    url: `http://127.0.0.1:${server.addr.port}/ping/abc`,
    server,
  };
}

Deno.test("health checks ping /start and /<exit code>", async () => {
  const hc = pingServer();
  try {
    await using box = await sandbox();
    const ok = await box.run(["run"], { HEALTHCHECK_URL: hc.url });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(hc.paths, ["/ping/abc/start", "/ping/abc/0"]);

    await using failing = await sandbox({
      fault: (e) => e === "call-data" ? { kind: "success-false" } : undefined,
    });
    const bad = await failing.run(["run"], { HEALTHCHECK_URL: hc.url + "/" });
    assert.equal(bad.code, 1);
    assert.deepEqual(hc.paths.slice(2), ["/ping/abc/start", "/ping/abc/1"]);
  } finally {
    await hc.server.shutdown();
  }
});

Deno.test("a failing health check never changes the run's outcome", async () => {
  await using box = await sandbox();
  const res = await box.run(["run"], {
    HEALTHCHECK_URL: "http://127.0.0.1:1/hc",
  });
  assert.equal(res.code, 0, res.stderr);
  assert.match(
    res.stderr,
    /Health check ping http:\/\/127\.0\.0\.1:1\/hc\/start failed/,
  );
  assert.equal(box.crm.acceptedCallRecords().length, 6);
});

Deno.test("--only sends only the named sets and leaves the others untouched", async () => {
  await using box = await sandbox();
  const res = await box.run([
    "run",
    "--only",
    fixtureCall(1).set,
    fixtureCall(5).set,
  ]);
  assert.equal(res.code, 0, res.stderr);
  const sent = acceptedCallIds(box.crm).sort();
  assert.deepEqual(sent, [
    "CALL-20251029-064824-66243",
    "CALL-20251029-100514-12345",
  ]);
  const status = await statusOf(box);
  assert.equal(status.counts.delivered, 2);
  assert.equal(status.counts.pending, 4);
});

Deno.test("--since and --until select calls by their start day", async () => {
  await using box = await sandbox();
  const plan = await box.run([
    "plan",
    "--since",
    "2025-10-14",
    "--until",
    "2025-10-29",
  ]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.ok(
    !plan.stdout.includes("transcript_session_2025-10-13"),
    "Oct 13 call left out",
  );
  assert.match(plan.stdout, /5 would be sent now/);
  const run = await box.run(["run", "--until", "2025-10-13"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(box.crm.acceptedCallRecords().length, 1);
});

Deno.test("UPLOAD_CONCURRENCY sends sets in parallel", async () => {
  await using serial = await sandbox({ delayMs: 100 });
  assert.equal((await serial.run(["run", "--concurrency", "1"])).code, 0);
  assert.equal(serial.crm.maxInFlight, 1);
  await using parallel = await sandbox({ delayMs: 100 });
  assert.equal((await parallel.run(["run", "--concurrency", "4"])).code, 0);
  assert.ok(
    parallel.crm.maxInFlight >= 3,
    `at most ${parallel.crm.maxInFlight} at once`,
  );
  assert.equal(parallel.crm.acceptedCallRecords().length, 6);
});

Deno.test("while one set sends, the sets after it have pinned their recordings already (concurrency 1)", async () => {
  let state = "";
  let pinned: string[] | undefined;
  await using box = await sandbox({
    received: (req) => {
      if (req.endpoint !== "upload" || pinned) return;
      pinned = [...Deno.readDirSync(state)]
        .filter((e) => e.name.endsWith(".pending"))
        .map((e) => JSON.parse(Deno.readTextFileSync(join(state, e.name))))
        .filter((p) => p.recording_file !== undefined)
        .map((p) => p.recording_file);
    },
  });
  state = join(box.dir, "processed_uploads");
  const res = await box.run(["run", "--concurrency", "1"]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(box.crm.maxInFlight, 1, "one request at a time");
  assert.ok(
    pinned !== undefined && pinned.length > 1,
    `recordings pinned when the first arrived: ${pinned}`,
  );
  assert.equal(box.crm.acceptedCallRecords().length, 6);
});

Deno.test("--max-duration stops starting new sets and finishes those in flight", async () => {
  // Each set takes two requests of 1.5 s: the one going at 3 s is in flight.
  await using box = await sandbox({ delayMs: 1500 });
  const res = await box.run([
    "run",
    "--concurrency",
    "1",
    "--max-duration",
    "3",
  ]);
  assert.equal(res.code, 0, res.stderr);
  const delivered = box.crm.acceptedCallRecords().length;
  assert.match(
    res.stderr,
    new RegExp(
      `Stopped starting new sets after 3 s \\(--max-duration\\); ${
        6 - delivered
      } left`,
    ),
  );
  // At most the set going at 3 s and one before it (none under Wine on a
  // loaded machine, where starting and scanning may take the 3 s).
  assert.ok(delivered <= 2, `${delivered} delivered`);
  // Nothing half-done: every set started was finished and recorded.
  const started = res.stderr.match(/Processing: /g)?.length ?? 0;
  assert.equal(started, delivered, res.stderr);
  const status = await statusOf(box);
  assert.equal(status.counts.delivered, delivered);
  assert.equal(status.counts.pending, 6 - delivered);
});

Deno.test("a backlog that grows over 3 runs is warned of in the log, in status and as a metric", async () => {
  await using box = await sandbox();
  const file = join(box.dir, "callsync.prom");
  const dayAgo = Date.now() / 1000 - 86400;
  /** Two more calls (transcripts alone, due as orphans) arrive between runs. */
  const arrive = async (run: number) => {
    for (const n of [1, 2]) {
      const path = join(
        box.dir,
        "conversations",
        `transcript_session_2025-11-0${run}T1${n}-00-00.000000.json`,
      );
      await Deno.writeTextFile(
        path,
        JSON.stringify({
          start_time: `2025-11-0${run}T1${n}:00:00`,
          end_time: `2025-11-0${run}T1${n}:01:00`,
        }),
      );
      await Deno.utime(path, dayAgo, dayAgo);
    }
  };
  const runs = [];
  for (const run of [1, 2, 3]) {
    if (run > 1) await arrive(run);
    runs.push(
      await box.run([
        "run",
        "--upload-batch-size",
        "1",
        "--metrics-file",
        file,
      ]),
    );
  }
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(
    runs[1].stderr,
    /Backlog growing/,
    "two runs are not a trend",
  );
  assert.match(runs[2].stderr, /Backlog growing: 5 → 6 → 7 sets/);
  const m = parseMetrics(await Deno.readTextFile(file));
  assert.equal(m.get("callsync_backlog_growing"), 1);
  assert.equal(m.get("callsync_backlog_sets"), 7);
  const status = await statusOf(box);
  assert.ok(
    status.warnings.some((w) => /Backlog growing: 5 → 6 → 7/.test(w)),
    status.warnings.join("\n"),
  );
  const text = await box.run(["status"]);
  assert.match(text.stdout, /WARNING: Backlog growing/);

  // Once a run catches up (no cap), the warning goes.
  const caughtUp = await box.run(["run", "--metrics-file", file]);
  assert.equal(caughtUp.code, 0, caughtUp.stderr);
  assert.doesNotMatch(caughtUp.stderr, /Backlog growing/);
  const after = parseMetrics(await Deno.readTextFile(file));
  assert.equal(after.get("callsync_backlog_growing"), 0);
  assert.equal(after.get("callsync_backlog_sets"), 0);
});

Deno.test("archive moves delivered sets into DIR/YYYY/MM/DD and status still counts them", async () => {
  await using box = await sandbox();
  const archive = join(box.dir, "archive");
  const res = await box.run(["run", "--archive-dir", archive]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /Archived 13 files to /);
  const day = join(archive, "2025", "10", "29");
  const names = [...Deno.readDirSync(day)].map((e) => e.name).sort();
  const call1 = fixtureCall(1);
  assert.ok(names.includes(call1.conversation!));
  assert.ok(names.includes(call1.recording!));
  assert.ok(names.includes(call1.lead!));
  assert.equal([...Deno.readDirSync(join(box.dir, "recordings"))].length, 0);
  const status = await statusOf(box);
  assert.equal(status.counts.delivered, 6);
  assert.equal(status.sets.length, 0);
  const summary = JSON.parse((await box.run(["summary", "--json"])).stdout);
  assert.equal(summary.call_data_uploaded, 6);
  const count = box.crm.requests.length;
  assert.equal((await box.run(["run", "--archive-dir", archive])).code, 0);
  assert.equal(box.crm.requests.length, count);
});

Deno.test("archive waits --archive-after-days and resumes a move a crash interrupted", async () => {
  await using box = await sandbox();
  const archive = join(box.dir, "archive");
  assert.equal(
    (await box.run([
      "run",
      "--archive-dir",
      archive,
      "--archive-after-days",
      "1",
    ])).code,
    0,
  );
  assert.equal(
    [...Deno.readDirSync(join(box.dir, "recordings"))].length,
    5,
    "too recent",
  );

  // A crash between copying and removing the source (cross-filesystem move).
  const rec = fixtureCall(1).recording!;
  const day = join(archive, "2025", "10", "29");
  await Deno.mkdir(day, { recursive: true });
  await Deno.copyFile(join(box.dir, "recordings", rec), join(day, rec));
  await Deno.writeTextFile(join(day, `${rec}.partial-99999`), "half a copy");
  const res = await box.run([
    "run",
    "--archive-dir",
    archive,
    "--archive-after-days",
    "0",
  ]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal([...Deno.readDirSync(join(box.dir, "recordings"))].length, 0);
  const sizes = Object.fromEntries(
    [...Deno.readDirSync(day)].map((
      e,
    ) => [e.name, Deno.statSync(join(day, e.name)).size]),
  );
  assert.equal(
    sizes[rec],
    Deno.statSync(join(ROOT, "fixtures", "recordings", rec)).size,
  );
  assert.equal(
    sizes[`${rec}.partial-99999`],
    undefined,
    "the half copy is gone",
  );
});

Deno.test("summary --days prints one row per day", async () => {
  await using box = await sandbox();
  assert.equal((await box.run(["run"])).code, 0);
  const json = await box.run(["summary", "--days", "3", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout);
  assert.equal(rows.length, 3);
  assert.deepEqual(
    rows.map((r: { call_data_uploaded: number }) => r.call_data_uploaded),
    [0, 0, 6],
  );
  const text = await box.run(["summary", "--days", "3"]);
  assert.equal(text.stdout.trim().split("\n").length, 5);
  assert.ok(!text.stdout.includes("█"), "no chart outside a terminal");
});

/** Run the CLI on a pseudo-terminal (util-linux `script`), as a person would. */
async function onTerminal(
  box: Awaited<ReturnType<typeof sandbox>>,
  args: string[],
): Promise<string> {
  const command = [
    Deno.execPath(),
    ...cliArgs([...args, "--base-dir", box.dir]),
  ]
    .map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qfec", command, "/dev/null"],
    env: box.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/** Where `script` (util-linux) can give the CLI a pseudo-terminal. */
const TERMINAL = when(
  hasScript(),
  "needs script(1) for a pseudo-terminal (util-linux; no such thing on Windows)",
);

function hasScript(): boolean {
  try {
    return new Deno.Command("script", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false; // not installed (Windows has none)
  }
}

Deno.test(testOn(TERMINAL, {
  name:
    "a run on a terminal shows a progress line; piped or with -q it does not",
  async fn() {
    await using box = await sandbox();
    const tty = await onTerminal(box, ["run", "--upload-batch-size", "2"]);
    assert.match(
      tty,
      /\[\d\/2 sets\] [\d.]+ MB of [\d.]+ MB, [\d.]+ MB\/s, ETA/,
    );
    assert.match(tty, /\[2\/2 sets\]/);
    const piped = await box.run(["run", "--upload-batch-size", "2"]);
    assert.equal(box.crm.acceptedCallRecords().length, 4);
    assert.ok(!piped.stderr.includes("sets]"), piped.stderr);
    const quiet = await onTerminal(box, ["run", "-q"]);
    assert.ok(!quiet.includes("sets]"), quiet);
    assert.equal(box.crm.acceptedCallRecords().length, 6);
  },
}));

Deno.test(testOn(TERMINAL, {
  name: "summary --days draws a bar chart on a terminal",
  async fn() {
    await using box = await sandbox();
    assert.equal((await box.run(["run"])).code, 0);
    const tty = await onTerminal(box, ["summary", "--days", "2"]);
    assert.match(tty, /Calls delivered per day:/);
    assert.match(tty, /\d{4}-\d{2}-\d{2} █+ 6/);
  },
}));
