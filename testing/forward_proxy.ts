/**
 * A real forward proxy (npm `proxy`, "think Squid") on 127.0.0.1 that
 * records what passed it: CONNECT tunnels (https) and forwarded requests
 * (plain http). It relays only to loopback addresses, and with `user` set
 * answers 407 to requests without those Basic credentials.
 *
 * @module
 */
import * as http from "node:http";
import { createProxy } from "proxy";
import { listenOnLoopback } from "./loopback_server.ts";

/** A running proxy. */
export interface ForwardProxy extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` (no credentials). */
  url: string;
  port: number;
  /** CONNECT targets (`host:port`), in order. */
  connects: string[];
  /** Absolute URLs of requests forwarded in the clear. */
  forwarded: string[];
  /** Requests answered 407 (or 403 for a non-loopback target). */
  refused: number;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

/** Start a proxy; `user`/`password` make it require Basic credentials. */
export async function startForwardProxy(
  opts: { user?: string; password?: string } = {},
): Promise<ForwardProxy> {
  const server = createProxy(http.createServer());
  const seen = {
    connects: [] as string[],
    forwarded: [] as string[],
    refused: 0,
  };
  const want = opts.user === undefined
    ? undefined
    : "Basic " + btoa(`${opts.user}:${opts.password ?? ""}`);
  server.authenticate = (req: http.IncomingMessage) => {
    const target = req.method === "CONNECT"
      ? req.url ?? ""
      : URL.parse(req.url ?? "")?.host ?? "";
    const ok = LOOPBACK.test(target) &&
      (want === undefined || req.headers["proxy-authorization"] === want);
    if (!ok) seen.refused++;
    else if (req.method === "CONNECT") seen.connects.push(target);
    else seen.forwarded.push(req.url ?? "");
    return ok;
  };
  const { port, close } = await listenOnLoopback(server);
  return Object.assign(seen, {
    port,
    url: `http://127.0.0.1:${port}`,
    [Symbol.asyncDispose]: close,
  });
}
