import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { parseBuffer } from "music-metadata";
import { muxMp4, muxWebm } from "../../testing/media_files.ts";
import { Mp4FormatError, mp4Info, walkMp4 } from "../../lib/source/mp4.ts";
import {
  WEBM_HEAD_BYTES,
  WebmFormatError,
  webmInfo,
} from "../../lib/source/webm.ts";
import { recordingFormat } from "../../lib/source/media.ts";
import { concatBytes } from "../../lib/core/bytes.ts";
import { box, timingBody, trak } from "../../testing/mp4_boxes.ts";

async function readMp4(bytes: Uint8Array) {
  const found = await walkMp4(
    bytes.length,
    (at, n) => Promise.resolve(bytes.subarray(at, at + n)),
  );
  return mp4Info(found, bytes.length);
}

Deno.test("recordingFormat() knows Ogg, MP4/M4A and WebM names, nothing else", () => {
  deepStrictEqual(
    [
      "a-1.ogg",
      "a-1.OPUS",
      "a-1.m4a",
      "a-1.mp4",
      "a-1.webm",
      "a-1.wav",
      "a-1.ogg.part",
      "README",
    ].map(recordingFormat),
    ["ogg", "ogg", "mp4", "mp4", "webm", undefined, undefined, undefined],
  );
});

for (const fastStart of [false, "in-memory"] as const) {
  Deno.test(`mp4Info() reads a finished MP4's duration as music-metadata does (moov ${fastStart ? "first" : "last"})`, async () => {
    for (const seconds of [3, 61.5, 600]) {
      const bytes = muxMp4(seconds, fastStart);
      const info = await readMp4(bytes);
      const theirs = (await parseBuffer(bytes, { mimeType: "audio/mp4" }))
        .format.duration!;
      equal(info.complete, true);
      equal(info.contentType, "audio/mp4");
      ok(
        Math.abs(info.durationSeconds! - seconds) < 0.05,
        `${info.durationSeconds} vs ${seconds}`,
      );
      ok(
        Math.abs(info.durationSeconds! - theirs) < 0.05,
        `${info.durationSeconds} vs music-metadata ${theirs}`,
      );
    }
  });
}

Deno.test("mp4Info() calls an MP4 without its moov box unfinished, at every cut", async () => {
  const bytes = muxMp4(5, false);
  const moovAt = bytes.length -
    (await walkMp4(
      bytes.length,
      (a, n) => Promise.resolve(bytes.subarray(a, a + n)),
    )).moov!.length;
  for (const cut of [40, 1000, moovAt, moovAt + 9, bytes.length - 1]) {
    const info = await readMp4(bytes.subarray(0, cut));
    equal(info.complete, false, `cut at ${cut} of ${bytes.length}`);
    ok(info.pending, "says why");
  }
});

Deno.test("mp4Info() calls a fragmented MP4 unfinished until its mfra box", async () => {
  const bytes = muxMp4(4, "fragmented");
  const { boxes } = await walkMp4(
    bytes.length,
    (a, n) => Promise.resolve(bytes.subarray(a, a + n)),
  );
  equal(boxes[boxes.length - 1].type, "mfra");
  const done = await readMp4(bytes);
  equal(done.complete, true);
  ok(Math.abs(done.durationSeconds! - 4) < 0.05, String(done.durationSeconds));
  const cut = await readMp4(bytes.subarray(0, boxes[boxes.length - 1].offset));
  equal(cut.complete, false);
  ok(cut.pending?.includes("mfra"));
});

Deno.test("mp4Info() sends an MP4 with a video track as video/mp4", async () => {
  equal((await readMp4(muxMp4(2, false, true))).contentType, "video/mp4");
});

Deno.test("walkMp4() refuses a file that is not MP4", async () => {
  const text = new TextEncoder().encode("hello, this is not a movie at all");
  let error: unknown;
  try {
    await walkMp4(
      text.length,
      (a, n) => Promise.resolve(text.subarray(a, a + n)),
    );
  } catch (e) {
    error = e;
  }
  ok(error instanceof Mp4FormatError, String(error));
});

Deno.test("webmInfo() reads a finished WebM's duration as music-metadata does", async () => {
  for (const seconds of [3, 61.5, 600]) {
    const bytes = muxWebm(seconds);
    const info = webmInfo(bytes.subarray(0, WEBM_HEAD_BYTES), bytes.length);
    const theirs = (await parseBuffer(bytes, { mimeType: "audio/webm" })).format
      .duration!;
    equal(info.complete, true, info.pending ?? "complete");
    equal(info.contentType, "audio/webm");
    ok(
      Math.abs(info.durationSeconds! - seconds) < 0.05,
      `${info.durationSeconds} vs ${seconds}`,
    );
    ok(
      Math.abs(info.durationSeconds! - theirs) < 0.05,
      `vs music-metadata ${theirs}`,
    );
  }
});

Deno.test("webmInfo() calls a WebM still being written (unknown sizes, no Duration) unfinished", () => {
  const live = muxWebm(5, true);
  const info = webmInfo(live.subarray(0, WEBM_HEAD_BYTES), live.length);
  equal(info.complete, false);
  ok(info.pending);
  const done = muxWebm(5);
  equal(
    webmInfo(done.subarray(0, WEBM_HEAD_BYTES), done.length + 0).complete,
    true,
  );
  equal(
    webmInfo(done.subarray(0, 2000), done.length - 10).complete,
    false,
    "file shorter than its Segment",
  );
});

Deno.test("webmInfo() refuses a file that is not WebM", () => {
  throws(
    () => webmInfo(new TextEncoder().encode("OggS not webm"), 13),
    WebmFormatError,
  );
});

Deno.test("mp4Info() reads 64-bit box sizes and version-1 headers, audio track first", async () => {
  const bytes = concatBytes([
    box("ftyp", new TextEncoder().encode("M4A \0\0\0\0")),
    box("mdat", new Uint8Array(1000), { large: true }),
    box(
      "moov",
      concatBytes([
        box("mvhd", timingBody(1, 1000, 99_000)),
        trak("soun", 48000, 48000 * 95, 1),
      ]),
    ),
  ]);
  const info = await readMp4(bytes);
  deepStrictEqual(info, {
    complete: true,
    contentType: "audio/mp4",
    durationSeconds: 95,
    fragmented: false,
  });
});

Deno.test("mp4Info() calls an MP4 whose mdat runs to the end of the file unfinished", async () => {
  const bytes = concatBytes([
    box("ftyp", new TextEncoder().encode("isom\0\0\0\0")),
    box(
      "moov",
      concatBytes([
        box("mvhd", timingBody(0, 1000, 5000)),
        trak("soun", 1000, 5000),
      ]),
    ),
    box("mdat", new Uint8Array(500), { toEnd: true }),
  ]);
  const info = await readMp4(bytes);
  equal(info.complete, false);
  equal(info.durationSeconds, 5);
});
