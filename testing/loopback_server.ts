/**
 * A Node `net` server (a proxy or an express app from npm) listening on
 * 127.0.0.1, its sockets kept so that a test can close it at once.
 *
 * @module
 */
import type { AddressInfo, Server, Socket } from "node:net";

/** A listening server, and what closes it. */
export interface LoopbackServer {
  port: number;
  /** Also destroy `socket` (one the server opened itself) when closing. */
  track(socket: Socket): void;
  /** Destroy every open socket, then close the server. */
  close(): Promise<void>;
}

/**
 * Listen with `server` on a free port of 127.0.0.1.
 *
 * @example
 * ```ts
 * const listening = await listenOnLoopback(http.createServer());
 * await listening.close();
 * ```
 */
export async function listenOnLoopback(
  server: Server,
): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  };
  server.on("connection", track);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    track,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
