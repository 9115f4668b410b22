import assert from "node:assert/strict";
import { type LogFormat, Logger } from "../../lib/core/log.ts";

function logger(format: LogFormat, secrets: string[] = []) {
  const lines: string[] = [];
  const log = new Logger({
    format,
    level: "info",
    timezone: "UTC",
    secrets,
    sink: (l) => lines.push(l),
  });
  return { log, lines };
}

Deno.test("a text line shows a name's newline and escape sequence escaped: no forged line", () => {
  const { log, lines } = logger("text");
  log.error(
    "Cannot use x\n2025-10-30 10:00:00 [INFO] Directory scan completed\x1b[2J.json",
  );
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].includes("\n") && !lines[0].includes("\x1b"), lines[0]);
  assert.match(lines[0], /x\\n2025-10-30 .*completed\\x1b\[2J\.json$/);
});

Deno.test("a JSON line masks a token holding a quote and a backslash (masked before encoding)", () => {
  const token = 'tok"en\\9Q';
  const { log, lines } = logger("json", [token]);
  log.error(`HTTP 400: unauthorised client ${token}`, { set: `s ${token}` });
  const parsed = JSON.parse(lines[0]);
  assert.equal(parsed.msg, "HTTP 400: unauthorised client ***");
  assert.equal(parsed.set, "s ***");
  assert.ok(!lines[0].includes("tok"), lines[0]);
});

Deno.test("a text line masks the token and URL user-info", () => {
  const { log, lines } = logger("text", ["s3cret"]);
  log.warn("echo s3cret from https://u:pw@crm.example/x");
  assert.match(lines[0], /echo \*\*\* from https:\/\/\*\*\*@crm\.example\/x$/);
});

Deno.test("a JSON line leaves no raw DEL or C1 control", () => {
  const { log, lines } = logger("json");
  log.info("name\x9b31m\x7f");
  assert.doesNotMatch(lines[0], /[\x7f-\x9f]/);
  assert.equal(JSON.parse(lines[0]).msg, "name\x9b31m\x7f");
});
