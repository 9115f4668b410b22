import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { concatBytes } from "../../lib/core/bytes.ts";
import {
  inspectTail,
  oggCrc32,
  OggFormatError,
  type OggPage,
  parseOpusHead,
  parsePage,
  readOggInfo,
} from "../../lib/source/ogg.ts";
import {
  makeOpusOgg,
  oggPage,
  writeOpusOggFile,
} from "../../testing/ogg_writer.ts";
import { withTempDir } from "../../testing/fixtures.ts";
import { openSource } from "../../lib/source/files.ts";

/** readOggInfo() of the file at `path`, opened for it. */
async function oggInfoOf(path: string) {
  await using file = await openSource(path);
  return await readOggInfo(file);
}

const EXAMPLE_RECORDING = "number-_918655066243-1761720502.ogg";

/**
 * Playback lengths of the fixture recordings as measured by independent tools:
 * - `opusinfo FILE | grep "Playback length"` (opus-tools 0.2), which
 *   truncates to whole milliseconds (after float rounding: 44.4 s prints as
 *   "44.399s");
 * - `ffprobe -v error -show_entries format=duration -of csv=p=0 FILE`
 *   (FFmpeg 5.1.9), which does not subtract the 312-sample (6.5 ms) pre-skip.
 */
const FIXTURE_DURATIONS = [
  { file: EXAMPLE_RECORDING, opusinfo: "0m:44.399s", ffprobe: 44.4065 },
  {
    file: "number-_919167234510-1761722530.ogg",
    opusinfo: "0m:54.200s",
    ffprobe: 54.2065,
  },
  {
    file: "number-_917045118823-1761722558.ogg",
    opusinfo: "0m:25.199s",
    ffprobe: 25.2065,
  },
  {
    file: "number-_919820012345-1761732314.ogg",
    opusinfo: "0m:19.600s",
    ffprobe: 19.6065,
  },
  {
    file: "number-_919876501234-1760363470.ogg",
    opusinfo: "1m:20.299s",
    ffprobe: 80.3065,
  },
];

function fixture(name: string): string {
  return fileURLToPath(
    new URL(`../../fixtures/recordings/${name}`, import.meta.url),
  );
}

/** Every page of a buffer that holds whole pages from its start. */
function pagesOf(bytes: Uint8Array): OggPage[] {
  const pages: OggPage[] = [];
  for (let at = 0, page; (page = parsePage(bytes, at));) {
    pages.push(page);
    at += page.headerSize + page.bodySize;
  }
  return pages;
}

function seconds(granule: bigint, preSkip = 312): number {
  return Number(granule - BigInt(preSkip)) / 48000;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await file.write(bytes.subarray(at));
  }
}

/** Runs `fn` with a fresh temp dir, removed afterwards. */
const withDir = (fn: (dir: string) => Promise<void>) =>
  withTempDir("callsync_ogg_test_", fn);

Deno.test("oggCrc32() gives the check value of the Ogg CRC-32 parameters", () => {
  assert.equal(oggCrc32(new TextEncoder().encode("123456789")), 0x89a1897f);
  assert.equal(oggCrc32(new Uint8Array(0)), 0);
});

Deno.test("oggCrc32() matches the CRC stored in a real opusenc page", async () => {
  const bytes = await Deno.readFile(fixture(EXAMPLE_RECORDING));
  const first = parsePage(bytes, 0);
  assert.ok(first);
  const page = bytes.slice(0, first.headerSize + first.bodySize);
  const stored = new DataView(page.buffer).getUint32(22, true);
  page.fill(0, 22, 26);
  assert.equal(oggCrc32(page), stored);
});

Deno.test("parsePage() reads every page of a real recording with valid CRCs", async () => {
  const bytes = await Deno.readFile(fixture(EXAMPLE_RECORDING));
  const pages = pagesOf(bytes);
  const last = pages[pages.length - 1];
  assert.equal(last.offset + last.headerSize + last.bodySize, bytes.length);
  assert.ok(pages.every((page) => page.crcOk));
  assert.deepEqual(
    pages.map((page) => page.sequence),
    pages.map((_, i) => i),
  );
  assert.deepEqual(
    pages[0],
    {
      offset: 0,
      headerType: 0x02,
      granule: 0n,
      serial: 1761720502, // opusenc --serial in tools/make_fixtures.sh
      sequence: 0,
      headerSize: 28,
      bodySize: 19,
      crcOk: true,
    },
  );
  assert.equal(last.headerType, 0x04);
});

Deno.test("parsePage() returns undefined when the buffer ends inside the page", () => {
  const bytes = makeOpusOgg({ durationSeconds: 1 });
  const first = parsePage(bytes, 0);
  assert.ok(first);
  const size = first.headerSize + first.bodySize;
  for (let cut = 0; cut < size; cut++) {
    assert.equal(parsePage(bytes.subarray(0, cut), 0), undefined, `cut ${cut}`);
  }
  assert.ok(parsePage(bytes.subarray(0, size), 0));
});

Deno.test("parsePage() throws OggFormatError without a capture pattern at the offset", () => {
  const bytes = makeOpusOgg({ durationSeconds: 1 });
  assert.throws(() => parsePage(bytes, 1), OggFormatError);
  assert.throws(() => parsePage(new TextEncoder().encode("OggX"), 0), {
    name: "OggFormatError",
    message: /No Ogg page at byte 0/,
  });
  const version1 = bytes.slice();
  version1[4] = 1;
  assert.throws(() => parsePage(version1, 0), OggFormatError);
});

Deno.test("parseOpusHead() reads pre-skip, channels and input rate of a real recording", async () => {
  const bytes = await Deno.readFile(fixture(EXAMPLE_RECORDING));
  assert.deepEqual(parseOpusHead(bytes.subarray(0, 4096)), {
    preSkip: 312,
    channels: 1,
    inputSampleRate: 48000,
  });
});

Deno.test("parseOpusHead() rejects an Ogg stream of another codec", () => {
  const vorbis = oggPage(
    { headerType: 0x02, granule: 0n, serial: 7, sequence: 0 },
    [concatBytes([
      new Uint8Array([1]),
      new TextEncoder().encode("vorbis"),
      new Uint8Array(23),
    ])],
  );
  assert.throws(() => parseOpusHead(vorbis), {
    name: "OggFormatError",
    message: /not an OpusHead/,
  });
});

Deno.test("parseOpusHead() rejects a first page that is cut short", () => {
  const bytes = makeOpusOgg({ durationSeconds: 1 });
  assert.throws(() => parseOpusHead(bytes.subarray(0, 30)), {
    name: "OggFormatError",
    message: /first Ogg page is incomplete/,
  });
});

Deno.test("inspectTail() reports a finished stream that ends on its EOS page", () => {
  const bytes = makeOpusOgg({ durationSeconds: 7.5, preSkip: 100 });
  assert.deepEqual(inspectTail(bytes), {
    endsAtPage: true,
    eos: true,
    crcOk: true,
    granule: 100n + 7n * 48000n + 24000n,
  });
});

Deno.test("inspectTail() treats a half-written last page as incomplete", async () => {
  const bytes = await Deno.readFile(fixture(EXAMPLE_RECORDING));
  const pages = pagesOf(bytes);
  const last = pages[pages.length - 1];
  const previous = pages[pages.length - 2];
  for (const cut of [1, 4, 26, last.headerSize, last.headerSize + 1]) {
    assert.deepEqual(
      inspectTail(bytes.subarray(0, last.offset + cut)),
      {
        endsAtPage: false,
        eos: false,
        crcOk: false,
        granule: previous.granule,
      },
      `cut ${cut} bytes into the last page`,
    );
  }
  assert.equal(inspectTail(bytes.subarray(0, last.offset)).endsAtPage, true);
});

Deno.test("inspectTail() syncs on a tail that starts in the middle of a page", () => {
  const bytes = makeOpusOgg({ durationSeconds: 600, bytesPerSecond: 4000 });
  const info = inspectTail(bytes.subarray(bytes.length - 131072 + 17));
  assert.deepEqual(info, {
    endsAtPage: true,
    eos: true,
    crcOk: true,
    granule: 312n + 600n * 48000n,
  });
});

Deno.test('inspectTail() is not fooled by "OggS" bytes inside packet data', () => {
  const serial = 99;
  const stream = makeOpusOgg({
    durationSeconds: 5,
    eos: false,
    serial,
    packetFill: new Uint8Array([0x4f, 0x67, 0x67, 0x53, 0, 0x04]), // "OggS" v0 EOS
  });
  const pages = pagesOf(stream);
  const realGranule = pages[pages.length - 1].granule + 960n;
  // A CRC-valid page image with EOS set, hidden at the very end of the last
  // real page's packet, so it too "ends exactly at EOF".
  const fake = oggPage(
    { headerType: 0x04, granule: 1n << 40n, serial, sequence: 999 },
    [new Uint8Array(40)],
  );
  const last = oggPage(
    { headerType: 0, granule: realGranule, serial, sequence: pages.length },
    [concatBytes([new Uint8Array([0xf8]), fake])],
  );
  assert.deepEqual(inspectTail(concatBytes([stream, last])), {
    endsAtPage: true,
    eos: false,
    crcOk: true,
    granule: realGranule,
  });
});

Deno.test("inspectTail() skips pages on which no packet ends (granule -1)", () => {
  const stream = makeOpusOgg({ durationSeconds: 2, eos: false, serial: 3 });
  const pages = pagesOf(stream);
  const unfinished = oggPage(
    { headerType: 0x04, granule: -1n, serial: 3, sequence: pages.length },
    [new Uint8Array(100)], // stands for the first part of a packet continued later
  );
  assert.deepEqual(inspectTail(concatBytes([stream, unfinished])), {
    endsAtPage: true,
    eos: true,
    crcOk: true,
    granule: pages[pages.length - 1].granule,
  });
});

Deno.test("inspectTail() finds no page in bytes that are not Ogg", () => {
  assert.deepEqual(
    inspectTail(new TextEncoder().encode("OggS is not enough")),
    {
      endsAtPage: false,
      eos: false,
      crcOk: false,
    },
  );
});

Deno.test("readOggInfo() reports a finished recording as complete with its duration", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/finished.ogg`;
    const bytes = makeOpusOgg({ durationSeconds: 43.2, preSkip: 312 });
    await Deno.writeFile(path, bytes);
    assert.deepEqual(await oggInfoOf(path), {
      complete: true,
      durationSeconds: 43.2,
      preSkip: 312,
      size: bytes.length,
    });
  });
});

Deno.test("readOggInfo() reports a recording without EOS page as incomplete but knows its duration", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/no_eos.ogg`;
    await Deno.writeFile(
      path,
      makeOpusOgg({ durationSeconds: 12, eos: false }),
    );
    const info = await oggInfoOf(path);
    assert.equal(info.complete, false);
    assert.equal(info.durationSeconds, 12);
  });
});

Deno.test("readOggInfo() reports a recording still being written as incomplete with the duration so far", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/growing.ogg`;
    const bytes = makeOpusOgg({ durationSeconds: 30 });
    const pages = pagesOf(bytes);
    const last = pages[pages.length - 1];
    await Deno.writeFile(path, bytes.subarray(0, last.offset + 40));
    assert.deepEqual(await oggInfoOf(path), {
      complete: false,
      durationSeconds: seconds(pages[pages.length - 2].granule),
      preSkip: 312,
      size: last.offset + 40,
    });
  });
});

Deno.test("readOggInfo() reports zero duration for a recording that has only its headers", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/headers.ogg`;
    const bytes = makeOpusOgg({ durationSeconds: 5, eos: false });
    const [, tags] = pagesOf(bytes);
    await Deno.writeFile(
      path,
      bytes.subarray(0, tags.offset + tags.headerSize + tags.bodySize),
    );
    assert.deepEqual(await oggInfoOf(path), {
      complete: false,
      durationSeconds: 0,
      preSkip: 312,
      size: tags.offset + tags.headerSize + tags.bodySize,
    });
  });
});

Deno.test("readOggInfo() reports a recording whose last page fails its CRC as incomplete", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/corrupt.ogg`;
    const bytes = makeOpusOgg({ durationSeconds: 20.5 });
    const pages = pagesOf(bytes);
    const previous = pages[pages.length - 2];
    bytes[bytes.length - 1] ^= 0xff; // inside the last packet
    await Deno.writeFile(path, bytes);
    // A corrupt page's granule is not trusted: the duration comes from the page before.
    assert.deepEqual(await oggInfoOf(path), {
      complete: false,
      durationSeconds: seconds(previous.granule),
      preSkip: 312,
      size: bytes.length,
    });
    assert.deepEqual(inspectTail(bytes), {
      endsAtPage: true,
      eos: true,
      crcOk: false,
      granule: previous.granule,
    });
  });
});

Deno.test("readOggInfo() rejects a zero-byte file, naming it", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/number-_910000000000-1761720000.ogg`;
    await Deno.writeFile(path, new Uint8Array(0));
    await assert.rejects(oggInfoOf(path), (error: unknown) => {
      assert.ok(error instanceof OggFormatError);
      assert.ok(error.message.includes(path), error.message);
      assert.match(error.message, /empty \(0 bytes\)/);
      return true;
    });
  });
});

Deno.test("readOggInfo() rejects a file that is not Ogg, naming it", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/not_audio.ogg`;
    await Deno.writeFile(path, new TextEncoder().encode('{"session_id": "x"}'));
    await assert.rejects(oggInfoOf(path), (error: unknown) => {
      assert.ok(error instanceof OggFormatError);
      assert.ok(
        error.message.startsWith(`${path}: Not an Ogg file`),
        error.message,
      );
      return true;
    });
  });
});

Deno.test("readOggInfo() handles a 5 MB recording full of fake capture patterns", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/big.ogg`;
    const size = await writeOpusOggFile(path, {
      durationSeconds: 312.5,
      bytesPerSecond: 16000,
      packetFill: new TextEncoder().encode("OggS\0\x04"),
    });
    assert.ok(size > 5_000_000, `${size} bytes`);
    assert.deepEqual(await oggInfoOf(path), {
      complete: true,
      durationSeconds: 312.5,
      preSkip: 312,
      size,
    });
  });
});

Deno.test("readOggInfo() reads only the head and tail of a 2 GiB recording", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/sparse.ogg`;
    const bytes = makeOpusOgg({ durationSeconds: 300 });
    const size = 2 ** 31;
    // Real head and tail around a sparse (all-zero) middle.
    {
      using file = await Deno.open(path, { write: true, create: true });
      await writeAll(file, bytes.subarray(0, 4096));
      await file.seek(size - 200_000, Deno.SeekMode.Start);
      await writeAll(file, bytes.subarray(bytes.length - 200_000));
    }
    await using file = await openSource(path);
    let bytesRead = 0;
    const counted = {
      path,
      size: file.size,
      read: async (position: number, length: number) => {
        const bytes = await file.read(position, length);
        bytesRead += bytes.length;
        return bytes;
      },
      readInto: async (buf: Uint8Array, position: number) => {
        const n = await file.readInto(buf, position);
        bytesRead += n;
        return n;
      },
    };
    assert.deepEqual(await readOggInfo(counted), {
      complete: true,
      durationSeconds: 300,
      preSkip: 312,
      size,
    });
    assert.ok(
      bytesRead > 0 && bytesRead <= 64 * 1024 + 2 * 65307,
      `read ${bytesRead} bytes`,
    );
  });
});

Deno.test("readOggInfo() measures the fixture recordings as opusinfo and ffprobe do", async () => {
  for (const { file, opusinfo, ffprobe } of FIXTURE_DURATIONS) {
    const info = await oggInfoOf(fixture(file));
    const [minutes, secs] = opusinfo.split(/[ms:]+/).map(Number);
    const opusinfoSeconds = minutes * 60 + secs;
    assert.equal(info.complete, true, file);
    assert.equal(info.preSkip, 312, file);
    assert.ok(info.durationSeconds !== undefined, file);
    assert.ok(
      Math.abs(info.durationSeconds - opusinfoSeconds) <= 0.0011,
      `${file}: ${info.durationSeconds} s vs opusinfo ${opusinfo}`,
    );
    assert.ok(
      Math.abs(info.durationSeconds - (ffprobe - 312 / 48000)) < 1e-6,
      `${file}: ${info.durationSeconds} s vs ffprobe ${ffprobe} s`,
    );
  }
});

Deno.test("writeOpusOggFile() writes the same stream as makeOpusOgg()", async () => {
  await withDir(async (dir) => {
    const opts = { durationSeconds: 1234.56, bytesPerSecond: 2000, serial: 5 };
    const path = `${dir}/written.ogg`;
    const size = await writeOpusOggFile(path, opts);
    const expected = makeOpusOgg(opts);
    assert.equal(size, expected.length);
    assert.deepEqual(await Deno.readFile(path), expected);
  });
});

/** `bytes` as a recording open for reading, counting the bytes read. */
function inMemory(bytes: Uint8Array) {
  const file = {
    path: "memory.ogg",
    size: bytes.length,
    bytesRead: 0,
    read: (position: number, length: number) => {
      const part = bytes.slice(position, position + length);
      file.bytesRead += part.length;
      return Promise.resolve(part);
    },
    readInto: (buf: Uint8Array, position: number) => {
      const part = bytes.subarray(position, position + buf.length);
      buf.set(part);
      file.bytesRead += part.length;
      return Promise.resolve(part.length);
    },
  };
  return file;
}

/** What readOggInfo() answered when it always read 64 KiB and 2 × 65,307 bytes. */
function fullWindowAnswer(bytes: Uint8Array) {
  const { preSkip } = parseOpusHead(bytes.subarray(0, 64 * 1024));
  const tail = inspectTail(bytes.subarray(Math.max(0, bytes.length - 130614)));
  return {
    complete: tail.endsAtPage && tail.eos && tail.crcOk,
    preSkip,
    size: bytes.length,
    ...(tail.granule === undefined
      ? {}
      : { durationSeconds: Math.max(0, seconds(tail.granule, preSkip)) }),
  };
}

Deno.test("readOggInfo() settles a finished recording from its first 4 KiB and last 16 KiB", async () => {
  const bytes = makeOpusOgg({ durationSeconds: 60, bytesPerSecond: 3300 });
  const file = inMemory(bytes);
  assert.deepEqual(await readOggInfo(file), {
    complete: true,
    durationSeconds: 60,
    preSkip: 312,
    size: bytes.length,
  });
  assert.equal(file.bytesRead, 4 * 1024 + 16 * 1024);
});

Deno.test("readOggInfo() answers as the full windows do at every length a growing recording passes through", async () => {
  const bytes = makeOpusOgg({ durationSeconds: 90, bytesPerSecond: 2000 });
  const cut = bytes.slice();
  cut[cut.length - 30] ^= 0xff; // the last page fails its CRC
  const noEos = makeOpusOgg({ durationSeconds: 90, eos: false });
  // Pages of 40 KB, longer than the first read of the tail.
  const bigPages = makeOpusOgg({
    durationSeconds: 6.5,
    bytesPerSecond: 40_000,
  });
  for (const stream of [bytes, cut, noEos, bigPages]) {
    for (let size = 200; size <= stream.length; size += 997) {
      const part = stream.subarray(0, size);
      assert.deepEqual(
        await readOggInfo(inMemory(part)),
        fullWindowAnswer(part),
        `${size} of ${stream.length} bytes`,
      );
    }
    assert.deepEqual(
      await readOggInfo(inMemory(stream)),
      fullWindowAnswer(stream),
    );
  }
});

Deno.test("readOggInfo() reads the last 128 KiB when the last page starts before the last 16 KiB", async () => {
  // 40 KB a second: the last page, half a second, is longer than 16 KiB.
  const bytes = makeOpusOgg({ durationSeconds: 19.5, bytesPerSecond: 40_000 });
  const last = pagesOf(bytes).at(-1)!;
  assert.ok(last.headerSize + last.bodySize > 16 * 1024);
  assert.deepEqual(await readOggInfo(inMemory(bytes)), {
    complete: true,
    durationSeconds: 19.5,
    preSkip: 312,
    size: bytes.length,
  });
});

Deno.test("readOggInfo() reads on when the first page does not end within 4 KiB", async () => {
  const bytes = makeOpusOgg({ durationSeconds: 5 });
  const [head] = pagesOf(bytes);
  const opusHead = bytes.subarray(
    head.headerSize,
    head.headerSize + head.bodySize,
  );
  const longFirst = oggPage(
    { headerType: 0x02, granule: 0n, serial: 1, sequence: 0 },
    [opusHead, new Uint8Array(6000)],
  );
  const file = concatBytes([
    longFirst,
    bytes.subarray(head.headerSize + head.bodySize),
  ]);
  const info = await readOggInfo(inMemory(file));
  assert.equal(info.preSkip, 312);
  assert.equal(info.durationSeconds, 5);
});
