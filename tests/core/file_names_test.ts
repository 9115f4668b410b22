import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  CaseFoldedMap,
  fileNameMap,
  NAMES_IGNORE_CASE,
} from "../../lib/core/file_names.ts";

const UPPER = "Transcript_Session_2025-10-29T06-49-07.351452.JSON";
const LOWER = UPPER.toLowerCase();

Deno.test("CaseFoldedMap finds a file name in any case and keeps the first spelling", () => {
  const m = new CaseFoldedMap<number>();
  m.set(UPPER, 1);
  ok(m.has(LOWER));
  equal(m.get(LOWER), 1);
  m.set(LOWER, 2);
  equal(m.size, 1, "one file, one entry");
  deepStrictEqual([...m], [[UPPER, 2]]);
  ok(m.delete(LOWER));
  ok(!m.has(UPPER));
  equal(m.size, 0);
  ok(!m.delete(UPPER));
  m.set("a.json", 1);
  m.clear();
  ok(!m.has("A.JSON"));
});

Deno.test("fileNameMap() compares names as this host's file system does", () => {
  // Windows (and Wine): one file whatever the case; POSIX: two files.
  equal(NAMES_IGNORE_CASE, Deno.build.os === "windows");
  const m = fileNameMap<number>();
  m.set(UPPER, 1);
  equal(m.has(LOWER), NAMES_IGNORE_CASE);
});
