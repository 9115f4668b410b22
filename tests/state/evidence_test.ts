import { deepStrictEqual, equal } from "node:assert/strict";
import { join } from "node:path";
import {
  EVIDENCE_FILE,
  EVIDENCE_KEEP,
  type PairEvidence,
  readEvidence,
  writeEvidence,
} from "../../lib/state/evidence.ts";

async function inTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeEvidence() round-trips, unknown differences as NaN", async () => {
  await inTempDir(async (dir) => {
    const rows: PairEvidence[] = [
      { atMs: 2000, startDiff: 21.5, endDiff: NaN, mtimeDiff: 0.4 },
      { atMs: 1000, startDiff: 19, endDiff: -0.5, mtimeDiff: NaN },
    ];
    await writeEvidence(dir, rows);
    deepStrictEqual(await readEvidence(dir), [rows[1], rows[0]]);
  });
});

Deno.test("writeEvidence() keeps only the latest pairs", async () => {
  await inTempDir(async (dir) => {
    const many = Array.from({ length: EVIDENCE_KEEP + 50 }, (_, i) => ({
      atMs: i,
      startDiff: 1,
      endDiff: 0,
      mtimeDiff: 0,
    }));
    await writeEvidence(dir, many);
    const kept = await readEvidence(dir);
    equal(kept.length, EVIDENCE_KEEP);
    equal(kept[0].atMs, 50);
  });
});

Deno.test("readEvidence() of a missing, torn or foreign file is no evidence", async () => {
  await inTempDir(async (dir) => {
    deepStrictEqual(await readEvidence(dir), []);
    await Deno.writeTextFile(join(dir, EVIDENCE_FILE), "[[1, 2");
    deepStrictEqual(await readEvidence(dir), []);
    await Deno.writeTextFile(join(dir, EVIDENCE_FILE), '{"a":1}');
    deepStrictEqual(await readEvidence(dir), []);
    await Deno.writeTextFile(
      join(dir, EVIDENCE_FILE),
      '[["x"],[5,null],[6,3,null,null]]',
    );
    deepStrictEqual(await readEvidence(dir), [
      { atMs: 6, startDiff: 3, endDiff: NaN, mtimeDiff: NaN },
    ]);
  });
});
