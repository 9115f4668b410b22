/**
 * `deno task compile` as far as it can be checked without Deno's download
 * server: the task's flags, the whole module graph type-checking, and a real
 * `deno compile` that either yields a working binary or fails only for want
 * of the `denort` download.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { RUN_PERMISSIONS as SCHEDULE_PERMISSIONS } from "../../lib/report/schedule.ts";
import { ROOT, RUN_PERMISSIONS, RUN_V8_FLAGS } from "../../testing/cli.ts";
import denoJson from "../../deno.json" with { type: "json" };

const TARGETS = {
  "x86_64-unknown-linux-gnu": "dist/callsync",
  "x86_64-pc-windows-msvc": "dist/callsync.exe",
} as const;
/** A compile that must download denort (~40 MB) gets this long. */
const COMPILE_TIMEOUT_MS = 300_000;
/** What a failed denort download looks like (deno 2.x `get_base_binary`). */
const DENORT_DOWNLOAD =
  /Setting up base binary|denort-[\w-]+\.zip|dl\.deno\.land/;

const isV8Flag = (a: string) => a.startsWith("--v8-flags");

/** `deno compile` flags that grant permissions. */
function isPermissionFlag(a: string): boolean {
  return /^--allow-|^--deny-|^-A$|^-[RWNESI]/.test(a);
}

/**
 * Split a task into its commands (on `&&`) and each into words; a
 * `deno task NAME` step is replaced by that task's commands.
 */
function commands(
  task: string,
  tasks: Record<string, string> = {},
  depth = 0,
): string[][] {
  assert.ok(depth < 5, "deno task nesting too deep");
  return task.split("&&").flatMap((c) => {
    const words = c.trim().split(/\s+/);
    if (words[0] === "deno" && words[1] === "task" && words.length === 3) {
      assert.ok(tasks[words[2]], `no task ${words[2]}`);
      return commands(tasks[words[2]], tasks, depth + 1);
    }
    return [words];
  });
}

function flagValue(words: string[], flag: string): string | undefined {
  const i = words.indexOf(flag);
  if (i >= 0) return words[i + 1];
  return words.find((w) => w.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

Deno.test("deno.json compile task: both targets, the run permissions, no -A", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(join(ROOT, "deno.json")),
  );
  const task: string = config.tasks.compile;
  assert.ok(task, "deno.json has no compile task");
  const cmds = commands(task, config.tasks);
  const seen = new Map<string, string>();
  for (const words of cmds) {
    assert.deepEqual(words.slice(0, 2), ["deno", "compile"], words.join(" "));
    assert.ok(!words.includes("-A") && !words.includes("--allow-all"));
    assert.deepEqual(
      words.filter(isPermissionFlag),
      RUN_PERMISSIONS,
      `permissions of: ${words.join(" ")}`,
    );
    assert.deepEqual(words.filter(isV8Flag), RUN_V8_FLAGS, words.join(" "));
    assert.equal(words.at(-1), "main.ts");
    const target = flagValue(words, "--target");
    const output = flagValue(words, "--output") ?? flagValue(words, "-o");
    assert.ok(target && output, words.join(" "));
    seen.set(target, output);
  }
  assert.deepEqual(Object.fromEntries(seen), TARGETS);

  // The same permissions everywhere a run is started: `deno task run`,
  // the scheduled command from source (lib/report/schedule.ts) and install.sh.
  const run = commands(config.tasks.run)[0];
  assert.deepEqual(run.filter(isPermissionFlag), RUN_PERMISSIONS);
  assert.deepEqual(run.filter(isV8Flag), RUN_V8_FLAGS);
  assert.deepEqual([...SCHEDULE_PERMISSIONS], RUN_PERMISSIONS);
  const install = await Deno.readTextFile(join(ROOT, "install.sh"));
  const m = /^readonly PERMISSIONS=\(([^)]*)\)$/m.exec(install);
  assert.ok(m, "install.sh has no PERMISSIONS=(…)");
  assert.deepEqual(m[1].trim().split(/\s+/), RUN_PERMISSIONS);
  const v8 = /^readonly V8_FLAGS=\(([^)]*)\)$/m.exec(install);
  assert.deepEqual(v8?.[1].trim().split(/\s+/), RUN_V8_FLAGS);
});

Deno.test("deno check main.ts: the whole graph the binary embeds type-checks", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "main.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(COMPILE_TIMEOUT_MS),
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
});

/** `deno compile` like the task does, for one target, into `dir`. */
async function compile(
  target: keyof typeof TARGETS,
  dir: string,
  env: Record<string, string> = {},
  extra: string[] = [],
) {
  const output = join(dir, TARGETS[target].replace("dist/", ""));
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      ...extra,
      ...RUN_PERMISSIONS,
      ...RUN_V8_FLAGS,
      "--target",
      target,
      "--output",
      output,
      "main.ts",
    ],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(COMPILE_TIMEOUT_MS),
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    output,
    log: dec.decode(out.stdout) + dec.decode(out.stderr),
  };
}

Deno.test("deno compile: a binary that runs, or a failure only for the denort download", async () => {
  const dir = await Deno.makeTempDir({ prefix: "callsync-compile-" });
  try {
    for (const target of Object.keys(TARGETS) as (keyof typeof TARGETS)[]) {
      if (Deno.env.get("DENORT_BIN") && target !== Deno.build.target) {
        // DENORT_BIN is the base of every target: it would make a wrong one.
        console.log(
          `deno compile --target ${target}: skipped under DENORT_BIN`,
        );
        continue;
      }
      const res = await compile(target, dir);
      if (res.code !== 0) {
        // Offline: it must have got as far as fetching denort (the code
        // type-checked and was embedded), and failed there.
        assert.match(
          res.log,
          DENORT_DOWNLOAD,
          `deno compile failed for another reason:\n${res.log}`,
        );
        assert.doesNotMatch(res.log, /TS\d{4}|error: Module not found/);
        console.log(
          `deno compile --target ${target}: skipped, denort cannot be downloaded here (${
            res.log.match(/https?:\/\/\S*denort\S*?(?=\)|\s|$)/)?.[0] ??
              "no download server"
          }); set DENORT_BIN or put the zip in $DENO_DIR/dl/release/v${Deno.version.deno}/`,
        );
        continue;
      }
      const bytes = await Deno.readFile(res.output);
      assert.ok(
        bytes.length > 1_000_000,
        `${res.output}: ${bytes.length} bytes`,
      );
      const magic = new TextDecoder().decode(bytes.subarray(0, 4));
      if (target.includes("windows")) assert.equal(magic.slice(0, 2), "MZ");
      else assert.equal(magic, "\x7fELF");
      if (target === Deno.build.target) {
        const run = await new Deno.Command(res.output, {
          args: ["--version"],
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(60_000),
        }).output();
        assert.equal(
          new TextDecoder().decode(run.stdout).trim(),
          `callsync ${denoJson.version}`,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno compile for this host's target reads DENORT_BIN instead of downloading denort, and writes that target's binary", async () => {
  const dir = await Deno.makeTempDir({ prefix: "callsync-compile-" });
  try {
    // The host's own target, so deno itself is a base of the right format:
    // under the Windows build of Deno this is `compile:windows`, up to the
    // .exe it writes.
    const target = Deno.build.target as keyof typeof TARGETS;
    assert.ok(target in TARGETS, `no compile task for ${target}`);
    // A DENORT_BIN that does not exist is read (and reported), not skipped.
    const missing = join(dir, "no-such-denort");
    const res = await compile(target, dir, { DENORT_BIN: missing }, [
      "--no-check",
    ]);
    assert.notEqual(res.code, 0);
    assert.match(res.log, /Could not find denort at/);
    assert.ok(res.log.includes(missing));
    assert.doesNotMatch(res.log, /dl\.deno\.land/);
    // With any readable file there, nothing is downloaded at all: the file
    // becomes the base of the binary (deno itself is not a denort, so this
    // result is no callsync; a real denort makes one).
    const ok = await compile(target, dir, { DENORT_BIN: Deno.execPath() }, [
      "--no-check",
    ]);
    assert.equal(ok.code, 0, ok.log);
    assert.doesNotMatch(ok.log, /Download/);
    const bytes = await Deno.readFile(ok.output);
    const magic = target.includes("windows") ? "MZ" : "\x7fELF";
    assert.equal(
      new TextDecoder().decode(bytes.subarray(0, magic.length)),
      magic,
    );
    const base = (await Deno.stat(Deno.execPath())).size;
    assert.ok(
      bytes.length > base,
      "the base binary with callsync's sources added",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
