import assert from "node:assert/strict";
import { findJsonError } from "../../lib/core/json_error.ts";

Deno.test("findJsonError() finds nothing in valid JSON of every kind", () => {
  for (
    const text of [
      '{"a": [1, -2.5e3, true, false, null, "x\\u00e9\\n"], "b": {}}',
      "[]",
      ' "just a string" ',
      "0",
    ]
  ) {
    assert.equal(findJsonError(text), undefined, text);
    JSON.parse(text); // and V8 agrees
  }
});

Deno.test("findJsonError() names line, column and the offending character", () => {
  assert.deepEqual(findJsonError('{"a": 1,\n "b": }'), {
    offset: 15,
    line: 2,
    column: 7,
    problem: 'unexpected "}"',
  });
});

Deno.test("findJsonError() reports a cut-off file as an unexpected end", () => {
  const at = findJsonError('{"session_id": "abc", "items": [1, 2');
  assert.equal(at?.problem, "unexpected end of file");
  assert.equal(at?.line, 1);
});

Deno.test("findJsonError() catches what JSON forbids: bad escapes, control characters, trailing text", () => {
  assert.equal(findJsonError('"a\\x"')?.problem, "bad escape");
  assert.equal(findJsonError('"\\u12G4"')?.problem, "bad \\u escape");
  assert.equal(
    findJsonError('"a\tb"')?.problem,
    "control character in a string",
  );
  assert.deepEqual(findJsonError("{} x"), {
    offset: 3,
    line: 1,
    column: 4,
    problem: 'unexpected "x"',
  });
});
