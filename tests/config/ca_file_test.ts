import { equal, match, rejects } from "node:assert/strict";
import { join } from "node:path";
import { CaFileError, readCaFile } from "../../lib/config/ca_file.ts";
import { makeTestPki } from "../../testing/test_ca.ts";

async function withFile(text: string, fn: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ca.pem");
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readCaFile() returns every certificate in a PEM bundle", async () => {
  const [a, b] = await Promise.all([makeTestPki(), makeTestPki()]);
  await withFile(`# bundle\n${a.caCert}\n${b.caCert}`, async (path) => {
    const certs = await readCaFile(path);
    equal(certs.length, 2);
    match(certs[0], /^-----BEGIN CERTIFICATE-----/);
  });
});

Deno.test("readCaFile() names the file when it holds no certificate", async () => {
  const { key } = await makeTestPki();
  await withFile(key, async (path) => {
    await rejects(readCaFile(path), (e: Error) => {
      equal(e instanceof CaFileError, true);
      match(e.message, /CRM_CA_FILE .*ca\.pem holds no PEM certificate/);
      return true;
    });
  });
});

Deno.test("readCaFile() says which certificate of the bundle does not parse", async () => {
  const { caCert } = await makeTestPki();
  const broken =
    "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----";
  await withFile(`${caCert}\n${broken}\n`, async (path) => {
    await rejects(readCaFile(path), /certificate 2 of 2 does not parse/);
  });
});

Deno.test("readCaFile() of a missing file is a CaFileError naming it", async () => {
  await rejects(readCaFile("/nonexistent/callsync/ca.pem"), (e: Error) => {
    equal(e instanceof CaFileError, true);
    match(
      e.message,
      /cannot read CRM_CA_FILE \/nonexistent\/callsync\/ca\.pem/,
    );
    return true;
  });
});
