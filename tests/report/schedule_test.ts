import assert from "node:assert/strict";
import { join } from "node:path";
import {
  byOs,
  posix,
  SCHTASKS_ARGS,
  testOn,
  when,
} from "../../testing/platform.ts";
import {
  callsyncCommand,
  CRON_MARKER,
  cronLine,
  RUN_PERMISSIONS,
  ScheduleError,
  type ScheduleKind,
  scheduleText,
  shQuote,
  systemdQuote,
  systemdUnits,
  windowsCommand,
  windowsServiceXml,
  winQuote,
} from "../../lib/report/schedule.ts";

const BIN = ["/usr/local/bin/callsync"];

Deno.test("cron: the exact line for plain paths", () => {
  assert.equal(
    scheduleText("cron", {
      command: BIN,
      baseDir: "/srv/voicebot",
      envFile: "/etc/callsync.env",
    }),
    "*/5 * * * * cd /srv/voicebot && /usr/local/bin/callsync run --env-file /etc/callsync.env >> /var/log/callsync.log 2>&1 # callsync",
  );
});

Deno.test("cron: own schedule and log file; no --env-file when none is given", () => {
  assert.equal(
    cronLine({
      command: BIN,
      baseDir: "/srv/bot",
      logFile: "/tmp/c.log",
      cron: "0 * * * *",
    }),
    "0 * * * * cd /srv/bot && /usr/local/bin/callsync run >> /tmp/c.log 2>&1 # callsync",
  );
  assert.match(
    cronLine({ command: BIN, baseDir: "/b", cron: "@hourly" }),
    /^@hourly cd \/b /,
  );
});

const FROM_SOURCE = [
  "run",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--v8-flags=--max-semi-space-size=4,--optimize-for-size",
];

Deno.test("callsyncCommand(): from source, deno runs main.ts (as this system writes its path) with exactly the run permissions and V8 flags", () => {
  const cases = byOs({
    posix: [[
      "/usr/bin/deno",
      "file:///opt/call%20sync/main.ts",
      "/opt/call sync/main.ts",
    ]],
    windows: [
      [
        "C:\\deno\\deno.exe",
        "file:///C:/call%20sync/main.ts",
        "C:\\call sync\\main.ts",
      ],
      [
        "C:\\deno\\deno.exe",
        "file://server/share/callsync/main.ts",
        "\\\\server\\share\\callsync\\main.ts",
      ],
    ],
  });
  for (const [deno, mainModule, main] of cases) {
    assert.deepEqual(callsyncCommand(deno, mainModule), [
      deno,
      ...FROM_SOURCE,
      main,
    ]);
  }
  assert.deepEqual(
    callsyncCommand("/usr/local/bin/callsync", "file:///tmp/x/main.ts"),
    ["/usr/local/bin/callsync"],
  );
  assert.deepEqual(
    callsyncCommand("C:\\callsync\\callsync.exe", "file:///C:/x/main.ts"),
    ["C:\\callsync\\callsync.exe"],
  );
  assert.equal(
    callsyncCommand("C:\\deno\\deno.exe", "C:\\x\\main.ts")[1],
    "run",
  );
  assert.deepEqual(RUN_PERMISSIONS, FROM_SOURCE.slice(1, 5));
});

Deno.test("cron: from source runs deno with exactly the run permissions and V8 flags", () => {
  const command = ["/usr/bin/deno", ...FROM_SOURCE, "/opt/call sync/main.ts"];
  assert.equal(
    cronLine({ command, baseDir: "/srv/bot", envFile: "/etc/callsync.env" }),
    "*/5 * * * * cd /srv/bot && /usr/bin/deno run --allow-read --allow-write --allow-net --allow-env --v8-flags=--max-semi-space-size=4,--optimize-for-size '/opt/call sync/main.ts' run --env-file /etc/callsync.env >> /var/log/callsync.log 2>&1 # callsync",
  );
});

Deno.test(testOn(posix("no /bin/sh to run a cron line"), {
  name: "cron: paths with spaces, quotes and % survive cron and sh",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "callsync-sched-" });
    try {
      const base = join(dir, "voice bot's 100% dir");
      const binDir = join(dir, "my bin");
      await Deno.mkdir(base);
      await Deno.mkdir(binDir);
      const exe = join(binDir, "call sync");
      // A stand-in for callsync: prints where it runs and its arguments.
      await Deno.writeTextFile(
        exe,
        '#!/bin/sh\npwd\nfor a in "$@"; do printf "<%s>\\n" "$a"; done\n',
      );
      await Deno.chmod(exe, 0o755);
      const envFile = join(dir, "conf $HOME `x` dir", "a b.env");
      const log = join(dir, "out log.txt");
      const line = cronLine({
        command: [exe],
        baseDir: base,
        envFile,
        logFile: log,
      });
      assert.ok(line.endsWith(` ${CRON_MARKER}`));
      assert.ok(!/[^\\]%/.test(line), "every % is escaped for cron");
      // What cron does: take everything after the five fields, turn \% into %,
      // and hand it to /bin/sh -c.
      const command = line.replace(/^(\S+\s+){5}/, "").replaceAll("\\%", "%");
      const out = await new Deno.Command("/bin/sh", { args: ["-c", command] })
        .output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.equal(
        await Deno.readTextFile(log),
        `${base}\n<run>\n<--env-file>\n<${envFile}>\n`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
}));

Deno.test("cron: refuses relative paths, line breaks and bad schedules", () => {
  const ok = { command: BIN, baseDir: "/srv/bot" };
  assert.throws(() => cronLine({ ...ok, baseDir: "srv/bot" }), ScheduleError);
  assert.throws(
    () => cronLine({ ...ok, envFile: "callsync.env" }),
    ScheduleError,
  );
  assert.throws(
    () => cronLine({ ...ok, command: ["callsync"] }),
    ScheduleError,
  );
  assert.throws(() => cronLine({ ...ok, command: [] }), ScheduleError);
  assert.throws(() => cronLine({ ...ok, baseDir: "/a\nb" }), ScheduleError);
  assert.throws(() => cronLine({ ...ok, cron: "*/5 * * *" }), ScheduleError);
  assert.throws(
    () => cronLine({ ...ok, cron: "*/5 * * * * # x" }),
    ScheduleError,
  );
  assert.throws(() => cronLine({ ...ok, cron: "@often" }), ScheduleError);
});

Deno.test("shQuote: safe words stay, others are single-quoted", () => {
  assert.equal(shQuote("/usr/local/bin/callsync"), "/usr/local/bin/callsync");
  assert.equal(shQuote("a b"), "'a b'");
  assert.equal(shQuote("it's"), "'it'\\''s'");
  assert.equal(shQuote(""), "''");
  assert.equal(shQuote("$HOME"), "'$HOME'");
});

Deno.test("systemd: oneshot service and a 5-minute persistent timer", () => {
  const units = systemdUnits({
    command: BIN,
    baseDir: "/srv/voicebot",
    envFile: "/etc/callsync.env",
  });
  assert.equal(
    units.service,
    `[Unit]
Description=callsync: deliver voice-bot calls to the CRM (one pass)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
WorkingDirectory=/srv/voicebot
ExecStart=/usr/local/bin/callsync run --env-file /etc/callsync.env
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
UMask=0077
`,
  );
  assert.equal(
    units.timer,
    `[Unit]
Description=Run callsync every 5 minutes

[Timer]
OnCalendar=*:0/5
Persistent=true
Unit=callsync.service

[Install]
WantedBy=timers.target
`,
  );
  const text = scheduleText("systemd", {
    command: BIN,
    baseDir: "/srv/voicebot",
    envFile: "/etc/callsync.env",
  });
  assert.equal(
    text,
    `# /etc/systemd/system/callsync.service\n${units.service}\n` +
      `# /etc/systemd/system/callsync.timer\n${units.timer.trimEnd()}`,
  );
});

Deno.test("systemd: quoting of spaces, quotes, % and $", () => {
  assert.equal(systemdQuote("/usr/bin/x"), "/usr/bin/x");
  assert.equal(systemdQuote("/srv/my bot"), '"/srv/my bot"');
  assert.equal(systemdQuote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(systemdQuote("/x/100%"), '"/x/100%%"');
  assert.equal(systemdQuote("/x/$HOME"), '"/x/$$HOME"');
  const { service } = systemdUnits({
    command: ["/opt/call sync/callsync"],
    baseDir: "/srv/voice bot 100%",
    envFile: "/etc/callsync.env",
  });
  assert.match(service, /^WorkingDirectory=\/srv\/voice bot 100%%$/m);
  assert.match(
    service,
    /^ExecStart="\/opt\/call sync\/callsync" run --env-file \/etc\/callsync.env$/m,
  );
});

/** systemd-analyze, where installed. */
const ANALYZE = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find(
  (p) => exists(p),
);

Deno.test(
  testOn(when(ANALYZE !== undefined, "systemd-analyze is not installed"), {
    name: "systemd: systemd-analyze accepts the units",
    async fn() {
      const analyze = ANALYZE!;
      const cal = await new Deno.Command(analyze, {
        args: ["calendar", "*:0/5"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(cal.code, 0, new TextDecoder().decode(cal.stderr));
      assert.match(
        new TextDecoder().decode(cal.stdout),
        /\*-\*-\* \*:00\/5:00/,
      );
      // verify parses ExecStart= and checks that its executable exists: a path
      // with a space that was not quoted right fails here.
      const dir = await Deno.makeTempDir({ prefix: "callsync-units-" });
      try {
        const exe = join(dir, "call sync", "callsync");
        await Deno.mkdir(join(dir, "call sync"));
        await Deno.writeTextFile(exe, "#!/bin/sh\n");
        await Deno.chmod(exe, 0o755);
        const units = systemdUnits({
          command: [exe],
          baseDir: dir,
          envFile: join(dir, "a $b 100%.env"),
        });
        await Deno.writeTextFile(join(dir, "callsync.service"), units.service);
        await Deno.writeTextFile(join(dir, "callsync.timer"), units.timer);
        const verify = await new Deno.Command(analyze, {
          args: [
            "verify",
            "--man=no",
            "./callsync.service",
            "./callsync.timer",
          ],
          cwd: dir,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const dec = new TextDecoder();
        assert.equal(
          verify.code,
          0,
          dec.decode(verify.stdout) + dec.decode(verify.stderr),
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  }),
);

// An independent reading of a Windows command line: the rules of
// CommandLineToArgvW / the MSVC runtime, used to check winQuote both ways.
function parseWindowsArgs(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === " " || line[i] === "\t") i++;
    if (i >= line.length) break;
    let arg = "";
    let quoted = false;
    for (; i < line.length; i++) {
      const c = line[i];
      if (!quoted && (c === " " || c === "\t")) break;
      if (c === "\\") {
        let n = 0;
        while (line[i] === "\\") n++, i++;
        if (line[i] === '"') {
          arg += "\\".repeat(Math.floor(n / 2));
          if (n % 2 === 1) arg += '"';
          else quoted = !quoted;
        } else {
          arg += "\\".repeat(n);
          i--;
        }
      } else if (c === '"') quoted = !quoted;
      else arg += c;
    }
    args.push(arg);
  }
  return args;
}

Deno.test("windows: the exact schtasks command for plain paths", () => {
  assert.equal(
    scheduleText("windows", {
      command: ["C:\\callsync\\callsync.exe"],
      baseDir: "C:\\voicebot",
      envFile: "C:\\callsync\\callsync.env",
    }),
    'schtasks /create /tn callsync /tr "C:\\callsync\\callsync.exe run --base-dir C:\\voicebot --env-file C:\\callsync\\callsync.env" /sc minute /mo 5 /ru SYSTEM /rl HIGHEST /f',
  );
});

Deno.test("windows: paths with spaces round-trip through schtasks and the task", () => {
  const argv = [
    "C:\\Program Files\\callsync\\callsync.exe",
    "run",
    "--base-dir",
    "D:\\voice bot\\",
    "--env-file",
    "C:\\Program Files\\callsync\\callsync.env",
  ];
  const cmd = windowsCommand({
    command: [argv[0]],
    baseDir: argv[3],
    envFile: argv[5],
  });
  assert.equal(
    cmd,
    'schtasks /create /tn callsync /tr "\\"C:\\Program Files\\callsync\\callsync.exe\\" run --base-dir \\"D:\\voice bot\\\\\\\\\\" --env-file \\"C:\\Program Files\\callsync\\callsync.env\\"" /sc minute /mo 5 /ru SYSTEM /rl HIGHEST /f',
  );
  // schtasks reads its own arguments…
  const outer = parseWindowsArgs(cmd);
  assert.deepEqual(outer.slice(0, 5), ["schtasks", ...SCHTASKS_ARGS.before]);
  assert.deepEqual(outer.slice(6), SCHTASKS_ARGS.after);
  // …and the task's command line splits back into callsync's argv.
  assert.deepEqual(parseWindowsArgs(outer[5]), argv);
});

Deno.test("windows: from source, deno.exe runs main.ts with the permissions", () => {
  const command = callsyncCommand(
    "C:\\Users\\ops\\.deno\\bin\\deno.exe",
    "C:\\callsync\\main.ts",
  );
  const outer = parseWindowsArgs(
    windowsCommand({ command, baseDir: "C:\\bot", envFile: "C:\\bot\\c.env" }),
  );
  assert.deepEqual(parseWindowsArgs(outer[5]), [
    ...command,
    "run",
    "--base-dir",
    "C:\\bot",
    "--env-file",
    "C:\\bot\\c.env",
  ]);
});

Deno.test("windows: winQuote edge cases", () => {
  for (
    const s of ["", "a", "a b", 'a"b', "a\\b", "a\\\\", "a b\\", 'a\\"b', "\t"]
  ) {
    assert.deepEqual(parseWindowsArgs(winQuote(s)), [s], JSON.stringify(s));
    assert.deepEqual(
      parseWindowsArgs(winQuote(s, true)),
      [s],
      JSON.stringify(s),
    );
  }
  assert.equal(winQuote("C:\\x\\y.exe"), "C:\\x\\y.exe");
});

Deno.test("windows: refuses relative paths and commands schtasks cannot take", () => {
  const ok = { command: ["C:\\c\\callsync.exe"], baseDir: "C:\\bot" };
  assert.throws(() => windowsCommand({ ...ok, baseDir: "bot" }), ScheduleError);
  assert.throws(
    () => windowsCommand({ ...ok, baseDir: "/srv/bot" }),
    ScheduleError,
  );
  assert.throws(
    () => windowsCommand({ ...ok, envFile: "callsync.env" }),
    ScheduleError,
  );
  assert.ok(windowsCommand({ ...ok, baseDir: "\\\\server\\share\\bot" }));
  // cmd.exe would end the command at & (quoting toggles at every "), drop ^
  // and expand %NAME%: such paths are refused, naming the character.
  for (const c of ["&", "^", "%", "|", "<", ">"]) {
    assert.throws(
      () => windowsCommand({ ...ok, baseDir: `C:\\R${c}D bot` }),
      new RegExp(
        `base dir holds ${RegExp.escape(c)}, which cmd.exe would act on`,
      ),
    );
  }
  assert.throws(
    () =>
      windowsCommand({
        ...ok,
        command: ["C:\\deno.exe", "C:\\100% sure\\main.ts"],
      }),
    /argument holds %/,
  );
  assert.throws(
    () => windowsCommand({ ...ok, baseDir: 'C:\\R"D bot' }),
    /base dir must not contain a quote/,
  );
  // The service's XML runs no cmd.exe: & is only escaped there.
  assert.match(
    windowsServiceXml({ ...ok, baseDir: "C:\\R&D bot" }),
    /R&amp;D bot/,
  );
  assert.throws(
    () => windowsCommand({ ...ok, baseDir: `C:\\${"x".repeat(250)}` }),
    /at most 261/,
  );
  assert.throws(
    () => scheduleText("launchd" as unknown as ScheduleKind, ok),
    ScheduleError,
  );
});

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("every kind carries CRM_CA_FILE as --crm-ca-file after --env-file", () => {
  const posix = {
    envFile: "/etc/callsync.env",
    caFile: "/etc/callsync/ca.pem",
  };
  assert.match(
    cronLine({ command: BIN, baseDir: "/srv/bot", ...posix }),
    / run --env-file \/etc\/callsync\.env --crm-ca-file \/etc\/callsync\/ca\.pem >> /,
  );
  assert.match(
    systemdUnits({ command: BIN, baseDir: "/srv/bot", ...posix }).service,
    /^ExecStart=\/usr\/local\/bin\/callsync run --env-file \/etc\/callsync\.env --crm-ca-file \/etc\/callsync\/ca\.pem$/m,
  );
  assert.match(
    windowsCommand({
      command: ["C:\\callsync\\callsync.exe"],
      baseDir: "C:\\bot",
      caFile: "C:\\callsync\\ca.pem",
    }),
    /--base-dir C:\\bot --crm-ca-file C:\\callsync\\ca\.pem/,
  );
  assert.throws(
    () => cronLine({ command: BIN, baseDir: "/b", caFile: "ca.pem" }),
    ScheduleError,
  );
});

Deno.test("systemd-service: callsync watch kept running, stopped with SIGTERM before systemd kills", () => {
  const text = scheduleText("systemd-service", {
    command: BIN,
    baseDir: "/srv/voicebot",
    envFile: "/etc/callsync.env",
  });
  const lines = text.split("\n");
  assert.equal(lines[0], "# /etc/systemd/system/callsync-watch.service");
  for (
    const line of [
      "Type=simple",
      "ExecStart=/usr/local/bin/callsync watch --env-file /etc/callsync.env",
      "WorkingDirectory=/srv/voicebot",
      "Restart=always",
      "KillSignal=SIGTERM",
      "NoNewPrivileges=yes",
      "UMask=0077",
      "WantedBy=multi-user.target",
    ]
  ) {
    assert.ok(lines.includes(line), `${line} in\n${text}`);
  }
  // systemd waits longer than watch's default --stop-timeout (30 s).
  const stop = Number(/^TimeoutStopSec=(\d+)$/m.exec(text)?.[1]);
  assert.ok(stop > 30, `TimeoutStopSec=${stop}`);
});

Deno.test("windows-service: Task Scheduler XML starting callsync watch at boot as SYSTEM, again when not running", () => {
  const xml = scheduleText("windows-service", {
    command: ["C:\\Program Files\\callsync\\callsync.exe"],
    baseDir: "D:\\voice & bot",
    envFile: "C:\\callsync\\callsync.env",
  });
  const tag = (name: string) =>
    [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))].map((m) =>
      m[1]
    );
  assert.deepEqual(tag("UserId"), ["S-1-5-18"], "runs as SYSTEM");
  assert.ok(xml.includes("<BootTrigger>"), "starts at boot");
  assert.deepEqual(tag("Interval"), ["PT5M", "PT1M"]);
  assert.deepEqual(tag("MultipleInstancesPolicy"), ["IgnoreNew"]);
  assert.deepEqual(tag("ExecutionTimeLimit"), ["PT0S"], "no time limit");
  assert.deepEqual(tag("Command"), [
    "C:\\Program Files\\callsync\\callsync.exe",
  ]);
  const args = tag("Arguments")[0].replaceAll("&amp;", "&");
  assert.deepEqual(parseWindowsArgs(args), [
    "watch",
    "--base-dir",
    "D:\\voice & bot",
    "--env-file",
    "C:\\callsync\\callsync.env",
  ]);
  assert.deepEqual(tag("WorkingDirectory"), ["D:\\voice &amp; bot"]);
  assert.ok(!/&(?!amp;|lt;|gt;)/.test(xml), "every & escaped");
});
