/**
 * `CRM_CA_FILE`: the PEM certificates of a private CA, checked when the
 * configuration is read (Deno's client takes any text as a CA and fails only
 * at the first request).
 *
 * @module
 */
import { errorMessage } from "../core/errors.ts";

/** A CA file that cannot be used; names the file. */
export class CaFileError extends Error {
  override name = "CaFileError";
}

const PEM_BLOCK =
  /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * The certificates in the PEM file at `path`, one string each. Throws
 * {@link CaFileError} for an unreadable file, one without a certificate, or
 * a certificate that does not parse.
 *
 * @example
 * ```ts
 * const caCerts = await readCaFile("/etc/callsync/crm-ca.pem");
 * Deno.createHttpClient({ caCerts });
 * ```
 */
export async function readCaFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new CaFileError(
      `cannot read CRM_CA_FILE ${path}: ${errorMessage(e)}`,
    );
  }
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) {
    throw new CaFileError(
      `CRM_CA_FILE ${path} holds no PEM certificate (a "-----BEGIN CERTIFICATE-----" block)`,
    );
  }
  // Loaded only here, so a start-up without a CA file does not pay for it.
  const { X509Certificate } = await import("node:crypto");
  blocks.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (e) {
      throw new CaFileError(
        `CRM_CA_FILE ${path}: certificate ${
          i + 1
        } of ${blocks.length} does not parse (${errorMessage(e)})`,
      );
    }
  });
  return blocks;
}
