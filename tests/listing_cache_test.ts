/**
 * Remembered listings: reused only for a folder that has not changed, and
 * never once a delivered set must be sent again.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type CachedListing,
  isReusable,
  ListingCache,
  MAX_AGE_MS,
  SETTLED_MS,
} from "../lib/listing_cache.ts";
import type { ScanResult } from "../lib/scan.ts";
import { scanBase } from "../testing/scan.ts";
import { sandbox } from "../testing/cli.ts";
import { FIXTURE_SETS, fixtureCall, tempDir } from "../testing/fixtures.ts";
import { acceptedCallIds, deliveryRecord } from "../testing/status.ts";
import { copyTree } from "../testing/tree.ts";

const FIXTURES = new URL("../fixtures", import.meta.url).pathname;
const FOLDERS = ["conversations", "recordings", "leads"] as const;
const DAY = 86_400_000;

const LISTED: CachedListing = {
  mtimeMs: 1_000_000,
  id: "7:42",
  listedAt: 1_000_000 + SETTLED_MS,
  names: 3,
  todo: ["a.json"],
};

Deno.test("isReusable() accepts a folder unchanged since a settled listing", () => {
  const stamp = { mtimeMs: LISTED.mtimeMs, id: LISTED.id };
  assert.equal(isReusable(LISTED, stamp, LISTED.listedAt + 60_000), true);
});

Deno.test("isReusable() refuses a changed, replaced or unsettled folder", () => {
  const now = LISTED.listedAt + 60_000;
  const stamp = { mtimeMs: LISTED.mtimeMs, id: LISTED.id };
  assert.equal(
    isReusable(LISTED, { ...stamp, mtimeMs: stamp.mtimeMs + 1 }, now),
    false,
    "a newer mtime",
  );
  assert.equal(isReusable(LISTED, { ...stamp, id: "7:43" }, now), false);
  const unsettled = { ...LISTED, listedAt: LISTED.mtimeMs + SETTLED_MS - 1 };
  assert.equal(isReusable(unsettled, stamp, now), false, "listed too soon");
});

Deno.test("isReusable() refuses an old listing and a clock that went back", () => {
  const stamp = { mtimeMs: LISTED.mtimeMs, id: LISTED.id };
  assert.equal(
    isReusable(LISTED, stamp, LISTED.listedAt + MAX_AGE_MS),
    false,
  );
  assert.equal(isReusable(LISTED, stamp, LISTED.listedAt - 1), false);
});

Deno.test("ListingCache saves and loads, and drops what fewer deliveries cannot trust", async () => {
  await using dir = await tempDir();
  const stamp = { mtimeMs: LISTED.mtimeMs, id: LISTED.id };
  const now = LISTED.listedAt + 1;
  const first = await ListingCache.load(dir.path, 10);
  first.remember("/bot/conversations", LISTED);
  await first.save();
  const again = await ListingCache.load(dir.path, 10);
  assert.deepEqual(again.reusable("/bot/conversations", stamp, now), LISTED);
  assert.equal(again.reusable("/bot/leads", stamp, now), undefined);
  const fewer = await ListingCache.load(dir.path, 9);
  assert.equal(fewer.reusable("/bot/conversations", stamp, now), undefined);
  await Deno.writeTextFile(join(dir.path, "callsync-listing.json"), '{"ver');
  const torn = await ListingCache.load(dir.path, 10);
  assert.equal(torn.reusable("/bot/conversations", stamp, now), undefined);
});

/** A copy of the fixtures whose folders last changed `ageMs` ago. */
async function botFolders(dir: string, ageMs: number): Promise<void> {
  await copyTree(FIXTURES, dir, Date.now() - DAY);
  for (const f of FOLDERS) await setFolderTime(dir, f, Date.now() - ageMs);
}

async function setFolderTime(dir: string, folder: string, ms: number) {
  await Deno.utime(join(dir, folder), ms / 1000, ms / 1000);
}

async function folderTime(dir: string, folder: string): Promise<number> {
  return (await Deno.stat(join(dir, folder))).mtime!.getTime();
}

/** Scan `dir` with the listing cache kept in `dir/state`. */
async function scanCached(dir: string): Promise<ScanResult> {
  const cache = await ListingCache.load(join(dir, "state"), 0);
  const result = await scanBase(dir, { cache });
  await cache.save();
  return result;
}

/** Add a transcript the way a bot does, then put the folder's mtime back. */
async function addBehindTheFoldersBack(dir: string, name: string) {
  const before = await folderTime(dir, "conversations");
  await Deno.copyFile(
    join(dir, "conversations", FIXTURE_SETS[1]),
    join(dir, "conversations", name),
  );
  await setFolderTime(dir, "conversations", before);
}

const EXTRA = "transcript_session_2025-10-29T06-49-08.000000.json";
const conversationNames = (r: ScanResult) =>
  r.conversations.map((c) => c.name).sort();

Deno.test("scan() reuses the listing of a folder that has not changed", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "state"));
  await botFolders(dir.path, 60_000);
  const first = await scanCached(dir.path);
  assert.equal(first.conversations.length, 5);
  // Hidden from a reused listing: only an unchanged mtime shows it was reused.
  await addBehindTheFoldersBack(dir.path, EXTRA);
  const second = await scanCached(dir.path);
  assert.deepEqual(conversationNames(second), conversationNames(first));
  // A real addition moves the folder's mtime, so the folder is listed again.
  await Deno.copyFile(
    join(dir.path, "conversations", EXTRA),
    join(dir.path, "conversations", "copy.json"),
  );
  const third = await scanCached(dir.path);
  assert.ok(conversationNames(third).includes(EXTRA));
  assert.equal(third.conversations.length + third.problems.length, 7);
});

Deno.test("scan() lists again a folder that changed just before its listing", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "state"));
  // Changed 0.5 s before the listing: a later change might keep that mtime
  // on a file system with coarse timestamps, so the listing is not trusted.
  await botFolders(dir.path, 500);
  await scanCached(dir.path);
  await addBehindTheFoldersBack(dir.path, EXTRA);
  const second = await scanCached(dir.path);
  assert.ok(conversationNames(second).includes(EXTRA));
});

/** Run, then run once more after every folder has been listed settled. */
async function deliveredAndListedSettled(box: {
  dir: string;
  run: (args: string[]) => Promise<{ code: number; stderr: string }>;
}) {
  for (const f of FOLDERS) await setFolderTime(box.dir, f, Date.now() - DAY);
  const first = await box.run(["run"]);
  assert.equal(first.code, 0, first.stderr);
  // A second listing, made once everything is delivered, keeps no names.
  for (const f of FOLDERS) {
    await setFolderTime(box.dir, f, Date.now() - DAY + 1000);
  }
  const second = await box.run(["run"]);
  assert.equal(second.code, 0, second.stderr);
}

Deno.test("run sends a set again once its .uploaded record is deleted, with listings remembered", async () => {
  await using box = await sandbox();
  await deliveredAndListedSettled(box);
  // One more delivery, so that deleting one record below leaves as many
  // sets delivered as when the conversations were last listed.
  const orphan = join(
    box.dir,
    "recordings",
    "number-_911111111111-1700000000.ogg",
  );
  await Deno.copyFile(
    join(box.dir, "recordings", fixtureCall(1).recording!),
    orphan,
  );
  await Deno.utime(
    orphan,
    (Date.now() - DAY) / 1000,
    (Date.now() - DAY) / 1000,
  );
  const third = await box.run(["run"]);
  assert.equal(third.code, 0, third.stderr);
  const set = FIXTURE_SETS[1];
  const { call_id } = await deliveryRecord(box, set);
  const sent = () => acceptedCallIds(box.crm).filter((id) => id === call_id);
  assert.equal(sent().length, 1);
  await Deno.remove(join(box.dir, "processed_uploads", `${set}.uploaded`));
  const again = await box.run(["run"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(sent().length, 2);
});

Deno.test("run sends every set again once records and journal are deleted, with listings remembered", async () => {
  await using box = await sandbox();
  await deliveredAndListedSettled(box);
  const before = acceptedCallIds(box.crm).length;
  assert.ok(before >= FIXTURE_SETS.length);
  const state = join(box.dir, "processed_uploads");
  for await (const e of Deno.readDir(state)) {
    if (e.name.endsWith(".uploaded") || e.name.endsWith(".jsonl")) {
      await Deno.remove(join(state, e.name));
    }
  }
  const again = await box.run(["run"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(acceptedCallIds(box.crm).length, 2 * before);
});
