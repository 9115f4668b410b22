/**
 * `--metrics-listen HOST:PORT`: Prometheus scrapes `GET /metrics` (text
 * format 0.0.4); every other path is a 404.
 *
 * @module
 */
import type { ListenAddress } from "../config/config.ts";
import { errorMessage, UsageError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";

/** A running metrics endpoint. */
export interface MetricsServer extends AsyncDisposable {
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serve `render()` at `/metrics` on `addr`. Throws {@link UsageError} when
 * the address cannot be used.
 */
export function serveMetrics(
  addr: ListenAddress,
  render: () => string,
  log: Logger,
): MetricsServer {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: addr.host,
      port: addr.port,
      onListen: () => {},
      onError: (e) => {
        log.error(`Metrics endpoint: ${errorMessage(e)}`);
        return new Response("internal error\n", { status: 500 });
      },
    }, (req) => {
      const path = new URL(req.url).pathname;
      if (path !== "/metrics") {
        return new Response("not found: scrape /metrics\n", { status: 404 });
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        return new Response("use GET\n", {
          status: 405,
          headers: { allow: "GET" },
        });
      }
      return new Response(render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    });
  } catch (e) {
    throw new UsageError(
      `cannot listen on ${addr.host}:${addr.port} for --metrics-listen: ${
        errorMessage(e)
      }; choose another address`,
    );
  }
  const host = addr.host.includes(":") ? `[${addr.host}]` : addr.host;
  const url = `http://${host}:${server.addr.port}/metrics`;
  log.info(`Metrics on ${url}`);
  let closing: Promise<void> | undefined;
  const close = () => closing ??= server.shutdown().then(() => server.finished);
  return { url, close, [Symbol.asyncDispose]: close };
}
