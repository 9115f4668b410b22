/**
 * A real SOCKS5 proxy (npm `simple-socks`) on 127.0.0.1 that records the
 * destinations it connected to. It relays only to loopback, and with `user`
 * set takes only those credentials (RFC 1929).
 *
 * @module
 */
import type { AddressInfo, Socket } from "node:net";
import socks from "simple-socks";

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
  const p: SocksProxy = {
    url: "",
    connects: [],
    refused: 0,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const sockets = new Set<Socket>();
  const server = socks.createServer({
    authenticate: opts.user === undefined
      ? undefined
      : (user, pass, _s, cb) => {
        if (user === opts.user && pass === (opts.password ?? "")) return cb();
        p.refused++;
        cb(new Error("wrong credentials"));
      },
    connectionFilter: (destination, _origin, cb) =>
      cb(
        LOOPBACK.test(destination.address)
          ? undefined
          : new Error("loopback only"),
      ),
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on(
    "proxyConnect",
    (info: { address: string; port: number }, destination: Socket) => {
      p.connects.push(`${info.address}:${info.port}`);
      sockets.add(destination);
      destination.on("close", () => sockets.delete(destination));
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  p.url = `socks5://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return p;
}
