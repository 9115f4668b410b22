/**
 * A CRM on Deno's own server that keeps every uploaded file's bytes (the
 * fake CRM only counts them), with a hook before each answer: the attack
 * tests swap a file at a chosen request, and check which bytes went out.
 *
 * @module
 */

import { crmEnv } from "./cli.ts";

/** One uploaded file, as the CRM received it. */
export interface Upload {
  fileName: string;
  bytes: Uint8Array;
}

/**
 * Called before answering request `n` (from 1) of an endpoint; for the call
 * data, with the record received.
 */
export type Hook = (
  n: number,
  record?: unknown,
) => Promise<Response | void> | Response | void;

/** What to do before answering each endpoint. */
export interface CaptureHooks {
  upload?: Hook;
  callData?: Hook;
}

/** A CRM on 127.0.0.1 that keeps what it receives. */
export class CaptureCrm implements AsyncDisposable {
  /** Every upload, in arrival order. */
  readonly uploads: Upload[] = [];
  /** Every call record accepted, in order. */
  readonly records: unknown[] = [];
  /** Every `Authorization` header received. */
  readonly authorizations: string[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #counts = { upload: 0, callData: 0 };

  constructor(hooks: CaptureHooks = {}) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#answer(req, hooks),
    );
  }

  async #answer(req: Request, hooks: CaptureHooks): Promise<Response> {
    this.authorizations.push(req.headers.get("authorization") ?? "");
    const path = new URL(req.url).pathname;
    if (path === "/upload") {
      const n = ++this.#counts.upload;
      const file = (await req.formData()).get("file") as File;
      this.uploads.push({ fileName: file.name, bytes: await file.bytes() });
      return await hooks.upload?.(n) ??
        Response.json({ success: true, data: { url: `https://files/${n}` } });
    }
    if (path === "/call-data") {
      const n = ++this.#counts.callData;
      const record = await req.json();
      const alt = await hooks.callData?.(n, record);
      if (alt) return alt;
      this.records.push(record);
      return Response.json({ success: true });
    }
    return new Response("not found", { status: 404 });
  }

  /** URL of the storage endpoint. */
  get uploadUrl(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/upload`;
  }

  /** URL of the call-data endpoint. */
  get callDataUrl(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/call-data`;
  }

  /** The environment that points callsync here. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return crmEnv(this, extra);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}
