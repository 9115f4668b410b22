import { equal, throws } from "node:assert/strict";
import { decodeText, TextEncodingError } from "../../lib/core/text.ts";

const JSON_TEXT = '{"caller":"Zoë"}';

function utf16(text: string, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < text.length; i++) {
    view.setUint16(2 * i, text.charCodeAt(i), littleEndian);
  }
  return out;
}

Deno.test("decodeText() reads UTF-8 with or without a byte-order mark", () => {
  const utf8 = new TextEncoder().encode(JSON_TEXT);
  equal(decodeText(utf8), JSON_TEXT);
  equal(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8])), JSON_TEXT);
  equal(decodeText(new Uint8Array()), "");
});

Deno.test("decodeText() reads UTF-16 LE and BE by their byte-order mark", () => {
  equal(decodeText(utf16("\ufeff" + JSON_TEXT, true)), JSON_TEXT);
  equal(decodeText(utf16("\ufeff" + JSON_TEXT, false)), JSON_TEXT);
});

Deno.test("decodeText() refuses UTF-16 without a byte-order mark, saying so", () => {
  for (const littleEndian of [true, false]) {
    throws(
      () => decodeText(utf16(JSON_TEXT, littleEndian)),
      (e: unknown) =>
        e instanceof TextEncodingError &&
        /UTF-16 without a byte-order mark/.test(e.message),
    );
  }
});
