import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { Logger } from "../../lib/core/log.ts";
import {
  type DeliveryRecord,
  ensureStateDir,
  type Progress,
  StateError,
  StateStore,
} from "../../lib/state/store.ts";
import { withTempDir } from "../../testing/fixtures.ts";
import { FILE_MODES, SYMLINKS, testOn } from "../../testing/platform.ts";

const JOURNAL = "callsync-journal.jsonl";
const SET = "transcript_session_2025-10-29T06-49-07.351452.json";
const OTHER = "transcript_session_2025-10-29T07-23-04.887540.json";

/** A logger whose lines are kept in `lines`. */
function captureLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger({
    format: "text",
    level: "debug",
    timezone: "UTC",
    sink: (line) => lines.push(line),
  });
  return { log, lines };
}

/** Runs `fn` with a fresh temp dir, removed afterwards. */
const withDir = (fn: (dir: string) => Promise<void>) =>
  withTempDir("callsync-state-", fn);

function record(set: string, extra: Partial<DeliveryRecord> = {}) {
  const r: DeliveryRecord = {
    uploaded_at: "2025-10-29T07:00:00.000Z",
    original_path: `conversations/${set}`,
    set,
    kind: "call",
    call_id: "CALL-20251029-064824-66243",
    idempotency_key: "callsync-call-data-0123456789abcdef0123456789abcdef",
    recording_uploaded: true,
    recording_file: "number-_918655066243-1761720502.ogg",
    recording_url: "https://crm.example/uploads/recordings/1.ogg",
    recording_size: 43385,
    call_data_uploaded: true,
    lead_uploaded: true,
    lead_file: "leads_session_2025-10-29T06-49-07.351452.json",
    upload_attempts: 1,
    ...extra,
  };
  return r;
}

async function journalLines(dir: string): Promise<string[]> {
  const text = await Deno.readTextFile(join(dir, JOURNAL));
  ok(text.endsWith("\n"), "the journal ends with a newline");
  return text.slice(0, -1).split("\n");
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("StateStore.open() of a missing folder is empty state", async () => {
  await withDir(async (dir) => {
    const store = await StateStore.open(join(dir, "nope"), captureLog().log);
    equal(store.delivered.size, 0);
    equal(store.progress.size, 0);
    deepStrictEqual(await store.readJournal(), []);
  });
});

Deno.test("markDelivered() writes <set>.uploaded with the delivery record and one journal line", async () => {
  await withDir(async (dir) => {
    const store = await StateStore.open(dir, captureLog().log);
    const r = record(SET);
    await store.markDelivered(r);

    const onDisk = JSON.parse(
      await Deno.readTextFile(join(dir, `${SET}.uploaded`)),
    );
    deepStrictEqual(onDisk, r);
    for (
      const field of [
        "uploaded_at",
        "original_path",
        "set",
        "kind",
        "call_id",
        "idempotency_key",
        "recording_uploaded",
        "recording_file",
        "recording_url",
        "recording_size",
        "call_data_uploaded",
        "lead_uploaded",
        "lead_file",
        "upload_attempts",
      ]
    ) {
      ok(field in onDisk, field);
    }

    const lines = await journalLines(dir);
    equal(lines.length, 1);
    deepStrictEqual(JSON.parse(lines[0]), {
      ev: "delivered",
      t: Date.UTC(2025, 9, 29, 7, 0, 0),
      set: SET,
      call_id: "CALL-20251029-064824-66243",
      recording: "number-_918655066243-1761720502.ogg",
      lead: "leads_session_2025-10-29T06-49-07.351452.json",
      bytes: 43385,
    });
    deepStrictEqual(store.delivered.get(SET), {
      callId: "CALL-20251029-064824-66243",
      recording: "number-_918655066243-1761720502.ogg",
      lead: "leads_session_2025-10-29T06-49-07.351452.json",
      at: Date.UTC(2025, 9, 29, 7, 0, 0),
    });
    deepStrictEqual(
      (await names(dir)).filter((n) => n.endsWith(".tmp")),
      [],
      "no temp file is left behind",
    );
  });
});

Deno.test("a reopened StateStore sees a delivered set and the files it used", async () => {
  await withDir(async (dir) => {
    const first = await StateStore.open(dir, captureLog().log);
    await first.markDelivered(record(SET));
    await first.markDelivered(record(OTHER, {
      call_id: "CALL-20251029-072211-34510",
      recording_uploaded: false,
      recording_file: undefined,
      recording_url: undefined,
      recording_size: undefined,
      lead_uploaded: false,
      lead_file: undefined,
    }));

    const { log, lines } = captureLog();
    const again = await StateStore.open(dir, log);
    deepStrictEqual([...again.delivered.keys()].sort(), [SET, OTHER].sort());
    equal(again.delivered.get(OTHER)?.callId, "CALL-20251029-072211-34510");
    const used = again.usedFiles();
    equal(used.recordings.has("number-_918655066243-1761720502.ogg"), true);
    equal(used.recordings.has("number-_918655066243-1761720503.ogg"), false);
    equal(
      used.leads.has("leads_session_2025-10-29T06-49-07.351452.json"),
      true,
    );
    equal(
      used.leads.has("leads_session_2025-10-29T07-23-04.887540.json"),
      false,
      "the other set had no lead",
    );
    deepStrictEqual(lines, [], "nothing to repair");
    equal((await journalLines(dir)).length, 2, "reopening journals nothing");
    const events = await again.readJournal();
    equal(events.length, 2);
    equal(events[1].ev === "delivered" && events[1].bytes, 0);
  });
});

Deno.test("a .uploaded record missing from the journal (crash between writes) is adopted", async () => {
  await withDir(async (dir) => {
    // As if killed after writing the record, before journaling it.
    await Deno.writeTextFile(
      join(dir, `${SET}.uploaded`),
      JSON.stringify(record(SET), null, 2),
    );
    const store = await StateStore.open(dir, captureLog().log);
    equal(store.delivered.get(SET)?.callId, "CALL-20251029-064824-66243");
    equal(
      store.delivered.get(SET)?.recording,
      "number-_918655066243-1761720502.ogg",
    );

    const lines = await journalLines(dir);
    equal(lines.length, 1, "the journal is repaired");
    const ev = JSON.parse(lines[0]);
    equal(ev.ev, "delivered");
    equal(ev.set, SET);

    await StateStore.open(dir, captureLog().log);
    equal((await journalLines(dir)).length, 1, "adopted only once");
  });
});

Deno.test("an empty or torn .uploaded is not delivered and is set aside with a warning", async () => {
  for (
    const [label, text] of [
      ["empty", ""],
      ["torn", '{\n  "uploaded_at": "2025-10-29T07:0'],
      ["not a record", '{"set": "x"}'],
    ]
  ) {
    await withDir(async (dir) => {
      await Deno.writeTextFile(join(dir, `${SET}.uploaded`), text);
      const { log, lines } = captureLog();
      const store = await StateStore.open(dir, log);

      ok(!store.delivered.has(SET), label);
      const files = await names(dir);
      ok(!files.includes(`${SET}.uploaded`), `${label}: moved away`);
      const aside = files.filter((n) =>
        n.startsWith(`${SET}.uploaded.corrupt-`)
      );
      equal(aside.length, 1, `${label}: kept for inspection`);
      match(aside[0], /\.corrupt-\d+$/);
      equal(await Deno.readTextFile(join(dir, aside[0])), text);
      equal(lines.length, 1, label);
      match(lines[0], /\[WARNING\]/);
      ok(lines[0].includes(`${SET}.uploaded`), lines[0]);

      const again = await StateStore.open(dir, captureLog().log);
      ok(!again.delivered.has(SET), `${label}: still not delivered`);
    });
  }
});

Deno.test("a torn .pending is set aside with a warning and the set starts afresh", async () => {
  await withDir(async (dir) => {
    const text = '{"set": "' + SET + '", "attem';
    await Deno.writeTextFile(join(dir, `${SET}.pending`), text);
    const { log, lines } = captureLog();
    const store = await StateStore.open(dir, log);

    equal(store.progress.has(SET), false);
    const files = await names(dir);
    ok(!files.includes(`${SET}.pending`));
    const aside = files.filter((n) => n.startsWith(`${SET}.pending.corrupt-`));
    equal(aside.length, 1);
    equal(await Deno.readTextFile(join(dir, aside[0])), text);
    equal(lines.length, 1);
    match(lines[0], /\[WARNING\]/);
    ok(lines[0].includes(`${SET}.pending`), lines[0]);
  });
});

Deno.test("a torn last journal line is skipped and the next append lands on its own line", async () => {
  await withDir(async (dir) => {
    const first = await StateStore.open(dir, captureLog().log);
    await first.markDelivered(record(SET));
    // Power loss in the middle of the next append.
    const torn = '{"ev":"failed","t":1761721000000,"set":"x","err';
    await Deno.writeTextFile(join(dir, JOURNAL), torn, { append: true });

    const { log, lines } = captureLog();
    const store = await StateStore.open(dir, log);
    ok(store.delivered.has(SET), "the intact line still counts");
    await store.journalFailure(OTHER, "upload answered HTTP 503");

    const text = await Deno.readTextFile(join(dir, JOURNAL));
    const all = text.split("\n");
    equal(all[1], torn, "the torn line was ended, not glued to");
    deepStrictEqual(JSON.parse(all[2]), {
      ev: "failed",
      t: JSON.parse(all[2]).t,
      set: OTHER,
      error: "upload answered HTTP 503",
    });
    ok(text.endsWith("\n"));

    const events = await store.readJournal();
    deepStrictEqual(
      events.map((e) => [e.ev, e.set]),
      [["delivered", SET], ["failed", OTHER]],
    );
    ok(
      lines.some((l) => l.includes("[WARNING]") && l.includes(JOURNAL)),
      "the torn line is reported",
    );
  });
});

Deno.test("saveProgress() round-trips through a reopened store", async () => {
  await withDir(async (dir) => {
    const progress: Progress = {
      set: SET,
      attempts: 2,
      next_attempt_at: Date.UTC(2025, 9, 29, 7, 15),
      last_error: "upload answered HTTP 503: busy",
      recording_file: "number-_918655066243-1761720502.ogg",
      recording_url: "https://crm.example/uploads/recordings/1.ogg",
      recording_size: 43385,
      recording_duration: 44.4,
      truncated: false,
    };
    const store = await StateStore.open(dir, captureLog().log);
    await store.saveProgress(progress);
    deepStrictEqual(
      JSON.parse(await Deno.readTextFile(join(dir, `${SET}.pending`))),
      progress,
    );

    const again = await StateStore.open(dir, captureLog().log);
    deepStrictEqual(again.progress.get(SET), progress);

    await again.saveProgress({ ...progress, attempts: 3, failed: true });
    const third = await StateStore.open(dir, captureLog().log);
    equal(third.progress.get(SET)?.attempts, 3);
    equal(third.progress.get(SET)?.failed, true);
  });
});

Deno.test("markDelivered() drops the set's progress record", async () => {
  await withDir(async (dir) => {
    const store = await StateStore.open(dir, captureLog().log);
    await store.saveProgress({ set: SET, attempts: 1, last_error: "x" });
    await store.markDelivered(record(SET, { upload_attempts: 2 }));
    equal(store.progress.has(SET), false);
    ok(!(await names(dir)).includes(`${SET}.pending`));
    const again = await StateStore.open(dir, captureLog().log);
    equal(again.progress.has(SET), false);
    ok(again.delivered.has(SET));
  });
});

Deno.test("a .pending left next to a .uploaded (crash before removal) is dropped on open", async () => {
  await withDir(async (dir) => {
    const store = await StateStore.open(dir, captureLog().log);
    await store.markDelivered(record(SET));
    await Deno.writeTextFile(
      join(dir, `${SET}.pending`),
      JSON.stringify({ set: SET, attempts: 1 }),
    );
    const again = await StateStore.open(dir, captureLog().log);
    equal(again.progress.has(SET), false);
    ok(!(await names(dir)).includes(`${SET}.pending`));
  });
});

Deno.test("ensureStateDir() creates nested folders and throws StateError where it cannot", async () => {
  await withDir(async (dir) => {
    const { log } = captureLog();
    const nested = join(dir, "a", "b", "processed_uploads");
    await ensureStateDir(nested, log);
    ok((await Deno.stat(nested)).isDirectory);

    const file = join(dir, "plain-file");
    await Deno.writeTextFile(file, "");
    const impossible = join(file, "processed_uploads");
    await rejects(
      ensureStateDir(impossible, log),
      (e: unknown) => e instanceof StateError && e.message.includes(impossible),
    );
  });
});

Deno.test(testOn(SYMLINKS, {
  name:
    "a symlinked journal is refused with a StateError saying to remove it; its target is untouched",
  async fn() {
    await withDir(async (dir) => {
      const victim = join(dir, "victim.conf");
      await Deno.writeTextFile(victim, "keep\n");
      const state = join(dir, "state");
      await Deno.mkdir(state);
      await Deno.symlink(victim, join(state, JOURNAL));
      const { log } = captureLog();
      await rejects(
        StateStore.open(state, log),
        (e: unknown) =>
          e instanceof StateError &&
          /callsync-journal\.jsonl is a symbolic link.*remove it/.test(
            e.message,
          ),
      );
      equal(await Deno.readTextFile(victim), "keep\n");
    });
  },
}));

Deno.test(testOn(FILE_MODES, {
  name:
    "ensureStateDir() makes a readable PROCESSED_DIR private, with one log line, once",
  async fn() {
    await withDir(async (dir) => {
      const state = join(dir, "processed_uploads");
      await Deno.mkdir(state);
      await Deno.chmod(state, 0o755);
      await Deno.writeTextFile(join(state, `${SET}.pending`), "{}");
      await Deno.chmod(join(state, `${SET}.pending`), 0o644);
      const { log, lines } = captureLog();
      await ensureStateDir(state, log);
      await ensureStateDir(state, log);
      equal((await Deno.stat(state)).mode! & 0o777, 0o700);
      equal(
        (await Deno.stat(join(state, `${SET}.pending`))).mode! & 0o777,
        0o600,
      );
      deepStrictEqual(lines.map((l) => l.replace(/^\S+ \S+ /, "")), [
        `[WARNING] Made PROCESSED_DIR ${state} private: 0755 → 0700, 1 file → 0600 (it holds transcripts, names and phone numbers)`,
      ]);
    });
  },
}));

Deno.test("no secret is kept: errors are redacted as they are written, and as old state is read", async () => {
  await withDir(async (dir) => {
    const { log } = captureLog();
    const secrets = ["tok-SECRET-1"];
    // State written by a callsync that kept the error as the CRM sent it.
    await Deno.writeTextFile(
      join(dir, `${OTHER}.pending`),
      JSON.stringify({
        set: OTHER,
        attempts: 1,
        last_error: "HTTP 400: bad token tok-SECRET-1",
      }),
    );
    await Deno.writeTextFile(
      join(dir, JOURNAL),
      JSON.stringify({
        ev: "failed",
        t: 1,
        set: OTHER,
        error: "echo tok-SECRET-1",
      }) + "\n",
    );
    const store = await StateStore.open(dir, log, { secrets });
    equal(store.progress.get(OTHER)?.last_error, "HTTP 400: bad token ***");
    await store.saveProgress({
      set: SET,
      attempts: 1,
      last_error: 'echo {"auth":"Bearer tok-SECRET-1"} via https://u:pw@proxy',
    });
    await store.journalFailure(SET, "again tok-SECRET-1");
    const events = await store.readJournal();
    ok(events.every((e) => !JSON.stringify(e).includes("tok-SECRET-1")));
    const onDisk = await Deno.readTextFile(join(dir, `${SET}.pending`)) +
      await Deno.readTextFile(join(dir, JOURNAL)).then((t) =>
        t.split("\n").slice(1).join("\n")
      );
    ok(!onDisk.includes("tok-SECRET-1"), onDisk);
    ok(!onDisk.includes(":pw@"), onDisk);
  });
});

Deno.test("a lead delivered alone is known as such after reopening, from the journal or from its record alone", async () => {
  await withDir(async (dir) => {
    const lead = "leads_session_2025-10-29T06-49-07.351452.json";
    const store = await StateStore.open(dir, captureLog().log);
    await store.markDelivered(record(lead, {
      kind: "lead-only",
      alone_reason: "no call found for this lead",
      recording_uploaded: false,
      recording_file: undefined,
      recording_url: undefined,
      recording_size: undefined,
      lead_file: lead,
    }));
    const reopened = await StateStore.open(dir, captureLog().log);
    equal(reopened.delivered.get(lead)?.alone, true);
    equal(reopened.delivered.get(lead)?.lead, lead);

    await Deno.remove(join(dir, JOURNAL));
    const adopted = await StateStore.open(dir, captureLog().log);
    equal(adopted.delivered.get(lead)?.alone, true, "from <set>.uploaded");
    equal(
      (await adopted.readRecord(lead))?.alone_reason,
      "no call found for this lead",
    );
  });
});

/** What {@link startReader}'s child saw. */
interface ReaderSeen {
  reads: number;
  /** Reads that found {@link SET}'s progress. */
  whole: number;
  problems: string[];
}

/**
 * Start a child process reading `dir` the way the dashboard does (a
 * read-only StateStore per request) and wait until it reads; `finish()`
 * stops it and resolves to what it saw.
 */
async function startReader(
  dir: string,
): Promise<{ finish(): Promise<ReaderSeen> }> {
  const stop = join(dir, "stop");
  const reader = readerProcess(dir, stop);
  const out = reader.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await out.read();
    if (done) break;
    text += value;
  }
  equal(text.split("\n")[0], "ready");
  return {
    async finish() {
      await Deno.writeTextFile(stop, "");
      for (let r = await out.read(); !r.done; r = await out.read()) {
        text += r.value;
      }
      equal((await reader.status).code, 0);
      return JSON.parse(text.split("\n")[1]);
    },
  };
}

/** The child of {@link startReader}: reads `dir` until `stop` appears. */
function readerProcess(dir: string, stop: string) {
  const modules = ["../../lib/state/store.ts", "../../lib/core/log.ts"]
    .map((m) => JSON.stringify(new URL(m, import.meta.url).href));
  const code = `
    import { StateStore } from ${modules[0]};
    import { Logger } from ${modules[1]};
    const log = new Logger({ format: "text", level: "error", timezone: "UTC", sink() {} });
    const seen = { reads: 0, whole: 0, problems: [] };
    const stopped = () => Deno.stat(${
    JSON.stringify(stop)
  }).then(() => true, () => false);
    console.log("ready");
    while (!(await stopped())) {
      try {
        const p = (await StateStore.open(${
    JSON.stringify(dir)
  }, log, { readOnly: true }))
          .progress.get(${JSON.stringify(SET)});
        seen.reads++;
        if (typeof p?.attempts === "number") seen.whole++;
      } catch (e) {
        seen.problems.push(String(e));
      }
    }
    console.log(JSON.stringify(seen));
  `;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

Deno.test("state writes land while another process reads the same files, and every read is whole", async () => {
  await withDir(async (dir) => {
    const store = await StateStore.open(dir, captureLog().log);
    await store.saveProgress({ set: SET, attempts: 0 });
    const reader = await startReader(dir);
    // Under Wine (and on Windows against readers that share no deletion) a
    // rename over a file being read fails until the reader lets go: every
    // write must still land.
    for (let attempts = 1; attempts <= 60; attempts++) {
      await store.saveProgress({ set: SET, attempts });
    }
    const seen = await reader.finish();
    deepStrictEqual(seen.problems, []);
    ok(seen.reads > 0, "the reader read while the writes went on");
    equal(seen.whole, seen.reads, "no read found the record torn or missing");
    const reopened = await StateStore.open(dir, captureLog().log);
    equal(reopened.progress.get(SET)?.attempts, 60);
  });
});

Deno.test("a read-only store opened while a run delivers sets never fails on a progress file removed meanwhile", async () => {
  await withDir(async (dir) => {
    const store = await StateStore.open(dir, captureLog().log);
    const reader = await startReader(dir);
    // Each set's progress appears, then goes with its delivery: a reader
    // that listed it a moment before may find it gone.
    for (let i = 0; i < 150; i++) {
      const set = `transcript_session_2025-10-29T06-49-${i}.json`;
      await store.saveProgress({ set, attempts: 1 });
      await store.markDelivered(record(set));
    }
    const seen = await reader.finish();
    deepStrictEqual(seen.problems, []);
    ok(seen.reads > 0, "the reader read while the run went on");
  });
});
