import assert from "node:assert/strict";
import { MASK, redact, redactor } from "../../lib/core/redact.ts";

Deno.test("redact() masks a secret wherever it appears", () => {
  assert.equal(
    redact("HTTP 400: bad token tok-123 (tok-123)", ["tok-123"]),
    `HTTP 400: bad token ${MASK} (${MASK})`,
  );
});

Deno.test("redact() masks a secret's JSON-escaped and percent-encoded forms", () => {
  const token = 'to"k\\en/+ 1';
  const json = JSON.stringify({ echo: token });
  assert.equal(redact(json, [token]), `{"echo":"${MASK}"}`);
  assert.equal(
    redact(`GET /x?t=${encodeURIComponent(token)}`, [token]),
    `GET /x?t=${MASK}`,
  );
});

Deno.test("redact() masks the user-info of any URL, secret or not", () => {
  assert.equal(
    redact(
      'must be an http(s) URL, got "ftp://user:PASSWORD@files.example/up"',
      [],
    ),
    `must be an http(s) URL, got "ftp://${MASK}@files.example/up"`,
  );
  assert.equal(
    redact("via proxy http://bob:pw@proxy:3128: 407", []),
    `via proxy http://${MASK}@proxy:3128: 407`,
  );
  // An @ in a path or query is not user-info.
  assert.equal(
    redact("https://crm.example/u/a@b?x=c@d", []),
    "https://crm.example/u/a@b?x=c@d",
  );
});

Deno.test("redactor() ignores empty secrets and masks the longer of overlapping ones whole", () => {
  const r = redactor(["", "abc", "abcdef"]);
  assert.equal(r("x abcdef y abc"), `x ${MASK} y ${MASK}`);
  assert.equal(r("nothing here"), "nothing here");
});
