import { deepStrictEqual, throws } from "node:assert/strict";
import { EnvFileError, parseEnvFile } from "../../lib/config/envfile.ts";

/** `text`, read as the env file `file`, gives exactly `expected`. */
function assertParses(
  text: string,
  expected: Record<string, string>,
  file = "x.env",
): void {
  deepStrictEqual(parseEnvFile(text, file), expected);
}

Deno.test("parseEnvFile() reads KEY=value lines, skipping comments and blank lines", () => {
  const text = [
    "# callsync settings",
    "",
    "CRM_UPLOAD_URL=https://crm.example/upload",
    "   ",
    "  # indented comment",
    "UPLOAD_BATCH_SIZE = 25",
    "export TIMEZONE=Asia/Kolkata",
    "EMPTY=",
  ].join("\n");
  assertParses(text, {
    CRM_UPLOAD_URL: "https://crm.example/upload",
    UPLOAD_BATCH_SIZE: "25",
    TIMEZONE: "Asia/Kolkata",
    EMPTY: "",
  }, "callsync.env");
});

Deno.test("parseEnvFile() understands Windows line endings", () => {
  assertParses("A=1\r\nB=two\r\n", { A: "1", B: "two" });
});

Deno.test("parseEnvFile() drops a trailing comment from an unquoted value but keeps a # inside a word", () => {
  assertParses(
    "A=spaced value   # note\nB=https://crm.example/p#frag\nC=x=y\n",
    { A: "spaced value", B: "https://crm.example/p#frag", C: "x=y" },
  );
});

Deno.test("parseEnvFile() keeps single-quoted values literally", () => {
  assertParses(
    "A='two  words # not a comment' # comment\nB='a\\nb'\n",
    { A: "two  words # not a comment", B: "a\\nb" },
    "x",
  );
});

Deno.test('parseEnvFile() unescapes \\n, \\t, \\" and \\\\ inside double quotes', () => {
  const text = String.raw`A="line1\nline2\tend"
B="say \"hi\" now" # comment
C="C:\\data\\"
D="a # b"`;
  assertParses(text, {
    A: "line1\nline2\tend",
    B: 'say "hi" now',
    C: "C:\\data\\",
    D: "a # b",
  });
});

Deno.test("parseEnvFile() names the file and line of a line that is not KEY=value", () => {
  throws(
    () => parseEnvFile("A=1\n# ok\nnot a setting\n", "/etc/callsync.env"),
    (e: unknown) =>
      e instanceof EnvFileError &&
      e.message.includes("/etc/callsync.env:3") &&
      e.message.includes('"not …" (the rest not shown)'),
  );
  throws(
    () => parseEnvFile("1BAD=x", "x.env"),
    (e: unknown) => e instanceof EnvFileError && e.message.includes("x.env:1"),
  );
});

Deno.test("parseEnvFile() never echoes the value of a malformed line (it may be a token)", () => {
  throws(
    () => parseEnvFile("CRM_API_TOKEN s3cret-token-value\n", "x.env"),
    (e: unknown) =>
      e instanceof EnvFileError && e.message.includes("CRM_API_TOKEN") &&
      !e.message.includes("s3cret"),
  );
});
