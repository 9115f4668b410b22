/**
 * The promise under fire: kills at random moments (SIGKILL; TerminateProcess
 * on Windows), and a CRM that fails in every way it can. Real child
 * processes, a real HTTP server on 127.0.0.1, real files. Seeded: set
 * CALLSYNC_TEST_SEED to replay a failure.
 */
import assert from "node:assert/strict";
import {
  FakeCrm,
  type Fault,
  type ReceivedRequest,
} from "../../testing/fake_crm.ts";
import { mulberry32 } from "../../testing/busy_host.ts";
import { type ExpectedCall, writeCallTree } from "../../testing/calls.ts";
import { cliCommand, crmEnv, runCli } from "../../testing/cli.ts";
import { byOs, killHard, stopChild } from "../../testing/platform.ts";
import { fingerprintTree } from "../../testing/tree.ts";
import {
  deliveredSets,
  deliveryRecord,
  idempotencyKeysByCall,
  statusAt,
  type StatusReport,
} from "../../testing/status.ts";

const SEED = Number(Deno.env.get("CALLSYNC_TEST_SEED") ?? 20261124);

/**
 * The tree the kills of `run` fall on, the most requests between two kills,
 * and the kills that must land mid-run: about 40 kills on 220 calls. Each
 * kill costs a start of the CLI, 2 to 5 s under Wine, so the Windows build
 * takes about 20 kills on 50 calls.
 */
const { CALLS, KILL_SPREAD, MIN_KILLS } = byOs({
  posix: { CALLS: 220, KILL_SPREAD: 22, MIN_KILLS: 24 },
  windows: { CALLS: 50, KILL_SPREAD: 10, MIN_KILLS: 12 },
});

/** Run `fn`; on failure, say which seed reproduces it. */
async function seeded(seed: number, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    console.error(
      `\nFailed with seed ${seed}: rerun with CALLSYNC_TEST_SEED=${seed}`,
    );
    throw e;
  }
}

async function sourceFingerprint(dir: string) {
  const all = await fingerprintTree(dir);
  for (const k of all.keys()) {
    if (!/^(conversations|recordings|leads)\//.test(k)) all.delete(k);
  }
  return all;
}

/**
 * What the CRM holds, with repeats of one request (same Idempotency-Key)
 * set aside: every callId must have come under exactly one key.
 */
function assertExactlyOnce(
  requests: ReceivedRequest[],
  sets: number,
  received: (r: ReceivedRequest) => boolean,
): void {
  const keysByCallId = idempotencyKeysByCall(
    requests.filter((r) => r.endpoint === "call-data" && received(r)),
  );
  for (const [callId, keys] of keysByCallId) {
    assert.equal(
      keys.size,
      1,
      `${callId} was sent under ${keys.size} different keys`,
    );
  }
  assert.equal(keysByCallId.size, sets, "one call record per delivered set");
  const uploadKeys = new Map<string, Set<string>>();
  for (const r of requests) {
    if (r.endpoint !== "upload" || !received(r)) continue;
    const keys = uploadKeys.get(r.fileName!) ?? new Set();
    keys.add(r.idempotencyKey!);
    uploadKeys.set(r.fileName!, keys);
  }
  for (const [file, keys] of uploadKeys) {
    assert.equal(keys.size, 1, `${file} uploaded for two sets`);
  }
}

/**
 * Every source file was delivered in exactly one set (how orphans pair up is
 * the matcher's business, tested elsewhere); returns the number of sets.
 */
async function assertAllDelivered(
  dir: string,
  expected: ExpectedCall[],
): Promise<number> {
  const users = new Map<string, string>();
  let sets = 0;
  for (const set of await deliveredSets(dir)) {
    sets++;
    const record = await deliveryRecord(dir, set);
    assert.equal(record.call_data_uploaded, true);
    const conversation = record.kind === "call" ? record.set : undefined;
    for (const f of [conversation, record.recording_file, record.lead_file]) {
      if (!f) continue;
      assert.ok(
        !users.has(f),
        `${f} delivered with ${users.get(f)} and ${record.set}`,
      );
      users.set(f, record.set);
    }
  }
  for (const call of expected) {
    for (const f of [call.conversation, call.recording, call.lead]) {
      if (f) assert.ok(users.has(f), `${f} was delivered with some call`);
    }
  }
  return sets;
}

/**
 * After the kills: every file delivered in exactly one set, each call record
 * under one key, no source file changed, and a final run sends nothing.
 */
async function assertCrashInvariants(
  dir: string,
  expected: ExpectedCall[],
  before: Awaited<ReturnType<typeof sourceFingerprint>>,
  crm: FakeCrm,
  env: Record<string, string>,
): Promise<void> {
  const sets = await assertAllDelivered(dir, expected);
  assertExactlyOnce(crm.requests, sets, (r) => r.answer === 200);
  assert.deepEqual(
    await sourceFingerprint(dir),
    before,
    "no source file changed",
  );
  const count = crm.requests.length;
  assert.equal((await runCli(["run", "--base-dir", dir, "-q"], env)).code, 0);
  assert.equal(crm.requests.length, count, "a final run sends nothing");
}

/** How long the CLI takes to start and exit (`--version`), once warm. */
async function startupMs(env: Record<string, string>): Promise<number> {
  let took = 0;
  for (let i = 0; i < 2; i++) {
    const started = Date.now();
    await cliCommand(["--version"], env).output();
    took = Date.now() - started;
  }
  return took;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Wait for a random moment of the delivery `child` is making against `crm`,
 * measured in its progress rather than in time, so that it means the same on
 * a fast machine, a loaded one and under Wine: after 1 to `spread` more
 * requests reached the CRM, plus up to `afterMs` (between an answer and the
 * state write after it); now and then during start-up (up to `startupMs`)
 * instead. Gives up when the child exits or 30 s after start-up.
 */
async function progressMoment(
  child: Deno.ChildProcess,
  crm: FakeCrm,
  random: () => number,
  moments: { spread: number; startupMs: number; afterMs: number },
): Promise<void> {
  const k = Math.floor(random() * (moments.spread + 1));
  if (k === 0) return await sleep(random() * moments.startupMs);
  let exited = false;
  child.status.then(() => exited = true);
  const target = crm.requests.length + k;
  const deadline = Date.now() + moments.startupMs + 30_000;
  while (!exited && crm.requests.length < target && Date.now() < deadline) {
    await sleep(5);
  }
  await sleep(random() * moments.afterMs);
}

Deno.test("a kill at random moments (SIGKILL; TerminateProcess on Windows) loses no call and sends none twice", async () => {
  await seeded(SEED, async () => {
    const random = mulberry32(SEED);
    const dir = await Deno.makeTempDir({ prefix: "callsync-crash-" });
    const crm = FakeCrm.start({ delayMs: 30 });
    try {
      const expected = await writeCallTree(dir, {
        seed: SEED,
        calls: CALLS,
        bytesPerSecond: 40,
      });
      const before = await sourceFingerprint(dir);
      const env = crmEnv(crm, {
        UPLOAD_RETRY_BACKOFF: "0",
        UPLOAD_CONCURRENCY: "4",
      });
      const args = ["run", "--base-dir", dir, "-q"];
      const plan = await statusAt(dir, env);
      const total = plan.sets.length;
      assert.ok(total >= CALLS * 0.9, `${total} sets to deliver`);
      const moments = {
        spread: KILL_SPREAD,
        startupMs: await startupMs(env),
        afterMs: 30,
      };
      let killedMidRun = 0;
      for (
        let i = 0;
        i < 80 && (await deliveredSets(dir)).length < total;
        i++
      ) {
        const child = cliCommand(args, env, { stdout: "null", stderr: "null" })
          .spawn();
        await progressMoment(child, crm, random, moments);
        if ((await killHard(child)).landed) killedMidRun++;
      }
      assert.ok(
        killedMidRun >= MIN_KILLS,
        `only ${killedMidRun} kills landed mid-run`,
      );
      console.log(`${killedMidRun} kills landed mid-run over ${total} sets`);
      let clean = false;
      for (let i = 0; i < 5 && !clean; i++) {
        clean = (await runCli(args, env)).code === 0;
      }
      assert.ok(clean, "a run finished clean after the kills");

      await assertCrashInvariants(dir, expected, before, crm, env);
    } finally {
      await crm.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("a CRM failing at random still gets every call exactly once", async () => {
  const seed = SEED + 1;
  await seeded(seed, async () => {
    const random = mulberry32(seed);
    const fault = (): Fault | undefined => {
      const x = random();
      if (x < 0.08) return { kind: "status", status: 503 };
      if (x < 0.13) return { kind: "reset" };
      if (x < 0.15) return { kind: "hang" };
      if (x < 0.21) return { kind: "success-false" };
      if (x < 0.26) return { kind: "status", status: 429, retryAfter: "0" };
      if (x < 0.28) return { kind: "html" };
      return undefined;
    };
    const dir = await Deno.makeTempDir({ prefix: "callsync-faults-" });
    const crm = FakeCrm.start({ fault });
    try {
      const expected = await writeCallTree(dir, {
        seed,
        calls: 60,
        bytesPerSecond: 40,
      });
      const env = crmEnv(crm, {
        UPLOAD_RETRY_BACKOFF: "0,0,0",
        UPLOAD_RETRY_ATTEMPTS: "1000",
        UPLOAD_TIMEOUT_SECONDS: "1",
      });
      const args = ["run", "--base-dir", dir, "-q"];
      // The sets callsync plans (an orphan transcript and an orphan
      // recording may make one), not the calls the tree was written from.
      const total = (await statusAt(dir, env)).sets.length;
      let runs = 0;
      let status: StatusReport | undefined;
      for (; runs < 30; runs++) {
        const res = await runCli(args, env);
        assert.ok(res.code === 0 || res.code === 1, res.stderr);
        status = await statusAt(dir, env);
        if (status.counts.delivered === total) break;
      }
      assert.ok(
        runs < 30,
        `not everything delivered within 30 runs: ${JSON.stringify(status)}`,
      );
      const sets = await assertAllDelivered(dir, expected);
      // A hung answer may have been processed by a real CRM: count it as received.
      assertExactlyOnce(
        crm.requests,
        sets,
        (r) => r.answer === 200 || r.answer === "hang",
      );
      // Not vacuous: the CRM misbehaved often, and in several ways.
      const faults = crm.requests.filter((r) => r.fault !== undefined);
      const kinds = new Set(faults.map((r) => r.fault));
      assert.ok(
        faults.length >= 10,
        `the CRM misbehaved ${faults.length} times`,
      );
      assert.ok(kinds.size >= 4, `only these faults: ${[...kinds].join(", ")}`);
    } finally {
      await crm.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("watch killed at random moments, with run started beside it, loses no call and sends none twice", async () => {
  const seed = SEED + 2;
  await seeded(seed, async () => {
    const random = mulberry32(seed);
    const dir = await Deno.makeTempDir({ prefix: "callsync-crash-watch-" });
    const crm = FakeCrm.start({ delayMs: 80 });
    try {
      const expected = await writeCallTree(dir, {
        seed,
        calls: 160,
        bytesPerSecond: 40,
      });
      const before = await sourceFingerprint(dir);
      const env = crmEnv(crm, {
        UPLOAD_RETRY_BACKOFF: "0",
        UPLOAD_CONCURRENCY: "4",
        SETTLE_SECONDS: "0",
      });
      const watch = ["watch", "--base-dir", dir, "-q"];
      const run = ["run", "--base-dir", dir, "-q"];
      const total = (await statusAt(dir, env)).sets.length;
      assert.ok(total >= 140, `${total} sets to deliver`);
      let killedWhileDelivering = 0;
      let runsBeside = 0;
      for (let i = 0; i < 60; i++) {
        const done = (await deliveredSets(dir)).length;
        if (done >= total) break;
        const children = [
          cliCommand(watch, env, { stdout: "null", stderr: "null" }).spawn(),
        ];
        if (i % 2 === 1) {
          // A cron run started against the same folders at the same moment.
          children.push(
            cliCommand(run, env, { stdout: "null", stderr: "null" }).spawn(),
          );
          runsBeside++;
        }
        await progressMoment(children[0], crm, random, {
          spread: 12,
          startupMs: 400,
          afterMs: 80,
        });
        for (const child of children) await killHard(child);
        const after = (await deliveredSets(dir)).length;
        if (after > done && after < total) killedWhileDelivering++;
      }
      console.log(
        `${killedWhileDelivering} kills landed while delivering, ${runsBeside} runs started beside watch, ${total} sets`,
      );
      assert.ok(
        killedWhileDelivering >= 8,
        `only ${killedWhileDelivering} kills landed while delivering`,
      );
      assert.ok(
        runsBeside >= 4,
        `only ${runsBeside} runs started beside watch`,
      );

      // Then watch runs to the end while a run starts beside it: the run
      // skips (exit 0) and watch delivers the rest, then stops on SIGTERM.
      const child = cliCommand(
        ["watch", "--base-dir", dir],
        env,
        { stdout: "null", stderr: "piped" },
      ).spawn();
      const stderr = child.stderr.pipeThrough(new TextDecoderStream())
        .getReader();
      let log = "";
      const watching = (async () => {
        while (!log.includes("Watching")) {
          const { value, done } = await stderr.read();
          if (done) return;
          log += value;
        }
      })();
      const beside = await runCli(["run", "--base-dir", dir], env);
      assert.equal(beside.code, 0, beside.stderr);
      for (let i = 0; i < 300; i++) {
        if ((await deliveredSets(dir)).length >= total) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // Stopped once it watches (a signal during start-up, before its
      // listeners exist, would end it as any program); on Windows ended.
      await watching;
      const stopping = stopChild(child);
      for (let r = await stderr.read(); !r.done; r = await stderr.read()) {
        log += r.value;
      }
      const stopped = await stopping;
      if (stopped.graceful) assert.equal(stopped.status.code, 0, log);
      await assertCrashInvariants(dir, expected, before, crm, env);
    } finally {
      await crm.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
});
