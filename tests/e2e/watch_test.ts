/**
 * `callsync watch` as a service runs it: a child process, a real fake CRM and
 * health-check server on 127.0.0.1, real files.
 */
import assert from "node:assert/strict";
import { FakeCrm } from "../../testing/fake_crm.ts";
import { writeCallTree } from "../../testing/calls.ts";
import {
  cliCommand,
  crmEnv,
  freePort,
  runCli,
  sandbox,
} from "../../testing/cli.ts";
import { GRACEFUL_STOP, stopChild, testOn } from "../../testing/platform.ts";
import { deliveredSets, statusAt } from "../../testing/status.ts";

Deno.test(testOn(GRACEFUL_STOP, {
  name:
    "watch: heartbeat at start, a run beside it skips, SIGTERM waits for the set in flight and exits 0",
  async fn() {
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
      assert.ok(
        delivered >= 1 && delivered < total,
        `${delivered} of ${total}`,
      );
      // Every call record the CRM accepted is recorded as delivered: the set
      // in flight was let finish.
      const accepted = crm.requests.filter((r) =>
        r.endpoint === "call-data" && r.answer === 200
      ).length;
      assert.equal(accepted, delivered);

      // A run after it sends the rest, and nothing twice.
      assert.equal(
        (await runCli(["run", "--base-dir", dir, "-q"], env)).code,
        0,
      );
      assert.equal((await deliveredSets(dir)).length, total);
    } finally {
      await hc.shutdown();
      await crm.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
}));

Deno.test("watch --serve: the dashboard shows its live state, Run now says watch delivers, Retry goes to the running watch", async () => {
  let refusing = true;
  await using box = await sandbox({
    fault: (endpoint) =>
      refusing && endpoint === "call-data"
        ? { kind: "status", status: 422, body: "no thanks" }
        : undefined,
  });
  const token = "watch-dashboard-token-0123456789";
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = cliCommand(
    ["watch", "--base-dir", box.dir, "--serve", "--port", String(port)],
    {
      ...box.env,
      SETTLE_SECONDS: "0",
      UPLOAD_RETRY_ATTEMPTS: "1",
      DASHBOARD_TOKEN: token,
    },
    { stdout: "null", stderr: "piped" },
  ).spawn();
  const stderr = new Response(child.stderr).text();
  const auth = { authorization: `Bearer ${token}` };
  const api = async <T>(path: string, init: RequestInit = {}) => {
    const res = await fetch(base + path, {
      ...init,
      headers: { ...auth, origin: base, ...init.headers },
    });
    return { status: res.status, json: await res.json() as T };
  };
  type Status = { counts: Record<string, number> };
  const counts = async () =>
    (await api<Status>("/api/status").catch(() => undefined))?.json.counts;
  const until = async (
    what: string,
    ok: (c: Record<string, number>) => boolean,
  ) => {
    for (let i = 0; i < 300; i++) {
      const c = await counts();
      if (c && ok(c)) return c;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(
      `timed out waiting until ${what}: ${JSON.stringify(await counts())}`,
    );
  };
  try {
    // Every call record refused once, and UPLOAD_RETRY_ATTEMPTS=1: all failed.
    await until("every set has failed", (c) => c.failed === 6);

    const run = await api<{ id: string }>("/api/run", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(run.status, 202);
    let view: { state: string; message: string } | undefined;
    for (let i = 0; i < 100 && view?.state !== "skipped"; i++) {
      view = (await api<typeof view>(`/api/runs/${run.json.id}`)).json;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(view?.state, "skipped");
    assert.match(
      view!.message,
      /callsync watch in this process holds the run lock/,
    );

    refusing = false;
    const retry = await api<{ message: string }>("/api/retry", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ failed: true }),
    });
    assert.equal(retry.status, 200, JSON.stringify(retry.json));
    // The running watch takes them at once: no run, no restart.
    const after = await until(
      "every set is delivered",
      (c) => c.delivered === 6,
    );
    assert.equal(after.failed, 0);
    const keys = box.crm.acceptedCallRecords().map((r) => r.idempotencyKey);
    assert.equal(new Set(keys).size, 6, "each call accepted once");
  } finally {
    const stopped = await stopChild(child);
    if (stopped.graceful) assert.equal(stopped.status.code, 0, await stderr);
    else await stderr;
  }
});
