import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import {
  checkToken,
  type Config,
  ConfigError,
  configSecrets,
  loadConfig,
} from "../../lib/config/config.ts";
import { withTempDir } from "../../testing/fixtures.ts";
import { makeTestPki } from "../../testing/test_ca.ts";
import { byOs, testOn, windowsOnly } from "../../testing/platform.ts";

/** Everything a command that uploads needs. */
const UPLOAD_ENV = {
  CRM_UPLOAD_URL: "https://crm.example/apis/api/public/upload",
  CRM_CALL_DATA_URL: "https://crm.example/apis/api/public/call-data",
  DEFAULT_CAMPAIGN_ID: "campaign-7",
  DEFAULT_VOICE_AGENT_ID: "agent-3",
  DEFAULT_CLIENT_ID: "client-9",
  TIMEZONE: "UTC",
};

/** The base folder most tests use: an absolute path on each system. */
const BASE = byOs({ posix: "/srv/bot", windows: "C:\\voicebot" });

/** Runs `fn` with a fresh temp dir, removed afterwards. */
const withDir = (fn: (dir: string) => Promise<void>) =>
  withTempDir("callsync-config-", fn);

function load(
  env: Record<string, string | undefined>,
  more: {
    flags?: Record<string, string | undefined>;
    envFile?: string;
    baseDir?: string;
    requireUpload?: boolean;
  } = {},
): Promise<Config> {
  return loadConfig({
    flags: more.flags ?? {},
    env,
    envFile: more.envFile,
    baseDir: more.baseDir ?? BASE,
    requireUpload: more.requireUpload ?? false,
  });
}

/** Rejects with a ConfigError whose message names `variable`. */
async function rejectsNaming(
  promise: Promise<unknown>,
  variable: string,
): Promise<void> {
  await rejects(
    promise,
    (e: unknown) => e instanceof ConfigError && e.message.includes(variable),
    `expected a ConfigError naming ${variable}`,
  );
}

Deno.test("loadConfig() fills in the documented defaults", async () => {
  const cfg = await load({ TIMEZONE: "UTC" });
  equal(cfg.batchSize, 0, "no per-run cap: a run keeps up");
  equal(cfg.retryAttempts, 3);
  deepStrictEqual(cfg.retryBackoffSeconds, [60, 300, 900]);
  equal(cfg.concurrency, 4);
  equal(cfg.timeoutSeconds, 30);
  equal(cfg.matchWindowSeconds, 300);
  equal(cfg.staleSeconds, 600);
  equal(cfg.orphanAfterSeconds, 1800);
  equal(cfg.apiToken, undefined);
  const folders = [
    cfg.conversationsDir,
    cfg.recordingsDir,
    cfg.leadsDir,
    cfg.processedDir,
  ];
  deepStrictEqual(
    folders,
    byOs({
      posix: [
        "/srv/bot/conversations",
        "/srv/bot/recordings",
        "/srv/bot/leads",
        "/srv/bot/processed_uploads",
      ],
      windows: [
        "C:\\voicebot\\conversations",
        "C:\\voicebot\\recordings",
        "C:\\voicebot\\leads",
        "C:\\voicebot\\processed_uploads",
      ],
    }),
  );
  equal(cfg.settleSeconds, 10);
  equal(cfg.watchRescanSeconds, 300);
  equal(cfg.stopTimeoutSeconds, 30);
  equal(cfg.heartbeatMinutes, 5);
  equal(cfg.metricsListen, undefined);
});

Deno.test("loadConfig() reads METRICS_LISTEN as HOST:PORT and names it when malformed", async () => {
  deepStrictEqual(
    (await load({ TIMEZONE: "UTC", METRICS_LISTEN: "127.0.0.1:9464" }))
      .metricsListen,
    { host: "127.0.0.1", port: 9464 },
  );
  deepStrictEqual(
    (await load({ TIMEZONE: "UTC", METRICS_LISTEN: "[::1]:9464" }))
      .metricsListen,
    { host: "::1", port: 9464 },
  );
  for (const bad of ["9464", "host:", "host:70000", "a b:1"]) {
    await rejects(
      () => load({ TIMEZONE: "UTC", METRICS_LISTEN: bad }),
      (e: Error) =>
        e instanceof ConfigError && /METRICS_LISTEN/.test(e.message),
    );
  }
});

Deno.test("loadConfig() defaults TIMEZONE to the host's zone", async () => {
  const cfg = await load({});
  equal(cfg.timezone, Intl.DateTimeFormat().resolvedOptions().timeZone);
});

Deno.test("loadConfig() takes a flag over the environment over the env file over the default", async () => {
  await withDir(async (dir) => {
    const envFile = join(dir, "callsync.env");
    await Deno.writeTextFile(
      envFile,
      [
        "UPLOAD_BATCH_SIZE=11",
        "STALE_SECONDS=12",
        "MATCH_WINDOW_SECONDS=13",
        "DEFAULT_CAMPAIGN_ID=from-file",
      ].join("\n"),
    );
    const cfg = await load(
      {
        UPLOAD_BATCH_SIZE: "21",
        STALE_SECONDS: "22",
        DEFAULT_CAMPAIGN_ID: "from-env",
        TIMEZONE: "UTC",
      },
      {
        envFile,
        flags: {
          "upload-batch-size": "31",
          "default-campaign-id": "from-flag",
        },
      },
    );
    equal(cfg.batchSize, 31, "flag beats environment and file");
    equal(cfg.campaignId, "from-flag");
    equal(cfg.staleSeconds, 22, "environment beats file");
    equal(cfg.matchWindowSeconds, 13, "file beats default");
    equal(cfg.orphanAfterSeconds, 1800, "default when nobody sets it");
  });
});

Deno.test("loadConfig() treats a blank value as unset and trims values", async () => {
  const cfg = await load({
    UPLOAD_BATCH_SIZE: "   ",
    STALE_SECONDS: " 42 ",
    TIMEZONE: "UTC",
  });
  equal(cfg.batchSize, 0);
  equal(cfg.staleSeconds, 42);
});

const EGRESS = byOs({ posix: "/mnt/egress", windows: "D:\\egress" });

Deno.test("loadConfig() resolves relative folders against baseDir and keeps absolute ones", async () => {
  await withDir(async (dir) => {
    const cfg = await load({
      TIMEZONE: "UTC",
      CONVERSATIONS_DIR: "data/conv",
      RECORDINGS_DIR: EGRESS,
      LEADS_DIR: "../shared/leads",
    }, { baseDir: dir });
    equal(cfg.baseDir, dir);
    equal(cfg.conversationsDir, join(dir, "data", "conv"));
    equal(cfg.recordingsDir, EGRESS);
    equal(cfg.leadsDir, join(dir, "..", "shared", "leads"));
    equal(cfg.processedDir, join(dir, "processed_uploads"));
  });
});

Deno.test("loadConfig() resolves a relative baseDir against the working directory", async () => {
  const cfg = await load({ TIMEZONE: "UTC" }, { baseDir: "site" });
  equal(cfg.baseDir, join(Deno.cwd(), "site"));
  equal(cfg.leadsDir, join(Deno.cwd(), "site", "leads"));
});

Deno.test("loadConfig() reads every upload setting when requireUpload is set", async () => {
  const cfg = await load(
    { ...UPLOAD_ENV, CRM_API_TOKEN: "tok-123", UPLOAD_RETRY_BACKOFF: "5, 2.5" },
    { requireUpload: true },
  );
  equal(cfg.uploadUrl, UPLOAD_ENV.CRM_UPLOAD_URL);
  equal(cfg.callDataUrl, UPLOAD_ENV.CRM_CALL_DATA_URL);
  equal(cfg.campaignId, "campaign-7");
  equal(cfg.voiceAgentId, "agent-3");
  equal(cfg.clientId, "client-9");
  equal(cfg.apiToken, "tok-123");
  deepStrictEqual(cfg.retryBackoffSeconds, [5, 2.5]);
});

Deno.test("loadConfig() requires each upload setting only when requireUpload is set", async () => {
  for (
    const name of [
      "CRM_UPLOAD_URL",
      "CRM_CALL_DATA_URL",
      "DEFAULT_CAMPAIGN_ID",
      "DEFAULT_VOICE_AGENT_ID",
      "DEFAULT_CLIENT_ID",
    ]
  ) {
    const env: Record<string, string | undefined> = { ...UPLOAD_ENV };
    delete env[name];
    await rejectsNaming(load(env, { requireUpload: true }), name);
    const cfg = await load(env, { requireUpload: false });
    ok(cfg, `${name} missing is fine without requireUpload`);
  }
  const empty = await load({ TIMEZONE: "UTC" });
  equal(empty.uploadUrl, "");
  equal(empty.campaignId, "");
});

Deno.test("loadConfig() rejects a URL that is not http(s), naming the variable", async () => {
  await rejectsNaming(
    load({ ...UPLOAD_ENV, CRM_UPLOAD_URL: "ftp://crm.example/upload" }),
    "CRM_UPLOAD_URL",
  );
  await rejectsNaming(
    load({ ...UPLOAD_ENV, CRM_CALL_DATA_URL: "crm.example/call-data" }),
    "CRM_CALL_DATA_URL",
  );
  await rejectsNaming(
    load(UPLOAD_ENV, { flags: { "crm-upload-url": "http://" } }),
    "CRM_UPLOAD_URL",
  );
});

Deno.test("loadConfig() rejects counts that are not whole numbers, naming the variable", async () => {
  const cases: [string, string][] = [
    ["UPLOAD_BATCH_SIZE", "ten"],
    ["UPLOAD_CONCURRENCY", "-1"],
    ["UPLOAD_RETRY_ATTEMPTS", "2.5"],
    ["UPLOAD_TIMEOUT_SECONDS", "30s"],
    ["MATCH_WINDOW_SECONDS", "1e3"],
    ["STALE_SECONDS", "0x10"],
    ["ORPHAN_AFTER_SECONDS", "never"],
  ];
  for (const [name, value] of cases) {
    await rejectsNaming(load({ TIMEZONE: "UTC", [name]: value }), name);
  }
});

Deno.test("loadConfig() rejects a malformed UPLOAD_RETRY_BACKOFF", async () => {
  for (const value of ["60,,300", "60;300", "1m,5m", "60,-5", "60,"]) {
    await rejectsNaming(
      load({ TIMEZONE: "UTC", UPLOAD_RETRY_BACKOFF: value }),
      "UPLOAD_RETRY_BACKOFF",
    );
  }
});

Deno.test("loadConfig() rejects a TIMEZONE that is not an IANA zone", async () => {
  await rejectsNaming(load({ TIMEZONE: "Mars/Olympus_Mons" }), "TIMEZONE");
  await rejectsNaming(
    load({}, { flags: { timezone: "India Standard Time" } }),
    "TIMEZONE",
  );
});

Deno.test("loadConfig() rejects UPLOAD_TIMEOUT_SECONDS=0 and UPLOAD_RETRY_ATTEMPTS=0", async () => {
  await rejectsNaming(
    load({ TIMEZONE: "UTC", UPLOAD_TIMEOUT_SECONDS: "0" }),
    "UPLOAD_TIMEOUT_SECONDS",
  );
  await rejectsNaming(
    load({ TIMEZONE: "UTC", UPLOAD_RETRY_ATTEMPTS: "0" }),
    "UPLOAD_RETRY_ATTEMPTS",
  );
});

Deno.test("loadConfig() accepts zero where zero means off or no limit", async () => {
  const cfg = await load({
    TIMEZONE: "UTC",
    UPLOAD_BATCH_SIZE: "0",
    ORPHAN_AFTER_SECONDS: "0",
    UPLOAD_CONCURRENCY: "0",
  });
  equal(cfg.batchSize, 0);
  equal(cfg.orphanAfterSeconds, 0);
  equal(cfg.concurrency, 1, "concurrency is at least 1");
});

Deno.test("loadConfig() reports an unreadable or malformed env file as ConfigError", async () => {
  await withDir(async (dir) => {
    await rejectsNaming(
      load({}, { envFile: join(dir, "missing.env") }),
      "missing.env",
    );
    const bad = join(dir, "bad.env");
    await Deno.writeTextFile(bad, "TIMEZONE=UTC\nthis is not a setting\n");
    await rejectsNaming(load({}, { envFile: bad }), `${bad}:2`);
  });
});

Deno.test("loadConfig() validates values that come from the env file", async () => {
  await withDir(async (dir) => {
    const envFile = join(dir, "callsync.env");
    await Deno.writeTextFile(envFile, "TIMEZONE=UTC\nSTALE_SECONDS=soon\n");
    await rejectsNaming(load({}, { envFile }), "STALE_SECONDS");
  });
});

Deno.test("loadConfig() reads CRM_PROXY, keeping its credentials apart, and refuses a bad one without quoting them", async () => {
  const cfg = await load({
    TIMEZONE: "UTC",
    CRM_PROXY: "http://ops:pa%24s@proxy.corp:3128",
  });
  deepStrictEqual(cfg.crmProxy, {
    url: "http://proxy.corp:3128",
    basicAuth: { username: "ops", password: "pa$s" },
  });
  equal(
    (await load({ CRM_PROXY: "http://a:1" }, {
      flags: { "crm-proxy": "http://b:2" },
    })).crmProxy?.url,
    "http://b:2",
  );
  await rejects(
    load({ TIMEZONE: "UTC", CRM_PROXY: "ftp://ops:hunter2@proxy:21" }),
    (e: unknown) =>
      e instanceof ConfigError && e.message.startsWith("CRM_PROXY") &&
      !e.message.includes("hunter2"),
  );
});

Deno.test("loadConfig() takes HTTPS_PROXY, HTTP_PROXY and NO_PROXY from the environment, else the env file", async () => {
  await withDir(async (dir) => {
    const envFile = join(dir, "callsync.env");
    await Deno.writeTextFile(
      envFile,
      "TIMEZONE=UTC\nHTTPS_PROXY=http://file-proxy:3128\nhttp_proxy=http://file-plain:3128\nNO_PROXY=.internal\n",
    );
    deepStrictEqual((await load({}, { envFile })).proxyVariables, {
      HTTPS_PROXY: "http://file-proxy:3128",
      HTTP_PROXY: "http://file-plain:3128",
      NO_PROXY: ".internal",
    });
    deepStrictEqual(
      (await load({ https_proxy: "http://env-proxy:8080" }, { envFile }))
        .proxyVariables.HTTPS_PROXY,
      "http://env-proxy:8080",
    );
    await Deno.writeTextFile(envFile, "HTTPS_PROXY=socks4://x:1\n");
    await rejectsNaming(load({}, { envFile }), "HTTPS_PROXY");
  });
});

Deno.test("loadConfig() reads CRM_CA_FILE (relative to baseDir, also from the env file) and refuses one without a certificate", async () => {
  const pki = await makeTestPki();
  await withDir(async (dir) => {
    const other = await makeTestPki();
    await Deno.writeTextFile(
      join(dir, "ca.pem"),
      `# our CAs\n${pki.caCert}\n${other.caCert}`,
    );
    const envFile = join(dir, "callsync.env");
    await Deno.writeTextFile(envFile, "TIMEZONE=UTC\nCRM_CA_FILE=ca.pem\n");
    const cfg = await load({}, { envFile, baseDir: dir });
    equal(cfg.caFile, join(dir, "ca.pem"));
    deepStrictEqual(cfg.caCerts, [pki.caCert.trim(), other.caCert.trim()]);

    await Deno.writeTextFile(join(dir, "empty.pem"), "nothing here\n");
    await rejectsNaming(
      load({ TIMEZONE: "UTC", CRM_CA_FILE: "empty.pem" }, { baseDir: dir }),
      "CRM_CA_FILE",
    );
    await rejectsNaming(
      load({ TIMEZONE: "UTC", CRM_CA_FILE: "missing.pem" }, { baseDir: dir }),
      "missing.pem",
    );
    await Deno.writeTextFile(
      join(dir, "broken.pem"),
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    await rejectsNaming(
      load({ TIMEZONE: "UTC", CRM_CA_FILE: "broken.pem" }, { baseDir: dir }),
      "does not parse",
    );
  });
});

Deno.test("loadConfig() defaults UPLOAD_DEADLINE_SECONDS to 900 and refuses 0", async () => {
  equal((await load({ TIMEZONE: "UTC" })).deadlineSeconds, 900);
  await rejectsNaming(
    load({ TIMEZONE: "UTC", UPLOAD_DEADLINE_SECONDS: "0" }),
    "UPLOAD_DEADLINE_SECONDS",
  );
});

Deno.test("configSecrets() lists the token and every proxy password in force", async () => {
  const cfg = await load({
    TIMEZONE: "UTC",
    CRM_API_TOKEN: "tok-1",
    CRM_PROXY: "http://a:crm-pass@p:1",
    HTTPS_PROXY: "http://b:https-pass@p:2",
    HTTP_PROXY: "http://p:3",
  });
  deepStrictEqual(configSecrets(cfg).sort(), [
    "crm-pass",
    "https-pass",
    "tok-1",
  ]);
});

Deno.test("loadConfig() never shows the password of a URL it refuses", async () => {
  await rejects(
    load({
      ...UPLOAD_ENV,
      CRM_UPLOAD_URL: "ftp://user:PASSWORD123@x.example/up",
    }),
    (e: unknown) =>
      e instanceof ConfigError && e.message.includes("CRM_UPLOAD_URL") &&
      e.message.includes("ftp://***@x.example/up") &&
      !e.message.includes("PASSWORD123"),
  );
});

Deno.test("loadConfig() refuses a CRM_API_TOKEN with a line break, a control or a non-ASCII character, never showing it", async () => {
  for (const token of ["abc\r\nX-Evil: 1", "abc\u0000def", "tökén-123"]) {
    await rejects(
      load({ ...UPLOAD_ENV, CRM_API_TOKEN: token }, { requireUpload: true }),
      (e: unknown) =>
        e instanceof ConfigError && e.message.includes("CRM_API_TOKEN") &&
        !e.message.includes("abc") && !e.message.includes("tök"),
      JSON.stringify(token),
    );
  }
  equal(
    checkToken("DASHBOARD_TOKEN", "Tok_en-1.2~+/= ok"),
    "Tok_en-1.2~+/= ok",
  );
});

Deno.test("configSecrets() holds the token and the passwords of the configured URLs", async () => {
  const cfg = await load({
    ...UPLOAD_ENV,
    CRM_API_TOKEN: "tok-1",
    CRM_UPLOAD_URL: "https://bot:p%40ss@crm.example/up",
    HEALTHCHECK_URL: "https://hc.example/ping/abc",
  });
  deepStrictEqual(configSecrets(cfg), ["tok-1", "p@ss"]);
});

Deno.test(
  testOn(windowsOnly("drive letters and UNC shares are paths only there"), {
    name:
      "loadConfig() on Windows: drive-letter and UNC folders, relative ones resolved against them",
    async fn() {
      const local = await load({
        TIMEZONE: "UTC",
        CONVERSATIONS_DIR: "D:/egress/conv/",
        LEADS_DIR: "..\\shared\\leads",
      }, { baseDir: "c:\\voicebot\\" });
      deepStrictEqual(
        [
          local.baseDir,
          local.conversationsDir,
          local.leadsDir,
          local.processedDir,
        ],
        [
          "c:\\voicebot",
          "D:\\egress\\conv",
          "c:\\shared\\leads",
          "c:\\voicebot\\processed_uploads",
        ],
      );
      const share = await load({
        TIMEZONE: "UTC",
        RECORDINGS_DIR: "\\\\nas\\egress\\recordings",
        LEADS_DIR: "..\\leads",
      }, { baseDir: "\\\\server\\share\\voicebot" });
      deepStrictEqual(
        [share.conversationsDir, share.recordingsDir, share.leadsDir],
        [
          "\\\\server\\share\\voicebot\\conversations",
          "\\\\nas\\egress\\recordings",
          // A share's root is \\server\\share\\: ".." stops there.
          "\\\\server\\share\\leads",
        ],
      );
    },
  }),
);

Deno.test("loadConfig() reads an env file as Windows tools write it: BOM, UTF-16, CRLF, backslashes", async () => {
  await withDir(async (dir) => {
    const conv = join(dir, "conv");
    const lines = [
      "TIMEZONE=UTC",
      `CONVERSATIONS_DIR=${conv}`,
      `RECORDINGS_DIR='${join(dir, "rec")}'`,
      "DEFAULT_CLIENT_ID=\\client\\9",
    ];
    const text = lines.join("\r\n") + "\r\n";
    const encodings: Record<string, Uint8Array> = {
      "UTF-8 with BOM": new TextEncoder().encode("\ufeff" + text),
      "UTF-16LE with BOM": utf16le("\ufeff" + text),
    };
    for (const [how, bytes] of Object.entries(encodings)) {
      const envFile = join(dir, "callsync.env");
      await Deno.writeFile(envFile, bytes);
      const cfg = await load({}, { envFile, baseDir: dir });
      equal(cfg.timezone, "UTC", how);
      equal(cfg.conversationsDir, conv, how);
      equal(cfg.recordingsDir, join(dir, "rec"), how);
      equal(cfg.clientId, "\\client\\9", `${how}: unquoted backslashes stay`);
    }
    // UTF-16 without a BOM cannot be told apart: refused, saying so.
    const envFile = join(dir, "callsync.env");
    await Deno.writeFile(envFile, utf16le(text));
    await rejects(load({}, { envFile }), /UTF-16 without a byte-order mark/);
  });
});

Deno.test('loadConfig() refuses a folder that "\\n" or "\\t" in double quotes turned into a control character', async () => {
  await withDir(async (dir) => {
    // C:\\voicebot\\new in double quotes: \\n is a line break.
    const envFile = join(dir, "callsync.env");
    await Deno.writeTextFile(envFile, `LEADS_DIR="${dir}\\new"\r\n`);
    await rejects(
      load({ TIMEZONE: "UTC" }, { envFile }),
      (e: unknown) =>
        e instanceof ConfigError && e.message.includes("LEADS_DIR") &&
        e.message.includes("single quotes"),
    );
  });
});

function utf16le(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    out[2 * i] = text.charCodeAt(i) & 0xff;
    out[2 * i + 1] = text.charCodeAt(i) >> 8;
  }
  return out;
}
