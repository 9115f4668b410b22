/**
 * The dashboard in a real browser: Debian's headless Chromium, driven over
 * the Chrome DevTools protocol (testing/cdp.ts). Enters the token in the
 * page, clicks "Run now", checks the page then lists the delivered sets, and
 * saves a screenshot to tests/output/dashboard.png.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs
 * it): without it this test fails, it does not skip.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../lib/config/config.ts";
import { FakeCrm } from "../testing/fake_crm.ts";
import { Logger } from "../lib/core/log.ts";
import { serve } from "../lib/dashboard/server.ts";
import { Browser, type Page } from "../testing/cdp.ts";
import { crmEnv, ROOT } from "../testing/cli.ts";
import { copyTree } from "../testing/tree.ts";

const TOKEN = "browser-test-token-5e1d0c";
const HOSTILE = "<img src=x onerror=alert(1)>.json";
/** A call whose earlier attempts failed: the page's Retry button revives it. */
const FAILED = "transcript_session_2025-10-29T07-23-03.616272.json";
const OUTPUT = join(ROOT, "tests", "output");
const RUN = '[data-action="run"]';
const FLASH = "#flash";

/** Everything the test waits for shares one deadline, well under 60 s. */
const BUDGET_MS = 45_000;

Deno.test("dashboard in headless Chromium: token, Run now, delivered sets, screenshot", async () => {
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
    browser = await Browser.launch(deadline);
    // A 4xx the test provokes on purpose is logged as a network error.
    const page = await browser.newPage({
      allowConsoleError: /status of 40[13]/,
    });
    await page.navigate(dash.url, "the dashboard to load");

    // Before the token: buttons off, a hint says why.
    assert.equal(await page.evaluate("document.title"), "callsync dashboard");
    assert.equal(await page.evaluate(`${query(RUN)}.disabled`), true);
    assert.match(
      await page.text("#action-hint"),
      /Enter the dashboard token/,
    );
    assert.equal(await page.count("#sets tbody tr[data-state]"), 7);
    // The hostile file name is shown as text, not markup.
    assert.equal(await page.count("img"), 0);
    assert.ok((await page.text("#sets")).includes(HOSTILE));

    // Search by phone number filters the rows as you type.
    await search(page, "+91 86550 66243");
    assert.equal(
      await page.count("#sets tbody tr[data-state]:not([hidden])"),
      1,
    );
    assert.match(await page.evaluate<string>("location.search"), /q=%2B91/);
    await search(page, "");

    await Deno.mkdir(OUTPUT, { recursive: true });
    await Deno.writeFile(
      join(OUTPUT, "dashboard-before.png"),
      await page.screenshot(),
    );

    // A wrong token is refused and forgotten.
    await enterToken(page, "not-the-token");
    await page.click(RUN);
    await page.waitForText(
      FLASH,
      /wrong dashboard token/,
      "the wrong token to be refused",
    );
    assert.equal(
      await page.evaluate(`sessionStorage.getItem("callsync-dashboard-token")`),
      null,
    );
    assert.equal(dash.running, false);

    // The right token; Retry the failed set (the page reloads), then Run now.
    await enterToken(page, TOKEN);
    assert.equal(await page.evaluate(`${query(RUN)}.disabled`), false);
    assert.equal(await page.text(".card.failed .num"), "1");
    const retried = page.nextLoad();
    await page.click(
      `button[data-action="retry"][data-name=${JSON.stringify(FAILED)}]`,
    );
    await page.waitForText(
      FLASH,
      /1 set made due again/,
      "the retry to be confirmed",
    );
    await page.within("the page to reload after the retry", retried);
    await page.waitForText(
      ".card.failed .num",
      /^0$/,
      "the failed set to be pending",
    );
    const reloaded = page.nextLoad();
    await page.click(RUN);
    // While it runs, the page follows the run's log.
    await page.waitForText(
      "#run-log",
      /Directory scan started/,
      "the run's log lines to show",
    );
    // When it ends, the page reloads and lists the delivered sets.
    await page.within("the page to reload after the run", reloaded);
    const delivered = await page.waitFor(
      "the delivered sets to be listed",
      () =>
        page.count('#recent tbody tr[data-state="delivered"]').catch(() => 0),
      (n) => n === 7,
    );
    assert.equal(delivered, 7);
    const text = await page.evaluate<string>("document.body.innerText");
    assert.match(text, /Everything is delivered\./);
    assert.match(text, /CALL-20251029-064824-66243/);
    assert.match(text, /7 delivered, 0 failed/);
    assert.match(
      await page.text("#run-log"),
      /Directory scan completed: 7 processed, 0 failed/,
    );
    assert.equal(await page.text(".card.delivered .num"), "7");
    assert.equal(
      await page.evaluate(
        `sessionStorage.getItem("callsync-dashboard-token") !== null`,
      ),
      true,
      "the token is kept for the tab",
    );
    assert.equal(crm.acceptedCallRecords().length, 7);
    assert.equal(await page.count("img"), 0);

    await Deno.writeFile(
      join(OUTPUT, "dashboard.png"),
      await page.screenshot(),
    );

    // The page of one set renders under the same CSP.
    await page.navigate(
      `${dash.url}sets/${
        encodeURIComponent("transcript_session_2025-10-29T06-49-07.351452.json")
      }`,
      "the set page to load",
    );
    assert.match(
      await page.evaluate<string>("document.body.innerText"),
      /Delivery record/,
    );
    await Deno.writeFile(join(OUTPUT, "set.png"), await page.screenshot());

    assert.deepEqual(page.problems, [], page.problems.join("\n"));
  } finally {
    await browser?.close();
    await dash.close();
    await crm.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** `document.querySelector(selector)`, as page script. */
function query(selector: string): string {
  return `document.querySelector(${JSON.stringify(selector)})`;
}

/** Type `q` in the filter's search box, as a person would. */
async function search(page: Page, q: string): Promise<void> {
  await page.evaluate(`(() => {
    const q = ${query('#filter input[name="q"]')};
    q.value = ${JSON.stringify(q)};
    q.dispatchEvent(new Event("input"));
  })()`);
}

/** Enter the dashboard token in the page's form. */
async function enterToken(page: Page, token: string): Promise<void> {
  await page.evaluate(`(() => {
    ${query("#token-input")}.value = ${JSON.stringify(token)};
    ${query("#token-form")}.requestSubmit();
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
