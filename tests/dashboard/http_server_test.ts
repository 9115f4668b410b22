import assert from "node:assert/strict";
import net from "node:net";
import {
  type HttpLimits,
  type HttpServer,
  serveHttp,
} from "../../lib/dashboard/http_server.ts";

const encoder = new TextEncoder();

/** A server on 127.0.0.1 answering "ok <path>", with `limits`. */
function start(limits: Partial<HttpLimits> = {}): HttpServer & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = serveHttp(
    listener,
    { limits },
    (req) => new Response(`ok ${new URL(req.url).pathname}`),
  );
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => server.close(),
  });
}

/** A raw connection from `local` (a 127.0.0.0/8 address), or null if refused. */
function connectFrom(port: number, local = "127.0.0.1"): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, localAddress: local });
    s.on("connect", () => resolve(s));
    s.on("error", reject);
  });
}

/** Resolves with what the server sent once it closed `s`, or "open" after `ms`. */
function closedWithin(s: net.Socket, ms: number): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    const timer = setTimeout(() => resolve("open"), ms);
    s.on("data", (d) => got += d.toString());
    s.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on("error", () => {});
  });
}

/** A whole GET through a raw connection; resolves to the answer's text. */
async function get(port: number, path: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      encoder.encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`),
    );
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    for (let n; (n = await conn.read(buf)) !== null;) {
      chunks.push(buf.slice(0, n));
    }
    return new TextDecoder().decode(
      new Uint8Array(chunks.flatMap((c) => [...c])),
    );
  } finally {
    conn.close();
  }
}

Deno.test("a request is answered, with Content-Length and Connection: close", async () => {
  await using server = await start();
  const answer = await get(server.addr.port, "/hello");
  assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(answer, /\r\ncontent-length: 9\r\n/);
  assert.match(answer, /\r\nconnection: close\r\n/);
  assert.ok(answer.endsWith("\r\n\r\nok /hello"));
});

Deno.test("a connection that sends no request head is cut off at the head deadline", async () => {
  await using server = await start({ headerTimeoutMs: 300 });
  const s = await connectFrom(server.addr.port);
  const started = Date.now();
  assert.notEqual(await closedWithin(s, 5000), "open");
  assert.ok(Date.now() - started >= 250, "not before its deadline");
  assert.equal(server.stats.headerTimeouts, 1);
  s.destroy();
});

Deno.test("a head trickled a byte at a time (slowloris) is cut off at the head deadline", async () => {
  await using server = await start({ headerTimeoutMs: 500 });
  const s = await connectFrom(server.addr.port);
  s.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  const closed = closedWithin(s, 5000);
  const trickle = setInterval(() => s.write("X"), 100);
  try {
    assert.notEqual(await closed, "open");
  } finally {
    clearInterval(trickle);
    s.destroy();
  }
  assert.equal(server.stats.headerTimeouts, 1);
});

Deno.test("over the per-client cap a connection is refused at once with 503", async () => {
  await using server = await start({ maxPerClient: 3 });
  const idle = await Promise.all(
    [1, 2, 3].map(() => connectFrom(server.addr.port)),
  );
  const extra = await connectFrom(server.addr.port);
  assert.match(await closedWithin(extra, 2000), /^HTTP\/1\.1 503 /);
  // Another client is still served.
  const other = await connectFrom(server.addr.port, "127.0.0.2");
  other.write(`GET /x HTTP/1.1\r\nHost: 127.0.0.1:${server.addr.port}\r\n\r\n`);
  assert.match(await closedWithin(other, 2000), /ok \/x$/);
  for (const s of [...idle, extra, other]) s.destroy();
});

Deno.test("when full, the oldest silent connection makes room for a new one", async () => {
  await using server = await start({ maxConnections: 4 });
  const idle = [];
  for (let i = 0; i < 4; i++) {
    idle.push(await connectFrom(server.addr.port, `127.0.1.${i + 1}`));
  }
  const oldestClosed = closedWithin(idle[0], 2000);
  assert.match(
    await get(server.addr.port, "/still-served"),
    /ok \/still-served$/,
  );
  assert.notEqual(await oldestClosed, "open");
  assert.ok(server.stats.evicted >= 1);
  for (const s of idle) s.destroy();
});

Deno.test("a client still sending a body over the cap gets its 413, not a reset", async () => {
  await using server = await start({ maxBodyBytes: 64 * 1024 });
  // Far more than the socket buffers hold: the server answers while the
  // client is still sending, and must not close on unread bytes (a reset,
  // which on Windows drops the answer the client already has).
  for (const size of [70_000, 900_000]) {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/api`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "x".repeat(size),
    });
    assert.equal(res.status, 413, `${size} bytes`);
    assert.match(await res.text(), /over 65536 bytes/);
  }
});

Deno.test("bodies over the cap, chunked bodies and malformed heads are refused before the handler", async () => {
  await using server = await start({ maxBodyBytes: 10 });
  const send = async (head: string) => {
    const s = await connectFrom(server.addr.port);
    s.write(head);
    const answer = await closedWithin(s, 2000);
    s.destroy();
    return answer;
  };
  const host = `Host: 127.0.0.1:${server.addr.port}`;
  assert.match(
    await send(`POST / HTTP/1.1\r\n${host}\r\nContent-Length: 11\r\n\r\n`),
    /^HTTP\/1\.1 413 /,
  );
  assert.match(
    await send(
      `POST / HTTP/1.1\r\n${host}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    ),
    /^HTTP\/1\.1 411 /,
  );
  assert.match(await send(`GET / HTTP/1.1\r\n\r\n`), /^HTTP\/1\.1 400 /);
  assert.match(
    await send(`GET / HTTP/1.1\r\n${host}\r\nBad Header: x\r\n\r\n`),
    /^HTTP\/1\.1 400 /,
  );
  assert.match(
    await send(`GET http://x/ HTTP/1.1\r\n${host}\r\n\r\n`),
    /^HTTP\/1\.1 400 /,
  );
});
