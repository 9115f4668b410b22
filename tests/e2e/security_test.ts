/**
 * The attacks of issue 13, tried as a user with write access to the bot's
 * folders (or a network peer of the dashboard) would, through the real CLI:
 * files swapped under a run, state others can read, secrets echoed back,
 * a dashboard flooded or exposed, names that drive the terminal, links in
 * PROCESSED_DIR. Each test failed before the hardening and passes now.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { CaptureCrm } from "../../testing/capture_crm.ts";
import { type CliResult, ROOT, runCli } from "../../testing/cli.ts";
import {
  fixtureCall,
  type TempDir,
  tempDir,
  underUmask,
} from "../../testing/fixtures.ts";
import {
  FILE_MODES,
  posix,
  SYMLINKS,
  testOn,
  when,
} from "../../testing/platform.ts";
import { serveChild } from "../../testing/serve_child.ts";
import { processedPath } from "../../testing/status.ts";
import { copyTree } from "../../testing/tree.ts";

const DAY_AGO_MS = Date.now() - 86_400_000;
/** A recording-only call after every fixture call: it is delivered last. */
const DECOY = "number-_919000000009-1761800000.ogg";
const CRM_TOKEN = "crm-tok-7Yq2Zr9Kd3";
const DASH_TOKEN = "dash-tok-0b6e3d51c8a9";

/** fixtures/ copied with day-old mtimes, and a folder outside it. */
interface Box extends AsyncDisposable {
  dir: string;
  outside: string;
  run(args: string[], env: Record<string, string>): Promise<CliResult>;
}

async function box(): Promise<Box> {
  const dir: TempDir = await tempDir("callsync-attack-");
  const outside: TempDir = await tempDir("callsync-outside-");
  await copyTree(join(ROOT, "fixtures"), dir.path, DAY_AGO_MS);
  await Deno.remove(join(dir.path, "README.md")).catch(() => {});
  return {
    dir: dir.path,
    outside: outside.path,
    run: (args, env) => runCli([...args, "--base-dir", dir.path], env),
    async [Symbol.asyncDispose]() {
      await dir[Symbol.asyncDispose]();
      await outside[Symbol.asyncDispose]();
    },
  };
}

/** Set `path`'s mtime to a day ago (stale: taken as final). */
async function dayOld(path: string): Promise<void> {
  await Deno.utime(path, DAY_AGO_MS / 1000, DAY_AGO_MS / 1000);
}

/**
 * A decoy recording in the bot's folder, and a 0600 key outside it of the
 * same size and mtime, so that a check by size and mtime cannot tell them
 * apart once the decoy is swapped for a link to the key.
 */
async function plantDecoy(b: Box): Promise<{ decoy: string; key: string }> {
  const decoy = join(b.dir, "recordings", DECOY);
  await Deno.copyFile(
    join(b.dir, "recordings", fixtureCall(1).recording!),
    decoy,
  );
  const size = (await Deno.stat(decoy)).size;
  const key = join(b.outside, "id_rsa");
  const line = "-----TOP-SECRET-KEY-MATERIAL-----\n";
  await Deno.writeTextFile(key, line.repeat(size / line.length + 1));
  await Deno.truncate(key, size);
  if (FILE_MODES.runs) await Deno.chmod(key, 0o600);
  await dayOld(decoy);
  await dayOld(key);
  return { decoy, key };
}

/** Replace `path` with a link to `target`, atomically. */
async function swapForLink(path: string, target: string): Promise<void> {
  await Deno.symlink(target, `${path}.swap`);
  await Deno.rename(`${path}.swap`, path);
}

const leaked = (crm: CaptureCrm) =>
  crm.uploads.filter((u) =>
    new TextDecoder().decode(u.bytes).includes("TOP-SECRET")
  );

Deno.test(testOn(SYMLINKS, {
  name:
    "a recording swapped for a link to a key between scan and upload is not sent: the set waits, warned, and the link is refused next run",
  async fn() {
    await using b = await box();
    const { decoy, key } = await plantDecoy(b);
    // The first set's call record arrives: the decoy, delivered last, was
    // scanned and is not opened yet.
    await using crm = new CaptureCrm({
      callData: async (n) => {
        if (n === 1) await swapForLink(decoy, key);
      },
    });
    const env = crm.env({ UPLOAD_CONCURRENCY: "1" });
    const first = await b.run(["run"], env);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(leaked(crm), [], "the key never reaches the CRM");
    assert.ok(!crm.uploads.some((u) => u.fileName === DECOY));
    assert.match(
      first.stderr,
      new RegExp(
        `\\[WARNING\\] ${DECOY}: ${DECOY} changed since it was scanned: .*; will try again next run`,
      ),
    );
    assert.equal(crm.records.length, 6, "the other calls are delivered");
    const next = await b.run(["run"], env);
    assert.match(
      next.stderr,
      new RegExp(`Cannot use recordings/${DECOY}: is a symlink to .*outside`),
    );
    assert.deepEqual(leaked(crm), []);
  },
}));

Deno.test(testOn(SYMLINKS, {
  name:
    "a recording swapped during an upload's in-run retry: every try sends the bytes the scan read",
  async fn() {
    await using b = await box();
    const { decoy, key } = await plantDecoy(b);
    const original = await Deno.readFile(decoy);
    let swapped = false;
    await using crm = new CaptureCrm({
      upload: async () => {
        if (swapped || crm.uploads.at(-1)?.fileName !== DECOY) return;
        swapped = true;
        await swapForLink(decoy, key);
        return new Response("busy", { status: 503 });
      },
    });
    const res = await b.run(["run"], crm.env({ UPLOAD_CONCURRENCY: "1" }));
    assert.equal(res.code, 0, res.stderr);
    const tries = crm.uploads.filter((u) => u.fileName === DECOY);
    assert.equal(tries.length, 2, "the 503 was retried in the run");
    for (const t of tries) assert.deepEqual(t.bytes, original);
    assert.deepEqual(leaked(crm), []);
  },
}));

/** Each entry of `dir` (and `dir` itself as ".") with its mode, octal. */
async function modesIn(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {
    ".": ((await Deno.stat(dir)).mode! & 0o777).toString(8),
  };
  for await (const e of Deno.readDir(dir)) {
    out[e.name] = ((await Deno.lstat(join(dir, e.name))).mode! & 0o777)
      .toString(8);
  }
  return out;
}

Deno.test(testOn(FILE_MODES, {
  name:
    "under umask 022, PROCESSED_DIR is 0700, every file in it 0600 (.pending with its call record too), the archive's folders 0700",
  async fn() {
    await using b = await box();
    // The first record with a recording is refused: its .pending keeps the
    // frozen call record.
    let refused = false;
    await using crm = new CaptureCrm({
      callData: (_n, record) => {
        const details = (record as { callDetails?: { recordingUrl?: string } })
          .callDetails;
        if (refused || !details?.recordingUrl) return;
        refused = true;
        return new Response("no", { status: 400 });
      },
    });
    const archive = join(b.dir, "archive");
    const res = await underUmask(
      0o022,
      () => b.run(["run", "--archive-dir", archive], crm.env()),
    );
    assert.equal(res.code, 1, res.stderr);
    const modes = await modesIn(processedPath(b));
    const pending = Object.keys(modes).find((n) => n.endsWith(".pending"));
    assert.ok(pending);
    assert.match(
      await Deno.readTextFile(processedPath(b, pending)),
      /"call_record"/,
    );
    for (const [name, mode] of Object.entries(modes)) {
      assert.equal(mode, name === "." ? "700" : "600", name);
    }
    for (const d of ["", "2025", "2025/10", "2025/10/29"]) {
      const mode = (await Deno.stat(join(archive, d))).mode! & 0o777;
      assert.equal(mode, 0o700, `archive/${d}`);
    }
  },
}));

Deno.test(testOn(FILE_MODES, {
  name:
    "a readable PROCESSED_DIR left by an older run is made private on the next run, with one log line",
  async fn() {
    await using b = await box();
    await using crm = new CaptureCrm();
    await underUmask(0o022, () => b.run(["run"], crm.env()));
    await Deno.chmod(processedPath(b), 0o755);
    const journal = processedPath(b, "callsync-journal.jsonl");
    await Deno.chmod(journal, 0o644);
    const res = await b.run(["run"], crm.env());
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stderr.split("\n").filter((l) => /private/.test(l));
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0], /0755 → 0700, \d+ files? → 0600/);
    assert.equal((await Deno.stat(processedPath(b))).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(journal)).mode! & 0o777, 0o600);
  },
}));

Deno.test("a token the CRM echoes back is in no state file, log, status, status --json or dashboard answer", async () => {
  await using b = await box();
  await using crm = new CaptureCrm({
    callData: () =>
      new Response(
        JSON.stringify({ error: `bad client Bearer ${CRM_TOKEN}` }),
        {
          status: 400,
        },
      ),
  });
  const env = crm.env({ CRM_API_TOKEN: CRM_TOKEN });
  const seen: Record<string, string> = {};
  const run = await b.run(["run"], env);
  assert.equal(run.code, 1, run.stderr);
  assert.ok(crm.authorizations.includes(`Bearer ${CRM_TOKEN}`), "it was sent");
  seen.log = run.stderr;
  for await (const e of Deno.readDir(processedPath(b))) {
    seen[e.name] = await Deno.readTextFile(processedPath(b, e.name));
  }
  seen.status = (await b.run(["status"], env)).stdout;
  seen.statusJson = (await b.run(["status", "--json"], env)).stdout;
  assert.match(seen.statusJson, /HTTP 400.*bad client Bearer \*\*\*/);
  await using dash = await serveChild(b.dir, [], env);
  const set = encodeURIComponent(fixtureCall(1).set);
  for (const path of ["/", "/api/status", `/api/sets/${set}`, `/sets/${set}`]) {
    seen[path] = await (await fetch(dash.url + path)).text();
  }
  const leaks = Object.keys(seen).filter((k) => seen[k].includes(CRM_TOKEN));
  assert.deepEqual(leaks, []);
});

Deno.test("--log-format json masks a token holding a quote and a backslash", async () => {
  await using b = await box();
  const token = 'tok"en\\with-quote-9Q';
  await using crm = new CaptureCrm({
    callData: () =>
      new Response(`unauthorised client ${token}`, { status: 400 }),
  });
  const res = await b.run(
    ["run", "--log-format", "json"],
    crm.env({ CRM_API_TOKEN: token }),
  );
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stderr, /unauthorised client \*\*\*/);
  assert.ok(!res.stderr.includes("with-quote"), res.stderr);
});

Deno.test("a configuration error never echoes a URL's password", async () => {
  await using b = await box();
  await using crm = new CaptureCrm();
  const res = await b.run(
    ["run"],
    crm.env({ CRM_UPLOAD_URL: "ftp://user:PASSWORD123@files.example/up" }),
  );
  assert.equal(res.code, 2);
  assert.match(res.stderr, /CRM_UPLOAD_URL .*ftp:\/\/\*\*\*@files\.example/);
  assert.ok(!res.stderr.includes("PASSWORD123"), res.stderr);
});

Deno.test("a CRM_API_TOKEN with CR/LF or a non-ASCII character is refused at start-up: exit 2, nothing sent", async () => {
  await using b = await box();
  for (const token of ["abc\r\nX-Evil: 1", "tökén-123"]) {
    await using crm = new CaptureCrm();
    const res = await b.run(["run"], crm.env({ CRM_API_TOKEN: token }));
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /CRM_API_TOKEN contains/);
    assert.equal(crm.uploads.length + crm.records.length, 0);
  }
});

/** Control characters other than the newlines that end lines. */
// deno-lint-ignore no-control-regex
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

Deno.test(testOn(posix("file names cannot hold control characters"), {
  name:
    "file names with a newline or an escape sequence are shown escaped in the log, plan and status: no forged line, no cleared screen",
  async fn() {
    await using b = await box();
    const forged = "transcript_session_2025-10-30T10-00-00.000000\n" +
      "2025-10-30 10:00:00 [INFO] Directory scan completed: 0 processed, 0 failed" +
      "\x1b[2J\x9b31m.json";
    const path = join(b.dir, "conversations", forged);
    await Deno.writeTextFile(path, "{not json");
    await dayOld(path);
    await using crm = new CaptureCrm();
    const env = crm.env();
    const outputs = {
      run: (await b.run(["run"], env)).stderr,
      plan: (await b.run(["plan"], env)).stdout,
      status: (await b.run(["status"], env)).stdout,
    };
    for (const [what, text] of Object.entries(outputs)) {
      assert.doesNotMatch(text, RAW_CONTROL, what);
      assert.ok(
        !text.split("\n").some((l) =>
          l.startsWith("2025-10-30 10:00:00 [INFO] Directory scan completed")
        ),
        `${what} shows a forged line`,
      );
    }
    assert.match(outputs.run, /000000\\n2025-10-30 10:00:00 \[INFO\]/);
    assert.match(outputs.status, /\\x1b\[2J\\x9b31m\.json/);
  },
}));

for (
  const file of ["callsync.lock", "callsync.pid", "callsync-journal.jsonl"]
) {
  Deno.test(testOn(SYMLINKS, {
    name:
      `a symlinked ${file} in PROCESSED_DIR stops the run (exit 3) saying so; its target is untouched`,
    async fn() {
      await using b = await box();
      const victim = join(b.outside, "victim.conf");
      await Deno.writeTextFile(
        victim,
        "FIRST LINE OF ANOTHER PROGRAM'S FILE\n",
      );
      await Deno.mkdir(processedPath(b));
      await Deno.symlink(victim, processedPath(b, file));
      await using crm = new CaptureCrm();
      const res = await b.run(["run"], crm.env());
      assert.equal(res.code, 3, res.stderr);
      assert.match(
        res.stderr,
        /symbolic link; not followed; callsync never follows a link in PROCESSED_DIR: remove it/,
      );
      assert.equal(
        await Deno.readTextFile(victim),
        "FIRST LINE OF ANOTHER PROGRAM'S FILE\n",
      );
      assert.equal(crm.records.length, 0);
    },
  }));
}

for (const host of ["0.0.0.0", "0", "::"]) {
  Deno.test(`serve --host ${host} without a token refuses to start (exit 2)`, async () => {
    await using b = await box();
    const res = await b.run(["serve", "--host", host, "--port", "0"], {});
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /other machines can reach.*DASHBOARD_TOKEN/);
  });
}

/** The status of a raw GET with this Host and Authorization. */
async function statusOfGet(
  port: number,
  host: string,
  auth?: string,
): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(
      `GET /api/status HTTP/1.1\r\nHost: ${host}\r\n${
        auth ? `Authorization: ${auth}\r\n` : ""
      }\r\n`,
    ));
    const buf = new Uint8Array(64);
    const n = await conn.read(buf) ?? 0;
    return Number(
      /^HTTP\/1\.1 (\d+)/.exec(
        new TextDecoder().decode(buf.subarray(0, n)),
      )?.[1],
    );
  } finally {
    conn.close();
  }
}

Deno.test("serve beyond loopback: every read needs the token (Basic or Bearer), a foreign Host is refused, the --public-url host answered", async () => {
  await using b = await box();
  await using dash = await serveChild(b.dir, [
    "--host",
    "0.0.0.0",
    "--public-url",
    "https://calls.example.com",
  ], { DASHBOARD_TOKEN: DASH_TOKEN });
  const ip = `127.0.0.1:${dash.port}`;
  const basic = `Basic ${btoa(`anyone:${DASH_TOKEN}`)}`;
  assert.equal(await statusOfGet(dash.port, ip), 401);
  assert.equal(
    await statusOfGet(dash.port, ip, "Basic " + btoa("x:wrong")),
    401,
  );
  assert.equal(await statusOfGet(dash.port, ip, basic), 200);
  assert.equal(await statusOfGet(dash.port, ip, `Bearer ${DASH_TOKEN}`), 200);
  assert.equal(
    await statusOfGet(dash.port, `10.1.2.3:${dash.port}`, basic),
    200,
  );
  assert.equal(await statusOfGet(dash.port, "calls.example.com", basic), 200);
  assert.equal(
    await statusOfGet(dash.port, `attacker.example:${dash.port}`, basic),
    421,
  );
  assert.match(dash.stderr(), /every request, reads included, needs the token/);
});

/** A connection from `local`, or null when refused. */
function connectFrom(port: number, local: string): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port, localAddress: local });
    s.on("connect", () => resolve(s));
    s.on("error", () => resolve(null));
  });
}

Deno.test(
  testOn(
    when(
      Deno.build.os === "linux",
      "needs ulimit -n and all of 127.0.0.0/8 on the loopback interface (Linux)",
    ),
    {
      name:
        "serve survives 600 idle connections from 600 addresses with only 100 file descriptors, and still answers",
      async fn() {
        await using b = await box();
        await using dash = await serveChild(b.dir, [], {}, 100);
        const idle: net.Socket[] = [];
        try {
          for (let i = 0; i < 600; i++) {
            const s = await connectFrom(
              dash.port,
              `127.0.${2 + Math.floor(i / 250)}.${1 + i % 250}`,
            );
            if (s) {
              s.on("error", () => {});
              idle.push(s);
            }
          }
          assert.ok(idle.length > 100, `${idle.length} connected`);
          const res = await fetch(`${dash.url}/api/status`, {
            signal: AbortSignal.timeout(10_000),
          });
          assert.equal(res.status, 200);
          await res.body?.cancel();
          assert.ok(dash.alive(), dash.stderr());
          assert.match(
            dash.stderr(),
            /Too many open files|refusing connections/,
          );
        } finally {
          for (const s of idle) s.destroy();
        }
      },
    },
  ),
);
