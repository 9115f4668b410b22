/**
 * The dashboard in a real browser: Debian's headless Chromium, driven over
 * the Chrome DevTools protocol from Deno (a WebSocket; no npm package, no
 * downloaded browser). Enters the token in the page, clicks "Run now", checks
 * the page then lists the delivered sets, and saves a screenshot to
 * tests/output/dashboard.png.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs
 * it): without it this test fails, it does not skip.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../lib/config.ts";
import { FakeCrm } from "../lib/fake_crm.ts";
import { Logger } from "../lib/log.ts";
import { serve } from "../lib/serve.ts";
import { crmEnv, ROOT } from "../testing/cli.ts";
import { copyTree } from "../testing/tree.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "browser-test-token-5e1d0c";
const HOSTILE = "<img src=x onerror=alert(1)>.json";
/** A call whose earlier attempts failed: the page's Retry button revives it. */
const FAILED = "transcript_session_2025-10-29T07-23-03.616272.json";
const OUTPUT = join(ROOT, "tests", "output");

/** Everything the test waits for shares one deadline, well under 60 s. */
const BUDGET_MS = 45_000;

Deno.test("dashboard in headless Chromium: token, Run now, delivered sets, screenshot", async () => {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `${CHROMIUM} is missing: install it with "apt-get update && apt-get install -y chromium" (.ci/run does this in CI)`,
    );
  }
  const deadline = Date.now() + BUDGET_MS;
  const dir = await Deno.makeTempDir({ prefix: "callsync-browser-" });
  const profile = await Deno.makeTempDir({ prefix: "callsync-chromium-" });
  const dayOld = Date.now() - 86_400_000;
  await copyTree(join(ROOT, "fixtures"), dir, dayOld);
  await writeHostileTranscript(dir, dayOld);
  await Deno.mkdir(join(dir, "processed_uploads"));
  await Deno.writeTextFile(
    join(dir, "processed_uploads", `${FAILED}.pending`),
    JSON.stringify({
      set: FAILED,
      attempts: 3,
      failed: true,
      last_error: "HTTP 503 from the call-data endpoint",
    }),
  );
  const crm = FakeCrm.start({ delayMs: 60 });
  const cfg = await loadConfig({
    flags: {},
    env: crmEnv(crm),
    baseDir: dir,
    requireUpload: true,
  });
  const log = new Logger({
    format: "text",
    level: "info",
    timezone: "UTC",
    sink: () => {},
  });
  const dash = serve(cfg, log, { port: 0, token: TOKEN });
  const browser = new Chromium(profile);
  let cdp: Cdp | undefined;
  try {
    cdp = await Cdp.connect(await browser.start(deadline), deadline);
    const { targetId } = await cdp.send<{ targetId: string }>(
      "Target.createTarget",
      { url: "about:blank" },
    );
    const { sessionId } = await cdp.send<{ sessionId: string }>(
      "Target.attachToTarget",
      { targetId, flatten: true },
    );
    const page = cdp.session(sessionId);
    const problems: string[] = [];
    page.on("Runtime.exceptionThrown", (p) => {
      problems.push(`exception: ${JSON.stringify(p).slice(0, 300)}`);
    });
    page.on("Log.entryAdded", (p) => {
      const e = (p as { entry: { level: string; text: string; url?: string } })
        .entry;
      // A 4xx the test provokes on purpose is logged as a network error.
      if (e.level === "error" && !/status of 40[13]/.test(e.text)) {
        problems.push(`console: ${e.text}`);
      }
    });
    page.on("Runtime.consoleAPICalled", (p) => {
      const c = p as { type: string; args: { value?: unknown }[] };
      if (c.type === "error") {
        problems.push(`console.error: ${JSON.stringify(c.args)}`);
      }
    });
    page.on("Page.javascriptDialogOpening", (p) => {
      problems.push(`dialog opened (XSS?): ${JSON.stringify(p)}`);
      page.send("Page.handleJavaScriptDialog", { accept: false }).catch(
        () => {},
      );
    });
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Log.enable");
    await page.send("Emulation.setDeviceMetricsOverride", {
      width: 1360,
      height: 1000,
      deviceScaleFactor: 1,
      mobile: false,
    });

    const loaded = page.once("Page.loadEventFired");
    await page.send("Page.navigate", { url: dash.url });
    await within(deadline, "the dashboard to load", loaded);
    const evaluate = <T>(expression: string) => page.evaluate<T>(expression);

    // Before the token: buttons off, a hint says why.
    assert.equal(await evaluate("document.title"), "callsync dashboard");
    assert.equal(
      await evaluate(`document.querySelector('[data-action="run"]').disabled`),
      true,
    );
    assert.match(
      await evaluate<string>(
        `document.querySelector("#action-hint").textContent`,
      ),
      /Enter the dashboard token/,
    );
    assert.equal(
      await evaluate(
        `document.querySelectorAll("#sets tbody tr[data-state]").length`,
      ),
      7,
    );
    // The hostile file name is shown as text, not markup.
    assert.equal(await evaluate(`document.querySelectorAll("img").length`), 0);
    assert.equal(
      await evaluate(
        `document.querySelector("#sets").textContent.includes(${
          JSON.stringify(HOSTILE)
        })`,
      ),
      true,
    );

    // Search by phone number filters the rows as you type.
    await evaluate(`(() => {
      const q = document.querySelector('#filter input[name="q"]');
      q.value = "+91 86550 66243";
      q.dispatchEvent(new Event("input"));
    })()`);
    assert.equal(
      await evaluate(
        `document.querySelectorAll("#sets tbody tr[data-state]:not([hidden])").length`,
      ),
      1,
    );
    assert.match(await evaluate<string>("location.search"), /q=%2B91/);
    await evaluate(`(() => {
      const q = document.querySelector('#filter input[name="q"]');
      q.value = "";
      q.dispatchEvent(new Event("input"));
    })()`);

    await Deno.mkdir(OUTPUT, { recursive: true });
    await Deno.writeFile(
      join(OUTPUT, "dashboard-before.png"),
      await screenshot(page),
    );

    // A wrong token is refused and forgotten.
    await enterToken(evaluate, "not-the-token");
    await evaluate(`document.querySelector('[data-action="run"]').click()`);
    await waitFor(
      deadline,
      "the wrong token to be refused",
      () => evaluate<string>(`document.querySelector("#flash").textContent`),
      (t) => /wrong dashboard token/.test(t),
    );
    assert.equal(
      await evaluate(`sessionStorage.getItem("callsync-dashboard-token")`),
      null,
    );
    assert.equal(dash.running, false);

    // The right token; Retry the failed set (the page reloads), then Run now.
    await enterToken(evaluate, TOKEN);
    assert.equal(
      await evaluate(`document.querySelector('[data-action="run"]').disabled`),
      false,
    );
    assert.equal(
      await evaluate(`document.querySelector(".card.failed .num").textContent`),
      "1",
    );
    const retried = page.once("Page.loadEventFired");
    await evaluate(
      `document.querySelector('button[data-action="retry"][data-name=${
        JSON.stringify(FAILED)
      }]').click()`,
    );
    await waitFor(
      deadline,
      "the retry to be confirmed",
      () => evaluate<string>(`document.querySelector("#flash").textContent`),
      (t) => /1 set made due again/.test(t),
    );
    await within(deadline, "the page to reload after the retry", retried);
    await waitFor(
      deadline,
      "the failed set to be pending",
      () =>
        evaluate<string>(
          `document.querySelector(".card.failed .num").textContent`,
        ),
      (t) => t === "0",
    );
    const reloaded = page.once("Page.loadEventFired");
    await evaluate(`document.querySelector('[data-action="run"]').click()`);
    // While it runs, the page follows the run's log.
    await waitFor(
      deadline,
      "the run's log lines to show",
      () => evaluate<string>(`document.querySelector("#run-log").textContent`),
      (t) => /Directory scan started/.test(t),
    );
    // When it ends, the page reloads and lists the delivered sets.
    await within(deadline, "the page to reload after the run", reloaded);
    const delivered = await waitFor(
      deadline,
      "the delivered sets to be listed",
      () =>
        evaluate<number>(
          `document.querySelectorAll('#recent tbody tr[data-state="delivered"]').length`,
        ).catch(() => 0),
      (n) => n === 7,
    );
    assert.equal(delivered, 7);
    const text = await evaluate<string>("document.body.innerText");
    assert.match(text, /Everything is delivered\./);
    assert.match(text, /CALL-20251029-064824-66243/);
    assert.match(text, /7 delivered, 0 failed/);
    assert.match(
      await evaluate<string>(`document.querySelector("#run-log").textContent`),
      /Directory scan completed: 7 processed, 0 failed/,
    );
    assert.equal(
      await evaluate(
        `document.querySelector(".card.delivered .num").textContent`,
      ),
      "7",
    );
    assert.equal(
      await evaluate(
        `sessionStorage.getItem("callsync-dashboard-token") !== null`,
      ),
      true,
      "the token is kept for the tab",
    );
    assert.equal(crm.acceptedCallRecords().length, 7);
    assert.equal(await evaluate(`document.querySelectorAll("img").length`), 0);

    await Deno.writeFile(
      join(OUTPUT, "dashboard.png"),
      await screenshot(page),
    );

    // The page of one set renders under the same CSP.
    const setLoaded = page.once("Page.loadEventFired");
    await page.send("Page.navigate", {
      url: `${dash.url}sets/${
        encodeURIComponent("transcript_session_2025-10-29T06-49-07.351452.json")
      }`,
    });
    await within(deadline, "the set page to load", setLoaded);
    assert.match(
      await evaluate<string>("document.body.innerText"),
      /Delivery record/,
    );
    await Deno.writeFile(join(OUTPUT, "set.png"), await screenshot(page));

    assert.deepEqual(problems, [], problems.join("\n"));
  } finally {
    await cdp?.close();
    await browser.stop();
    await dash.close();
    await crm.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
});

async function enterToken(
  evaluate: <T>(expression: string) => Promise<T>,
  token: string,
): Promise<void> {
  await evaluate(`(() => {
    document.querySelector("#token-input").value = ${JSON.stringify(token)};
    document.querySelector("#token-form").requestSubmit();
  })()`);
}

/** A transcript whose name and content are markup. */
async function writeHostileTranscript(dir: string, mtimeMs: number) {
  const path = join(dir, "conversations", HOSTILE);
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      session_id: "session_20251030_080000_deadbeef",
      start_time: "2025-10-30T08:00:00.000000",
      end_time: "2025-10-30T08:00:30.000000",
      duration_seconds: 30,
      metadata: { phone_number: "+919000011111" },
      conversation_items: [{
        role: "user",
        content: "<script>alert(2)</script>",
        timestamp: "2025-10-30T08:00:05.000000",
      }],
    }),
  );
  await Deno.utime(path, mtimeMs / 1000, mtimeMs / 1000);
}

/** A full-page PNG. */
async function screenshot(page: CdpSession): Promise<Uint8Array> {
  const m = await page.send<{ cssContentSize: { height: number } }>(
    "Page.getLayoutMetrics",
  );
  await page.send("Emulation.setDeviceMetricsOverride", {
    width: 1360,
    height: Math.min(4000, Math.ceil(m.cssContentSize.height)),
    deviceScaleFactor: 1,
    mobile: false,
  });
  const shot = await page.send<{ data: string }>("Page.captureScreenshot", {
    format: "png",
  });
  await page.send("Emulation.setDeviceMetricsOverride", {
    width: 1360,
    height: 1000,
    deviceScaleFactor: 1,
    mobile: false,
  });
  return Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0));
}

/** `promise`, or a failure naming `what` at the deadline. */
async function within<T>(
  deadline: number,
  what: string,
  promise: Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${what}`)),
          Math.max(0, deadline - Date.now()),
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll `probe` until `done` holds, or fail at the deadline. */
async function waitFor<T>(
  deadline: number,
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<T> {
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch {
      // the page is navigating; try again
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; last saw ${String(last)}`);
}

/** True if `promise` settles within `ms` (its timer is always cleared). */
async function settlesWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => true, () => true),
      new Promise<boolean>((r) => timer = setTimeout(() => r(false), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Headless Chromium with a throwaway profile. */
class Chromium {
  #profile: string;
  #child?: Deno.ChildProcess;
  #drained?: Promise<void>;
  #stderr: string[] = [];

  constructor(profile: string) {
    this.#profile = profile;
  }

  /** Start it; resolves to the browser's DevTools WebSocket URL. */
  async start(deadline: number): Promise<string> {
    this.#child = new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        `--user-data-dir=${this.#profile}`,
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const lines = this.#child.stderr.pipeThrough(new TextDecoderStream())
      .getReader();
    let url: string | undefined;
    let buffer = "";
    const timer: { id?: ReturnType<typeof setTimeout> } = {};
    const timeout = new Promise<never>((_, reject) => {
      timer.id = setTimeout(
        () =>
          reject(
            new Error(
              `Chromium did not print its DevTools URL in time:\n${
                this.#stderr.join("\n")
              }`,
            ),
          ),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      while (!url) {
        const { value, done } = await Promise.race([lines.read(), timeout]);
        if (done) {
          throw new Error(
            `Chromium exited before listening:\n${this.#stderr.join("\n")}`,
          );
        }
        buffer += value;
        const parts = buffer.split("\n");
        buffer = parts.pop() ?? "";
        for (const line of parts) {
          this.#keep(line);
          url ??= /DevTools listening on (ws:\/\/\S+)/.exec(line)?.[1];
        }
      }
    } finally {
      clearTimeout(timer.id);
    }
    // Keep draining stderr so Chromium never blocks on a full pipe.
    this.#drained = (async () => {
      try {
        while (true) {
          const { value, done } = await lines.read();
          if (done) return;
          for (const line of value.split("\n")) this.#keep(line);
        }
      } catch {
        // the process went away
      }
    })();
    return url;
  }

  #keep(line: string) {
    if (!line) return;
    this.#stderr.push(line);
    if (this.#stderr.length > 50) this.#stderr.shift();
  }

  /** Kill it and wait until it is gone. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = await settlesWithin(child.status, 2000);
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await child.status;
    await this.#drained;
    if (!this.#drained) await child.stderr.cancel().catch(() => {});
  }
}

type Listener = (params: unknown) => void;

/** A Chrome DevTools protocol connection to the browser. */
class Cdp {
  #ws: WebSocket;
  #seq = 0;
  #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  #listeners = new Map<string, Set<Listener>>();
  #closed: Promise<void>;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.#closed = new Promise((r) => ws.addEventListener("close", () => r()));
    ws.addEventListener("message", (ev) => this.#onMessage(String(ev.data)));
    ws.addEventListener("close", () => {
      for (const p of this.#pending.values()) {
        p.reject(new Error("DevTools connection closed"));
      }
      this.#pending.clear();
    });
  }

  static async connect(url: string, deadline: number): Promise<Cdp> {
    const ws = new WebSocket(url);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        ws.addEventListener("open", () => resolve(), { once: true });
        ws.addEventListener(
          "error",
          () => reject(new Error(`cannot connect to ${url}`)),
          { once: true },
        );
        timer = setTimeout(
          () => reject(new Error("DevTools connection timed out")),
          Math.max(0, deadline - Date.now()),
        );
      });
    } catch (e) {
      ws.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return new Cdp(ws);
  }

  #onMessage(text: string) {
    const msg = JSON.parse(text) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
      method?: string;
      params?: unknown;
      sessionId?: string;
    };
    if (msg.id !== undefined) {
      const p = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error.message));
      else p?.resolve(msg.result);
      return;
    }
    const key = `${msg.sessionId ?? ""}|${msg.method}`;
    for (const l of this.#listeners.get(key) ?? []) l(msg.params);
  }

  send<T = unknown>(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<T> {
    const id = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      this.#ws.send(JSON.stringify({ id, method, params, sessionId }));
    });
  }

  on(event: string, sessionId: string, fn: Listener): () => void {
    const key = `${sessionId}|${event}`;
    const set = this.#listeners.get(key) ?? new Set();
    set.add(fn);
    this.#listeners.set(key, set);
    return () => set.delete(fn);
  }

  session(sessionId: string): CdpSession {
    return new CdpSession(this, sessionId);
  }

  /** Ask the browser to quit, then close the connection. */
  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.OPEN) {
      await settlesWithin(this.send("Browser.close"), 1000);
    }
    if (this.#ws.readyState !== WebSocket.CLOSED) {
      this.#ws.close();
      await this.#closed;
    }
  }
}

/** One attached page. */
class CdpSession {
  #cdp: Cdp;
  #id: string;

  constructor(cdp: Cdp, id: string) {
    this.#cdp = cdp;
    this.#id = id;
  }

  send<T = unknown>(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<T> {
    return this.#cdp.send<T>(method, params, this.#id);
  }

  on(event: string, fn: Listener): () => void {
    return this.#cdp.on(event, this.#id, fn);
  }

  /** The next `event`. */
  once(event: string): Promise<unknown> {
    return new Promise((resolve) => {
      const off = this.on(event, (p) => {
        off();
        resolve(p);
      });
    });
  }

  /** Evaluate in the page, awaiting promises; the value comes back as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send<{
      result: { value?: unknown };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    }>("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    });
    if (r.exceptionDetails) {
      throw new Error(
        `${expression}: ${
          r.exceptionDetails.exception?.description ?? r.exceptionDetails.text
        }`,
      );
    }
    return r.result.value as T;
  }
}
