/**
 * What the long-running commands (`serve`, `watch`) share: the stop signals
 * of the platform, and whole log lines on stderr.
 *
 * @module
 */

/**
 * The signals that ask a process to stop: SIGINT and SIGTERM on Linux and
 * macOS; SIGINT (Ctrl-C) and SIGBREAK (Ctrl-Break) on Windows, where Deno
 * accepts no other (and Task Scheduler's "End" terminates without one).
 */
export function stopSignals(): Deno.Signal[] {
  return Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
}

/**
 * Call `first` on the first stop signal and `again` on every later one.
 * Returns a function that removes the listeners.
 */
export function onStopSignals(
  first: () => void,
  again: () => void,
): () => void {
  let signals = 0;
  const listener = () => (++signals === 1 ? first() : again());
  const names = stopSignals();
  for (const s of names) Deno.addSignalListener(s, listener);
  return () => {
    for (const s of names) Deno.removeSignalListener(s, listener);
  };
}

const encoder = new TextEncoder();

/** Write one line to stderr, synchronously and whole. */
export function writeStderrLine(line: string): void {
  const bytes = encoder.encode(line + "\n");
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stderr.writeSync(bytes.subarray(written));
  }
}
