/**
 * A headless Chromium for the browser test, from npm only: `puppeteer-core`
 * drives it, and `@sparticuz/chromium` ships the browser itself inside its
 * package (unpacked into the temp folder on first use; it needs no shared
 * library beyond glibc, expat and libgcc). A system Chromium is used instead
 * when `CHROMIUM_PATH` names one or `/usr/bin/chromium` exists.
 *
 * @module
 */
import chromium from "@sparticuz/chromium";
import puppeteer, { type Browser } from "puppeteer-core";

export type { Browser, Page } from "puppeteer-core";

/** Where a system Chromium is looked for (Debian's `chromium` package). */
export const SYSTEM_CHROMIUM = "/usr/bin/chromium";

/** Flags for a system Chromium that keep it quiet on a closed network. */
const SYSTEM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The viewport every page starts with. */
export const VIEWPORT = { width: 1360, height: 1000, deviceScaleFactor: 1 };

/**
 * Launch headless Chromium: the one `CHROMIUM_PATH` names, else
 * {@link SYSTEM_CHROMIUM} when present, else the npm-shipped build.
 */
export async function launchBrowser(): Promise<Browser> {
  const system = Deno.env.get("CHROMIUM_PATH") ??
    await present(SYSTEM_CHROMIUM);
  const [executablePath, args] = system
    ? [system, SYSTEM_ARGS]
    : [await chromium.executablePath(), chromium.args];
  return await puppeteer.launch({
    executablePath,
    args,
    headless: true,
    defaultViewport: VIEWPORT,
    // Deno's test sanitizers: no signal handlers left behind.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
}

async function present(path: string): Promise<string | undefined> {
  try {
    return (await Deno.stat(path)).isFile ? path : undefined;
  } catch {
    return undefined;
  }
}
