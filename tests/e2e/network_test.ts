/**
 * A CRM across a real network, through the CLI: HTTPS with a private CA,
 * a forward proxy (npm `proxy`), an independent multipart server (express +
 * multer), settings from `--env-file`, and the request deadline.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Sandbox, sandbox } from "../../testing/cli.ts";
import { FIXTURE_SETS } from "../../testing/fixtures.ts";
import { startForwardProxy } from "../../testing/forward_proxy.ts";
import { startSocksProxy } from "../../testing/socks_proxy.ts";
import { startMultipartServer } from "../../testing/multipart_server.ts";
import { startRawServer } from "../../testing/raw_server.ts";
import { assertBackedByCrm, deliveredSets } from "../../testing/status.ts";
import { makeTestPki } from "../../testing/test_ca.ts";
import { posix, testOn } from "../../testing/platform.ts";

const pki = await makeTestPki(["localhost"]);
/** Keeps a child `deno run` from checking for updates through the proxy. */
const QUIET_DENO = { DENO_NO_UPDATE_CHECK: "1" };

/** A sandbox whose fake CRM speaks HTTPS, its CA in `ca.pem` beside the bot's folders. */
async function httpsBox(): Promise<Sandbox> {
  const box = await sandbox({ tls: pki });
  await Deno.writeTextFile(join(box.dir, "ca.pem"), pki.caCert);
  return box;
}

/** Write `callsync.env` in the sandbox; returns its path. */
async function envFile(box: Sandbox, lines: string[]): Promise<string> {
  const path = join(box.dir, "callsync.env");
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

/**
 * Every connection the CRM took came through the proxy that made the tunnels
 * `connects` (`host:port` each), and each tunnel went to the CRM.
 */
function assertAllThrough(box: Sandbox, connects: string[]): void {
  assert.ok(connects.length >= 1);
  assert.ok(
    connects.every((c) => c === `localhost:${box.crm.port}`),
    connects.join(),
  );
  assert.equal(
    box.crm.connections,
    connects.length,
    "every connection to the CRM came through the proxy",
  );
}

async function assertAllDelivered(box: Sandbox): Promise<void> {
  assert.deepEqual(await deliveredSets(box), [...FIXTURE_SETS].sort());
  await assertBackedByCrm(box);
}

Deno.test("HTTPS with the private CA and HTTPS_PROXY from --env-file: every request goes through the proxy, all delivered", async () => {
  await using box = await httpsBox();
  await using proxy = await startForwardProxy();
  const file = await envFile(box, [
    "CRM_CA_FILE=ca.pem",
    `HTTPS_PROXY=${proxy.url}`,
  ]);
  const res = await box.run(["run", "--env-file", file], QUIET_DENO);
  assert.equal(res.code, 0, res.stderr);
  await assertAllDelivered(box);
  assertAllThrough(box, proxy.connects);
  assert.ok(
    box.crm.connections <= 4,
    `${box.crm.connections} connections for UPLOAD_CONCURRENCY=4`,
  );
});

Deno.test("NO_PROXY naming the CRM's host bypasses HTTPS_PROXY", async () => {
  await using box = await httpsBox();
  await using proxy = await startForwardProxy();
  const file = await envFile(box, [
    "CRM_CA_FILE=ca.pem",
    `HTTPS_PROXY=${proxy.url}`,
    "NO_PROXY=example.org,localhost",
  ]);
  const res = await box.run(["run", "--env-file", file], QUIET_DENO);
  assert.equal(res.code, 0, res.stderr);
  await assertAllDelivered(box);
  assert.deepEqual(proxy.connects, []);
});

Deno.test("without CRM_CA_FILE the private CA is refused: nothing delivered, the log names CRM_CA_FILE", async () => {
  await using box = await httpsBox();
  const res = await box.run(["run"], { UPLOAD_RETRY_BACKOFF: "0" });
  assert.equal(res.code, 1, res.stderr);
  assert.match(
    res.stderr,
    /invalid peer certificate: UnknownIssuer.*CRM_CA_FILE/,
  );
  assert.deepEqual(await deliveredSets(box), []);
  assert.equal(box.crm.requests.length, 0);
});

Deno.test("CRM_PROXY refusing its credentials stops the run (exit 3), naming the proxy and never the password", async () => {
  await using box = await httpsBox();
  await using proxy = await startForwardProxy({
    user: "ops",
    password: "right",
  });
  const res = await box.run(["run"], {
    ...QUIET_DENO,
    CRM_CA_FILE: "ca.pem",
    CRM_PROXY: `http://ops:n0t-the-pw@127.0.0.1:${proxy.port}`,
  });
  assert.equal(res.code, 3, res.stderr);
  assert.match(
    res.stderr,
    new RegExp(
      `via proxy http://127\\.0\\.0\\.1:${proxy.port}: 407 Proxy Authentication Required`,
    ),
  );
  assert.doesNotMatch(res.stderr + res.stdout, /n0t-the-pw/);
  assert.deepEqual(await deliveredSets(box), []);
});

Deno.test("CRM_PROXY=socks5://user:password@… from --env-file: every request goes through the SOCKS5 proxy, all delivered, the password never logged", async () => {
  await using box = await httpsBox();
  await using socks = await startSocksProxy({
    user: "ops",
    password: "s0cks-pw",
  });
  const file = await envFile(box, [
    "CRM_CA_FILE=ca.pem",
    `CRM_PROXY=${socks.url.replace("//", "//ops:s0cks-pw@")}`,
  ]);
  const res = await box.run(["run", "--env-file", file, "--verbose"]);
  assert.equal(res.code, 0, res.stderr);
  await assertAllDelivered(box);
  assertAllThrough(box, socks.connects);
  assert.doesNotMatch(res.stderr + res.stdout, /s0cks-pw/);
});

Deno.test("express + multer over HTTPS receive every recording byte for byte, as field file with its name and audio/ogg", async () => {
  await using box = await httpsBox();
  await using crm = await startMultipartServer(pki);
  const res = await box.run(["run"], {
    CRM_CA_FILE: "ca.pem",
    CRM_UPLOAD_URL: `${crm.url}/upload`,
    CRM_CALL_DATA_URL: `${crm.url}/call-data`,
  });
  assert.equal(res.code, 0, res.stderr);
  const names = [...Deno.readDirSync(join(box.dir, "recordings"))]
    .map((e) => e.name).sort();
  assert.deepEqual(crm.uploads.map((u) => u.originalName).sort(), names);
  for (const upload of crm.uploads) {
    assert.equal(upload.field, "file");
    assert.equal(upload.mimeType, "audio/ogg");
    assert.ok(upload.contentLength, "sent with a Content-Length");
    assert.equal(upload.transferEncoding, undefined);
    assert.ok(upload.idempotencyKey?.startsWith("callsync-"));
    const original = await Deno.readFile(
      join(box.dir, "recordings", upload.originalName),
    );
    assert.deepEqual(upload.bytes, original, upload.originalName);
  }
  assert.equal(crm.records.length, FIXTURE_SETS.length);
  assert.deepEqual(crm.errors, []);
});

Deno.test("a CRM trickling its answer is abandoned at UPLOAD_DEADLINE_SECONDS", async () => {
  await using box = await httpsBox();
  await using slow = startRawServer(async (x) => {
    await x.drainBody();
    await x.write("HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n");
    for (let i = 0; i < 100_000 && await x.pause(200); i++) await x.write(" ");
  }, pki);
  const started = performance.now();
  const res = await box.run(["run"], {
    CRM_CA_FILE: "ca.pem",
    CRM_UPLOAD_URL: `${slow.url}/upload`,
    CRM_CALL_DATA_URL: `${slow.url}/call-data`,
    UPLOAD_CONCURRENCY: "1",
    UPLOAD_BATCH_SIZE: "1",
    UPLOAD_DEADLINE_SECONDS: "2",
    UPLOAD_TIMEOUT_SECONDS: "1",
    UPLOAD_RETRY_BACKOFF: "0",
  });
  assert.equal(res.code, 1, res.stderr);
  assert.match(
    res.stderr,
    /no complete answer from localhost:\d+ within 2 s \(the request deadline\)/,
  );
  const took = performance.now() - started;
  assert.ok(took < 30_000, `the run took ${took} ms`);
});

Deno.test(testOn(
  posix(
    "cron takes POSIX paths; the schtasks command's --crm-ca-file is checked in tests/report/schedule_test.ts",
  ),
  {
    name:
      "schedule --print cron carries CRM_CA_FILE from the env file as an absolute --crm-ca-file",
    async fn() {
      await using box = await httpsBox();
      const file = await envFile(box, ["CRM_CA_FILE=ca.pem"]);
      const res = await box.run([
        "schedule",
        "--print",
        "cron",
        "--env-file",
        file,
      ]);
      assert.equal(res.code, 0, res.stderr);
      assert.ok(
        res.stdout.includes(
          ` run --env-file ${file} --crm-ca-file ${join(box.dir, "ca.pem")} `,
        ),
        res.stdout,
      );
    },
  },
));
