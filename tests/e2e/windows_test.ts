/**
 * What Windows hosts do differently, end to end through the CLI: names that
 * differ in case only, files with a byte-order mark, the run lock held by
 * another process, names Windows forbids, and the scheduled task itself.
 * Most of it runs on every system (a Linux host may be handed such files
 * too); what only Windows can show is skipped elsewhere, saying so. In CI
 * the whole suite runs a second time under the Windows build of Deno.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makePrivateDir } from "../../lib/core/safe_fs.ts";
import {
  cliArgs,
  cliCommand,
  runCli,
  type Sandbox,
  sandbox,
} from "../../testing/cli.ts";
import { fixtureCall, tempDir } from "../../testing/fixtures.ts";
import { holdRunLock } from "../../testing/lock.ts";
import { serveChild } from "../../testing/serve_child.ts";
import {
  SCHTASKS_ARGS,
  testOn,
  windowsNameProblem,
  windowsOnly,
} from "../../testing/platform.ts";
import {
  acceptedCallIds,
  callRecordOf,
  deliveryRecord,
  row,
  statusOf,
} from "../../testing/status.ts";

const DAY_AGO = (Date.now() - 86_400_000) / 1000;
const CALL1 = fixtureCall(1);
const CALL2 = fixtureCall(2);
const CALL4 = fixtureCall(4);

/**
 * Write `folder/from` anew as `folder/to` with `bytes` (its own content if
 * not given), a day old. A remove and a new file, not a rename: a rename
 * that changes only the case is a no-op under Wine.
 */
async function rewrite(
  box: Sandbox,
  folder: string,
  from: string,
  to: string,
  bytes?: Uint8Array,
): Promise<void> {
  const old = join(box.dir, folder, from);
  const data = bytes ?? await Deno.readFile(old);
  await Deno.remove(old);
  const path = join(box.dir, folder, to);
  await Deno.writeFile(path, data);
  await Deno.utime(path, DAY_AGO, DAY_AGO);
}

/** Call 1's three files, spelled as a Windows tool might. */
const SHOUTED = {
  conversation: "Transcript_Session_2025-10-29T06-49-07.351452.JSON",
  recording: "Number-_918655066243-1761720502.OGG",
  lead: "Leads_Session_2025-10-29T06-49-07.351452.JSON",
};

async function shoutCall1(box: Sandbox): Promise<void> {
  await rewrite(
    box,
    "conversations",
    CALL1.conversation!,
    SHOUTED.conversation,
  );
  await rewrite(box, "recordings", CALL1.recording!, SHOUTED.recording);
  // Without its session_id the lead is linked by its name alone.
  const lead = JSON.parse(
    await Deno.readTextFile(join(box.dir, "leads", CALL1.lead!)),
  );
  delete lead.session_id;
  const bytes = new TextEncoder().encode(JSON.stringify(lead));
  await rewrite(box, "leads", CALL1.lead!, SHOUTED.lead, bytes);
}

Deno.test("names in upper or mixed case are read, paired with their recording and lead, and delivered", async () => {
  await using box = await sandbox();
  await shoutCall1(box);
  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  const record = await deliveryRecord(box, SHOUTED.conversation);
  assert.equal(record.recording_file, SHOUTED.recording);
  assert.equal(record.lead_file, SHOUTED.lead, "linked by session timestamp");
  assert.equal(
    record.original_path,
    `conversations/${SHOUTED.conversation}`,
    "written with / on every system",
  );
  assert.equal(acceptedCallIds(box.crm).length, 6);
});

Deno.test(testOn(windowsOnly("two spellings are two files elsewhere"), {
  name:
    "a delivered file that reappears spelled in another case is the same file: nothing is sent twice",
  async fn() {
    await using box = await sandbox();
    await shoutCall1(box);
    assert.equal((await box.run(["run"])).code, 0);
    const sent = box.crm.requests.length;
    // A tool writes the three files again, all in lower case.
    for (
      const [folder, name] of [
        ["conversations", SHOUTED.conversation],
        ["recordings", SHOUTED.recording],
        ["leads", SHOUTED.lead],
      ]
    ) {
      await rewrite(box, folder, name, name.toLowerCase());
    }
    const again = await box.run(["run"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(box.crm.requests.length, sent, "the CRM heard nothing new");
    const status = await statusOf(box);
    assert.equal(status.counts.delivered, 6);
    assert.deepEqual(status.sets, [], "nothing pending, waiting or failed");
  },
}));

/** `text` as UTF-16 with a byte-order mark (or without, if `bom` is false). */
function utf16(text: string, littleEndian: boolean, bom = true): Uint8Array {
  const units = (bom ? "\ufeff" : "") + text;
  const out = new Uint8Array(units.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < units.length; i++) {
    view.setUint16(2 * i, units.charCodeAt(i), littleEndian);
  }
  return out;
}

Deno.test("transcripts and leads with a UTF-8 or UTF-16 byte-order mark are delivered; UTF-16 without one is named", async () => {
  await using box = await sandbox();
  const text = (folder: string, name: string) =>
    Deno.readTextFile(join(box.dir, folder, name));
  const conv = "conversations";
  const bom8 = new TextEncoder().encode(
    "\ufeff" + await text(conv, CALL1.conversation!),
  );
  await rewrite(box, conv, CALL1.conversation!, CALL1.conversation!, bom8);
  const call2 = utf16(await text(conv, CALL2.conversation!), true);
  await rewrite(box, conv, CALL2.conversation!, CALL2.conversation!, call2);
  const lead2 = utf16(await text("leads", CALL2.lead!), false);
  await rewrite(box, "leads", CALL2.lead!, CALL2.lead!, lead2);
  const call4 = utf16(await text(conv, CALL4.conversation!), true, false);
  await rewrite(box, conv, CALL4.conversation!, CALL4.conversation!, call4);

  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  for (const call of [CALL1, CALL2]) {
    const record = await deliveryRecord(box, call.set);
    assert.equal(record.recording_file, call.recording, call.set);
    assert.equal(record.lead_file, call.lead, call.set);
    const sent = box.crm.acceptedCallRecords().find((r) =>
      callRecordOf(r).callDetails.callId === record.call_id
    );
    assert.ok(
      sent && callRecordOf(sent).lead,
      `${call.set} went with its lead`,
    );
  }
  const r = row(await statusOf(box), `conversations/${CALL4.conversation}`);
  assert.equal(r.state, "failed");
  assert.match(r.reason, /UTF-16 without a byte-order mark/);
});

Deno.test("a run while another process holds the run lock exits 0, names that process and sends nothing", async () => {
  await using box = await sandbox();
  const processed = join(box.dir, "processed_uploads");
  await makePrivateDir(processed);
  // On Windows the lock is mandatory: the holder's pid is read elsewhere.
  await using holder = await holdRunLock(processed);
  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(
    res.stderr,
    new RegExp(`another run \\(pid ${holder.pid}\\) is in progress; skipping`),
  );
  assert.equal(box.crm.requests.length, 0);
});

Deno.test("the dashboard reads the state while another process's run rewrites it: every answer whole, every write landed", async () => {
  // Each CRM answer waits, so the run writes its records over seconds while
  // the dashboard (another process) reads the same files for every answer.
  // Windows refuses a rename over a file being read; the run waits it out.
  await using box = await sandbox({ delayMs: 150 });
  await using dash = await serveChild(box.dir, [], box.env);
  const run = cliCommand(["run", "--base-dir", box.dir], {
    ...box.env,
    UPLOAD_CONCURRENCY: "1",
  }).output();
  let done = false;
  const ran = run.finally(() => done = true);
  const problems: string[] = [];
  const seen = new Set<number>();
  for (let polls = 0; !done && polls < 5_000; polls++) {
    for (const path of ["/api/status", "/"]) {
      const res = await fetch(dash.url + path);
      const text = await res.text();
      if (res.status !== 200) problems.push(`${path}: ${res.status} ${text}`);
      else if (path === "/api/status") {
        seen.add(JSON.parse(text).counts.delivered);
      }
    }
  }
  const out = await ran;
  const log = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, log);
  assert.deepEqual(problems, [], `the dashboard's log:\n${dash.stderr()}`);
  assert.ok(seen.size >= 3, `read while the run went on: ${[...seen]}`);
  const after = await (await fetch(`${dash.url}/api/status`)).json();
  assert.equal(after.counts.delivered, 6);
  assert.equal(acceptedCallIds(box.crm).length, 6);
  assert.doesNotMatch(dash.stderr(), /\[(ERROR|WARNING)\]/);
});

/** Every name under `dir`, folders included, relative to it. */
async function namesUnder(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    out.push(prefix + e.name);
    if (e.isDirectory) {
      out.push(...await namesUnder(join(dir, e.name), `${prefix}${e.name}/`));
    }
  }
  return out;
}

Deno.test("every file and folder callsync writes has a name Windows allows", async () => {
  await using box = await sandbox();
  const processed = join(box.dir, "processed_uploads");
  await makePrivateDir(processed);
  // A torn record, to be set aside under a name of callsync's making.
  await Deno.writeTextFile(join(processed, `${CALL4.set}.pending`), '{"set":');
  const archive = join(box.dir, "archive");
  const metrics = join(box.dir, "callsync.prom");
  const res = await box.run([
    "run",
    "--archive-dir",
    archive,
    "--metrics-file",
    metrics,
  ]);
  assert.equal(res.code, 0, res.stderr);
  const written = [
    ...await namesUnder(processed),
    ...await namesUnder(archive),
    "callsync.prom",
  ];
  assert.ok(written.some((n) => n.includes(".corrupt-")), written.join("\n"));
  assert.ok(written.some((n) => n.startsWith("2025/10/29/")));
  for (const path of written) {
    for (const name of path.split("/")) {
      assert.equal(windowsNameProblem(name), undefined, path);
    }
  }
});

/**
 * The argv a Windows program gets from `line` (the MSVC rules, as Deno.exe
 * itself applies them): a child Deno started with `line` as its raw command
 * line after `program`, printing what it received.
 */
async function argvOf(program: string, line: string): Promise<string[]> {
  const out = await new Deno.Command(program, {
    args: [line],
    windowsRawArguments: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test(testOn(windowsOnly("cmd.exe and the Windows command line"), {
  name:
    "schedule --print windows: through cmd.exe and Task Scheduler's split, the task runs callsync, which delivers",
  async fn() {
    await using box = await sandbox();
    // A base folder whose name has a space, so that quoting matters; short,
    // as schtasks takes at most 261 characters for the whole command and
    // deno.exe with its flags and main.ts already needs about 120. The CRM
    // settings come from the environment the task starts with.
    await using short = await tempDir("cs ");
    const base = short.path;
    for (const folder of ["conversations", "recordings", "leads"]) {
      await Deno.rename(join(box.dir, folder), join(base, folder));
    }
    const printed = await runCli(
      ["schedule", "--print", "windows", "--base-dir", base],
      {},
    );
    assert.equal(printed.code, 0, printed.stderr);
    const line = printed.stdout.trim();
    assert.match(line, /^schtasks \/create \/tn callsync \/tr "/);

    // cmd.exe runs the line; a stand-in for schtasks prints what it got.
    const probe = "console.log(JSON.stringify(Deno.args))";
    const echo = `"${Deno.execPath()}" eval "${probe.replaceAll('"', '\\"')}"`;
    const cmdLine = `/d /s /c "${line.replace(/^schtasks/, echo)}"`;
    const schtasks = await argvOf("cmd.exe", cmdLine);
    assert.deepEqual(schtasks.slice(0, 4), SCHTASKS_ARGS.before);
    assert.deepEqual(schtasks.slice(5), SCHTASKS_ARGS.after);
    const tr = schtasks[4];

    // Task Scheduler starts the program /tr names with the rest as its
    // command line: callsync from source, which must deliver every call.
    const m = /^("([^"]+)"|(\S+)) (.*)$/.exec(tr);
    assert.ok(m, tr);
    const [program, rest] = [m[2] ?? m[3], m[4]];
    assert.equal(program, Deno.execPath());
    const ran = await new Deno.Command(program, {
      args: [rest],
      windowsRawArguments: true,
      env: box.env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(ran.stderr);
    assert.equal(ran.code, 0, log);
    assert.match(log, /Directory scan completed: 6 processed, 0 failed/);
    assert.equal(acceptedCallIds(box.crm).length, 6);
    assert.ok(rest.includes(cliArgs([]).at(-1)!), "main.ts from this checkout");
  },
}));

Deno.test(testOn(windowsOnly("Windows paths"), {
  name: "schedule --print windows refuses a folder cmd.exe would misread",
  async fn() {
    const res = await runCli(
      ["schedule", "--print", "windows", "--base-dir", "C:\\R&D bot"],
      {},
    );
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /base dir holds &, which cmd.exe would act on/);
  },
}));
