/**
 * The `--help` text: every command, flag and setting (from {@link SETTINGS}).
 *
 * @module
 */
import { SETTINGS } from "../config/settings.ts";

/** The `--help` text. */
export function helpText(version: string): string {
  const settings = SETTINGS.map((s) =>
    `  --${s.flag} (${s.env}${
      s.default !== undefined ? `, default ${s.default}` : ""
    })\n      ${s.doc.replaceAll("`", "")}`
  ).join("\n");
  return `callsync ${version}: deliver voice-bot calls (recording, transcript, lead) to a CRM

Usage: callsync [command] [flags]

Commands:
  run                   one scan-and-upload pass (the default; what cron runs)
  watch [--serve [--host H] [--port P] [--token T]]
                        the service: holds the run lock, reacts to file events
                        and delivers each call SETTLE_SECONDS after its files
                        stop changing; SIGTERM/Ctrl-C stops it gracefully
                        (--stop-timeout); --serve adds the dashboard,
                        --metrics-listen HOST:PORT serves /metrics
  plan [--json]         show how files group into calls (the learned recorder
                        offset, each pair's start/end/length differences and
                        how sure), and what a run would do; no network, no
                        writes; exits 2 when TIMEZONE does not fit the files
  status [--json]       counts by state and every set not delivered, with why
  retry [NAME…] [--failed]
                        make failed sets (or the named ones) due again now
  summary [--date YYYY-MM-DD] [--days N] [--json]
                        the daily report (default: today in TIMEZONE); --days:
                        one row per day for the N days up to --date, with a
                        bar chart of calls delivered in a terminal
  schedule --print cron|systemd|windows|systemd-service|windows-service
                        print the cron line, systemd units or schtasks command
                        that runs callsync every 5 minutes on this host; or
                        the systemd unit / Task Scheduler XML that keeps
                        callsync watch running

  serve [--host H] [--port P] [--token T] [--public-url URL]
                        the web dashboard (default 127.0.0.1:8787); POSTs need
                        the token (--token or DASHBOARD_TOKEN, safer: not in
                        ps); without one it is read-only. A --host other
                        machines can reach (0.0.0.0, ::, a LAN address) needs
                        the token, for reads too (browsers ask for it: any
                        user, the token as password). --public-url: the
                        http(s) origin people open it at (behind a proxy);
                        its host is accepted in Host (repeat for several)

Selecting (run and plan):
  --since YYYY-MM-DD    only calls that started on or after this day
  --until YYYY-MM-DD    only calls that started on or before this day
  --only NAME…          only these sets (conversation or recording file names)

General flags:
  --base-dir DIR        folder that holds the bot's folders (default: working dir)
  --env-file FILE       read settings from a KEY=value file
  --log-format text|json
  -v, --verbose         also log debug lines
  -q, --quiet           log warnings and errors only
  -h, --help            this text
  --version             print the version

Settings (flag beats environment, environment beats --env-file):
${settings}

Proxies: HTTPS_PROXY (https URLs), HTTP_PROXY (http URLs) and NO_PROXY (hosts
that go direct), upper or lower case, are honoured from the environment or
--env-file; CRM_PROXY overrides all three for the CRM.

Exit codes: 0 nothing due failed, 1 some sets failed (retried later),
2 usage or configuration error (also: the files show TIMEZONE is not the
bot's zone; nothing is sent), 3 fatal (credentials refused, state folder
not writable).
`;
}
