/**
 * An independent multipart receiver: express + multer (from npm) on
 * 127.0.0.1, plain HTTP or HTTPS, keeping every upload's file in memory so a
 * test can compare it byte for byte.
 *
 * @module
 */
// @ts-types="@types/express"
import express from "express";
// @ts-types="@types/multer"
import multer from "multer";
import * as http from "node:http";
import * as https from "node:https";
import { listenOnLoopback } from "./loopback_server.ts";

/** One upload as multer parsed it. */
export interface ReceivedUpload {
  field: string;
  originalName: string;
  mimeType: string;
  bytes: Uint8Array;
  contentLength?: string;
  transferEncoding?: string;
  idempotencyKey?: string;
}

/** A running express + multer server. */
export interface MultipartServer extends AsyncDisposable {
  url: string;
  uploads: ReceivedUpload[];
  /** Call-data bodies, parsed. */
  records: unknown[];
  /** TCP connections accepted. */
  connections: number;
  /** Requests multer or express refused (an upload cut short …), by message. */
  errors: string[];
}

/**
 * Start express + multer: `POST /upload` (field `file`) answers
 * `{ success: true, data: { url } }`; `POST /call-data` answers
 * `{ success: true }`.
 */
export async function startMultipartServer(
  tls?: { cert: string; key: string },
): Promise<MultipartServer> {
  const app = express();
  const upload = multer({ storage: multer.memoryStorage() });
  const server: MultipartServer = {
    url: "",
    uploads: [],
    records: [],
    connections: 0,
    errors: [],
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  app.post("/upload", upload.single("file"), (req, res) => {
    const f = req.file!;
    server.uploads.push({
      field: f.fieldname,
      originalName: f.originalname,
      mimeType: f.mimetype,
      bytes: new Uint8Array(f.buffer),
      contentLength: req.headers["content-length"],
      transferEncoding: req.headers["transfer-encoding"],
      idempotencyKey: req.headers["idempotency-key"] as string | undefined,
    });
    res.json({
      success: true,
      data: { url: `${server.url}/r/${f.originalname}` },
    });
  });
  app.post("/call-data", express.json(), (req, res) => {
    server.records.push(req.body);
    res.json({ success: true });
  });
  app.use(
    (
      err: Error,
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      server.errors.push(err.message);
      res.status(400).json({ success: false, message: err.message });
    },
  );
  const listener = tls ? https.createServer(tls, app) : http.createServer(app);
  listener.on(tls ? "secureConnection" : "connection", () => {
    server.connections++;
  });
  const { port, close } = await listenOnLoopback(listener);
  server.url = `${tls ? "https" : "http"}://localhost:${port}`;
  server[Symbol.asyncDispose] = close;
  return server;
}
