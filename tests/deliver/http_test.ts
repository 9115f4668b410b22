/**
 * The HTTP client on raw Deno connections (lib/deliver/http.ts): response framings a
 * real CRM or proxy may use, early answers, caps, and a large streamed body
 * arriving byte for byte (its read buffers are reused).
 */
import { equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { concatBytes } from "../../lib/core/bytes.ts";
import {
  HttpNetworkError,
  httpRequest,
  type HttpResponse,
  HttpTimeoutError,
} from "../../lib/deliver/http.ts";
import {
  fileMultipart,
  type MultipartBody,
} from "../../lib/deliver/multipart.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** What the scripted server saw of one request. */
interface Seen {
  head: string;
  body: Uint8Array;
}

/**
 * A one-connection-at-a-time server: reads a request (head, then
 * Content-Length bytes unless `readBody` is false), then writes `answer`.
 */
async function withServer(
  answer: (seen: Seen, conn: Deno.Conn) => Promise<void>,
  fn: (url: string, seen: Seen[]) => Promise<void>,
  opts: { readBody?: boolean } = {},
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: Seen[] = [];
  const conns = new Set<Deno.Conn>();
  const served = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      try {
        let buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);
        let end = -1;
        while ((end = decoder.decode(buf).indexOf("\r\n\r\n")) < 0) {
          const chunk = new Uint8Array(65536);
          const n = await conn.read(chunk);
          if (n === null) break;
          buf = concatBytes([buf, chunk.subarray(0, n)]);
        }
        const head = decoder.decode(buf).slice(0, end);
        let body: Uint8Array<ArrayBuffer> = buf.subarray(
          encoder.encode(head).length + 4,
        );
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (opts.readBody !== false) {
          const parts = [body];
          let got = body.length;
          while (got < length) {
            const chunk = new Uint8Array(1 << 20);
            const n = await conn.read(chunk);
            if (n === null) break;
            parts.push(chunk.slice(0, n));
            got += n;
          }
          body = concatBytes(parts);
        }
        const s = { head, body };
        seen.push(s);
        await answer(s, conn);
      } catch {
        // the client went away
      } finally {
        conns.delete(conn);
        try {
          conn.close();
        } catch {
          // closed already
        }
      }
    }
  })();
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    await fn(`http://127.0.0.1:${port}/apis/x?y=1`, seen);
  } finally {
    listener.close();
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed already
      }
    }
    await served;
  }
}

async function write(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(bytes.subarray(at));
  }
}

const post = (url: string, body = encoder.encode('{"a":1}')) =>
  httpRequest({
    url,
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": "k" },
    body,
    idleTimeoutMs: 5000,
  });

Deno.test("httpRequest() sends one request per connection with Content-Length and reads a Content-Length answer", async () => {
  await withServer(
    (_s, conn) =>
      write(
        conn,
        'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\n{"ok":true}',
      ),
    async (url, seen) => {
      const res = await post(url);
      equal(res.status, 201);
      equal(res.body, '{"ok":true}');
      equal(res.headers["x-a"], "1, 2");
      equal(res.headers["content-type"], "application/json");
      const head = seen[0].head;
      ok(head.startsWith("POST /apis/x?y=1 HTTP/1.1\r\n"), head);
      ok(/\r\nhost: 127\.0\.0\.1:\d+/i.test(head), head);
      ok(/\r\ncontent-length: 7/i.test(head), head);
      ok(/\r\nconnection: close/i.test(head), head);
      ok(/\r\nidempotency-key: k/i.test(head), head);
      equal(decoder.decode(seen[0].body), '{"a":1}');
    },
  );
});

Deno.test("httpRequest() reads chunked answers, skips 100 Continue, and reads to EOF without a length", async () => {
  await withServer(
    (_s, conn) =>
      write(
        conn,
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
          '5;ext=1\r\n{"suc\r\n' +
          'b\r\ncess":true}\r\n0\r\nX-Trailer: t\r\n\r\n',
      ),
    async (url) => {
      const res = await post(url);
      equal(res.status, 200);
      equal(res.body, '{"success":true}');
    },
  );
  await withServer(
    (_s, conn) => write(conn, "HTTP/1.0 200 OK\r\n\r\nuntil the end"),
    async (url) => {
      equal((await post(url)).body, "until the end");
    },
  );
  await withServer(
    (_s, conn) => write(conn, "HTTP/1.1 204 No Content\r\n\r\n"),
    async (url) => {
      const res = await post(url);
      equal(res.status, 204);
      equal(res.body, "");
    },
  );
});

Deno.test("httpRequest() keeps at most maxResponseBytes of a body and stops reading", async () => {
  await withServer(
    async (_s, conn) => {
      await write(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n");
      const block = new Uint8Array(65536).fill(0x61);
      for (let i = 0; i < 1600; i++) await conn.write(block); // ~100 MB
    },
    async (url) => {
      const res = await httpRequest({
        url,
        method: "GET",
        headers: {},
        idleTimeoutMs: 5000,
        maxResponseBytes: 1000,
      });
      equal(res.body.length, 1000);
    },
  );
});

Deno.test("httpRequest() takes an answer sent before the body is through (413) and stops sending", async () => {
  const dir = await Deno.makeTempDir({ prefix: "callsync-http-" });
  try {
    const path = join(dir, "big.ogg");
    const size = 64 << 20; // far more than the socket buffers hold
    await Deno.writeFile(path, new Uint8Array(size));
    await withServer(
      (_s, conn) =>
        write(
          conn,
          "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\n\r\ntoo large",
        ),
      async (url) => {
        const { res } = await postFile(url, "big.ogg", path, size);
        equal(res.status, 413);
        equal(res.body, "too large");
      },
      { readBody: false },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("httpRequest() streams a multi-megabyte file byte for byte", async () => {
  const dir = await Deno.makeTempDir({ prefix: "callsync-http-" });
  try {
    const path = join(dir, "rec.ogg");
    const size = 5 * (1 << 20) + 12345; // several reused read buffers
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 20) * 7) & 0xff;
    await Deno.writeFile(path, bytes);
    await withServer(
      (_s, conn) =>
        write(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"),
      async (url, seen) => {
        const { res, body } = await postFile(url, "rec.ogg", path, size);
        equal(res.status, 200);
        const got = seen[0].body;
        equal(got.length, body.length);
        const start = decoder.decode(got.subarray(0, 300)).indexOf("\r\n\r\n") +
          4;
        const file = got.slice(start, start + size);
        const digest = async (b: Uint8Array<ArrayBuffer>) =>
          [...new Uint8Array(await crypto.subtle.digest("SHA-256", b))]
            .join(",");
        equal(await digest(file), await digest(bytes));
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("httpRequest() fails as a network error on refusal or a close before the answer, and times out on silence", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await rejects(post(`http://127.0.0.1:${port}/x`), HttpNetworkError);

  await withServer(async () => {}, async (url) => {
    await rejects(post(url), HttpNetworkError);
  });
  await withServer(
    (_s, conn) => write(conn, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{"),
    async (url) => {
      await rejects(post(url), HttpNetworkError);
    },
  );
  await withServer(
    () => new Promise((r) => setTimeout(r, 1500)),
    async (url) => {
      const started = performance.now();
      await rejects(
        httpRequest({
          url,
          method: "POST",
          headers: {},
          body: encoder.encode("{}"),
          idleTimeoutMs: 300,
        }),
        (e: unknown) =>
          e instanceof HttpTimeoutError &&
          /no progress for 0\.3 s from 127\.0\.0\.1:/.test(e.message),
      );
      ok(performance.now() - started < 1400);
    },
  );
});

Deno.test("httpRequest() refuses header values that would split the request", async () => {
  await rejects(
    httpRequest({
      url: "http://127.0.0.1:9/x",
      method: "GET",
      headers: { authorization: "Bearer a\r\nX-Evil: 1" },
      idleTimeoutMs: 1000,
    }),
    TypeError,
  );
  await rejects(
    httpRequest({
      url: "ftp://127.0.0.1/x",
      method: "GET",
      headers: {},
      idleTimeoutMs: 1000,
    }),
    TypeError,
  );
});

/** POST `size` bytes of `path` as a multipart upload named `name`. */
async function postFile(
  url: string,
  name: string,
  path: string,
  size: number,
): Promise<{ res: HttpResponse; body: MultipartBody }> {
  const body = fileMultipart("file", name, path, size, "audio/ogg");
  const res = await httpRequest({
    url,
    method: "POST",
    headers: { "content-type": body.contentType },
    body,
    idleTimeoutMs: 5000,
  });
  return { res, body };
}
