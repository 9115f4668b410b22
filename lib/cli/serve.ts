/**
 * `callsync serve`: the dashboard in the foreground until Ctrl-C.
 *
 * @module
 */
import { EXIT } from "../core/exit.ts";
import { serve, serveOptions } from "../dashboard/server.ts";
import type { CommandContext } from "./context.ts";

/**
 * `serve`: run the dashboard until SIGINT/SIGTERM (Ctrl-C). A run in
 * progress is let finish; a second signal stops at once (safe: a kill repeats
 * at most the one request in flight).
 */
export async function serveCommand(
  ctx: CommandContext<"serve">,
): Promise<number> {
  const { host, port, token, publicUrl } = ctx.cli;
  const opts = serveOptions(
    { host, port, token, publicUrl },
    Deno.env.toObject(),
  );
  const stop = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals === 1) {
      ctx.log.info("Stopping the dashboard");
      stop.abort();
    } else {
      ctx.log.warn("Stopping now");
      Deno.exit(130);
    }
  };
  const names: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  for (const s of names) Deno.addSignalListener(s, onSignal);
  try {
    const dash = serve(ctx.cfg, ctx.log, {
      ...opts,
      signal: stop.signal,
      echo: writeStderrLine,
    });
    await dash.finished;
    if (dash.running) {
      ctx.log.info(
        "Waiting for the run in progress to finish (Ctrl-C again to stop now)",
      );
    }
    await dash.idle();
  } finally {
    for (const s of names) Deno.removeSignalListener(s, onSignal);
  }
  return EXIT.ok;
}

const encoder = new TextEncoder();

/** Write one line to stderr, synchronously and whole. */
function writeStderrLine(line: string): void {
  const bytes = encoder.encode(line + "\n");
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stderr.writeSync(bytes.subarray(written));
  }
}
