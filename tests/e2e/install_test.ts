/**
 * install.sh in a throwaway root: every path it writes (--prefix, --lib-dir,
 * --config, --systemd-dir, --log-file) inside a temp dir, a fake `crontab`
 * first on PATH that keeps the table in a temp file, and a PATH that holds
 * only the tools the script may use (so no systemctl, no npm).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseEnvFile } from "../../lib/config/envfile.ts";
import {
  cronLine,
  systemdService,
  systemdUnits,
} from "../../lib/report/schedule.ts";
import { SETTINGS } from "../../lib/config/settings.ts";
import { ROOT, RUN_PERMISSIONS, RUN_V8_FLAGS } from "../../testing/cli.ts";
import { testOn, when } from "../../testing/platform.ts";
import denoJson from "../../deno.json" with { type: "json" };

const INSTALL = join(ROOT, "install.sh");
const VERSION_LINE = `callsync ${denoJson.version}`;
/** install.sh installs on Linux hosts (cron, systemd); Windows uses schtasks. */
const LINUX_HOST = when(
  Deno.build.os === "linux",
  "install.sh is for Linux hosts; Windows is scheduled with schedule --print windows",
);
/** One install.sh run may type-check and compile: bounded all the same. */
const RUN_TIMEOUT_MS = 180_000;

/** What install.sh (and the fake crontab) may call, found on the real PATH. */
const TOOLS = [
  "bash",
  "sh",
  "cat",
  "cmp",
  "chmod",
  "cp",
  "cut",
  "dirname",
  "find",
  "grep",
  "head",
  "ln",
  "id",
  "mkdir",
  "mktemp",
  "mv",
  "rm",
  "rmdir",
  "sha256sum",
  "sort",
  "timeout",
];

const FAKE_CRONTAB = `#!/bin/sh
# A crontab(1) stand-in: the table lives in $CRONTAB_FILE.
case "$1" in
  -l) if [ -f "$CRONTAB_FILE" ]; then cat "$CRONTAB_FILE"; else echo "no crontab for tester" >&2; exit 1; fi ;;
  -) cat > "$CRONTAB_FILE" ;;
  -r) rm -f "$CRONTAB_FILE" ;;
  *) echo "fake crontab: $*" >&2; exit 2 ;;
esac
`;

interface Run {
  code: number;
  out: string;
}

/** A throwaway root with its own PATH and crontab. */
class Root implements AsyncDisposable {
  readonly bin: string;
  readonly crontab: string;
  constructor(readonly dir: string) {
    this.bin = join(dir, "tools");
    this.crontab = join(dir, "crontab.txt");
  }

  static async create(): Promise<Root> {
    const root = new Root(await Deno.makeTempDir({ prefix: "callsync-inst-" }));
    try {
      await Deno.mkdir(root.bin);
      await Deno.mkdir(root.path("bot"), { recursive: true });
      await root.tool("crontab", FAKE_CRONTAB);
      const path = (Deno.env.get("PATH") ?? "").split(":");
      for (const tool of TOOLS) {
        const found = path.map((d) => join(d, tool)).find(isFile);
        assert.ok(found, `${tool} is not on PATH`);
        await Deno.symlink(found, join(root.bin, tool));
      }
      await Deno.symlink(Deno.execPath(), join(root.bin, "deno"));
      return root;
    } catch (e) {
      await Deno.remove(root.dir, { recursive: true });
      throw e;
    }
  }

  /** A path inside the root (the "system" part, not the tools). */
  path(...parts: string[]): string {
    return join(this.dir, "sys", ...parts);
  }

  async tool(name: string, text: string): Promise<void> {
    await Deno.writeTextFile(join(this.bin, name), text);
    await Deno.chmod(join(this.bin, name), 0o755);
  }

  /** The standard options: everything inside the root. */
  get opts(): string[] {
    return [
      "--prefix",
      this.path("usr/bin"),
      "--lib-dir",
      this.path("usr/lib/callsync"),
      "--config",
      this.path("etc/callsync.env"),
      "--base-dir",
      this.path("bot"),
      "--log-file",
      this.path("var/log/callsync.log"),
      "--systemd-dir",
      this.path("etc/systemd/system"),
    ];
  }

  async run(args: string[], env: Record<string, string> = {}): Promise<Run> {
    const pass: Record<string, string> = {};
    for (const k of ["HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]) {
      const v = Deno.env.get(k);
      if (v !== undefined) pass[k] = v;
    }
    const out = await new Deno.Command(join(this.bin, "bash"), {
      args: [INSTALL, ...args],
      cwd: this.dir,
      clearEnv: true,
      env: {
        ...pass,
        PATH: this.bin,
        CRONTAB_FILE: this.crontab,
        ...env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
    }).output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      out: dec.decode(out.stdout) + dec.decode(out.stderr),
    };
  }

  async install(extra: string[] = [], env?: Record<string, string>) {
    const res = await this.run([...this.opts, ...extra], env);
    assert.equal(res.code, 0, res.out);
    return res;
  }

  async crontabText(): Promise<string | undefined> {
    return isFile(this.crontab)
      ? await Deno.readTextFile(this.crontab)
      : undefined;
  }

  /** Every entry below sys/: type, mode and content hash. */
  async snapshot(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const walk = async (rel: string) => {
      const abs = join(this.dir, "sys", rel);
      for await (const e of Deno.readDir(abs)) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        const p = join(abs, e.name);
        const st = await Deno.lstat(p);
        const mode = (st.mode! & 0o7777).toString(8);
        if (e.isDirectory) {
          out.set(r + "/", `dir ${mode}`);
          await walk(r);
        } else {
          out.set(r, `${mode} ${await sha256(await Deno.readFile(p))}`);
        }
      }
    };
    await walk("");
    return out;
  }

  async [Symbol.asyncDispose]() {
    await Deno.remove(this.dir, { recursive: true });
  }
}

function isFile(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const h = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(h), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

function callsyncLines(tab: string | undefined): string[] {
  return (tab ?? "").split("\n").filter((l) => / # callsync\s*$/.test(l));
}

async function versionOf(bin: string): Promise<string> {
  const out = await new Deno.Command(bin, {
    args: ["--version"],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  return dec.decode(out.stdout).trim();
}

const UNRELATED = "0 3 * * * /usr/local/bin/backup --nightly";
const OLDER = "*/10 * * * * cd /old && /old/callsync run # callsync";

Deno.test(testOn(LINUX_HOST, {
  name:
    "install.sh --cron: installs, re-runs without a change, replaces the older line, uninstalls exactly",
  async fn() {
    await using root = await Root.create();
    await Deno.writeTextFile(root.crontab, `${UNRELATED}\n${OLDER}\n`);
    // Something of the admin's in a folder the installer also uses.
    await Deno.mkdir(root.path("usr/bin"), { recursive: true });
    await Deno.writeTextFile(root.path("usr/bin/other-tool"), "#!/bin/sh\n");
    const pristine = await root.snapshot();

    // --dry-run changes nothing.
    const dry = await root.install(["--cron", "*/5 * * * *", "--dry-run"]);
    assert.match(dry.out, /would compile/);
    assert.match(dry.out, /would set the crontab line/);
    assert.match(dry.out, /dry run: nothing was changed/);
    assert.deepEqual(await root.snapshot(), pristine);
    assert.equal(await root.crontabText(), `${UNRELATED}\n${OLDER}\n`);

    const first = await root.install(["--cron", "*/5 * * * *"]);
    const bin = root.path("usr/bin/callsync");
    assert.match(first.out, /installed (a launcher|the compiled binary)/);
    assert.equal(await versionOf(bin), VERSION_LINE);
    if (/installed a launcher/.test(first.out)) {
      // The launcher runs the copied source with exactly the run permissions.
      const launcher = await Deno.readTextFile(bin);
      const flags = launcher.match(/ --allow-[a-z-]+/g)?.map((f) => f.trim());
      assert.deepEqual(flags, RUN_PERMISSIONS);
      const v8 = launcher.match(/ --v8-flags=\S+/g)?.map((f) => f.trim());
      assert.deepEqual(v8, RUN_V8_FLAGS);
      assert.ok(isFile(root.path("usr/lib/callsync/main.ts")));
      assert.ok(isFile(root.path("usr/lib/callsync/lib/cli/args.ts")));
      assert.ok(isFile(root.path("usr/lib/callsync/deno.json")));
      assert.match(first.out, /could not download denort/);
    }

    // Exactly one callsync line, the one lib/report/schedule.ts makes; the older one
    // is gone, the unrelated one kept.
    const tab = await root.crontabText();
    const expected = cronLine({
      command: [bin],
      baseDir: root.path("bot"),
      envFile: root.path("etc/callsync.env"),
      logFile: root.path("var/log/callsync.log"),
      cron: "*/5 * * * *",
    });
    assert.deepEqual(callsyncLines(tab), [expected]);
    assert.equal(tab, `${UNRELATED}\n${expected}\n`);
    assert.ok(!tab?.includes("/old/callsync"));

    // The config comes from the template, readable by its owner only.
    const config = root.path("etc/callsync.env");
    assert.equal(
      await Deno.readTextFile(config),
      await Deno.readTextFile(join(ROOT, "templates/callsync.env")),
    );
    assert.equal((await Deno.stat(config)).mode! & 0o777, 0o600);
    assert.ok(isFile(root.path("usr/lib/callsync/install-manifest")));

    // Again: nothing changes (files, modes, crontab).
    const installed = await root.snapshot();
    const second = await root.install(["--cron", "*/5 * * * *"]);
    assert.match(second.out, /unchanged/);
    assert.match(second.out, /exists; left as it is/);
    assert.deepEqual(await root.snapshot(), installed);
    assert.equal(await root.crontabText(), tab);

    // A config the admin edited is never overwritten.
    await Deno.writeTextFile(config, "CRM_UPLOAD_URL=https://crm.test/up\n");
    await root.install(["--cron", "*/5 * * * *"]);
    assert.equal(
      await Deno.readTextFile(config),
      "CRM_UPLOAD_URL=https://crm.test/up\n",
    );

    // Another schedule replaces the line in place.
    await root.install(["--cron", "0 * * * *"]);
    const hourly = await root.crontabText();
    assert.equal(callsyncLines(hourly).length, 1);
    assert.match(callsyncLines(hourly)[0], /^0 \* \* \* \* cd /);

    // --uninstall --dry-run changes nothing.
    const before = await root.snapshot();
    const udry = await root.run([...root.opts, "--uninstall", "--dry-run"]);
    assert.equal(udry.code, 0, udry.out);
    assert.match(udry.out, /would remove/);
    assert.deepEqual(await root.snapshot(), before);
    assert.equal(await root.crontabText(), hourly);

    // --uninstall: back to the pristine tree, except the config it keeps
    // (and the folder that holds it); the unrelated crontab line survives.
    const un = await root.run([...root.opts, "--uninstall"]);
    assert.equal(un.code, 0, un.out);
    assert.match(un.out, /kept the config file .*callsync\.env/);
    const after = await root.snapshot();
    assert.deepEqual(
      [...after.keys()].filter((k) => !pristine.has(k)).sort(),
      ["etc/", "etc/callsync.env"],
    );
    for (const [k, v] of pristine) assert.equal(after.get(k), v, k);
    assert.equal(await root.crontabText(), `${UNRELATED}\n`);

    // Installing again and --purge: exactly the pristine tree.
    await Deno.remove(root.path("etc"), { recursive: true });
    await root.install(["--cron"]);
    const purge = await root.run([...root.opts, "--uninstall", "--purge"]);
    assert.equal(purge.code, 0, purge.out);
    assert.deepEqual(await root.snapshot(), pristine);
    assert.equal(await root.crontabText(), `${UNRELATED}\n`);

    // Nothing recorded: --uninstall says so and removes nothing.
    const none = await root.run([...root.opts, "--uninstall"]);
    assert.equal(none.code, 0, none.out);
    assert.match(none.out, /nothing recorded/);
  },
}));

Deno.test(testOn(LINUX_HOST, {
  name: "install.sh --cron with an empty crontab; uninstall leaves none",
  async fn() {
    await using root = await Root.create();
    await root.install(["--cron", "*/5 * * * *"]);
    assert.equal(callsyncLines(await root.crontabText()).length, 1);
    const un = await root.run([...root.opts, "--uninstall", "--purge"]);
    assert.equal(un.code, 0, un.out);
    assert.equal(await root.crontabText(), undefined);
  },
}));

Deno.test(testOn(LINUX_HOST, {
  name:
    "install.sh --systemd: writes both units, says systemctl is missing; switching to cron removes them",
  async fn() {
    await using root = await Root.create();
    await Deno.writeTextFile(root.crontab, `${UNRELATED}\n`);
    const pristine = await root.snapshot();
    const res = await root.install(["--systemd"]);
    assert.match(res.out, /systemctl not found: wrote the units only/);
    const units = systemdUnits({
      command: [root.path("usr/bin/callsync")],
      baseDir: root.path("bot"),
      envFile: root.path("etc/callsync.env"),
    });
    const dir = root.path("etc/systemd/system");
    assert.equal(
      await Deno.readTextFile(join(dir, "callsync.service")),
      units.service,
    );
    assert.equal(
      await Deno.readTextFile(join(dir, "callsync.timer")),
      units.timer,
    );
    assert.equal(await root.crontabText(), `${UNRELATED}\n`);

    const installed = await root.snapshot();
    const again = await root.install(["--systemd"]);
    assert.match(again.out, /are up to date/);
    assert.deepEqual(await root.snapshot(), installed);

    // Switching to cron takes the units away.
    await root.install(["--cron"]);
    assert.ok(!isFile(join(dir, "callsync.service")));
    assert.ok(!isFile(join(dir, "callsync.timer")));
    assert.equal(callsyncLines(await root.crontabText()).length, 1);
    // …and back.
    await root.install(["--systemd"]);
    assert.ok(isFile(join(dir, "callsync.timer")));
    assert.equal(await root.crontabText(), `${UNRELATED}\n`);

    const un = await root.run([...root.opts, "--uninstall", "--purge"]);
    assert.equal(un.code, 0, un.out);
    assert.deepEqual(await root.snapshot(), pristine);
    assert.equal(await root.crontabText(), `${UNRELATED}\n`);
  },
}));

Deno.test(testOn(LINUX_HOST, {
  name:
    "install.sh --service: writes callsync-watch.service (with --cron as a fallback), up to date when run again; switching to --systemd and uninstalling remove it",
  async fn() {
    await using root = await Root.create();
    await Deno.writeTextFile(root.crontab, `${UNRELATED}\n`);
    const pristine = await root.snapshot();
    const res = await root.install(["--service", "--cron"]);
    assert.match(res.out, /systemctl not found: wrote the unit only/);
    const dir = root.path("etc/systemd/system");
    assert.equal(
      await Deno.readTextFile(join(dir, "callsync-watch.service")),
      systemdService({
        command: [root.path("usr/bin/callsync")],
        baseDir: root.path("bot"),
        envFile: root.path("etc/callsync.env"),
      }),
    );
    assert.equal(callsyncLines(await root.crontabText()).length, 1);

    const installed = await root.snapshot();
    const again = await root.install(["--service", "--cron"]);
    assert.match(again.out, /callsync-watch.service is up to date/);
    assert.deepEqual(await root.snapshot(), installed);

    // The service alone: the cron line goes, the unit stays.
    await root.install(["--service"]);
    assert.ok(isFile(join(dir, "callsync-watch.service")));
    assert.equal(await root.crontabText(), `${UNRELATED}\n`);
    // Switching to the timer takes the service away.
    await root.install(["--systemd"]);
    assert.ok(!isFile(join(dir, "callsync-watch.service")));
    assert.ok(isFile(join(dir, "callsync.timer")));

    const un = await root.run([...root.opts, "--uninstall", "--purge"]);
    assert.equal(un.code, 0, un.out);
    assert.deepEqual(await root.snapshot(), pristine);
  },
}));

Deno.test(testOn(LINUX_HOST, {
  name:
    "install.sh: a compiled binary (stand-in compile) is built with the run permissions, kept when up to date, and replaces a launcher",
  async fn() {
    await using root = await Root.create();
    const pristine = await root.snapshot();
    // First a launcher, if the real compile cannot download denort here.
    const first = await root.install(["--cron"]);
    const launcher = /installed a launcher/.test(first.out);

    // A deno whose `compile` writes a script that runs the source (what a
    // compiled binary does) and records its arguments.
    const realDeno = Deno.execPath();
    const log = join(root.dir, "compile-args.txt");
    await Deno.remove(join(root.bin, "deno"));
    await root.tool(
      "deno",
      `#!/bin/sh
if [ "$1" = compile ]; then
  shift
  printf '%s\\n' "$@" > '${log}'
  perms=""; out=""; main=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --output) out="$2"; shift 2 ;;
      --allow-*) perms="$perms $1"; shift ;;
      -*) shift ;;
      *) main="$PWD/$1"; shift ;;
    esac
  done
  printf '#!/bin/sh\\nexec %s run%s %s "$@"\\n' '${realDeno}' "$perms" "$main" > "$out"
  chmod +x "$out"
  exit 0
fi
exec '${realDeno}' "$@"
`,
    );
    const built = await root.install(["--cron"]);
    assert.match(built.out, /installed the compiled binary/);
    const args = (await Deno.readTextFile(log)).trim().split("\n");
    assert.deepEqual(args.filter((a) => a.startsWith("--allow")), [
      ...RUN_PERMISSIONS,
    ]);
    assert.deepEqual(args.filter((a) => a.startsWith("--v8-flags")), [
      ...RUN_V8_FLAGS,
    ]);
    assert.ok(!args.includes("-A") && !args.includes("--allow-all"));
    assert.equal(await versionOf(root.path("usr/bin/callsync")), VERSION_LINE);
    if (launcher) {
      // The launcher's source copy is gone; the manifest stays.
      assert.ok(!isFile(root.path("usr/lib/callsync/main.ts")));
      assert.ok(!isFile(root.path("usr/lib/callsync/lib/cli/args.ts")));
    }
    assert.ok(isFile(root.path("usr/lib/callsync/install-manifest")));

    // Same source, same Deno: not rebuilt, nothing changes.
    const installed = await root.snapshot();
    await Deno.remove(log);
    const again = await root.install(["--cron"]);
    assert.match(again.out, /is up to date/);
    assert.ok(!isFile(log), "compiled again");
    assert.deepEqual(await root.snapshot(), installed);

    const un = await root.run([...root.opts, "--uninstall", "--purge"]);
    assert.equal(un.code, 0, un.out);
    assert.deepEqual(await root.snapshot(), pristine);
  },
}));

Deno.test(testOn(LINUX_HOST, {
  name:
    "install.sh: a DENORT_BIN that is not a usable denort fails loudly and installs nothing",
  async fn() {
    await using root = await Root.create();
    const pristine = await root.snapshot();
    const missing = await root.run([...root.opts, "--cron"], {
      DENORT_BIN: join(root.dir, "no-such-denort"),
    });
    assert.equal(missing.code, 1, missing.out);
    assert.match(missing.out, /Could not find denort/);
    // deno itself is no denort: the result runs as deno, not as callsync.
    const deno = await root.run([...root.opts, "--cron"], {
      DENORT_BIN: Deno.execPath(),
    });
    assert.equal(deno.code, 1, deno.out);
    assert.match(deno.out, /does not run callsync/);
    assert.deepEqual(await root.snapshot(), pristine);
    assert.equal(await root.crontabText(), undefined);
  },
}));

Deno.test(testOn(LINUX_HOST, {
  name:
    "install.sh without deno and npm prints the one command to run and exits 1",
  async fn() {
    await using root = await Root.create();
    await Deno.remove(join(root.bin, "deno"));
    const pristine = await root.snapshot();
    const res = await root.run([...root.opts, "--cron"]);
    assert.equal(res.code, 1, res.out);
    assert.match(res.out, /neither deno nor npm is on PATH/);
    assert.match(res.out, /^ {2}curl -fsSL \S+ \| sh -s v2\.9\.5$/m);
    assert.deepEqual(await root.snapshot(), pristine);
  },
}));

Deno.test(testOn(LINUX_HOST, {
  name: "install.sh without deno but with npm installs deno@2.9.5 through npm",
  async fn() {
    await using root = await Root.create();
    await Deno.remove(join(root.bin, "deno"));
    // An npm stand-in: `install -g deno@…` puts deno on PATH.
    const calls = join(root.dir, "npm-calls.txt");
    await root.tool(
      "npm",
      `#!/bin/sh
echo "$*" >> '${calls}'
[ "$1 $2" = "install -g" ] && ln -s '${Deno.execPath()}' '${root.bin}/deno'
`,
    );
    const dry = await root.run([...root.opts, "--cron", "--dry-run"]);
    assert.equal(dry.code, 0, dry.out);
    assert.match(dry.out, /would run: npm install -g deno@2\.9\.5/);
    assert.ok(!isFile(calls));
    const res = await root.install(["--cron"]);
    assert.match(res.out, /installing it: npm install -g deno@2\.9\.5/);
    assert.equal(
      (await Deno.readTextFile(calls)).trim(),
      "install -g deno@2.9.5",
    );
    assert.equal(await versionOf(root.path("usr/bin/callsync")), VERSION_LINE);
  },
}));

Deno.test(testOn(LINUX_HOST, {
  name: "install.sh: --help, bad options and paths with spaces",
  async fn() {
    await using root = await Root.create();
    const help = await root.run(["--help"]);
    assert.equal(help.code, 0);
    for (
      const flag of [
        "--prefix",
        "--lib-dir",
        "--config",
        "--base-dir",
        "--cron",
        "--log-file",
        "--systemd",
        "--systemd-dir",
        "--dry-run",
        "--uninstall",
        "--purge",
        "DENORT_BIN",
      ]
    ) assert.ok(help.out.includes(flag), flag);
    assert.equal((await root.run(["--frobnicate"])).code, 2);
    assert.equal((await root.run(["--cron", "--systemd"])).code, 2);
    assert.equal((await root.run(["--purge"])).code, 2);
    assert.equal((await root.run(["--cron", "*/5 * *"])).code, 2);
    assert.equal(await root.crontabText(), undefined);

    // Every path with a space: the cron line quotes them.
    const spaced = (p: string) => root.path("with space", p);
    await Deno.mkdir(spaced("bot"), { recursive: true });
    const opts = [
      `--prefix=${spaced("bin")}`,
      `--lib-dir=${spaced("lib")}`,
      `--config=${spaced("etc/callsync.env")}`,
      `--base-dir=${spaced("bot")}`,
      `--log-file=${spaced("log/callsync.log")}`,
    ];
    const res = await root.run([...opts, "--cron"]);
    assert.equal(res.code, 0, res.out);
    assert.equal(await versionOf(spaced("bin/callsync")), VERSION_LINE);
    assert.deepEqual(callsyncLines(await root.crontabText()), [
      cronLine({
        command: [spaced("bin/callsync")],
        baseDir: spaced("bot"),
        envFile: spaced("etc/callsync.env"),
        logFile: spaced("log/callsync.log"),
      }),
    ]);
    // The line runs under sh: the launcher or binary starts in the bot dir.
    const line = callsyncLines(await root.crontabText())[0];
    const command = line.replace(/^(\S+\s+){5}/, "").replaceAll("\\%", "%")
      .replace(" run --env-file", " --version --env-file");
    const sh = await new Deno.Command("/bin/sh", {
      args: ["-c", command],
      signal: AbortSignal.timeout(60_000),
    }).output();
    assert.equal(sh.code, 0);
    assert.equal(
      (await Deno.readTextFile(spaced("log/callsync.log"))).trim(),
      VERSION_LINE,
    );
    await Deno.remove(spaced("log/callsync.log"));
    const un = await root.run([...opts, "--uninstall", "--purge"]);
    assert.equal(un.code, 0, un.out);
    assert.equal(await root.crontabText(), undefined);
    assert.ok(!isFile(spaced("bin/callsync")));
  },
}));

Deno.test("templates/callsync.env: every setting, with its default, and it parses", async () => {
  const text = await Deno.readTextFile(join(ROOT, "templates/callsync.env"));
  parseEnvFile(text, "callsync.env");
  for (const s of SETTINGS) {
    const m = new RegExp(`^#?${s.env}=(.*)$`, "m").exec(text);
    assert.ok(m, `${s.env} is missing from templates/callsync.env`);
    if (s.default !== undefined) {
      assert.equal(m[1], s.default, `${s.env}'s default`);
    } else if (s.requiredForUpload) {
      assert.equal(m[0], `${s.env}=`, `${s.env} is required: left blank`);
    }
    // A comment explains it on the line(s) just above.
    const above = text.slice(0, m.index).trimEnd().split("\n").pop() ?? "";
    assert.match(above, /^# \S/, `${s.env} has no comment above it`);
  }
});
