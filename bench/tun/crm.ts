/**
 * The fake CRM of the network scenario, for `bench/tun/line.sh`: HTTPS on
 * 10.9.0.2:8443 (namespace csB) with a certificate for `crm.test` from a
 * fresh test CA, written to CA_FILE.
 *
 *   ip netns exec csB deno run -A bench/tun/crm.ts CA_FILE
 *
 * @module
 */
import { FakeCrm } from "../../testing/fake_crm.ts";
import { makeTestPki } from "../../testing/test_ca.ts";

const pki = await makeTestPki(["crm.test"]);
await Deno.writeTextFile(Deno.args[0], pki.caCert);
const crm = FakeCrm.start({ tls: pki, hostname: "10.9.0.2" }, 8443);
console.log(`fake CRM on https://crm.test:${crm.port}`);
// Runs until killed; forget what it received now and then.
setInterval(() => crm.requests.splice(0), 10_000);
