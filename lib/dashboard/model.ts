/**
 * The dashboard's view models: what the server reads from the plan and the
 * state, and what the pages render. They are also the JSON shapes of the
 * dashboard's API.
 *
 * @module
 */
import type { SetRow } from "../report/status.ts";
import type { DailySummary } from "../report/summary.ts";
import type { LastRun } from "../state/last_run.ts";

/** A not-delivered set or file, as listed on the dashboard. */
export interface DashboardRow extends SetRow {
  /** Caller digits, when known (for search by phone number). */
  phone?: string;
}

/** One recently delivered set. */
export interface RecentDelivery {
  set: string;
  callId: string;
  /** ISO-8601 UTC. */
  deliveredAt: string;
  kind?: Exclude<SetRow["kind"], "file">;
  recordingFile?: string;
  recordingUrl?: string;
  leadFile?: string;
}

/** A run started from the dashboard. */
export interface RunView {
  id: string;
  state: "running" | "finished" | "skipped" | "error";
  /** ISO-8601 UTC. */
  startedAt: string;
  endedAt?: string;
  exitCode?: number;
  delivered?: number;
  failed?: number;
  /** One line saying how it went, for people. */
  message: string;
  /** The run's log lines so far. */
  lines: string[];
  /** Lines left out once the run logged more than the dashboard keeps. */
  linesDropped: number;
}

/** The oldest set not delivered. */
export interface OldestPending {
  set: string;
  /** ISO-8601 UTC. */
  startedAt: string;
  ageSeconds: number;
}

/** Everything the dashboard page shows. */
export interface DashboardView {
  nonce: string;
  now: number;
  timezone: string;
  /** A token is configured: runs and retries are possible. */
  writable: boolean;
  /** The CRM endpoints and ids are configured: a run can upload. */
  uploadReady: boolean;
  counts: Record<"delivered" | "pending" | "waiting" | "failed", number>;
  /** What needs a person: a zone mismatch (nothing is sent), files kept apart, clock changes. */
  warnings: string[];
  lastRun?: LastRun;
  oldestPending?: OldestPending;
  /** Not-delivered rows to render (maybe a capped subset). */
  rows: DashboardRow[];
  /** How many not-delivered rows exist in all. */
  rowsTotal: number;
  recent: RecentDelivery[];
  summaries: DailySummary[];
  run?: RunView;
  filter: { state: string; q: string };
}

/** A file of a set. */
export interface SetFile {
  folder: "conversations" | "recordings" | "leads";
  name: string;
  size?: number;
  /** ISO-8601 UTC. */
  modifiedAt?: string;
  /** Recordings: length read from the container (Ogg, MP4/M4A, WebM). */
  durationSeconds?: number;
  /** Recordings: the recorder has finished the file. */
  complete?: boolean;
  /** Recordings: the Content-Type it is uploaded with. */
  contentType?: string;
  /** The file is no longer where it was (archived or removed). */
  missing?: boolean;
}

/** Everything known about one set (`/sets/<name>`, `/api/sets/<name>`). */
export interface SetDetail {
  name: string;
  state: "delivered" | "pending" | "waiting" | "failed";
  kind: SetRow["kind"];
  reason: string;
  /** `lead-update`: the callId (and set) of the delivered call this lead updates. */
  updateOf?: { set: string; callId: string };
  /** `lead-only`: why the lead belongs to no call (no call found, or the calls it fits). */
  aloneReason?: string;
  /** A call whose own lead was sent alone before: that lead, and the callId it went as. */
  leadSentAlone?: { lead: string; callId: string };
  /** When the CRM accepted it, ISO-8601 UTC. */
  deliveredAt?: string;
  callId?: string;
  /** Call start, ISO-8601 UTC. */
  startedAt?: string;
  attempts: number;
  lastError?: string;
  nextAttemptAt?: string;
  files: SetFile[];
  pairing: {
    recording?: {
      name: string;
      /** Recording start minus transcript start, seconds. */
      startDiffSeconds?: number;
      /** Recording end (name epoch + duration) minus transcript end, seconds. */
      endDiffSeconds?: number;
      /** Recording modification time minus transcript end, seconds. */
      mtimeEndDiffSeconds?: number;
      /** Recording length minus transcript length, seconds. */
      durationDiffSeconds?: number;
      /** The learned recorder offset the start was held against, seconds. */
      expectedOffsetSeconds?: number;
      cost?: number;
      /** 0…1: how clearly this pair beat every other explanation. */
      confidence?: number;
      /** Files whose ends fit as well (the set waits for them to settle). */
      rivals?: string[];
      /** Kept from an earlier upload, not matched again. */
      pinned: boolean;
    };
    lead?: {
      name: string;
      /** Which rule attached it (unknown once delivered). */
      reason?: "session-timestamp" | "session-id" | "time";
      /** For "time": lead time − the call's save time (or end), seconds. */
      diffSeconds?: number;
      against?: "saved" | "end";
      confidence?: number;
    };
    /** Files this set was kept apart from, for lack of a clear winner. */
    keptApartFrom?: { files: string[]; reason: string };
    /** A local time repeated by a clock change, and how it was read. */
    localTime?: { basis: "recording" | "file-time" | "rule"; readings: number };
    /** The host's timing as learned now (recorder offset and spreads, seconds). */
    timing?: {
      pairs: number;
      offsetSeconds: number;
      offsetSpreadSeconds: number;
      endBiasSeconds: number;
      endSpreadSeconds: number;
    };
  };
  /** `<set>.uploaded`, once delivered. */
  delivery: Record<string, unknown> | null;
  /** `<set>.pending` without its frozen call record (shown as the payload). */
  progress: Record<string, unknown> | null;
  payload: {
    source: "frozen" | "built" | "rebuilt";
    note: string;
    record: Record<string, unknown>;
  } | null;
}
