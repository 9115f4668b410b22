import assert from "node:assert/strict";
import { Guard, isLoopback, tokenMatches } from "../../lib/dashboard/guard.ts";

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

Deno.test("isLoopback() knows loopback names and addresses only", () => {
  for (const h of ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"]) {
    assert.ok(isLoopback(h), h);
  }
  for (const h of ["0.0.0.0", "::", "10.0.0.1", "example.com"]) {
    assert.ok(!isLoopback(h), h);
  }
});

Deno.test("Guard.refuseHost() answers only to the address listened on (no DNS rebinding)", async () => {
  const guard = new Guard(undefined);
  guard.listening("127.0.0.1", 8787);
  assert.equal(guard.url, "http://127.0.0.1:8787/");
  const asHost = (host: string) =>
    guard.refuseHost(new Request("http://x/", { headers: { host } }));
  assert.equal(await asHost("127.0.0.1:8787"), undefined);
  assert.equal(await asHost("localhost:8787"), undefined);
  const refused = await asHost("attacker.example:8787");
  assert.equal(refused?.status, 421);
  assert.equal(await codeOf(refused), "bad-host");
});

Deno.test("Guard.refuseHost() lets any Host in on all interfaces", async () => {
  const guard = new Guard(undefined);
  guard.listening("0.0.0.0", 8787);
  const req = new Request("http://x/", { headers: { host: "box.lan:8787" } });
  assert.equal(await guard.refuseHost(req), undefined);
});

Deno.test("Guard.refusePost() refuses cross-site, missing and wrong tokens; passes the right one", async () => {
  const guard = new Guard(TOKEN);
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

Deno.test("Guard.refusePost() without a token: read-only, every POST refused", async () => {
  const guard = new Guard(undefined);
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
