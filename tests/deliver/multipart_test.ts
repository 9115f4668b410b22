import assert from "node:assert/strict";
import { concatBytes } from "../../lib/core/bytes.ts";
import { type BodySource, MultipartFile } from "../../lib/deliver/multipart.ts";

const MiB = 1024 * 1024;

/** A file of `size` patterned bytes, read from memory. */
function memoryFile(size: number): BodySource & { bytes: Uint8Array } {
  const bytes = new Uint8Array(size).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
  return {
    path: "/rec/number-_918655066243-1761720502.ogg",
    size,
    bytes,
    readInto: (buf, position) => {
      const part = bytes.subarray(position, position + buf.length);
      buf.set(part);
      return Promise.resolve(part.length);
    },
  };
}

/** Every chunk the body's stream hands over, in order. */
async function chunksOf(body: MultipartFile): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of body.stream()) out.push(chunk);
  return out;
}

for (
  const size of [0, 5_000, MiB, MiB + 10, MiB + 256 * 1024 + 1, 3 * MiB + 7]
) {
  Deno.test(`MultipartFile of ${size} bytes hands fetch no short chunk: the part head rides with the file's first bytes, the closing boundary with its last`, async () => {
    const file = memoryFile(size);
    const body = new MultipartFile({
      field: "file",
      fileName: "number-_918655066243-1761720502.ogg",
      file,
      mediaType: "audio/ogg",
    });
    const chunks = await chunksOf(body);
    const all = concatBytes(chunks);
    assert.equal(all.length, body.size, "exactly the announced size");
    assert.ok(body.complete);

    const text = new TextDecoder("latin1").decode(all);
    const boundary = body.type.split("boundary=")[1];
    const head = `--${boundary}\r\n` +
      'Content-Disposition: form-data; name="file"; filename="number-_918655066243-1761720502.ogg"\r\n' +
      "Content-Type: audio/ogg\r\n\r\n";
    const tail = `\r\n--${boundary}--\r\n`;
    assert.ok(text.startsWith(head), "the part head first");
    assert.ok(text.endsWith(tail), "the closing boundary last");
    assert.deepEqual(
      all.subarray(head.length, head.length + size),
      file.bytes,
      "the file's exact bytes between them",
    );

    assert.ok(chunks[0].length > head.length || size === 0, "head not alone");
    const last = chunks.at(-1)!;
    assert.ok(
      last.length >= Math.min(size, 256 * 1024) + tail.length,
      `the last chunk (${last.length} bytes) is not a short one`,
    );
    if (size <= MiB) assert.equal(chunks.length, 1, "one chunk up to 1 MiB");
  });
}
