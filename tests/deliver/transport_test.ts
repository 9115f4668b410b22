/**
 * The fetch transport against real servers on 127.0.0.1: Deno's TLS server
 * with a test CA, the npm `proxy` forward proxy, express + multer, and raw
 * servers for answers no good server gives.
 */
import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import {
  NetworkError,
  ProxyAuthError,
  RedirectError,
  RequestTimeoutError,
  Transport,
  type TransportSettings,
} from "../../lib/deliver/transport.ts";
import { MultipartFile } from "../../lib/deliver/multipart.ts";
import { FileChangedError, openSource } from "../../lib/source/files.ts";
import { parseProxy } from "../../lib/config/proxy.ts";
import { makeTestPki, type TestPki } from "../../testing/test_ca.ts";
import { startForwardProxy } from "../../testing/forward_proxy.ts";
import { startSocksProxy } from "../../testing/socks_proxy.ts";
import { startMultipartServer } from "../../testing/multipart_server.ts";
import { startRawServer } from "../../testing/raw_server.ts";
import { startDelayLine } from "../../testing/delay_line.ts";

const pki: TestPki = await makeTestPki(["localhost"]);
const encoder = new TextEncoder();

function transport(extra: Partial<TransportSettings> = {}): Transport {
  return new Transport({
    proxyVariables: {},
    caCerts: [pki.caCert],
    ...extra,
  });
}

const json = (body: unknown) => encoder.encode(JSON.stringify(body));

function post(
  t: Transport,
  url: string,
  opts: { idleMs?: number; deadlineMs?: number } = {},
) {
  return t.send({
    url,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: json({ a: 1 }),
    idleTimeoutMs: opts.idleMs ?? 5000,
    deadlineMs: opts.deadlineMs ?? 10_000,
  });
}

/** A Deno.serve HTTPS server (the test CA's certificate for localhost). */
function tlsServer(
  handler: (req: Request) => Response | Promise<Response>,
  cert: TestPki = pki,
) {
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      cert: cert.cert,
      key: cert.key,
      onListen() {},
    },
    async (req) => {
      await req.arrayBuffer();
      return handler(req);
    },
  );
  return Object.assign(server, {
    url: `https://localhost:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  });
}

async function tempFile(
  size: number,
): Promise<{ path: string; bytes: Uint8Array } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "callsync-transport-" });
  const path = join(dir, "number-_918655066243-1761720502.ogg");
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 13)) & 0xff;
  if (size > 2000) bytes.set(encoder.encode("\r\n--boundary\r\n"), 1000);
  await Deno.writeFile(path, bytes);
  return {
    path,
    bytes,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

async function upload(
  t: Transport,
  url: string,
  file: { path: string; bytes: Uint8Array },
  size = file.bytes.length,
) {
  await using source = await openSource(file.path);
  const body = new MultipartFile({
    field: "file",
    fileName: "number-_918655066243-1761720502.ogg",
    file: { path: source.path, size, readInto: source.readInto.bind(source) },
    mediaType: "audio/ogg",
  });
  return await t.send({
    url,
    method: "POST",
    headers: { "content-type": body.type, "idempotency-key": "key-1" },
    body,
    idleTimeoutMs: 5000,
    deadlineMs: 30_000,
  });
}

// ------------------------------------------------------------------ TLS

Deno.test("send() trusts the test CA it is given and refuses without it, naming CRM_CA_FILE", async () => {
  await using server = tlsServer(() => Response.json({ ok: 1 }));
  using trusting = transport();
  equal((await post(trusting, server.url)).body, '{"ok":1}');
  using plain = transport({ caCerts: [] });
  await rejects(
    post(plain, server.url),
    (e: unknown) =>
      e instanceof NetworkError && /UnknownIssuer/.test(e.message) &&
      e.message.includes("CRM_CA_FILE"),
  );
});

Deno.test("send() refuses a certificate for another name even from a trusted CA", async () => {
  const other = await makeTestPki(["crm.other.example"]);
  await using server = tlsServer(() => Response.json({}), other);
  using t = transport({ caCerts: [other.caCert] });
  await rejects(
    post(t, server.url),
    (e: unknown) =>
      e instanceof NetworkError &&
      /not valid for name "localhost"/.test(e.message),
  );
});

// --------------------------------------------------------------- proxies

Deno.test("requests go through HTTPS_PROXY with CONNECT, reusing one tunnel", async () => {
  await using crm = await startMultipartServer(pki);
  await using proxy = await startForwardProxy();
  await using file = await tempFile(70_000);
  using t = transport({ proxyVariables: { HTTPS_PROXY: proxy.url } });
  equal((await upload(t, `${crm.url}/upload`, file)).status, 200);
  equal((await post(t, `${crm.url}/call-data`)).status, 200);
  const port = new URL(crm.url).port;
  equal(proxy.connects.length, 1, proxy.connects.join());
  equal(proxy.connects[0], `localhost:${port}`);
  equal(
    crm.connections,
    proxy.connects.length,
    "every connection came through the proxy",
  );
  equal(crm.uploads.length + crm.records.length, 2);
});

Deno.test("requests go through a SOCKS5 proxy (CRM_PROXY=socks5://user:pass@…), one connection for both", async () => {
  await using crm = await startMultipartServer(pki);
  await using socks = await startSocksProxy({ user: "u", password: "p:w" });
  await using file = await tempFile(70_000);
  const url = socks.url.replace("//", "//u:p%3Aw@");
  using t = transport({
    proxy: parseProxy(url, "CRM_PROXY"),
    proxyVariables: {},
  });
  equal((await upload(t, `${crm.url}/upload`, file)).status, 200);
  equal((await post(t, `${crm.url}/call-data`)).status, 200);
  deepStrictEqual(socks.connects, [`localhost:${new URL(crm.url).port}`]);
  equal(crm.connections, 1, "the one connection came through the proxy");
  deepStrictEqual(crm.uploads[0].bytes, file.bytes);
  using wrong = transport({
    proxy: parseProxy(socks.url.replace("//", "//u:nope@"), "CRM_PROXY"),
    proxyVariables: {},
  });
  await rejects(post(wrong, `${crm.url}/call-data`), NetworkError);
  equal(socks.refused, 1);
});

Deno.test("NO_PROXY naming the host bypasses the proxy; CRM_PROXY beats NO_PROXY", async () => {
  await using crm = await startMultipartServer(pki);
  await using proxy = await startForwardProxy();
  using bypass = transport({
    proxyVariables: {
      HTTPS_PROXY: proxy.url,
      NO_PROXY: "example.org, .localhost",
    },
  });
  equal((await post(bypass, `${crm.url}/call-data`)).status, 200);
  equal(proxy.connects.length, 0);
  using forced = transport({
    proxy: parseProxy(proxy.url, "CRM_PROXY"),
    proxyVariables: { NO_PROXY: "localhost" },
  });
  equal((await post(forced, `${crm.url}/call-data`)).status, 200);
  equal(proxy.connects.length, 1);
});

Deno.test("proxy variables of the process environment do not leak into a client told to go direct", async () => {
  await using crm = await startMultipartServer(pki);
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadUrl = `http://127.0.0.1:${(dead.addr as Deno.NetAddr).port}`;
  dead.close();
  const saved = Deno.env.get("HTTPS_PROXY");
  Deno.env.set("HTTPS_PROXY", deadUrl);
  try {
    using t = transport();
    equal((await post(t, `${crm.url}/call-data`)).status, 200);
    equal(Deno.env.get("HTTPS_PROXY"), deadUrl, "the variable is restored");
  } finally {
    if (saved === undefined) Deno.env.delete("HTTPS_PROXY");
    else Deno.env.set("HTTPS_PROXY", saved);
  }
});

Deno.test("a proxy's 407 names the proxy and never its credentials (https and http)", async () => {
  await using tls = await startMultipartServer(pki);
  await using plain = await startMultipartServer();
  await using proxy = await startForwardProxy({
    user: "alice",
    password: "s3cret",
  });
  const wrong = parseProxy(
    `http://alice:n0pe-pass@127.0.0.1:${proxy.port}`,
    "CRM_PROXY",
  );
  for (const url of [`${tls.url}/call-data`, `${plain.url}/call-data`]) {
    for (const p of [parseProxy(proxy.url, "CRM_PROXY"), wrong]) {
      using t = transport({ proxy: p });
      await rejects(post(t, url), (e: unknown) => {
        ok(e instanceof ProxyAuthError, String(e));
        ok(
          e.message.startsWith(
            `via proxy ${proxy.url}: 407 Proxy Authentication Required`,
          ),
          e.message,
        );
        ok(
          !e.message.includes("n0pe-pass") && !e.message.includes("alice"),
          e.message,
        );
        return true;
      });
    }
  }
  using good = transport({
    proxy: parseProxy(
      `http://alice:s3cret@127.0.0.1:${proxy.port}`,
      "CRM_PROXY",
    ),
  });
  equal((await post(good, `${tls.url}/call-data`)).status, 200);
  equal((await post(good, `${plain.url}/call-data`)).status, 200);
  equal(proxy.forwarded.length, 1, "plain http is forwarded, not tunnelled");
});

Deno.test("a network error says what failed without the request's URL (nor a key in its query)", async () => {
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (dead.addr as Deno.NetAddr).port;
  dead.close();
  using t = transport();
  await rejects(
    post(t, `https://localhost:${port}/apis/api/public/upload?key=s3cret`),
    (e: unknown) =>
      e instanceof NetworkError &&
      /^client error \(Connect\): .*refused/i.test(e.message) &&
      !e.message.includes("s3cret") && !e.message.includes("localhost"),
  );
});

Deno.test("an unreachable proxy is a network error naming the proxy", async () => {
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(dead.addr as Deno.NetAddr).port}`;
  dead.close();
  using t = transport({ proxyVariables: { HTTPS_PROXY: url } });
  await rejects(
    post(t, "https://localhost:8443/x"),
    (e: unknown) =>
      e instanceof NetworkError && e.message.startsWith(`via proxy ${url}: `) &&
      /refused/i.test(e.message),
  );
});

// ------------------------------------------------------------- uploads

Deno.test("express + multer receive the recording byte for byte, field file, its name, audio/ogg, with Content-Length", async () => {
  await using crm = await startMultipartServer(pki);
  using t = transport();
  for (const size of [1, 600_001, 5 * (1 << 20) + 12345]) {
    await using file = await tempFile(size);
    const res = await upload(t, `${crm.url}/upload`, file);
    equal(res.status, 200);
    const got = crm.uploads.at(-1)!;
    equal(got.field, "file");
    equal(got.originalName, "number-_918655066243-1761720502.ogg");
    equal(got.mimeType, "audio/ogg");
    equal(got.bytes.length, size);
    ok(
      got.bytes.every((b, i) => b === file.bytes[i]),
      "the file's exact bytes",
    );
    ok(got.contentLength !== undefined, "a Content-Length was sent");
    equal(got.transferEncoding, undefined, "not chunked");
    equal(got.idempotencyKey, "key-1");
  }
  equal(crm.connections, 1, "one kept-alive connection for all uploads");
});

Deno.test("a recording that shrinks while being sent rejects with FileChangedError", async () => {
  await using crm = await startMultipartServer(pki);
  await using file = await tempFile(200_000);
  using t = transport();
  await rejects(
    upload(t, `${crm.url}/upload`, file, 300_000),
    (e: unknown) =>
      e instanceof FileChangedError && e.message.includes("shrank"),
  );
  equal(crm.uploads.length, 0);
});

Deno.test("an answer before the body is read (413) comes back at once and the file is closed", async () => {
  // Like nginx: answer, then leave the connection open without reading on
  // (a server that resets it at once can make the client see only the reset).
  await using server = startRawServer(async (x) => {
    await x.write(
      "HTTP/1.1 413 Payload Too Large\r\ncontent-length: 9\r\nconnection: close\r\n\r\ntoo large",
    );
    await x.closing;
  }, pki);
  await using file = await tempFile(64 << 20);
  using t = transport();
  const started = performance.now();
  const res = await upload(t, `${server.url}/upload`, file);
  equal(res.status, 413);
  equal(res.body, "too large");
  const took = performance.now() - started;
  ok(took < 3000, `answered after ${took} ms`);
});

// ------------------------------------------------------------- answers

Deno.test("gzip, br and deflate answers are decoded", async () => {
  const body = JSON.stringify({
    success: true,
    data: { url: "https://x/1.ogg" },
  });
  const encode: Record<string, (t: string) => Uint8Array> = {
    gzip: gzipSync,
    deflate: deflateSync,
    br: brotliCompressSync,
  };
  await using server = tlsServer((req) => {
    const enc = new URL(req.url).pathname.slice(1);
    return new Response(new Uint8Array(encode[enc](body)), {
      headers: { "content-encoding": enc, "content-type": "application/json" },
    });
  });
  using t = transport();
  for (const enc of Object.keys(encode)) {
    equal((await post(t, `${server.url}/${enc}`)).body, body, enc);
  }
});

Deno.test("a redirect is not followed: RedirectError names the Location", async () => {
  await using server = tlsServer(() =>
    new Response(null, {
      status: 308,
      headers: { location: "https://elsewhere.example/upload" },
    })
  );
  using t = transport();
  await rejects(
    post(t, `${server.url}/upload`),
    (e: unknown) =>
      e instanceof RedirectError && e.status === 308 &&
      e.message.includes("https://elsewhere.example/upload"),
  );
});

Deno.test("at most maxAnswerBytes of an answer is read, and reading stops", async () => {
  await using server = startRawServer(async (x) => {
    await x.drainBody();
    await x.write("HTTP/1.1 200 OK\r\ncontent-length: 100000000\r\n\r\n");
    const block = new Uint8Array(65536).fill(0x61);
    for (let i = 0; i < 1600; i++) await x.write(block); // ~100 MB, until the client goes
  }, pki);
  using t = transport();
  const res = await t.send({
    url: server.url,
    method: "GET",
    headers: {},
    idleTimeoutMs: 5000,
    deadlineMs: 10_000,
    maxAnswerBytes: 1000,
  });
  equal(res.body.length, 1000);
});

// ---------------------------------------------------------------- clocks

Deno.test("a server that trickles its answer hits the deadline, not the idle timeout", async () => {
  await using server = startRawServer(async (x) => {
    await x.drainBody();
    await x.write("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n");
    for (let i = 0; i < 1000 && await x.pause(100); i++) await x.write("x");
  }, pki);
  using t = transport();
  const started = performance.now();
  await rejects(
    post(t, server.url, { idleMs: 1000, deadlineMs: 1500 }),
    (e: unknown) =>
      e instanceof RequestTimeoutError &&
      /within 1\.5 s \(the request deadline\)/.test(e.message),
  );
  const took = performance.now() - started;
  ok(took >= 1400 && took < 4000, `gave up after ${took} ms`);
});

Deno.test("endless 100 Continue is no progress: the idle timeout ends it", async () => {
  await using server = startRawServer(async (x) => {
    await x.drainBody();
    for (let i = 0; i < 1000 && await x.pause(50); i++) {
      await x.write("HTTP/1.1 100 Continue\r\n\r\n");
    }
  }, pki);
  using t = transport();
  const started = performance.now();
  await rejects(
    post(t, server.url, { idleMs: 700, deadlineMs: 60_000 }),
    (e: unknown) =>
      e instanceof RequestTimeoutError &&
      /no progress for 0\.7 s from localhost:\d+/.test(e.message),
  );
  const took = performance.now() - started;
  ok(took >= 600 && took < 4000, `gave up after ${took} ms`);
});

Deno.test("a server that stops reading the upload times out and the file is closed", async () => {
  await using server = startRawServer(async (x) => {
    await x.closing; // reads nothing, answers nothing
  }, pki);
  await using file = await tempFile(64 << 20);
  using t = transport();
  await using source = await openSource(file.path);
  const body = new MultipartFile({
    field: "file",
    fileName: "a.ogg",
    file: source,
    mediaType: "audio/ogg",
  });
  await rejects(
    t.send({
      url: server.url,
      method: "POST",
      headers: { "content-type": body.type },
      body,
      idleTimeoutMs: 700,
      deadlineMs: 60_000,
    }),
    (e: unknown) =>
      e instanceof RequestTimeoutError &&
      /no progress for 0\.7 s/.test(e.message),
  );
});

// ----------------------------------------------------------- connections

Deno.test("kept-alive connections are reused: one for sequential requests, one per request in flight for parallel ones", async () => {
  await using crm = await startMultipartServer(pki);
  using t = transport();
  for (let i = 0; i < 10; i++) {
    equal((await post(t, `${crm.url}/call-data`)).status, 200);
  }
  equal(crm.connections, 1);
  await using crm2 = await startMultipartServer(pki);
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let i = 0; i < 10; i++) await post(t, `${crm2.url}/call-data`);
  }));
  equal(crm2.records.length, 40);
  equal(crm2.connections, 4, "one connection per request in flight");
});

Deno.test("send() opens no more connections than requests in flight when new connections are slower than requests", async () => {
  await using crm = await startMultipartServer(pki);
  // The first connection is quick; every later one waits 300 ms for its
  // handshake, while a request on an open one takes a millisecond or two.
  await using line = startDelayLine(Number(new URL(crm.url).port), 0, {
    handshakeMs: (i) => i === 0 ? 0 : 300,
  });
  const url = `https://localhost:${line.port}/call-data`;
  using t = transport();
  equal((await post(t, url)).status, 200);
  await Promise.all(Array.from({ length: 6 }, async () => {
    for (let i = 0; i < 8; i++) equal((await post(t, url)).status, 200);
  }));
  equal(crm.records.length, 49);
  // One shared pool started a connection for every request that found none
  // idle and kept each as a spare once the quick one came back first.
  ok(line.connections <= 6, `${line.connections} connections, 6 in flight`);
});
