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
} from "../../lib/source/listing_cache.ts";
import type { ScanResult } from "../../lib/source/scan.ts";
import { scanBase } from "../../testing/scan.ts";
import { ROOT, sandbox } from "../../testing/cli.ts";
import { FIXTURE_SETS, fixtureCall, tempDir } from "../../testing/fixtures.ts";
import { acceptedCallIds, deliveryRecord } from "../../testing/status.ts";
import { copyTree } from "../../testing/tree.ts";

const FIXTURES = join(ROOT, "fixtures");
const DAY = 86_400_000;

const STAMP = { mtimeMs: 1_000_000, ctimeMs: 999_000, id: "7:42" };
const LISTED: CachedListing = {
  ...STAMP,
  listedAt: 1_000_000 + SETTLED_MS,
  names: 3,
  todo: ["a.json"],
};

Deno.test("isReusable() accepts a folder unchanged since a settled listing", () => {
  assert.equal(isReusable(LISTED, STAMP, LISTED.listedAt + 60_000), true);
  const noCtime = { ...STAMP, ctimeMs: null };
  assert.equal(
    isReusable({ ...LISTED, ...noCtime }, noCtime, LISTED.listedAt + 1),
    true,
  );
});

Deno.test("isReusable() refuses a changed, replaced or unsettled folder", () => {
  const now = LISTED.listedAt + 60_000;
  const changed = (patch: Partial<typeof STAMP>) =>
    isReusable(LISTED, { ...STAMP, ...patch }, now);
  assert.equal(changed({ mtimeMs: STAMP.mtimeMs + 1 }), false, "mtime");
  assert.equal(changed({ mtimeMs: STAMP.mtimeMs - 60_000 }), false, "set back");
  assert.equal(changed({ ctimeMs: STAMP.ctimeMs + 1000 }), false, "ctime");
  assert.equal(changed({ id: "7:43" }), false, "another folder");
  const unsettled = { ...LISTED, listedAt: LISTED.mtimeMs + SETTLED_MS - 1 };
  assert.equal(isReusable(unsettled, STAMP, now), false, "listed too soon");
  const lateCtime = { ...STAMP, ctimeMs: LISTED.listedAt - SETTLED_MS + 1 };
  assert.equal(
    isReusable({ ...LISTED, ...lateCtime }, lateCtime, now),
    false,
    "ctime too close to the listing",
  );
});

Deno.test("isReusable() refuses an old listing and a clock that went back", () => {
  assert.equal(
    isReusable(LISTED, STAMP, LISTED.listedAt + MAX_AGE_MS),
    false,
  );
  assert.equal(isReusable(LISTED, STAMP, LISTED.listedAt - 1), false);
});

Deno.test("ListingCache saves and loads, and drops what fewer deliveries cannot trust", async () => {
  await using dir = await tempDir();
  const now = LISTED.listedAt + 1;
  const first = await ListingCache.load(dir.path, 10);
  first.remember("/bot/conversations", LISTED);
  await first.save();
  const again = await ListingCache.load(dir.path, 10);
  assert.deepEqual(again.reusable("/bot/conversations", STAMP, now), LISTED);
  assert.equal(again.reusable("/bot/leads", STAMP, now), undefined);
  const fewer = await ListingCache.load(dir.path, 9);
  assert.equal(fewer.reusable("/bot/conversations", STAMP, now), undefined);
  await Deno.writeTextFile(join(dir.path, "callsync-listing.json"), '{"ver');
  const torn = await ListingCache.load(dir.path, 10);
  assert.equal(torn.reusable("/bot/conversations", STAMP, now), undefined);
});

/** Long enough for a folder created now to count as settled (whole-second ctime). */
const settle = () => new Promise((r) => setTimeout(r, SETTLED_MS + 100));

/** A copy of the fixtures with a `state/` folder for the listing cache. */
async function botFolders(dir: string): Promise<void> {
  await copyTree(FIXTURES, dir, Date.now() - DAY);
  await Deno.mkdir(join(dir, "state"));
}

/** Scan `dir` with the listing cache kept in `dir/state`. */
async function scanCached(dir: string): Promise<ScanResult> {
  const cache = await ListingCache.load(join(dir, "state"), 0);
  const result = await scanBase(dir, { cache });
  await cache.save();
  return result;
}

const GHOST = "ghost.json";

/**
 * Slip a name that is in no folder into the remembered listing of
 * `conversations/`: a scan that reuses the listing reports it as a problem,
 * one that lists the folder never sees it.
 */
async function haunt(dir: string): Promise<void> {
  const path = join(dir, "state", "callsync-listing.json");
  const data = JSON.parse(await Deno.readTextFile(path));
  data.folders[join(dir, "conversations")].todo.push(GHOST);
  await Deno.writeTextFile(path, JSON.stringify(data));
}

const reused = (r: ScanResult) => r.problems.some((p) => p.name === GHOST);

const EXTRA = "transcript_session_2025-10-29T06-49-08.000000.json";
const conversationNames = (r: ScanResult) =>
  r.conversations.map((c) => c.name).sort();

async function addTranscript(dir: string, name: string): Promise<void> {
  await Deno.copyFile(
    join(dir, "conversations", FIXTURE_SETS[1]),
    join(dir, "conversations", name),
  );
}

Deno.test("scan() reuses the listing of a folder that has not changed", async () => {
  await using dir = await tempDir();
  await botFolders(dir.path);
  await settle();
  const first = await scanCached(dir.path);
  assert.equal(first.conversations.length, 5);
  await haunt(dir.path);
  const second = await scanCached(dir.path);
  assert.ok(reused(second), "the remembered listing was used");
  assert.deepEqual(conversationNames(second), conversationNames(first));
  // A new file moves the folder's times, so the folder is listed again.
  await addTranscript(dir.path, EXTRA);
  const third = await scanCached(dir.path);
  assert.ok(!reused(third));
  assert.deepEqual(
    conversationNames(third),
    [...conversationNames(first), EXTRA].sort(),
  );
});

Deno.test("scan() lists again a folder whose mtime was set back", async () => {
  await using dir = await tempDir();
  await botFolders(dir.path);
  await settle();
  await scanCached(dir.path);
  const folder = join(dir.path, "conversations");
  const { mtime } = await Deno.stat(folder);
  await addTranscript(dir.path, EXTRA);
  // `touch -d` on the folder: same mtime as listed, but a new ctime.
  await Deno.utime(folder, mtime!, mtime!);
  await haunt(dir.path);
  const second = await scanCached(dir.path);
  assert.ok(!reused(second));
  assert.ok(conversationNames(second).includes(EXTRA));
});

Deno.test("scan() lists again a folder that changed just before its listing", async () => {
  await using dir = await tempDir();
  // Created just now: a change right after the listing might keep the same
  // (whole-second) times, so the listing is not trusted.
  await botFolders(dir.path);
  await scanCached(dir.path);
  await haunt(dir.path);
  assert.ok(!reused(await scanCached(dir.path)));
});

/** Run, then run once more after every folder has been listed settled. */
async function deliveredAndListedSettled(box: {
  dir: string;
  run: (args: string[]) => Promise<{ code: number; stderr: string }>;
}) {
  const first = await box.run(["run"]);
  assert.equal(first.code, 0, first.stderr);
  // A second listing, settled and made once everything is delivered, keeps
  // no names.
  await settle();
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
