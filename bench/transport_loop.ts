/**
 * The "network" scenario's view of callsync's transport alone: each call's
 * two requests through `uploadRecording` and `postCallData` (the code a run
 * uses, one Transport), `concurrency` calls at a time, without the scan,
 * the plan or the state writes of a run.
 *
 *   deno run -A bench/transport_loop.ts ORIGIN CA_FILE LIST CONCURRENCY
 *
 * @module
 */
import { postCallData, uploadRecording } from "../lib/deliver/crm.ts";
import { Transport } from "../lib/deliver/transport.ts";
import { openSource } from "../lib/source/files.ts";

const [origin, caFile, listFile, concurrency] = Deno.args;
const calls = (await Deno.readTextFile(listFile)).trim().split("\n")
  .map((line) => line.split(" "));
using transport = new Transport({
  proxyVariables: {},
  caCerts: [await Deno.readTextFile(caFile)],
});
const crm = {
  uploadUrl: `${origin}/apis/api/public/upload`,
  callDataUrl: `${origin}/apis/api/public/call-data`,
  timeoutSeconds: 30,
  deadlineSeconds: 900,
  transport,
};
let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < calls.length) {
      const i = next++;
      const [recording, transcript] = calls[i];
      await using file = await openSource(recording);
      await uploadRecording(crm, file, "audio/ogg", `bench-rec-${i}`);
      const record = JSON.parse(await Deno.readTextFile(transcript));
      await postCallData(crm, record, `bench-call-${i}`);
    }
  }),
);
