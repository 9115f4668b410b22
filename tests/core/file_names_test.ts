import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  CaseFoldedMap,
  CaseFoldedSet,
  fileNameMap,
  fileNameSet,
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

Deno.test("CaseFoldedSet finds a file name in any case and keeps the first spelling", () => {
  const s = new CaseFoldedSet();
  s.add(UPPER).add(LOWER);
  deepStrictEqual([...s], [UPPER]);
  ok(s.has(LOWER));
  ok(s.delete(LOWER));
  equal(s.size, 0);
  s.add("x.ogg");
  s.clear();
  ok(!s.has("X.OGG"));
});

Deno.test("fileNameMap() and fileNameSet() compare names as this host's file system does", () => {
  // Windows (and Wine): one file whatever the case; POSIX: two files.
  equal(NAMES_IGNORE_CASE, Deno.build.os === "windows");
  const m = fileNameMap<number>();
  m.set(UPPER, 1);
  equal(m.has(LOWER), NAMES_IGNORE_CASE);
  const s = fileNameSet();
  s.add(UPPER);
  equal(s.has(LOWER), NAMES_IGNORE_CASE);
});
