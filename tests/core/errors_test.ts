import assert from "node:assert/strict";
import { errorMessage } from "../../lib/core/errors.ts";

Deno.test("errorMessage() gives an Error's message, or the thrown value as text", () => {
  assert.equal(errorMessage(new TypeError("bad input")), "bad input");
  assert.equal(errorMessage("timeout"), "timeout");
  assert.equal(errorMessage(42), "42");
  assert.equal(errorMessage(undefined), "undefined");
});
