import assert from "node:assert/strict";
import { parseCli } from "../../lib/cli/args.ts";
import { UsageError } from "../../lib/core/errors.ts";

Deno.test("parseCli() defaults to run, with general flags and settings", () => {
  const cli = parseCli(["--base-dir", "/srv/bot", "-v", "--timezone", "UTC"]);
  assert.equal(cli.command, "run");
  assert.equal(cli.baseDir, "/srv/bot");
  assert.equal(cli.logLevel, "debug");
  assert.deepEqual(cli.settings, { timezone: "UTC" });
  assert.ok(cli.command === "run");
  assert.deepEqual(cli.select, {
    since: undefined,
    until: undefined,
    only: [],
  });
});

Deno.test("parseCli() gives each command its own flags", () => {
  const status = parseCli(["status", "--json"]);
  assert.ok(status.command === "status" && status.json);
  const retry = parseCli(["retry", "a.json", "b.json"]);
  assert.ok(retry.command === "retry");
  assert.deepEqual(retry.names, ["a.json", "b.json"]);
  assert.equal(retry.failed, false);
  const summary = parseCli(["summary", "--date", "2025-10-29", "--days", "7"]);
  assert.ok(summary.command === "summary");
  assert.equal(summary.days, 7);
  const schedule = parseCli(["schedule", "--print", "systemd"]);
  assert.ok(schedule.command === "schedule" && schedule.print === "systemd");
  const serve = parseCli(["serve", "--port", "9000"]);
  assert.ok(serve.command === "serve" && serve.port === "9000");
});

Deno.test("parseCli() --only takes the names after it, and implies run", () => {
  const cli = parseCli(["--only", "a.json", "b.json", "--since", "2025-10-01"]);
  assert.ok(cli.command === "run");
  assert.deepEqual(cli.select.only, ["a.json", "b.json"]);
  assert.equal(cli.select.since, "2025-10-01");
});

Deno.test("parseCli() refuses what it cannot use, with a message saying what to do", () => {
  const cases: [string[], RegExp][] = [
    [["deploy"], /unknown command "deploy"; commands: run, plan/],
    [["status", "x"], /"status" takes no arguments/],
    [["--log-format", "xml"], /--log-format must be text or json/],
    [["summary", "--date", "29-10-2025"], /--date must be YYYY-MM-DD/],
    [["summary", "--days", "0"], /--days must be a whole number ≥ 1/],
    [["schedule"], /schedule needs --print cron\|systemd\|windows/],
    [["--no-such-flag"], /see --help/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseCli(args), (e) => {
      assert.ok(e instanceof UsageError, args.join(" "));
      assert.match(e.message, message);
      return true;
    });
  }
});
