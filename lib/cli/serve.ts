/**
 * `callsync serve`: the dashboard in the foreground until Ctrl-C.
 *
 * @module
 */
import { EXIT } from "../core/exit.ts";
import { serve, serveOptions } from "../dashboard/server.ts";
import type { CommandContext } from "./context.ts";
import { onStopSignals, writeStderrLine } from "./signals.ts";

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
  const removeListeners = onStopSignals(() => {
    ctx.log.info("Stopping the dashboard");
    stop.abort();
  }, () => {
    ctx.log.warn("Stopping now");
    Deno.exit(130);
  });
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
    removeListeners();
  }
  return EXIT.ok;
}
