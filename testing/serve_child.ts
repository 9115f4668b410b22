/**
 * `callsync serve` as a child process, for tests that reach the dashboard
 * over HTTP while other processes work on the same folders.
 *
 * @module
 */
import { cliArgs, cliCommand } from "./cli.ts";
import { killHard } from "./platform.ts";

/** `callsync serve` running as a child process. */
export interface ServeChild extends AsyncDisposable {
  url: string;
  port: number;
  alive(): boolean;
  stderr(): string;
}

/**
 * Start `callsync serve --port 0 …args --base-dir baseDir` with `env`, and
 * resolve once it says where it listens. With `nofile`, the child's limit of
 * open files (through `sh -c ulimit`, so POSIX only). Disposing kills it.
 */
export async function serveChild(
  baseDir: string,
  args: string[],
  env: Record<string, string>,
  nofile?: number,
): Promise<ServeChild> {
  const serve = ["serve", "--port", "0", ...args, "--base-dir", baseDir];
  const command = nofile === undefined
    ? cliCommand(serve, env)
    : new Deno.Command("sh", {
      // The fd limit of this child only: the test keeps its own.
      args: [
        "-c",
        `ulimit -n ${nofile} && exec "$@"`,
        "sh",
        Deno.execPath(),
        ...cliArgs(serve),
      ],
      env: { ...Deno.env.toObject(), ...env },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    });
  const proc = command.spawn();
  let err = "";
  let exited = false;
  const status = proc.status.finally(() => exited = true);
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const c of proc.stderr) err += dec.decode(c, { stream: true });
  })();
  const stdoutDone = nofile === undefined
    ? proc.stdout.cancel()
    : Promise.resolve();
  const stop = async () => {
    await killHard(proc); // also when it has exited already
    await status;
    await reading;
    await stdoutDone;
  };
  const deadline = Date.now() + 30_000;
  let url = "";
  while (!url && !exited && Date.now() < deadline) {
    url = /Dashboard on (http:\/\/\S+?)\/?(?:\s|$)/.exec(err)?.[1] ?? "";
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!url) {
    await stop();
    throw new Error(`serve did not start:\n${err}`);
  }
  return {
    url,
    port: Number(new URL(url).port),
    alive: () => !exited,
    stderr: () => err,
    [Symbol.asyncDispose]: stop,
  };
}
