/**
 * The dashboard in a real browser: headless Chromium from npm
 * (`@sparticuz/chromium`, or a system Chromium when there is one) driven by
 * `puppeteer-core` (testing/browser.ts). Enters the token in the page, clicks
 * "Run now", checks the page then lists the delivered sets, and saves
 * screenshots to tests/output/.
 */
/// <reference lib="dom" />
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../lib/config/config.ts";
import { Logger } from "../../lib/core/log.ts";
import { serve } from "../../lib/dashboard/server.ts";
import {
  type Browser,
  launchBrowser,
  type Page,
} from "../../testing/browser.ts";
import { crmEnv, ROOT } from "../../testing/cli.ts";
import { FakeCrm } from "../../testing/fake_crm.ts";
import { copyTree } from "../../testing/tree.ts";
import {
  HOSTILE_NAMES,
  IS_WINDOWS,
  testOn,
  when,
} from "../../testing/platform.ts";

const TOKEN = "browser-test-token-5e1d0c";
const HOSTILE = HOSTILE_NAMES.call;
/** A call whose earlier attempts failed: the page's Retry button revives it. */
const FAILED = "transcript_session_2025-10-29T07-23-03.616272.json";
const OUTPUT = join(ROOT, "tests", "output");
const RUN = '[data-action="run"]';
const FLASH = "#flash";

/** Everything the test waits for shares one deadline, well under 60 s. */
const BUDGET_MS = 45_000;

/** Where a Chromium can be had: @sparticuz/chromium ships Linux only. */
const CHROMIUM = when(
  !IS_WINDOWS || Deno.env.get("CHROMIUM_PATH") !== undefined,
  "no Chromium: @sparticuz/chromium ships Linux only; set CHROMIUM_PATH to a chrome.exe",
);

Deno.test(testOn(CHROMIUM, {
  name:
    "dashboard in headless Chromium: token, Run now, delivered sets, screenshot",
  fn: browserTest,
}));

async function browserTest(): Promise<void> {
  const deadline = Date.now() + BUDGET_MS;
  const dir = await Deno.makeTempDir({ prefix: "callsync-browser-" });
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
  const dash = serve(
    await loadConfig({
      flags: {},
      env: crmEnv(crm),
      baseDir: dir,
      requireUpload: true,
    }),
    new Logger({ format: "text", level: "info", timezone: "UTC", sink() {} }),
    { port: 0, token: TOKEN },
  );
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser();
    const page = await browser.newPage();
    page.setDefaultTimeout(BUDGET_MS);
    // A 4xx the test provokes on purpose is logged as a network error.
    const problems = watch(page, /status of 40[13]/);
    await within(deadline, "the dashboard to load", page.goto(dash.url));

    // Before the token: buttons off, a hint says why.
    assert.equal(await page.title(), "callsync dashboard");
    assert.equal(
      await page.$eval(RUN, (b) => (b as HTMLButtonElement).disabled),
      true,
    );
    assert.match(await text(page, "#action-hint"), /Enter the dashboard token/);
    assert.equal(await count(page, "#sets tbody tr[data-state]"), 7);
    // The hostile file name is shown as text, not markup.
    assert.equal(await count(page, "img"), 0);
    assert.ok((await text(page, "#sets")).includes(HOSTILE));

    // Search by phone number filters the rows as you type.
    await search(page, "+91 86550 66243");
    assert.equal(
      await count(page, "#sets tbody tr[data-state]:not([hidden])"),
      1,
    );
    assert.match(await page.evaluate(() => location.search), /q=%2B91/);
    await search(page, "");

    await Deno.mkdir(OUTPUT, { recursive: true });
    await screenshot(page, "dashboard-before.png");

    // A wrong token is refused and forgotten.
    await enterToken(page, "not-the-token");
    await page.click(RUN);
    await waitForText(
      deadline,
      page,
      FLASH,
      /wrong dashboard token/,
      "the wrong token to be refused",
    );
    assert.equal(
      await page.evaluate(() =>
        sessionStorage.getItem("callsync-dashboard-token")
      ),
      null,
    );
    assert.equal(dash.running, false);

    // The right token; Retry the failed set (the page reloads), then Run now.
    await enterToken(page, TOKEN);
    assert.equal(
      await page.$eval(RUN, (b) => (b as HTMLButtonElement).disabled),
      false,
    );
    assert.equal(await text(page, ".card.failed .num"), "1");
    const retried = page.waitForNavigation();
    await page.click(
      `button[data-action="retry"][data-name=${JSON.stringify(FAILED)}]`,
    );
    await waitForText(
      deadline,
      page,
      FLASH,
      /1 set made due again/,
      "the retry to be confirmed",
    );
    await within(deadline, "the page to reload after the retry", retried);
    await waitForText(
      deadline,
      page,
      ".card.failed .num",
      /^0$/,
      "the failed set to be pending",
    );
    const reloaded = page.waitForNavigation();
    await page.click(RUN);
    // While it runs, the page follows the run's log.
    await waitForText(
      deadline,
      page,
      "#run-log",
      /Directory scan started/,
      "the run's log lines to show",
    );
    // When it ends, the page reloads and lists the delivered sets.
    await within(deadline, "the page to reload after the run", reloaded);
    await within(
      deadline,
      "the delivered sets to be listed",
      page.waitForFunction(
        (sel: string) => document.querySelectorAll(sel).length === 7,
        {},
        '#recent tbody tr[data-state="delivered"]',
      ),
    );
    assert.equal(
      await count(page, '#recent tbody tr[data-state="delivered"]'),
      7,
    );
    const bodyText = await page.evaluate(() => document.body.innerText);
    assert.match(bodyText, /Everything is delivered\./);
    assert.match(bodyText, /CALL-20251029-064824-66243/);
    assert.match(bodyText, /7 delivered, 0 failed/);
    assert.match(
      await text(page, "#run-log"),
      /Directory scan completed: 7 processed, 0 failed/,
    );
    assert.equal(await text(page, ".card.delivered .num"), "7");
    assert.equal(
      await page.evaluate(() =>
        sessionStorage.getItem("callsync-dashboard-token") !== null
      ),
      true,
      "the token is kept for the tab",
    );
    assert.equal(crm.acceptedCallRecords().length, 7);
    assert.equal(await count(page, "img"), 0);

    await screenshot(page, "dashboard.png");

    // The page of one set renders under the same CSP.
    await within(
      deadline,
      "the set page to load",
      page.goto(
        `${dash.url}sets/${
          encodeURIComponent(
            "transcript_session_2025-10-29T06-49-07.351452.json",
          )
        }`,
      ),
    );
    assert.match(
      await page.evaluate(() => document.body.innerText),
      /Delivery record/,
    );
    await screenshot(page, "set.png");

    assert.deepEqual(problems, [], problems.join("\n"));
  } finally {
    await browser?.close();
    await dash.close();
    await crm.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * What goes wrong in the page: exceptions, console errors (but those
 * `allowConsoleError` matches) and dialogs, which are dismissed.
 */
function watch(page: Page, allowConsoleError: RegExp): string[] {
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`exception: ${String(e)}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !allowConsoleError.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on("dialog", (d) => {
    problems.push(`dialog opened (XSS?): ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  return problems;
}

/** `promise`, or a failure naming `what` once the test's deadline passes. */
async function within<T>(
  deadline: number,
  what: string,
  promise: Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${what}`)),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Wait until the text of `selector` matches `pattern`. */
async function waitForText(
  deadline: number,
  page: Page,
  selector: string,
  pattern: RegExp,
  what: string,
): Promise<void> {
  await within(
    deadline,
    what,
    page.waitForFunction(
      (sel: string, source: string, flags: string) =>
        new RegExp(source, flags).test(
          document.querySelector(sel)?.textContent ?? "",
        ),
      {},
      selector,
      pattern.source,
      pattern.flags,
    ),
  );
}

/** The text of the first element matching `selector`. */
function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (e) => e.textContent ?? "");
}

/** How many elements match `selector`. */
function count(page: Page, selector: string): Promise<number> {
  return page.$$eval(selector, (all) => all.length);
}

/** A full-page PNG (at most 4000 px tall) in tests/output/. */
async function screenshot(page: Page, name: string): Promise<void> {
  const height = await page.evaluate(() => document.body.scrollHeight);
  await page.setViewport({ width: 1360, height: Math.min(4000, height) });
  await page.screenshot({ path: join(OUTPUT, name) });
  await page.setViewport({ width: 1360, height: 1000 });
}

/** Type `q` in the filter's search box, as a person would. */
async function search(page: Page, q: string): Promise<void> {
  await page.$eval('#filter input[name="q"]', (e, value) => {
    const input = e as HTMLInputElement;
    input.value = value;
    input.dispatchEvent(new Event("input"));
  }, q);
}

/** Enter the dashboard token in the page's form. */
async function enterToken(page: Page, token: string): Promise<void> {
  await page.$eval("#token-input", (e, value) => {
    const input = e as HTMLInputElement;
    input.value = value;
    input.form?.requestSubmit();
  }, token);
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
