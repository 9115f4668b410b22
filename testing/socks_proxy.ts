/**
 * A real SOCKS5 proxy (npm `simple-socks`) on 127.0.0.1 that records the
 * destinations it connected to. It relays only to loopback, and with `user`
 * set takes only those credentials (RFC 1929).
 *
 * @module
 */
import type { Socket } from "node:net";
import socks from "simple-socks";
import { listenOnLoopback } from "./loopback_server.ts";

/** A running SOCKS5 proxy. */
export interface SocksProxy extends AsyncDisposable {
  /** `socks5://127.0.0.1:PORT` (no credentials). */
  url: string;
  /** Destinations (`host:port`) connected to, in order. */
  connects: string[];
  /** Handshakes refused for their credentials. */
  refused: number;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1)$/;

/** Start a SOCKS5 proxy; `user`/`password` make it require them. */
export async function startSocksProxy(
  opts: { user?: string; password?: string } = {},
): Promise<SocksProxy> {
  const seen = { connects: [] as string[], refused: 0 };
  const server = socks.createServer({
    authenticate: opts.user === undefined
      ? undefined
      : (user, pass, _s, cb) => {
        if (user === opts.user && pass === (opts.password ?? "")) return cb();
        seen.refused++;
        cb(new Error("wrong credentials"));
      },
    connectionFilter: (destination, _origin, cb) =>
      cb(
        LOOPBACK.test(destination.address)
          ? undefined
          : new Error("loopback only"),
      ),
  });
  const { port, track, close } = await listenOnLoopback(server);
  server.on(
    "proxyConnect",
    (info: { address: string; port: number }, destination: Socket) => {
      seen.connects.push(`${info.address}:${info.port}`);
      track(destination);
    },
  );
  return Object.assign(seen, {
    url: `socks5://127.0.0.1:${port}`,
    [Symbol.asyncDispose]: close,
  });
}
