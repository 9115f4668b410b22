/**
 * A test CA and a server certificate it signed, generated at test time with
 * the npm `selfsigned` package (EC P-256, valid from a day ago to a day
 * ahead, ≈ 120 ms): no private key is committed and nothing expires.
 *
 * @module
 */
import selfsigned from "selfsigned";

/** A CA and a server certificate for `names`, all PEM. */
export interface TestPki {
  /** The CA's certificate: what CRM_CA_FILE holds. */
  caCert: string;
  /** The server's certificate and key, for Deno.serve / listenTls / https. */
  cert: string;
  key: string;
}

const DAY_MS = 86_400_000;

/**
 * A new CA, and a server certificate it signed for `names` (DNS names or
 * IPv4 addresses; the first is the subject's common name).
 *
 * @example
 * ```ts
 * const pki = await makeTestPki(["localhost"]);
 * Deno.serve({ port: 0, cert: pki.cert, key: pki.key }, () => new Response());
 * Deno.createHttpClient({ caCerts: [pki.caCert] });
 * ```
 */
export async function makeTestPki(
  names: readonly string[] = ["localhost"],
): Promise<TestPki> {
  const common = {
    keyType: "ec",
    algorithm: "sha256",
    notBeforeDate: new Date(Date.now() - DAY_MS),
    notAfterDate: new Date(Date.now() + DAY_MS),
  } as const;
  const ca = await selfsigned.generate(
    [{ name: "commonName", value: "callsync test CA" }],
    {
      ...common,
      extensions: [
        { name: "basicConstraints", cA: true, critical: true },
        { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
      ],
    },
  );
  const server = await selfsigned.generate(
    [{ name: "commonName", value: names[0] }],
    {
      ...common,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: "basicConstraints", cA: false, critical: true },
        { name: "keyUsage", digitalSignature: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        {
          name: "subjectAltName",
          altNames: names.map((n) =>
            /^[\d.]+$/.test(n) ? { type: 7, ip: n } : { type: 2, value: n }
          ),
        },
      ],
    },
  );
  return { caCert: ca.cert, cert: server.cert, key: server.private };
}
