/**
 * The table of every setting callsync reads: its environment variable (a
 * contract with operators), its command-line flag, default and meaning. The
 * help text, the README table and the parser are all driven by it.
 *
 * @module
 */

/** How a setting's text is read. */
export type SettingKind =
  | "url"
  | "text"
  | "secret"
  | "count"
  | "seconds"
  | "backoff"
  | "dir"
  | "zone"
  | "file"
  | "proxy"
  | "address";

/** One configurable setting. */
export interface Setting {
  /** Environment variable name (a contract: never rename). */
  env: string;
  /** Long flag without dashes; a flag beats the environment. */
  flag: string;
  kind: SettingKind;
  /** Default as text, or undefined when the setting has none. */
  default?: string;
  /** Required by commands that talk to the CRM. */
  requiredForUpload?: boolean;
  /** One line for `--help` and the README. */
  doc: string;
}

/** Every setting, in the order `--help` lists them. */
export const SETTINGS: readonly Setting[] = [
  {
    env: "CRM_UPLOAD_URL",
    flag: "crm-upload-url",
    kind: "url",
    requiredForUpload: true,
    doc: "storage endpoint that takes the recording (multipart POST)",
  },
  {
    env: "CRM_CALL_DATA_URL",
    flag: "crm-call-data-url",
    kind: "url",
    requiredForUpload: true,
    doc: "endpoint that takes the call record (JSON POST)",
  },
  {
    env: "CRM_API_TOKEN",
    flag: "crm-api-token",
    kind: "secret",
    doc: "sent as `Authorization: Bearer …`; never logged",
  },
  {
    env: "CRM_PROXY",
    flag: "crm-proxy",
    kind: "proxy",
    doc:
      "proxy for every CRM request (`http://user:pass@host:port`), overriding HTTPS_PROXY, HTTP_PROXY and NO_PROXY; credentials never logged",
  },
  {
    env: "CRM_CA_FILE",
    flag: "crm-ca-file",
    kind: "file",
    doc:
      "PEM file of one or more CA certificates trusted for the CRM besides the usual roots (a private CA)",
  },
  {
    env: "DEFAULT_CAMPAIGN_ID",
    flag: "default-campaign-id",
    kind: "text",
    requiredForUpload: true,
    doc: "`campaignId` of every call record",
  },
  {
    env: "DEFAULT_VOICE_AGENT_ID",
    flag: "default-voice-agent-id",
    kind: "text",
    requiredForUpload: true,
    doc: "`voiceAgentId` of every call record",
  },
  {
    env: "DEFAULT_CLIENT_ID",
    flag: "default-client-id",
    kind: "text",
    requiredForUpload: true,
    doc: "`client` of every call record",
  },
  {
    env: "UPLOAD_BATCH_SIZE",
    flag: "upload-batch-size",
    kind: "count",
    default: "0",
    doc:
      "sets delivered per run at most (0 = no limit: a run keeps up however busy the host)",
  },
  {
    env: "UPLOAD_RETRY_ATTEMPTS",
    flag: "upload-retry-attempts",
    kind: "count",
    default: "3",
    doc: "failed runs of a set before it is `failed` and waits for `retry`",
  },
  {
    env: "UPLOAD_RETRY_BACKOFF",
    flag: "upload-retry-backoff",
    kind: "backoff",
    default: "60,300,900",
    doc: "seconds a failed set waits before the next run retries it",
  },
  {
    env: "UPLOAD_CONCURRENCY",
    flag: "concurrency",
    kind: "count",
    default: "4",
    doc: "sets uploaded in parallel (each set's two steps stay in order)",
  },
  {
    env: "UPLOAD_TIMEOUT_SECONDS",
    flag: "upload-timeout-seconds",
    kind: "seconds",
    default: "30",
    doc: "a request with no progress for this long is abandoned",
  },
  {
    env: "UPLOAD_DEADLINE_SECONDS",
    flag: "upload-deadline-seconds",
    kind: "seconds",
    default: "900",
    doc:
      "a request not answered in full within this long is abandoned, progress or not",
  },
  {
    env: "MATCH_WINDOW_SECONDS",
    flag: "match-window-seconds",
    kind: "seconds",
    default: "300",
    doc: "largest start-time difference of a recording and its transcript",
  },
  {
    env: "STALE_SECONDS",
    flag: "stale-seconds",
    kind: "seconds",
    default: "600",
    doc: "an unfinished file unchanged this long is taken as final",
  },
  {
    env: "ORPHAN_AFTER_SECONDS",
    flag: "orphan-after-seconds",
    kind: "seconds",
    default: "1800",
    doc: "deliver a call missing its other half after this long (0 = never)",
  },
  {
    env: "LEAD_WAIT_SECONDS",
    flag: "lead-wait-seconds",
    kind: "seconds",
    default: "300",
    doc:
      "a transcript that says `lead_generated: true` waits this long (after it was saved) for its lead file; a lead that comes later is sent as an update",
  },
  {
    env: "TIMEZONE",
    flag: "timezone",
    kind: "zone",
    doc: "IANA zone of naive timestamps (default: the host's zone)",
  },
  {
    env: "CONVERSATIONS_DIR",
    flag: "conversations-dir",
    kind: "dir",
    default: "conversations",
    doc: "transcripts folder (relative to --base-dir)",
  },
  {
    env: "RECORDINGS_DIR",
    flag: "recordings-dir",
    kind: "dir",
    default: "recordings",
    doc: "recordings folder (relative to --base-dir)",
  },
  {
    env: "LEADS_DIR",
    flag: "leads-dir",
    kind: "dir",
    default: "leads",
    doc: "leads folder (relative to --base-dir)",
  },
  {
    env: "PROCESSED_DIR",
    flag: "processed-dir",
    kind: "dir",
    default: "processed_uploads",
    doc: "callsync's own state folder (relative to --base-dir)",
  },
  {
    env: "MAX_DURATION_SECONDS",
    flag: "max-duration",
    kind: "seconds",
    default: "0",
    doc:
      "stop starting new sets after this long; in-flight ones finish (0 = no limit)",
  },
  {
    env: "SETTLE_SECONDS",
    flag: "settle-seconds",
    kind: "seconds",
    default: "10",
    doc:
      "watch: deliver a call once none of its files changed for this long (time for a late lead)",
  },
  {
    env: "WATCH_RESCAN_SECONDS",
    flag: "watch-rescan-seconds",
    kind: "seconds",
    default: "300",
    doc:
      "watch: list the folders anew this often, catching what file events missed",
  },
  {
    env: "STOP_TIMEOUT_SECONDS",
    flag: "stop-timeout",
    kind: "seconds",
    default: "30",
    doc:
      "watch: on SIGTERM/Ctrl-C, let requests in flight finish for at most this long",
  },
  {
    env: "HEARTBEAT_MINUTES",
    flag: "heartbeat-minutes",
    kind: "count",
    default: "5",
    doc:
      "watch: ping `HEALTHCHECK_URL/<code>` this often (0 = never); code as a run's exit code",
  },
  {
    env: "METRICS_LISTEN",
    flag: "metrics-listen",
    kind: "address",
    doc:
      "watch: serve Prometheus metrics on `http://HOST:PORT/metrics` (e.g. 127.0.0.1:9464)",
  },
  {
    env: "METRICS_FILE",
    flag: "metrics-file",
    kind: "file",
    doc:
      "write Prometheus text metrics here after every run (node_exporter textfile style)",
  },
  {
    env: "HEALTHCHECK_URL",
    flag: "healthcheck-url",
    kind: "url",
    doc:
      "ping `<url>/start` when a run starts and `<url>/<exit code>` when it ends",
  },
  {
    env: "ARCHIVE_DIR",
    flag: "archive-dir",
    kind: "dir",
    doc:
      "after delivery, move a set's files into `DIR/YYYY/MM/DD/` (off when unset)",
  },
  {
    env: "ARCHIVE_AFTER_DAYS",
    flag: "archive-after-days",
    kind: "count",
    default: "0",
    doc: "archive a delivered set only once it is this many days old",
  },
];
