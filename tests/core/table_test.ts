import assert from "node:assert/strict";
import { renderTable } from "../../lib/core/table.ts";

Deno.test("renderTable() pads columns to the widest cell", () => {
  assert.equal(renderTable(["a", "b"], [["1", "22"]]), "a  b\n-  --\n1  22");
});

Deno.test("renderTable() shows control characters in cells escaped: one line per row", () => {
  const out = renderTable(["name"], [["x\n[INFO] forged\x1b[2J"]]);
  assert.equal(out.split("\n").length, 3);
  assert.match(out, /x\\n\[INFO\] forged\\x1b\[2J$/);
});
