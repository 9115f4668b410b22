/**
 * A raw TCP (optionally TLS) server on 127.0.0.1 that hands each request's
 * head to a script, for answers no well-behaved server gives: a trickle,
 * endless `100 Continue`, an answer before the body is read.
 *
 * @module
 */

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A running raw server. */
export interface RawServer extends AsyncDisposable {
  url: string;
  /** Request heads, in arrival order. */
  heads: string[];
  /** Connections accepted. */
  connections: number;
}

/** What a script can do with a connection. */
export interface RawExchange {
  head: string;
  /** Write text or bytes to the client. */
  write(data: string | Uint8Array): Promise<void>;
  /** Read and discard the request body (by Content-Length). */
  drainBody(): Promise<void>;
  /** Resolves when the server is closing. */
  closing: Promise<void>;
  /** Wait `ms`; resolves false instead, at once, when the server closes. */
  pause(ms: number): Promise<boolean>;
}

/** Start a server running `script` for every request head. */
export function startRawServer(
  script: (x: RawExchange) => Promise<void>,
  tls?: { cert: string; key: string },
): RawServer {
  const options = { hostname: "127.0.0.1", port: 0 };
  const listener = tls
    ? Deno.listenTls({ ...options, ...tls })
    : Deno.listen(options);
  const conns = new Set<Deno.Conn>();
  let close!: () => void;
  const closing = new Promise<void>((r) => close = r);
  const server: RawServer = {
    url: `${tls ? "https" : "http"}://localhost:${
      (listener.addr as Deno.NetAddr).port
    }`,
    heads: [],
    connections: 0,
    [Symbol.asyncDispose]: async () => {
      close();
      listener.close();
      for (const c of conns) closeQuietly(c);
      await accepting;
      await Promise.allSettled(handlers);
    },
  };
  const handlers = new Set<Promise<void>>();
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        server.connections++;
        conns.add(conn);
        const h = serve(conn, server, script, closing).finally(() => {
          conns.delete(conn);
          closeQuietly(conn);
        });
        handlers.add(h);
      }
    } catch {
      // listener closed
    }
  })();
  return server;
}

async function serve(
  conn: Deno.Conn,
  server: RawServer,
  script: (x: RawExchange) => Promise<void>,
  closing: Promise<void>,
): Promise<void> {
  let buffered = new Uint8Array(0);
  const chunk = new Uint8Array(1 << 16);
  const read = async () => {
    const n = await conn.read(chunk);
    if (n === null) return false;
    const next = new Uint8Array(buffered.length + n);
    next.set(buffered);
    next.set(chunk.subarray(0, n), buffered.length);
    buffered = next;
    return true;
  };
  try {
    while (true) {
      let end: number;
      while ((end = decoder.decode(buffered).indexOf("\r\n\r\n")) < 0) {
        if (!(await read())) return;
      }
      const head = decoder.decode(buffered).slice(0, end);
      buffered = buffered.slice(encoder.encode(head).length + 4);
      server.heads.push(head);
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      let drained = false;
      await script({
        head,
        closing,
        pause: (ms) => {
          let timer: ReturnType<typeof setTimeout> | undefined;
          return Promise.race([
            closing.then(() => false),
            new Promise<boolean>((r) => timer = setTimeout(() => r(true), ms)),
          ]).finally(() => clearTimeout(timer));
        },
        write: async (data) => {
          const bytes = typeof data === "string" ? encoder.encode(data) : data;
          for (let at = 0; at < bytes.length;) {
            at += await conn.write(bytes.subarray(at));
          }
        },
        drainBody: async () => {
          drained = true;
          while (buffered.length < length) if (!(await read())) return;
          buffered = buffered.slice(length);
        },
      });
      if (!drained) return; // the body was not read: the connection is done
    }
  } catch {
    // the client went away
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
