/**
 * Drive Debian's headless Chromium from a test over the Chrome DevTools
 * protocol: a WebSocket, no npm package, no downloaded browser. A
 * {@link Browser} runs Chromium with a throwaway profile; a {@link Page} is
 * one tab, with helpers to evaluate, click, read text, wait, navigate and
 * take screenshots, all bound by one deadline.
 *
 * @module
 */
import {
  Cdp,
  type Listener,
  settlesWithin,
  waitFor,
  within,
} from "./cdp_connection.ts";
import { errorMessage } from "../lib/core/errors.ts";

/** Where Debian's Chromium is installed (`apt-get install -y chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

const VIEWPORT = {
  width: 1360,
  height: 1000,
  deviceScaleFactor: 1,
  mobile: false,
};

/** Options of {@link Browser.newPage}. */
export interface PageOptions {
  /** Console errors to let pass (e.g. a 4xx the test provokes on purpose). */
  allowConsoleError?: RegExp;
}

/** Headless Chromium with a throwaway profile, connected over DevTools. */
export class Browser {
  #child: Deno.ChildProcess;
  #profile: string;
  #cdp?: Cdp;
  #drained?: Promise<void>;
  /** Chromium's last lines on stderr, for error messages. */
  #stderr: string[] = [];

  private constructor(child: Deno.ChildProcess, profile: string) {
    this.#child = child;
    this.#profile = profile;
  }

  /**
   * Start {@link CHROMIUM} and connect to it; everything waited for through
   * this browser fails at `deadline`. Fails (does not skip) without it.
   */
  static async launch(deadline: number): Promise<Browser> {
    try {
      await Deno.stat(CHROMIUM);
    } catch {
      throw new Error(
        `${CHROMIUM} is missing: install it with "apt-get update && apt-get install -y chromium" (.ci/run does this in CI)`,
      );
    }
    const profile = await Deno.makeTempDir({ prefix: "callsync-chromium-" });
    const child = new Deno.Command(CHROMIUM, {
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
        `--user-data-dir=${profile}`,
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const browser = new Browser(child, profile);
    try {
      const url = await within(
        deadline,
        "Chromium to print its DevTools URL",
        browser.#readStderr(),
      );
      browser.#cdp = await Cdp.connect(url, deadline);
      return browser;
    } catch (e) {
      await browser.close();
      throw new Error(
        `${errorMessage(e)}; Chromium said:\n${browser.#stderr.join("\n")}`,
      );
    }
  }

  /**
   * Drain Chromium's stderr for as long as it runs (it must never block on a
   * full pipe), keeping the last lines; resolves to the DevTools URL it
   * prints, or fails if it exits first.
   */
  #readStderr(): Promise<string> {
    const url = Promise.withResolvers<string>();
    this.#drained = (async () => {
      const lines = this.#child.stderr.pipeThrough(new TextDecoderStream())
        .getReader();
      let buffer = "";
      try {
        while (true) {
          const { value, done } = await lines.read();
          if (done) break;
          buffer += value;
          const parts = buffer.split("\n");
          buffer = parts.pop() ?? "";
          for (const line of parts.filter(Boolean)) {
            this.#stderr.push(line);
            if (this.#stderr.length > 50) this.#stderr.shift();
            const m = /DevTools listening on (ws:\/\/\S+)/.exec(line);
            if (m) url.resolve(m[1]);
          }
        }
      } catch {
        // the process went away
      }
      url.reject(new Error("Chromium exited before listening"));
    })();
    return url.promise;
  }

  /**
   * A new tab at about:blank, at 1360×1000, collecting the page's
   * {@link Page.problems} from the start.
   */
  async newPage(opts: PageOptions = {}): Promise<Page> {
    const cdp = this.#cdp!;
    const { targetId } = await cdp.send<{ targetId: string }>(
      "Target.createTarget",
      { url: "about:blank" },
    );
    const { sessionId } = await cdp.send<{ sessionId: string }>(
      "Target.attachToTarget",
      { targetId, flatten: true },
    );
    const page = new Page(cdp, sessionId);
    page.watch(opts.allowConsoleError);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Log.enable");
    await page.send("Emulation.setDeviceMetricsOverride", VIEWPORT);
    return page;
  }

  /** Quit Chromium (killed if it lingers), then remove its profile. */
  async close(): Promise<void> {
    await this.#cdp?.close();
    const exited = await settlesWithin(this.#child.status, 2000);
    if (!exited) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await this.#child.status;
    await this.#drained;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

/** One tab of the {@link Browser}. */
export class Page {
  /** What went wrong in the page: exceptions, console errors, dialogs. */
  readonly problems: string[] = [];
  #cdp: Cdp;
  #id: string;

  constructor(cdp: Cdp, id: string) {
    this.#cdp = cdp;
    this.#id = id;
  }

  /** Send a DevTools command to this page. */
  send<T = unknown>(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<T> {
    return this.#cdp.send<T>(method, params, this.#id);
  }

  /** Call `fn` on each `event` of this page; returns the unsubscribe. */
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

  /** Record the page's exceptions, console errors and dialogs (answered no). */
  watch(allowConsoleError?: RegExp): void {
    this.on("Runtime.exceptionThrown", (p) => {
      this.problems.push(`exception: ${JSON.stringify(p).slice(0, 300)}`);
    });
    this.on("Log.entryAdded", (p) => {
      const e = (p as { entry: { level: string; text: string } }).entry;
      if (e.level === "error" && !allowConsoleError?.test(e.text)) {
        this.problems.push(`console: ${e.text}`);
      }
    });
    this.on("Runtime.consoleAPICalled", (p) => {
      const c = p as { type: string; args: { value?: unknown }[] };
      if (c.type === "error") {
        this.problems.push(`console.error: ${JSON.stringify(c.args)}`);
      }
    });
    this.on("Page.javascriptDialogOpening", (p) => {
      this.problems.push(`dialog opened (XSS?): ${JSON.stringify(p)}`);
      this.send("Page.handleJavaScriptDialog", { accept: false }).catch(
        () => {},
      );
    });
  }

  /** `promise`, or a failure naming `what` at the deadline. */
  within<T>(what: string, promise: Promise<T>): Promise<T> {
    return within(this.#cdp.deadline, what, promise);
  }

  /** Poll `probe` until `done` holds, or fail at the deadline. */
  waitFor<T>(
    what: string,
    probe: () => Promise<T>,
    done: (value: T) => boolean,
  ): Promise<T> {
    return waitFor(this.#cdp.deadline, what, probe, done);
  }

  /** The next page load (ask before causing it; await with {@link within}). */
  nextLoad(): Promise<unknown> {
    return this.once("Page.loadEventFired");
  }

  /** Go to `url` and wait until it has loaded (`what`, if it times out). */
  async navigate(url: string, what: string): Promise<void> {
    const loaded = this.nextLoad();
    await this.send("Page.navigate", { url });
    await this.within(what, loaded);
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

  /** The text of the first element matching `selector`. */
  text(selector: string): Promise<string> {
    return this.evaluate(
      `document.querySelector(${JSON.stringify(selector)}).textContent`,
    );
  }

  /** How many elements match `selector`. */
  count(selector: string): Promise<number> {
    return this.evaluate(
      `document.querySelectorAll(${JSON.stringify(selector)}).length`,
    );
  }

  /** Click the first element matching `selector`. */
  async click(selector: string): Promise<void> {
    await this.evaluate(
      `document.querySelector(${JSON.stringify(selector)}).click()`,
    );
  }

  /** Wait until the text of `selector` matches `pattern`. */
  waitForText(
    selector: string,
    pattern: RegExp,
    what: string,
  ): Promise<string> {
    return this.waitFor(
      what,
      () => this.text(selector),
      (t) => pattern.test(t),
    );
  }

  /** A full-page PNG (at most 4000 px tall). */
  async screenshot(): Promise<Uint8Array> {
    const m = await this.send<{ cssContentSize: { height: number } }>(
      "Page.getLayoutMetrics",
    );
    await this.send("Emulation.setDeviceMetricsOverride", {
      ...VIEWPORT,
      height: Math.min(4000, Math.ceil(m.cssContentSize.height)),
    });
    const shot = await this.send<{ data: string }>("Page.captureScreenshot", {
      format: "png",
    });
    await this.send("Emulation.setDeviceMetricsOverride", VIEWPORT);
    return Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0));
  }
}
