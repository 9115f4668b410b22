/**
 * The floor of the "network" scenario: a bare Deno fetch loop sending each
 * call's two requests (a FormData upload of the recording, then the
 * transcript as JSON), `concurrency` calls at a time, over one client.
 *
 *   deno run -A bench/fetch_loop.ts ORIGIN CA_FILE LIST CONCURRENCY
 *
 * LIST holds one "recording transcript" path pair per line.
 *
 * @module
 */
import { basename } from "node:path";

const [origin, caFile, listFile, concurrency] = Deno.args;
const calls = (await Deno.readTextFile(listFile)).trim().split("\n")
  .map((line) => line.split(" "));
using client = Deno.createHttpClient({
  caCerts: [await Deno.readTextFile(caFile)],
});
let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < calls.length) {
      const [recording, transcript] = calls[next++];
      const form = new FormData();
      form.append(
        "file",
        new File([await Deno.readFile(recording)], basename(recording), {
          type: "audio/ogg",
        }),
      );
      await send(`${origin}/apis/api/public/upload`, form, {});
      await send(
        `${origin}/apis/api/public/call-data`,
        await Deno.readFile(transcript),
        { "content-type": "application/json" },
      );
    }
  }),
);

async function send(
  url: string,
  body: BodyInit,
  headers: Record<string, string>,
): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    body,
    headers: { "idempotency-key": "bench", ...headers },
    client,
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
}
