import {
  deepStrictEqual,
  equal,
  ok,
  rejects,
  throws,
} from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import {
  type CrmEndpoints,
  CrmError,
  type FailureKind,
  postCallData,
  recordingUrl,
  type RetryPolicy,
  uploadRecording,
} from "../../lib/deliver/crm.ts";
import { Transport } from "../../lib/deliver/transport.ts";
import { parseProxy } from "../../lib/config/proxy.ts";
import { startForwardProxy } from "../../testing/forward_proxy.ts";
import {
  FakeCrm,
  type FakeCrmOptions,
  type Fault,
} from "../../testing/fake_crm.ts";
import { FileChangedError, openSource } from "../../lib/source/files.ts";
import { tempDir } from "../../testing/fixtures.ts";

const KEY = "callsync-recording-0123456789abcdef0123456789abcdef";
const RECORD = {
  campaignId: "campaign-7",
  callDetails: { callId: "CALL-20251029-064824-66243" },
};

/** A retry policy that records the sleeps it is asked for, without sleeping. */
function instantRetry(tries = 3): RetryPolicy & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    tries,
    baseDelayMs: 10,
    maxRetryAfterMs: 30_000,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    sleeps,
  };
}

/** A fake CRM with the transport {@link withCrm} opened for its test. */
type TestCrm = FakeCrm & { transport: Transport };

function endpoints(
  crm: TestCrm,
  extra: Partial<CrmEndpoints> = {},
): CrmEndpoints {
  return {
    uploadUrl: crm.uploadUrl,
    callDataUrl: crm.callDataUrl,
    timeoutSeconds: 5,
    deadlineSeconds: 60,
    transport: crm.transport,
    ...extra,
  };
}

/** Endpoints at `origin` (no fake CRM), over `transport`. */
function endpointsAt(origin: string, transport: Transport): CrmEndpoints {
  return {
    uploadUrl: `${origin}/apis/api/public/upload`,
    callDataUrl: `${origin}/apis/api/public/call-data`,
    timeoutSeconds: 5,
    deadlineSeconds: 60,
    transport,
  };
}

/** The temp recording {@link withCrm} hands its test. */
interface TempRecording {
  path: string;
  size: number;
}

/** uploadRecording() of `file` (its full size, key KEY) to the fake CRM. */
async function upload(
  crm: TestCrm,
  file: TempRecording,
  retry: RetryPolicy = instantRetry(),
  extra: Partial<CrmEndpoints> = {},
): Promise<string> {
  await using source = await openSource(file.path);
  return await uploadRecording(
    endpoints(crm, extra),
    source,
    "audio/ogg",
    KEY,
    retry,
  );
}

/** postCallData() of RECORD with key "k" to the fake CRM. */
function post(
  crm: TestCrm,
  retry: RetryPolicy = instantRetry(),
  extra: Partial<CrmEndpoints> = {},
): Promise<void> {
  return postCallData(endpoints(crm, extra), RECORD, "k", retry);
}

/** A temp recording of `size` bytes, a fake CRM, both cleaned up afterwards. */
async function withCrm(
  opts: FakeCrmOptions,
  fn: (crm: TestCrm, file: TempRecording) => Promise<void>,
  size = 5000,
): Promise<void> {
  await using dir = await tempDir("callsync-crm-");
  using transport = new Transport({ proxyVariables: {}, caCerts: [] });
  const crm = Object.assign(FakeCrm.start(opts), { transport });
  try {
    const path = join(dir.path, "number-_918655066243-1761720502.ogg");
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
    await Deno.writeFile(path, bytes);
    await fn(crm, { path, size });
  } finally {
    await crm.close();
  }
}

/** Fault only the `n`-th request to `endpoint` (all of them when n is 0). */
function faultAt(
  endpoint: "upload" | "call-data",
  fault: Fault,
  n = 1,
): FakeCrmOptions {
  return {
    fault: (e, i) => e === endpoint && (n === 0 || i === n) ? fault : undefined,
  };
}

function crmError(kind: FailureKind, ...texts: string[]) {
  return (e: unknown) => {
    ok(e instanceof CrmError, `expected a CrmError, got ${e}`);
    equal(e.kind, kind, e.message);
    for (const t of texts) ok(e.message.includes(t), `"${t}" in ${e.message}`);
    return true;
  };
}

Deno.test("uploadRecording() returns data.url and sends the file's name and size", async () => {
  await withCrm({}, async (crm, file) => {
    const url = await upload(crm, file);
    equal(crm.requests.length, 1);
    const req = crm.requests[0];
    equal(req.endpoint, "upload");
    equal(req.method, "POST");
    equal(req.fileName, "number-_918655066243-1761720502.ogg");
    equal(req.fileSize, file.size);
    ok(url.startsWith(`http://127.0.0.1:${crm.port}/apis/uploads/recordings/`));
    equal(req.idempotencyKey, KEY);
  });
});

Deno.test("postCallData() sends the record as JSON with its Idempotency-Key", async () => {
  await withCrm({}, async (crm) => {
    await postCallData(
      endpoints(crm),
      RECORD,
      "callsync-call-data-1",
      instantRetry(),
    );
    equal(crm.acceptedCallRecords().length, 1);
    const req = crm.requests[0];
    deepStrictEqual(req.json, RECORD);
    equal(req.idempotencyKey, "callsync-call-data-1");
    ok(req.headers["content-type"].startsWith("application/json"));
  });
});

Deno.test("postCallData() accepts a 2xx with an empty body", async () => {
  await withCrm(
    faultAt("call-data", { kind: "status", status: 200, body: "" }),
    async (crm) => {
      await post(crm);
      equal(crm.requests.length, 1);
    },
  );
});

Deno.test("uploadRecording() rejects success:false with the body excerpt", async () => {
  await withCrm(
    faultAt("upload", { kind: "success-false" }),
    async (crm, file) => {
      await rejects(
        upload(crm, file),
        crmError("rejected", "success:false", '"message":"rejected"'),
      );
      equal(crm.requests.length, 1, "a rejection is not retried in the run");
    },
  );
});

Deno.test("postCallData() rejects success:false with the body excerpt", async () => {
  await withCrm(
    faultAt("call-data", { kind: "success-false" }),
    async (crm) => {
      await rejects(
        post(crm),
        crmError("rejected", "success:false", "rejected"),
      );
    },
  );
});

Deno.test("an HTML page with HTTP 200 is rejected, quoting the page", async () => {
  await withCrm(faultAt("upload", { kind: "html" }), async (crm, file) => {
    await rejects(
      upload(crm, file),
      crmError("rejected", "not JSON", "<h1>502 Bad Gateway</h1>"),
    );
  });
  await withCrm(faultAt("call-data", { kind: "html" }), async (crm) => {
    await rejects(
      post(crm),
      crmError("rejected", "not JSON", "502 Bad Gateway"),
    );
  });
});

Deno.test("uploadRecording() rejects a success without data.url", async () => {
  await withCrm(faultAt("upload", { kind: "no-url" }), async (crm, file) => {
    await rejects(
      upload(crm, file),
      crmError("rejected", "data.url", '{"success":true,"data":{}}'),
    );
  });
});

Deno.test("a 500 followed by success within the retry policy succeeds with the same Idempotency-Key", async () => {
  await withCrm(
    faultAt("upload", { kind: "status", status: 500 }),
    async (crm, file) => {
      const retry = instantRetry();
      const url = await upload(crm, file, retry);
      ok(url.includes("/apis/uploads/recordings/"));
      deepStrictEqual(crm.requests.map((r) => r.answer), [500, 200]);
      deepStrictEqual(crm.requests.map((r) => r.idempotencyKey), [KEY, KEY]);
      equal(
        crm.requests[1].fileSize,
        file.size,
        "the body is sent again in full",
      );
      equal(retry.sleeps.length, 1);
    },
  );
});

Deno.test("a 503 on every try gives up after `tries` requests as transient", async () => {
  await withCrm(
    faultAt("call-data", { kind: "status", status: 503 }, 0),
    async (crm) => {
      const retry = instantRetry(3);
      await rejects(
        post(crm, retry),
        (e: unknown) =>
          crmError("transient", "503")(e) && (e as CrmError).status === 503,
      );
      equal(crm.requests.length, 3);
      equal(retry.sleeps.length, 2);
      ok(
        retry.sleeps[1] > retry.sleeps[0] * 0.3,
        "backoff does not shrink much",
      );
    },
  );
});

Deno.test("a 429 with Retry-After waits at least that long before retrying", async () => {
  await withCrm(
    faultAt("upload", { kind: "status", status: 429, retryAfter: "2" }),
    async (crm, file) => {
      const retry = instantRetry();
      await upload(crm, file, retry);
      deepStrictEqual(crm.requests.map((r) => r.answer), [429, 200]);
      equal(retry.sleeps.length, 1);
      ok(retry.sleeps[0] >= 2000, `slept ${retry.sleeps[0]} ms`);
    },
  );
});

Deno.test("a Retry-After beyond maxRetryAfterMs ends the run's tries at once", async () => {
  await withCrm(
    faultAt("upload", { kind: "status", status: 429, retryAfter: "3600" }),
    async (crm, file) => {
      const retry = instantRetry();
      await rejects(
        upload(crm, file, retry),
        (e: unknown) =>
          crmError("transient", "429")(e) &&
          (e as CrmError).retryAfterMs === 3_600_000,
      );
      equal(crm.requests.length, 1);
      deepStrictEqual(retry.sleeps, []);
    },
  );
});

Deno.test("a 413 is rejected with a hint about the upload limit", async () => {
  await withCrm(
    faultAt("upload", { kind: "status", status: 413, body: "too big" }),
    async (crm, file) => {
      await rejects(
        upload(crm, file),
        crmError("rejected", "413", "upload limit", "too big"),
      );
      equal(crm.requests.length, 1);
    },
  );
});

Deno.test("a 401 or 403 is unauthorized and not retried", async () => {
  for (const status of [401, 403]) {
    await withCrm(
      faultAt("call-data", { kind: "status", status }),
      async (crm) => {
        await rejects(
          post(crm),
          crmError("unauthorized", String(status), "CRM_API_TOKEN"),
        );
        equal(crm.requests.length, 1);
      },
    );
  }
});

Deno.test("a bearer token is sent when set, and no Authorization header otherwise", async () => {
  await withCrm({ token: "s3cret-token" }, async (crm, file) => {
    await upload(crm, file, instantRetry(), { apiToken: "s3cret-token" });
    await post(crm, instantRetry(), { apiToken: "s3cret-token" });
    deepStrictEqual(
      crm.requests.map((r) => r.headers["authorization"]),
      ["Bearer s3cret-token", "Bearer s3cret-token"],
    );

    // Without a token the fake answers 401: unauthorized, hinting none is set.
    await rejects(
      post(crm),
      crmError("unauthorized", "401", "none is set"),
    );
    equal(crm.requests[2].headers["authorization"], undefined);
  });
  await withCrm({}, async (crm, file) => {
    await upload(crm, file, instantRetry(), { apiToken: "" });
    ok(!("authorization" in crm.requests[0].headers));
  });
});

Deno.test("a connection reset mid-upload is transient and the retry succeeds", async () => {
  await withCrm(
    faultAt("upload", { kind: "reset" }),
    async (crm, file) => {
      await rejects(
        upload(crm, file, instantRetry(1)),
        crmError("transient"),
      );
      equal(crm.requests[0].answer, "reset");
    },
    200_000,
  );
  await withCrm(
    faultAt("upload", { kind: "reset" }),
    async (crm, file) => {
      const url = await upload(crm, file);
      ok(url.includes("/apis/uploads/recordings/"));
      deepStrictEqual(crm.requests.map((r) => r.answer), ["reset", 200]);
    },
    200_000,
  );
});

Deno.test("a CRM that stops answering times out after UPLOAD_TIMEOUT_SECONDS as transient", async () => {
  await withCrm(faultAt("upload", { kind: "hang" }), async (crm, file) => {
    const started = performance.now();
    await rejects(
      upload(crm, file, instantRetry(1), { timeoutSeconds: 1 }),
      crmError("transient", "no progress for 1 s"),
    );
    const elapsed = performance.now() - started;
    ok(elapsed >= 900 && elapsed < 4000, `gave up after ${elapsed} ms`);
    equal(crm.requests[0].answer, "hang");
    equal(crm.requests[0].fileSize, file.size, "the upload itself completed");
  });
});

Deno.test("an unreachable CRM is a transient failure", async () => {
  // A port that was just free: nothing listens there.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  using transport = new Transport({ proxyVariables: {}, caCerts: [] });
  await rejects(
    postCallData(
      endpointsAt(`http://127.0.0.1:${port}`, transport),
      RECORD,
      "k",
      instantRetry(2),
    ),
    crmError("transient", "/apis/api/public/call-data"),
  );
});

Deno.test("uploadRecording() sends a multipart body with Content-Length holding exactly the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "callsync-multipart-" });
  const seen: {
    contentLength: string | null;
    received: number;
    transferEncoding: string | null;
    idempotencyKey: string | null;
    fields: string[];
    fileName?: string;
    fileType?: string;
    bytes?: Uint8Array;
  }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      // Read the raw body first to count it, then parse it as the CRM would.
      const raw = new Uint8Array(await req.arrayBuffer());
      const form = await new Response(raw, { headers: req.headers }).formData();
      const file = form.get("file");
      seen.push({
        contentLength: req.headers.get("content-length"),
        received: raw.length,
        transferEncoding: req.headers.get("transfer-encoding"),
        idempotencyKey: req.headers.get("idempotency-key"),
        fields: [...form.keys()],
        fileName: file instanceof File ? file.name : undefined,
        fileType: file instanceof File ? file.type : undefined,
        bytes: file instanceof File
          ? new Uint8Array(await file.arrayBuffer())
          : undefined,
      });
      return Response.json({ success: true, data: { url: "https://x/1.ogg" } });
    },
  );
  try {
    // Larger than one 256 KiB read, with bytes that look like multipart syntax.
    const size = 600_001;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7919 + (i >> 9)) & 0xff;
    bytes.set(new TextEncoder().encode("\r\n--boundary\r\n"), 1000);
    const name = "number-_918655066243-1761720502.ogg";
    const path = join(dir, name);
    await Deno.writeFile(path, bytes);

    using transport = new Transport({ proxyVariables: {}, caCerts: [] });
    await using source = await openSource(path);
    const url = await uploadRecording(
      endpointsAt(`http://127.0.0.1:${server.addr.port}`, transport),
      source,
      "audio/ogg",
      KEY,
      instantRetry(),
    );

    equal(url, "https://x/1.ogg");
    equal(seen.length, 1);
    const got = seen[0];
    deepStrictEqual(got.fields, ["file"]);
    equal(got.fileName, name);
    equal(got.fileType, "audio/ogg");
    equal(got.bytes?.length, size);
    ok(got.bytes!.every((b, i) => b === bytes[i]), "the file's exact bytes");
    ok(got.contentLength !== null, "a Content-Length header was sent");
    equal(Number(got.contentLength), got.received, "and it was exact");
    equal(got.transferEncoding, null, "not chunked");
    equal(got.idempotencyKey, KEY);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a recording that shrinks while being sent rejects with FileChangedError, not retried", async () => {
  await withCrm({}, async (crm, file) => {
    const retry = instantRetry();
    await using source = await openSource(file.path);
    // The scan saw more bytes than the file now has.
    const bigger = {
      path: source.path,
      size: file.size + 4096,
      readInto: source.readInto.bind(source),
    };
    await rejects(
      uploadRecording(endpoints(crm), bigger, "audio/ogg", KEY, retry),
      (e: unknown) =>
        e instanceof FileChangedError && e.message.includes("shrank"),
    );
    deepStrictEqual(retry.sleeps, [], "our file changed: no in-run retry");
  });
});

Deno.test("recordingUrl() takes data.url, then url, then data.relativeUrl resolved against the upload URL", () => {
  const upload = "https://crm.example/apis/api/public/upload";
  equal(
    recordingUrl({
      success: true,
      url: "https://x.example/c.ogg",
      data: { url: "https://cdn.example/a.ogg", relativeUrl: "/b.ogg" },
    }, upload),
    "https://cdn.example/a.ogg",
  );
  equal(
    recordingUrl({
      success: true,
      url: "https://x.example/c.ogg",
      data: { relativeUrl: "/b.ogg" },
    }, upload),
    "https://x.example/c.ogg",
  );
  equal(
    recordingUrl(
      { data: { relativeUrl: "/uploads/recordings/1.ogg" } },
      upload,
    ),
    "https://crm.example/uploads/recordings/1.ogg",
  );
  equal(
    recordingUrl({ data: { relativeUrl: "r/1.ogg" } }, upload),
    "https://crm.example/apis/api/public/r/1.ogg",
  );
});

Deno.test("recordingUrl() refuses a missing, non-http(s), overlong or control-character URL, naming the endpoint", () => {
  const upload = "https://crm.example/apis/api/public/upload";
  for (
    const data of [
      {},
      { url: "javascript:alert(1)" },
      { url: "ftp://x/a.ogg" },
      { url: `https://x/${"a".repeat(2040)}` },
      { url: "https://x/a\n.ogg" },
      { relativeUrl: "/a\u0085.ogg" },
    ]
  ) {
    throws(
      () => recordingUrl({ success: true, data }, upload),
      (e: unknown) =>
        crmError("rejected")(e) &&
        (e as CrmError).message.startsWith("/apis/api/public/upload answered"),
      JSON.stringify(data),
    );
  }
});

Deno.test("a gzip-compressed answer is decoded: the call record is sent once and accepted", async () => {
  const seen: string[] = [];
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      seen.push(await req.text());
      return new Response(new Uint8Array(gzipSync('{"success":true}')), {
        headers: {
          "content-type": "application/json",
          "content-encoding": "gzip",
        },
      });
    },
  );
  using transport = new Transport({ proxyVariables: {}, caCerts: [] });
  await postCallData(
    endpointsAt(`http://127.0.0.1:${server.addr.port}`, transport),
    RECORD,
    "k",
    instantRetry(),
  );
  equal(seen.length, 1);
});

Deno.test("a redirect is refused (not retried in the run), naming where it points", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(null, {
        status: 301,
        headers: { location: "https://crm.example/new/call-data" },
      }),
  );
  using transport = new Transport({ proxyVariables: {}, caCerts: [] });
  const retry = instantRetry();
  await rejects(
    postCallData(
      endpointsAt(`http://127.0.0.1:${server.addr.port}`, transport),
      RECORD,
      "k",
      retry,
    ),
    crmError("rejected", "301", "https://crm.example/new/call-data"),
  );
  deepStrictEqual(retry.sleeps, []);
});

Deno.test("a proxy's 407 is unauthorized (the run stops), naming the proxy but not its password", async () => {
  await withCrm({}, async (crm) => {
    await using proxy = await startForwardProxy({
      user: "ops",
      password: "right",
    });
    using transport = new Transport({
      proxy: parseProxy(
        `http://ops:wrong-pw@127.0.0.1:${proxy.port}`,
        "CRM_PROXY",
      ),
      proxyVariables: {},
      caCerts: [],
    });
    await rejects(
      post(crm, instantRetry(), { transport }),
      (e: unknown) =>
        crmError(
          "unauthorized",
          `via proxy ${proxy.url}: 407 Proxy Authentication Required`,
        )(e) && !(e as Error).message.includes("wrong-pw"),
    );
    equal(crm.requests.length, 0);
  });
});
