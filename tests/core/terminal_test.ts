import assert from "node:assert/strict";
import { escapeControls, escapeJsonControls } from "../../lib/core/terminal.ts";

Deno.test("escapeControls() shows newlines, escapes and other controls escaped", () => {
  assert.equal(
    escapeControls("a\nb\r\tc\x1b[2J\x00\x7f\x9b31m.json"),
    "a\\nb\\r\\tc\\x1b[2J\\x00\\x7f\\x9b31m.json",
  );
});

Deno.test("escapeControls() escapes bidi overrides and line separators, keeps other text", () => {
  assert.equal(
    escapeControls("invoice\u202egpj.json \u2028 ünïcødé 📞"),
    "invoice\\u202egpj.json \\u2028 ünïcødé 📞",
  );
});

Deno.test("escapeJsonControls() keeps the JSON equal and leaves no raw DEL or C1", () => {
  const value = { name: "x\x7fy\x9b\u2028z\n" };
  const json = escapeJsonControls(JSON.stringify(value));
  assert.doesNotMatch(json, /[\x7f-\x9f\u2028\n]/);
  assert.deepEqual(JSON.parse(json), value);
});
