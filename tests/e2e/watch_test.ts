/**
 * `callsync watch` as a service runs it: a child process, a real fake CRM and
 * health-check server on 127.0.0.1, real files.
 */
import assert from "node:assert/strict";
import { FakeCrm } from "../../testing/fake_crm.ts";
import { writeCallTree } from "../../testing/calls.ts";
import { cliCommand, crmEnv, runCli } from "../../testing/cli.ts";
import { deliveredSets, statusAt } from "../../testing/status.ts";

Deno.test("watch: heartbeat at start, a run beside it skips, SIGTERM waits for the set in flight and exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "callsync-watch-e2e-" });
  const crm = FakeCrm.start({ delayMs: 300 });
  const pings: string[] = [];
  const hc = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      pings.push(new URL(req.url).pathname);
      return new Response("OK");
    },
  );
  try {
    await writeCallTree(dir, { seed: 3, calls: 12, bytesPerSecond: 40 });
    const env = crmEnv(crm, {
      SETTLE_SECONDS: "0",
      UPLOAD_CONCURRENCY: "1",
      HEALTHCHECK_URL: `http://127.0.0.1:${hc.addr.port}/hc`,
    });
    const total = (await statusAt(dir, env)).sets.length;
    const child = cliCommand(["watch", "--base-dir", dir], env, {
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    for (let i = 0; i < 200 && crm.requests.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const beside = await runCli(["run", "--base-dir", dir], {
      ...env,
      HEALTHCHECK_URL: "",
    });
    assert.equal(beside.code, 0);
    assert.match(
      beside.stderr,
      /another run \(pid \d+\) is in progress; skipping/,
    );
    assert.deepEqual(pings, ["/hc/0"], "one heartbeat, healthy, at start");

    child.kill("SIGTERM");
    const status = await child.status;
    const log = await stderr;
    assert.equal(status.code, 0, log);
    assert.match(log, /Stopping: no new sets/);
    assert.match(log, /\[INFO\] Stopped$/m);
    const delivered = (await deliveredSets(dir)).length;
    assert.ok(delivered >= 1 && delivered < total, `${delivered} of ${total}`);
    // Every call record the CRM accepted is recorded as delivered: the set
    // in flight was let finish.
    const accepted = crm.requests.filter((r) =>
      r.endpoint === "call-data" && r.answer === 200
    ).length;
    assert.equal(accepted, delivered);

    // A run after it sends the rest, and nothing twice.
    assert.equal((await runCli(["run", "--base-dir", dir, "-q"], env)).code, 0);
    assert.equal((await deliveredSets(dir)).length, total);
  } finally {
    await hc.shutdown();
    await crm.close();
    await Deno.remove(dir, { recursive: true });
  }
});
