/**
 * A TCP delay line on 127.0.0.1: every byte is forwarded to the target
 * `oneWayMs` later in each direction (so a round trip costs 2 × oneWayMs),
 * and a new connection reaches the target only one round trip after it was
 * accepted (the TCP handshake a real network would charge). Bandwidth is not
 * limited, and ACKs stay local: Nagle's algorithm is not emulated. The
 * kernel here has no netem; this is the benchmark's stand-in. A test can
 * slow some handshakes alone (`handshakeMs`), to make a client's new
 * connections slower than its requests.
 *
 * @module
 */

/** A running delay line. */
export interface DelayLine extends AsyncDisposable {
  port: number;
  /** Connections accepted so far. */
  connections: number;
}

/** Options of {@link startDelayLine}. */
export interface DelayLineOptions {
  /**
   * How long the `index`th connection accepted (from 0) waits before its
   * first byte is forwarded; default one round trip.
   */
  handshakeMs?: (index: number) => number;
}

/**
 * Forward `127.0.0.1:<port>` to `127.0.0.1:<targetPort>` with latency.
 *
 * @example
 * ```ts
 * // Every connection but the first waits 200 ms before any byte moves.
 * await using line = startDelayLine(crm.port, 0, {
 *   handshakeMs: (i) => i === 0 ? 0 : 200,
 * });
 * ```
 */
export function startDelayLine(
  targetPort: number,
  oneWayMs: number,
  opts: DelayLineOptions = {},
): DelayLine {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const pipes = new Set<Promise<void>>();
  const line: DelayLine = {
    port: (listener.addr as Deno.NetAddr).port,
    connections: 0,
    [Symbol.asyncDispose]: async () => {
      listener.close();
      for (const c of open) closeQuietly(c);
      await accepting;
      await Promise.allSettled(pipes);
    },
  };
  const accepting = (async () => {
    try {
      for await (const client of listener) {
        const index = line.connections++;
        const waitMs = opts.handshakeMs?.(index) ?? 2 * oneWayMs;
        const p = connect(client, targetPort, oneWayMs, waitMs, open);
        pipes.add(p);
        p.finally(() => pipes.delete(p));
      }
    } catch {
      // closed
    }
  })();
  return line;
}

async function connect(
  client: Deno.TcpConn,
  targetPort: number,
  oneWayMs: number,
  waitMs: number,
  open: Set<Deno.Conn>,
): Promise<void> {
  open.add(client);
  client.setNoDelay(true);
  const start = performance.now() + waitMs;
  let server: Deno.TcpConn | undefined;
  try {
    server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    open.add(server);
    server.setNoDelay(true);
    await Promise.all([
      pump(client, server, oneWayMs, start),
      pump(server, client, oneWayMs, start),
    ]);
  } catch {
    // either side went away
  } finally {
    for (const c of [client, server]) {
      if (c) {
        open.delete(c);
        closeQuietly(c);
      }
    }
  }
}

/** Copy `from` → `to`, each chunk delivered `delayMs` after it arrived. */
async function pump(
  from: Deno.Conn,
  to: Deno.Conn,
  delayMs: number,
  notBefore: number,
): Promise<void> {
  const queue: { at: number; bytes: Uint8Array }[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const reading = (async () => {
    try {
      while (true) {
        const buf = new Uint8Array(256 * 1024);
        const n = await from.read(buf);
        if (n === null) break;
        const at = Math.max(performance.now() + delayMs, notBefore);
        queue.push({ at, bytes: buf.subarray(0, n) });
        wake?.();
      }
    } catch {
      // this side went away (or the line is closing): end as at EOF
    } finally {
      ended = true;
      wake?.();
    }
  })();
  try {
    while (true) {
      const item = queue.shift();
      if (!item) {
        if (ended) break;
        await new Promise<void>((r) => wake = r);
        wake = undefined;
        continue;
      }
      const wait = item.at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (let at = 0; at < item.bytes.length;) {
        at += await to.write(item.bytes.subarray(at));
      }
    }
    await to.closeWrite().catch(() => {});
  } finally {
    await reading;
  }
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch {
    // closed
  }
}
