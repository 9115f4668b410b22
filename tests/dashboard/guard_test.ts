import assert from "node:assert/strict";
import {
  Guard,
  isLoopbackAddress,
  tokenMatches,
} from "../../lib/dashboard/guard.ts";

const TOKEN = "s3cret-token";

function post(headers: Record<string, string>): Request {
  return new Request("http://127.0.0.1:8787/api/run", {
    method: "POST",
    headers,
    body: "{}",
  });
}

async function codeOf(res: Response | undefined): Promise<string | undefined> {
  return res ? (await res.json()).code : undefined;
}

/** The address a dashboard listens on. */
const at = (hostname: string, port = 8787): Deno.NetAddr => ({
  transport: "tcp",
  hostname,
  port,
});

const asHost = (guard: Guard, host: string) =>
  guard.refuseHost(new Request("http://x/", { headers: { host } }));

Deno.test("isLoopbackAddress() knows loopback addresses only (as listened on)", () => {
  for (
    const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1"]
  ) {
    assert.ok(isLoopbackAddress(h), h);
  }
  for (const h of ["0.0.0.0", "::", "10.0.0.1", "::ffff:10.0.0.1", "0"]) {
    assert.ok(!isLoopbackAddress(h), h);
  }
});

Deno.test("Guard.refuseHost() answers only to the address listened on (no DNS rebinding)", async () => {
  const guard = new Guard({});
  guard.listening(at("127.0.0.1"));
  assert.equal(guard.url, "http://127.0.0.1:8787/");
  assert.equal(await asHost(guard, "127.0.0.1:8787"), undefined);
  assert.equal(await asHost(guard, "localhost:8787"), undefined);
  assert.equal(guard.readsNeedToken, false);
  const refused = await asHost(guard, "attacker.example:8787");
  assert.equal(refused?.status, 421);
  assert.equal(await codeOf(refused), "bad-host");
  assert.equal((await asHost(guard, "10.0.0.5:8787"))?.status, 421);
});

Deno.test("Guard.refuseHost() on all interfaces: IP addresses and --public-url hosts only, never another name", async () => {
  const guard = new Guard({
    token: TOKEN,
    publicUrls: [new URL("https://calls.example.com")],
  });
  guard.listening(at("0.0.0.0"));
  for (const host of ["192.168.1.5:8787", "[fe80::1]:8787", "localhost:8787"]) {
    assert.equal(await asHost(guard, host), undefined, host);
  }
  for (const host of ["calls.example.com", "calls.example.com:443"]) {
    assert.equal(await asHost(guard, host), undefined, host);
  }
  for (
    const host of ["attacker.example:8787", "box.lan:8787", "192.168.1.5:9999"]
  ) {
    assert.equal((await asHost(guard, host))?.status, 421, host);
  }
});

Deno.test("Guard.refuseRead() beyond loopback: every request needs the token, by Bearer or Basic", async () => {
  const guard = new Guard({ token: TOKEN });
  guard.listening(at("::"));
  assert.equal(guard.readsNeedToken, true);
  const read = (headers: Record<string, string>) =>
    guard.refuseRead(
      new Request("http://10.0.0.5:8787/api/status", { headers }),
    );
  const none = await read({});
  assert.equal(none?.status, 401);
  assert.match(none?.headers.get("www-authenticate") ?? "", /^Basic realm=/);
  assert.equal(await codeOf(none), "token-missing");
  const wrong = await read({ authorization: `Basic ${btoa("u:nope")}` });
  assert.equal(await codeOf(wrong), "token-refused");
  assert.equal(await read({ authorization: `Bearer ${TOKEN}` }), undefined);
  assert.equal(
    await read({ authorization: `Basic ${btoa(`any:${TOKEN}`)}` }),
    undefined,
  );
  assert.equal(
    await read({ authorization: `Basic ${btoa(`:${TOKEN}`)}` }),
    undefined,
  );

  const local = new Guard({ token: TOKEN });
  local.listening(at("127.0.0.1"));
  assert.equal(
    await local.refuseRead(new Request("http://127.0.0.1:8787/api/status")),
    undefined,
    "on loopback reads stay open",
  );
});

Deno.test("Guard.refusePost() refuses cross-site, missing and wrong tokens; passes the right one", async () => {
  const guard = new Guard({ token: TOKEN });
  const bearer = { authorization: `Bearer ${TOKEN}` };
  assert.equal(await guard.refusePost(post(bearer)), undefined);
  assert.equal(
    await guard.refusePost(
      post({ ...bearer, origin: "http://127.0.0.1:8787" }),
    ),
    undefined,
  );
  const cases: [Record<string, string>, number, string][] = [
    [{ ...bearer, origin: "https://evil.example" }, 403, "cross-origin"],
    [{ ...bearer, "sec-fetch-site": "cross-site" }, 403, "cross-origin"],
    [{}, 401, "token-missing"],
    [{ authorization: "Bearer nope" }, 403, "token-refused"],
  ];
  for (const [headers, status, code] of cases) {
    const res = await guard.refusePost(post(headers));
    assert.equal(res?.status, status, code);
    assert.equal(await codeOf(res), code);
  }
});

Deno.test("Guard.refusePost() accepts the --public-url origin (behind an HTTPS proxy)", async () => {
  const guard = new Guard({
    token: TOKEN,
    publicUrls: [new URL("https://calls.example.com")],
  });
  const res = await guard.refusePost(
    post({
      authorization: `Bearer ${TOKEN}`,
      origin: "https://calls.example.com",
    }),
  );
  assert.equal(res, undefined);
});

Deno.test("Guard.refusePost() without a token: read-only, every POST refused", async () => {
  const guard = new Guard({});
  assert.equal(guard.writable, false);
  const res = await guard.refusePost(post({ authorization: "Bearer x" }));
  assert.equal(res?.status, 403);
  assert.equal(await codeOf(res), "read-only");
});

Deno.test("tokenMatches() compares against the configured token's hash", async () => {
  const hash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(TOKEN)),
  );
  assert.equal(await tokenMatches(TOKEN, hash), true);
  assert.equal(await tokenMatches(TOKEN + "x", hash), false);
  assert.equal(await tokenMatches("", hash), false);
});
