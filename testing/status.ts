/**
 * Read what a callsync run left behind, for end-to-end tests: the
 * `status --json` report, the state records in PROCESSED_DIR and the call
 * records the fake CRM accepted, with the checks every such test makes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { FakeCrm, ReceivedRequest } from "./fake_crm.ts";
import { type CliResult, runCli } from "./cli.ts";

/** One row of `status --json`: a set or file that is not delivered. */
export interface StatusRow {
  name: string;
  kind: "call" | "recording-only" | "lead-update" | "lead-only" | "file";
  state: string;
  reason: string;
  /** `lead-only`: why the lead belongs to no call. */
  aloneReason?: string;
  /** A call whose own lead was sent alone before. */
  leadSentAlone?: { lead: string; callId: string };
  attempts: number;
  lastError?: string;
  nextAttemptAt?: string;
}

/** What `status --json` prints. */
export interface StatusReport {
  counts: Record<string, number>;
  /** What needs a person (zone mismatch, files kept apart, clock changes). */
  warnings: string[];
  sets: StatusRow[];
}

/** The call record body callsync sends to call-data (the parts tests read). */
export interface CallRecord {
  callDetails: {
    callId: string;
    startTime?: string;
    recordingUrl?: string;
    recordingDuration?: number;
    callerNumber?: string;
  };
  transcription?: { session_id?: string };
  lead?: Record<string, unknown>;
}

/** A delivery record `<set>.uploaded` in PROCESSED_DIR. */
export interface DeliveryRecord {
  set: string;
  /** The set's source file, relative to the base folder, with `/`. */
  original_path: string;
  kind: "call" | "recording-only" | "lead-update" | "lead-only";
  call_id: string;
  alone_reason?: string;
  idempotency_key: string;
  recording_uploaded: boolean;
  recording_file?: string;
  recording_url?: string;
  truncated?: boolean;
  call_data_uploaded: boolean;
  lead_uploaded: boolean;
  lead_file?: string;
}

/** A progress record `<set>.pending` in PROCESSED_DIR. */
export interface ProgressRecord {
  set: string;
  attempts: number;
  recording_file?: string;
  recording_url?: string;
}

/** A folder callsync runs in (`--base-dir`): its path, or a sandbox. */
export type BaseDir = string | { dir: string };

/** Something that runs the CLI in its base folder, such as a sandbox. */
export interface CliRunner {
  run(args: string[], extraEnv?: Record<string, string>): Promise<CliResult>;
}

/** The report of a finished `status --json`, which must have exited 0. */
export function parseStatus(res: CliResult): StatusReport {
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

/** Run `status --json` in a sandbox (with `env` added) and parse it. */
export async function statusOf(
  box: CliRunner,
  env: Record<string, string> = {},
): Promise<StatusReport> {
  return parseStatus(await box.run(["status", "--json"], env));
}

/** Run `status --json` on `dir` with exactly `env`, and parse it. */
export async function statusAt(
  dir: string,
  env: Record<string, string>,
): Promise<StatusReport> {
  return parseStatus(
    await runCli(["status", "--json", "--base-dir", dir], env),
  );
}

/** The status row named `name`, which must be there. */
export function row(report: StatusReport, name: string): StatusRow {
  const r = report.sets.find((s) => s.name === name);
  assert.ok(r, `status lists ${name}: ${JSON.stringify(report.sets)}`);
  return r;
}

/** A path in the PROCESSED_DIR of `base` (the folder itself without `file`). */
export function processedPath(base: BaseDir, file = ""): string {
  return join(
    typeof base === "string" ? base : base.dir,
    "processed_uploads",
    file,
  );
}

/** The JSON state file `file` in PROCESSED_DIR. */
async function readState<T>(base: BaseDir, file: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(processedPath(base, file)));
}

/** The delivery record of `set`. */
export function deliveryRecord(
  base: BaseDir,
  set: string,
): Promise<DeliveryRecord> {
  return readState(base, `${set}.uploaded`);
}

/** The progress record of `set`. */
export function progressRecord(
  base: BaseDir,
  set: string,
): Promise<ProgressRecord> {
  return readState(base, `${set}.pending`);
}

/** Every set with a `<set>.uploaded` in PROCESSED_DIR, sorted (none if no folder). */
export async function deliveredSets(base: BaseDir): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(processedPath(base))) {
      if (e.name.endsWith(".uploaded")) out.push(e.name.slice(0, -9));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

/** The call record a call-data request carried. */
export function callRecordOf(request: ReceivedRequest): CallRecord {
  return request.json as CallRecord;
}

/** The call id of every call record the CRM accepted, in arrival order. */
export function acceptedCallIds(crm: FakeCrm): string[] {
  return crm.acceptedCallRecords().map((r) =>
    callRecordOf(r).callDetails.callId
  );
}

/** The Idempotency-Keys each call id of `callRecords` came under, by call id. */
export function idempotencyKeysByCall(
  callRecords: ReceivedRequest[],
): Map<string, Set<string>> {
  const keys = new Map<string, Set<string>>();
  for (const r of callRecords) {
    const id = callRecordOf(r).callDetails.callId;
    const set = keys.get(id) ?? new Set();
    set.add(r.idempotencyKey ?? "");
    keys.set(id, set);
  }
  return keys;
}

/**
 * Every delivery record in the sandbox is backed by a call record the CRM
 * accepted: nothing is marked delivered that was not.
 */
export async function assertBackedByCrm(
  box: { dir: string; crm: FakeCrm },
): Promise<void> {
  const accepted = new Set(acceptedCallIds(box.crm));
  for (const set of await deliveredSets(box)) {
    const record = await deliveryRecord(box, set);
    assert.ok(accepted.has(record.call_id), `CRM accepted ${set}`);
  }
}

/** No call id reached the CRM under two different Idempotency-Keys. */
export function assertNoDuplicateCalls(box: { crm: FakeCrm }): void {
  for (
    const [id, set] of idempotencyKeysByCall(box.crm.acceptedCallRecords())
  ) {
    assert.equal(set.size, 1, `${id} sent as ${set.size} different calls`);
  }
}
