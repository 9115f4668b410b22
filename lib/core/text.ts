/**
 * Text files as Windows tools write them. PowerShell, .NET and many Windows
 * editors start UTF-8 with a byte-order mark (BOM), and Windows PowerShell 5
 * writes UTF-16 with one (`>` and `Out-File`). Both are read as the text they
 * hold; UTF-16 without a BOM cannot be told apart reliably and is refused by
 * name.
 *
 * @module
 */

/** Bytes that are not text callsync can read; the message says what to do. */
export class TextEncodingError extends Error {
  override name = "TextEncodingError";
}

const UTF8 = new TextDecoder("utf-8");
const UTF16LE = new TextDecoder("utf-16le");
const UTF16BE = new TextDecoder("utf-16be");

/**
 * Decode a text file: UTF-16 LE or BE when it starts with that BOM, else
 * UTF-8, its BOM (if any) dropped. Throws {@link TextEncodingError} for text
 * holding NUL bytes (UTF-16 without a BOM, most likely).
 *
 * @example
 * ```ts
 * decodeText(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])); // "{}"
 * decodeText(new Uint8Array([0xff, 0xfe, 0x7b, 0, 0x7d, 0])); // "{}"
 * ```
 */
export function decodeText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return UTF16LE.decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return UTF16BE.decode(bytes);
  const text = UTF8.decode(bytes);
  if (text.includes("\0")) {
    throw new TextEncodingError(
      "holds NUL bytes (UTF-16 without a byte-order mark?): save it as UTF-8, or as UTF-16 with a byte-order mark",
    );
  }
  return text;
}

/** {@link decodeText} of the file at `path`. */
export async function readText(path: string): Promise<string> {
  return decodeText(await Deno.readFile(path));
}
