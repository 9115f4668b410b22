#!/usr/bin/env bash
# install.sh: install callsync on a Linux host and schedule it.
#
# Builds the callsync binary with `deno compile` (or, when Deno cannot
# download its `denort` runtime, installs a small launcher that runs the
# source with `deno run`), writes a config file from templates/callsync.env
# (never overwriting one), and installs a cron line or systemd units.
# Idempotent: running it again with the same options changes nothing.
# Everything it adds is recorded in <lib-dir>/install-manifest, and
# `--uninstall` removes exactly that. `./install.sh --help` for the options.
set -euo pipefail

readonly DENO_VERSION=2.9.5
# The permissions `deno task compile` bakes into the binary
# (tests/e2e/compile_test.ts keeps them equal to deno.json's).
readonly PERMISSIONS=(--allow-read --allow-write --allow-net --allow-env)
# The V8 flags baked in beside them (lib/report/schedule.ts RUN_V8_FLAGS).
readonly V8_FLAGS=(--v8-flags=--max-semi-space-size=4,--optimize-for-size)
readonly MARKER="# callsync"
readonly DEFAULT_CRON="*/5 * * * *"
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SRC_DIR

prefix=/usr/local/bin
lib_dir=/usr/local/lib/callsync
config=/etc/callsync.env
base_dir=$PWD
log_file=/var/log/callsync.log
systemd_dir=/etc/systemd/system
cron_spec=""
want_cron=0
want_systemd=0
want_service=0
dry_run=0
uninstall=0
purge=0

usage() {
  cat <<EOF
Usage: ./install.sh [options]

Install callsync (from this source tree) on Linux and run it every 5 minutes.

  --prefix DIR        where the callsync command goes (default /usr/local/bin)
  --lib-dir DIR       source copy for the launcher, and the install manifest
                      (default /usr/local/lib/callsync)
  --config FILE       settings file, written from templates/callsync.env when
                      it does not exist yet (default /etc/callsync.env)
  --base-dir DIR      the bot's folder that each run works in
                      (default: the current directory)
  --cron [SCHEDULE]   add one crontab line (default schedule "$DEFAULT_CRON"),
                      replacing an older callsync line (marked "$MARKER")
  --log-file FILE     where the cron line appends output
                      (default /var/log/callsync.log)
  --systemd           write callsync.service + callsync.timer (every 5 min)
                      and, when systemctl exists, enable the timer
  --service           run callsync as a service instead: write
                      callsync-watch.service (callsync watch: delivers each
                      call seconds after it ends, restarts on failure) and,
                      when systemctl exists, enable and start it; may go with
                      --cron, whose runs then skip while watch holds the lock
                      (a fallback if the service is stopped)
  --systemd-dir DIR   where the units go (default /etc/systemd/system)
  --dry-run           print what would be done; change nothing
  --uninstall         remove what an earlier install added (as recorded in
                      <lib-dir>/install-manifest); keeps the config file
  --purge             with --uninstall: also remove the config file it wrote
  -h, --help          this text

The binary is built with: deno compile ${PERMISSIONS[*]} ${V8_FLAGS[*]} main.ts
Deno downloads its denort runtime for that. Offline, set DENORT_BIN=/path/to/denort
(a denort of Deno $DENO_VERSION for this host) or put denort-<target>.zip into
\$DENO_DIR/dl/release/v$DENO_VERSION/. If it cannot be downloaded and
DENORT_BIN is not set, a launcher running
'deno run ${PERMISSIONS[*]} ${V8_FLAGS[*]} <lib-dir>/main.ts' is installed instead.

Deno: the 'deno' on PATH; without one, 'npm install -g deno@$DENO_VERSION'
(or 'npx -y deno@$DENO_VERSION') when npm exists.
EOF
}

say() { printf 'install.sh: %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() {
  printf 'install.sh: error: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf 'install.sh: %s (see --help)\n' "$*" >&2
  exit 2
}
dry() { ((dry_run)); }

# systemctl disable --now the timer or service among the unit files given.
disable_units() {
  local u name
  for u in "$@"; do
    name=${u##*/}
    [[ $name == callsync.timer || $name == callsync-watch.service ]] || continue
    if dry; then
      say "would run: systemctl disable --now $name"
    else
      systemctl disable --now "$name" || warn "systemctl disable --now $name failed"
    fi
  done
}

# ------------------------------------------------------------------ options
while (($# > 0)); do
  arg=$1
  if [[ $arg == --*=* ]]; then
    shift
    set -- "${arg%%=*}" "${arg#*=}" "$@"
    continue
  fi
  case $arg in
    -h | --help)
      usage
      exit 0
      ;;
    --prefix | --lib-dir | --config | --base-dir | --log-file | --systemd-dir)
      (($# >= 2)) || usage_error "$arg needs a value"
      case $arg in
        --prefix) prefix=$2 ;;
        --lib-dir) lib_dir=$2 ;;
        --config) config=$2 ;;
        --base-dir) base_dir=$2 ;;
        --log-file) log_file=$2 ;;
        --systemd-dir) systemd_dir=$2 ;;
      esac
      shift 2
      ;;
    --cron)
      want_cron=1
      if (($# >= 2)) && [[ $2 != -* ]]; then
        cron_spec=$2
        shift
      fi
      shift
      ;;
    --systemd)
      want_systemd=1
      shift
      ;;
    --service)
      want_service=1
      shift
      ;;
    --dry-run)
      dry_run=1
      shift
      ;;
    --uninstall)
      uninstall=1
      shift
      ;;
    --purge)
      purge=1
      shift
      ;;
    *) usage_error "unknown option \"$arg\"" ;;
  esac
done

((want_cron && want_systemd)) && usage_error "choose --cron or --systemd, not both"
((want_systemd && want_service)) && usage_error "choose --systemd (a timer) or --service (callsync watch), not both"
((purge && !uninstall)) && usage_error "--purge goes with --uninstall"
((uninstall && (want_cron || want_systemd || want_service))) &&
  usage_error "--uninstall takes no --cron/--systemd/--service (it removes what was installed)"
[[ -z $cron_spec ]] && cron_spec=$DEFAULT_CRON

# Absolute, without a trailing slash; no line breaks (they would break the
# manifest and the crontab).
absolute() {
  local p=$1
  [[ $p == *$'\n'* || $p == *$'\r'* ]] && usage_error "a path must not contain a line break"
  [[ -n $p ]] || usage_error "an empty path was given"
  [[ $p == /* ]] || p=$PWD/$p
  while [[ $p == */ && $p != / ]]; do p=${p%/}; done
  printf '%s' "$p"
}
prefix=$(absolute "$prefix")
lib_dir=$(absolute "$lib_dir")
config=$(absolute "$config")
base_dir=$(absolute "$base_dir")
log_file=$(absolute "$log_file")
systemd_dir=$(absolute "$systemd_dir")
[[ $lib_dir == / ]] && usage_error "--lib-dir must not be /"

if ((want_cron)); then
  if [[ ! $cron_spec =~ ^@(reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)$ &&
    ! $cron_spec =~ ^[^[:space:]]+([[:space:]]+[^[:space:]]+){4}$ ]] ||
    [[ $cron_spec == *[%#]* ]]; then
    usage_error "--cron needs five schedule fields such as \"$DEFAULT_CRON\", got \"$cron_spec\""
  fi
fi

readonly manifest=$lib_dir/install-manifest
readonly bin=$prefix/callsync

work=$(mktemp -d "${TMPDIR:-/tmp}/callsync-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ------------------------------------------------------------- the manifest
# One entry a line: "mode launcher|binary", "file PATH", "dir PATH" (a folder
# this script created), "config PATH" (written by this script), "cron LINE",
# "unit PATH", "stamp HASH", "sha HASH".
old_mode="" old_stamp="" old_sha="" old_config="" old_cron=""
old_files=() old_dirs=() old_units=()
if [[ -f $manifest ]]; then
  while IFS= read -r entry || [[ -n $entry ]]; do
    key=${entry%% *}
    value=${entry#* }
    case $key in
      mode) old_mode=$value ;;
      file) old_files+=("$value") ;;
      dir) old_dirs+=("$value") ;;
      config) old_config=$value ;;
      cron) old_cron=$value ;;
      unit) old_units+=("$value") ;;
      stamp) old_stamp=$value ;;
      sha) old_sha=$value ;;
    esac
  done <"$manifest"
fi

is_callsync_line() { [[ $1 =~ [[:space:]]\#\ callsync[[:space:]]*$ ]]; }

# The current crontab (empty when the user has none).
crontab_read() {
  if crontab -l 2>"$work/crontab.err"; then return 0; fi
  grep -qi "no crontab" "$work/crontab.err" && return 0
  die "crontab -l failed: $(cat "$work/crontab.err")"
}

# Write the crontab with callsync's line set to $1 (or removed when $1 is
# empty); an older callsync line is replaced in place. Says what it did.
crontab_set() {
  local line=$1 current new="" placed=0 l
  current=$(crontab_read)
  if [[ -n $current ]]; then
    while IFS= read -r l || [[ -n $l ]]; do
      if is_callsync_line "$l"; then
        if [[ -n $line ]] && ((!placed)); then
          new+=$line$'\n'
          placed=1
        fi
      else
        new+=$l$'\n'
      fi
    done <<<"$current"
  fi
  if [[ -n $line ]] && ((!placed)); then new+=$line$'\n'; fi
  if [[ $new == "${current:+$current$'\n'}" ]]; then
    if [[ -n $line ]]; then
      say "crontab already has the callsync line; unchanged"
    else
      say "crontab has no callsync line; unchanged"
    fi
    return 0
  fi
  if [[ -n $line ]]; then
    if dry; then say "would set the crontab line: $line"; else say "crontab line: $line"; fi
  else
    if dry; then say "would remove the callsync line from the crontab"; else say "removed the callsync line from the crontab"; fi
  fi
  dry && return 0
  if [[ -z $new ]]; then
    crontab -r || die "crontab -r failed"
  else
    printf '%s' "$new" | crontab - || die "crontab - failed"
  fi
}

# ------------------------------------------------------------- uninstalling
if ((uninstall)); then
  if [[ ! -f $manifest ]]; then
    say "no install manifest at $manifest: nothing recorded, nothing removed (give the --lib-dir used to install)"
    exit 0
  fi
  if [[ -n $old_cron ]]; then
    if command -v crontab >/dev/null 2>&1; then
      crontab_set ""
    else
      warn "crontab not found; remove the line ending in \"$MARKER\" yourself"
    fi
  fi
  if ((${#old_units[@]} > 0)) && command -v systemctl >/dev/null 2>&1; then
    disable_units "${old_units[@]}"
  fi
  copies=0
  for f in "${old_units[@]}" "${old_files[@]}"; do
    [[ -e $f || -L $f ]] || continue
    if [[ $f == "$lib_dir"/* ]]; then
      copies=$((copies + 1))
      dry || rm -f -- "$f"
    elif dry; then
      say "would remove $f"
    else
      rm -f -- "$f" && say "removed $f"
    fi
  done
  if ((copies > 0)); then
    if dry; then say "would remove the source copy in $lib_dir ($copies files)"; else say "removed the source copy in $lib_dir ($copies files)"; fi
  fi
  if ((${#old_units[@]} > 0)) && command -v systemctl >/dev/null 2>&1 && ! dry; then
    systemctl daemon-reload || warn "systemctl daemon-reload failed"
  fi
  if [[ -n $old_config && -e $old_config ]]; then
    if ((purge)); then
      if dry; then say "would remove $old_config (--purge)"; else rm -f -- "$old_config" && say "removed $old_config (--purge)"; fi
    else
      say "kept the config file $old_config (your settings); --purge removes it"
    fi
  elif ((purge)) && [[ -e $config ]]; then
    say "kept $config: it was there before callsync was installed"
  fi
  if dry; then say "would remove $manifest"; else rm -f -- "$manifest"; fi
  for ((i = ${#old_dirs[@]} - 1; i >= 0; i--)); do
    d=${old_dirs[i]}
    [[ -d $d ]] || continue
    if dry; then
      say "would remove the folder $d if empty"
    elif rmdir -- "$d" 2>/dev/null; then
      say "removed $d"
    else
      say "kept the folder $d: it is not empty"
    fi
  done
  if dry; then say "dry run: nothing was changed"; else say "callsync uninstalled"; fi
  exit 0
fi

# --------------------------------------------------------------- installing
new_files=() new_dirs=("${old_dirs[@]}")
changes=0

# mkdir -p, remembering each folder it creates.
make_dir() {
  local d=$1 missing=()
  while [[ ! -d $d ]]; do
    missing=("$d" "${missing[@]}")
    d=$(dirname "$d")
  done
  ((${#missing[@]} == 0)) && return 0
  if dry; then
    say "would create the folder ${missing[-1]}"
    return 0
  fi
  for d in "${missing[@]}"; do
    mkdir -- "$d"
    new_dirs+=("$d")
  done
}

# Install file $1 as $2 with mode $3 unless $2 already has these bytes.
put_file() {
  local src=$1 dest=$2 mode=$3
  if [[ -f $dest && ! -L $dest ]] && cmp -s -- "$src" "$dest"; then
    dry || chmod "$mode" -- "$dest"
    return 0
  fi
  changes=$((changes + 1))
  if [[ $dest == "$bin" && -e $dest && ! -f $manifest ]]; then
    warn "replacing $dest, which install.sh did not install"
  fi
  if dry; then
    say "would install $dest"
    return 0
  fi
  make_dir "$(dirname "$dest")"
  cp -- "$src" "$dest.new.$$"
  chmod "$mode" -- "$dest.new.$$"
  mv -f -- "$dest.new.$$" "$dest"
}

# Install text $3 (a final newline added) as $1 with mode $2.
put_text() {
  printf '%s\n' "$3" >"$work/text"
  put_file "$work/text" "$1" "$2"
}

# ------------------------------------------------------------------- Deno
DENO=()
find_deno() {
  local p
  if p=$(command -v deno); then
    DENO=("$p")
    return 0
  fi
  if command -v npm >/dev/null 2>&1; then
    if dry; then
      say "would run: npm install -g deno@$DENO_VERSION (no deno on PATH)"
      return 0
    fi
    say "no deno on PATH; installing it: npm install -g deno@$DENO_VERSION"
    if npm install -g "deno@$DENO_VERSION"; then
      hash -r
      if p=$(command -v deno); then
        DENO=("$p")
        return 0
      fi
      p="$(npm prefix -g)/bin/deno"
      if [[ -x $p ]]; then
        DENO=("$p")
        return 0
      fi
    fi
    if command -v npx >/dev/null 2>&1; then
      warn "npm install -g failed or put no deno on PATH; using npx -y deno@$DENO_VERSION"
      if p=$(npx -y "deno@$DENO_VERSION" eval 'console.log(Deno.execPath())') && [[ -x $p ]]; then
        DENO=("$p")
        return 0
      fi
    fi
    printf '%s\n' \
      "install.sh: Deno $DENO_VERSION is needed, and 'npm install -g deno@$DENO_VERSION' did not provide it." \
      "Install Deno with this command (as a user that may write npm's global folder), then run ./install.sh again:" \
      "" \
      "  npm install -g deno@$DENO_VERSION" >&2
    exit 1
  fi
  printf '%s\n' \
    "install.sh: Deno $DENO_VERSION is needed and neither deno nor npm is on PATH." \
    "Install Deno with this command, then run ./install.sh again:" \
    "" \
    "  curl -fsSL https://deno.land/install.sh | sh -s v$DENO_VERSION" >&2
  exit 1
}

find_deno
if ((${#DENO[@]} > 0)); then
  deno_version=$("${DENO[0]}" --version 2>/dev/null) ||
    die "${DENO[0]} --version failed"
  deno_version=${deno_version%%$'\n'*}
  [[ $deno_version =~ ^deno\ ([0-9]+)\. ]] || die "cannot tell the version of ${DENO[0]}: $deno_version"
  ((BASH_REMATCH[1] >= 2)) || die "$deno_version is too old; callsync needs Deno 2 ($DENO_VERSION)"
  [[ $deno_version == "deno $DENO_VERSION "* ]] ||
    warn "using $deno_version; callsync is built and tested with Deno $DENO_VERSION"
fi

if ((want_cron)) && ! command -v crontab >/dev/null 2>&1; then
  die "--cron needs the crontab command (install cron), or use --systemd"
fi

# Text of a schedule piece (cron|service|timer), from lib/report/schedule.ts: the
# same text `callsync schedule --print` shows.
schedule_part() {
  CALLSYNC_PART=$1 CALLSYNC_MODULE=$SRC_DIR/lib/report/schedule.ts CALLSYNC_EXE=$bin \
    CALLSYNC_BASE=$base_dir CALLSYNC_ENV=$config CALLSYNC_LOG=$log_file \
    CALLSYNC_CRON=$cron_spec \
    "${DENO[0]}" eval --no-config --no-lock -q '
      const { pathToFileURL } = await import("node:url");
      const env = (k) => Deno.env.get(k);
      const m = await import(pathToFileURL(env("CALLSYNC_MODULE")).href);
      const opts = {
        command: [env("CALLSYNC_EXE")],
        baseDir: env("CALLSYNC_BASE"),
        envFile: env("CALLSYNC_ENV"),
        logFile: env("CALLSYNC_LOG"),
        cron: env("CALLSYNC_CRON"),
      };
      const part = env("CALLSYNC_PART");
      const out = part === "cron"
        ? m.cronLine(opts)
        : part === "watch"
        ? m.systemdService(opts)
        : m.systemdUnits(opts)[part];
      console.log(out.replace(/\n$/, ""));
    '
}

# ------------------------------------------------------------ the program
source_files() {
  printf '%s\n' main.ts deno.json
  (cd "$SRC_DIR" && find lib -type f | LC_ALL=C sort)
}

# What the binary is built from: Deno, permissions, denort and the source.
build_stamp() {
  {
    printf '%s\n' "$deno_version" "${PERMISSIONS[*]} ${V8_FLAGS[*]}" "DENORT_BIN=${DENORT_BIN:-}"
    if [[ -n ${DENORT_BIN:-} && -f $DENORT_BIN ]]; then sha256sum <"$DENORT_BIN"; fi
    source_files | while IFS= read -r f; do
      printf '%s %s\n' "$f" "$(sha256sum <"$SRC_DIR/$f")"
    done
  } | sha256sum | cut -d' ' -f1
}

# Compile into $work/callsync. Returns 0 when built, 1 when denort could not
# be downloaded (and DENORT_BIN is not set); dies on any other failure.
compile_binary() {
  local rc=0 t=()
  command -v timeout >/dev/null 2>&1 && t=(timeout "${CALLSYNC_COMPILE_TIMEOUT:-600}")
  say "compiling: deno compile ${PERMISSIONS[*]} ${V8_FLAGS[*]} --output <tmp>/callsync main.ts${DENORT_BIN:+ (DENORT_BIN=$DENORT_BIN)}"
  (cd "$SRC_DIR" && "${t[@]}" "${DENO[0]}" compile -q "${PERMISSIONS[@]}" "${V8_FLAGS[@]}" \
    --output "$work/callsync" main.ts) >"$work/compile.log" 2>&1 || rc=$?
  if ((rc == 0)); then
    local version
    version=$("${t[@]}" "$work/callsync" --version 2>&1) || true
    version=${version%%$'\n'*}
    if [[ $version != "callsync "* ]]; then
      [[ -n ${DENORT_BIN:-} ]] &&
        die "the compiled binary does not run callsync (it printed \"$version\"): DENORT_BIN=$DENORT_BIN must be the denort of Deno $DENO_VERSION for this host (not deno itself)"
      die "the compiled binary does not run callsync (it printed \"$version\")"
    fi
    return 0
  fi
  if [[ -z ${DENORT_BIN:-} ]] &&
    { ((rc == 124)) || grep -Eq 'denort-[A-Za-z0-9_-]+\.zip|Setting up base binary' "$work/compile.log"; }; then
    denort_error=$(grep -Eo 'https?://[^ )]*denort[^ )]*' "$work/compile.log" | head -n 1 || true)
    return 1
  fi
  cat "$work/compile.log" >&2
  die "deno compile failed (exit $rc); see above"
}

install_launcher() {
  local f
  while IFS= read -r f; do
    new_files+=("$lib_dir/$f")
    put_file "$SRC_DIR/$f" "$lib_dir/$f" 644
  done < <(source_files)
  new_files+=("$bin")
  put_text "$bin" 755 "#!/bin/sh
# callsync launcher, written by install.sh: Deno could not produce a compiled
# binary here, so this runs the source in $lib_dir with the same permissions.
exec $(sh_quote "${DENO[0]}") run ${PERMISSIONS[*]} ${V8_FLAGS[*]} --no-prompt --no-lock --config $(sh_quote "$lib_dir/deno.json") $(sh_quote "$lib_dir/main.ts") \"\$@\""
}

sh_quote() {
  if [[ $1 =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

mode="" stamp="" sha="" denort_error=""
if ((${#DENO[@]} == 0)); then
  say "would build $bin once Deno is installed (a compiled binary, or a launcher when denort cannot be downloaded)"
  mode=unknown
else
  stamp=$(build_stamp)
  if [[ $old_mode == binary && $old_stamp == "$stamp" && -f $bin ]] &&
    [[ $(sha256sum <"$bin" | cut -d' ' -f1) == "$old_sha" ]]; then
    mode=binary
    sha=$old_sha
    new_files+=("$bin")
    say "the compiled binary $bin is up to date"
  elif dry; then
    say "would compile $bin (deno compile ${PERMISSIONS[*]} ${V8_FLAGS[*]} main.ts); if denort cannot be downloaded, would install a launcher and copy the source to $lib_dir"
    mode=unknown
  elif compile_binary; then
    mode=binary
    sha=$(sha256sum <"$work/callsync" | cut -d' ' -f1)
    new_files+=("$bin")
    put_file "$work/callsync" "$bin" 755
  else
    mode=launcher
    stamp=""
    install_launcher
  fi
fi

# Files an earlier install added that this one does not: remove them.
if [[ $mode != unknown ]]; then
  for f in "${old_files[@]}"; do
    keep=0
    for g in "${new_files[@]}"; do [[ $f == "$g" ]] && keep=1 && break; done
    ((keep)) && continue
    [[ -e $f ]] || continue
    changes=$((changes + 1))
    if dry; then say "would remove $f (no longer used)"; else rm -f -- "$f"; fi
  done
else
  new_files=("${old_files[@]}")
fi

# ----------------------------------------------------------------- config
config_entry=""
[[ $old_config == "$config" ]] && config_entry=$config
if [[ -e $config ]]; then
  say "the config file $config exists; left as it is"
elif dry; then
  say "would write the config file $config from templates/callsync.env (mode 600)"
else
  make_dir "$(dirname "$config")"
  (umask 077 && cp -- "$SRC_DIR/templates/callsync.env" "$config.new.$$")
  mv -f -- "$config.new.$$" "$config"
  config_entry=$config
  changes=$((changes + 1))
  say "wrote $config from templates/callsync.env: fill in the CRM settings"
fi

# --------------------------------------------------------------- schedule
cron_entry=$old_cron
units=("${old_units[@]}")
systemctl_failed=0

# Remove the units an earlier install wrote, but the watch service when it
# is kept (--service).
remove_units() {
  local u gone=()
  for u in "${old_units[@]}"; do
    ((want_service)) && [[ ${u##*/} == callsync-watch.service ]] && continue
    gone+=("$u")
  done
  command -v systemctl >/dev/null 2>&1 && disable_units "${gone[@]}"
  for u in "${gone[@]}"; do
    [[ -e $u ]] || continue
    if dry; then say "would remove $u"; else rm -f -- "$u" && say "removed $u"; fi
  done
  units=()
}

# Enable and (re)start unit $1 when systemctl exists; $2 and $3 word the
# messages when it fails or is missing.
start_unit() {
  local unit=$1 written=$2 missing=$3
  if ! command -v systemctl >/dev/null 2>&1; then
    say "systemctl not found: $missing: systemctl daemon-reload && systemctl enable --now $unit"
  elif dry; then
    say "would run: systemctl daemon-reload && systemctl enable --now $unit"
  elif systemctl daemon-reload && systemctl enable "$unit" && systemctl restart "$unit"; then
    say "enabled and (re)started $unit"
  else
    systemctl_failed=1
    warn "systemctl failed; $written written: run 'systemctl daemon-reload && systemctl enable --now $unit' on a systemd host"
  fi
}

if ((want_cron)); then
  ((${#old_units[@]} > 0)) && remove_units
  # cron's ">> LOG" fails, and callsync never starts, when LOG's folder is missing.
  make_dir "$(dirname "$log_file")"
  if ((${#DENO[@]} == 0)); then
    say "would add the crontab line \"$cron_spec cd $base_dir && $bin run --env-file $config >> $log_file 2>&1 $MARKER\""
    cron_entry="pending"
  else
    cron_entry=$(schedule_part cron) || die "cannot make the cron line"
    crontab_set "$cron_entry"
  fi
elif ((want_systemd)); then
  if [[ -n $old_cron ]] && command -v crontab >/dev/null 2>&1; then crontab_set ""; fi
  # The timer replaces a watch service an earlier install wrote.
  for u in "${old_units[@]}"; do
    [[ ${u##*/} == callsync-watch.service && -e $u ]] || continue
    command -v systemctl >/dev/null 2>&1 && disable_units "$u"
    if dry; then say "would remove $u"; else rm -f -- "$u" && say "removed $u"; fi
  done
  cron_entry=""
  service_file=$systemd_dir/callsync.service
  timer_file=$systemd_dir/callsync.timer
  units=("$service_file" "$timer_file")
  if ((${#DENO[@]} == 0)); then
    say "would write $service_file and $timer_file"
  else
    before=$changes
    service=$(schedule_part service) || die "cannot make the systemd units"
    timer=$(schedule_part timer) || die "cannot make the systemd units"
    put_text "$service_file" 644 "$service"
    put_text "$timer_file" 644 "$timer"
    if ((changes > before)); then
      dry || say "wrote $service_file and $timer_file"
    else
      say "$service_file and $timer_file are up to date"
    fi
  fi
  start_unit callsync.timer "the units are" "wrote the units only; to start them"
fi

if ((want_service)); then
  ((want_cron)) || { [[ -n $old_cron ]] && command -v crontab >/dev/null 2>&1 && crontab_set ""; } || true
  ((want_cron)) || cron_entry=""
  ((want_cron || ${#old_units[@]} == 0)) || remove_units
  watch_file=$systemd_dir/callsync-watch.service
  units+=("$watch_file")
  if ((${#DENO[@]} == 0)); then
    say "would write $watch_file"
  else
    before=$changes
    watch_unit=$(schedule_part watch) || die "cannot make the systemd unit"
    put_text "$watch_file" 644 "$watch_unit"
    if ((changes > before)); then
      dry || say "wrote $watch_file"
    else
      say "$watch_file is up to date"
    fi
  fi
  start_unit callsync-watch.service "the unit is" "wrote the unit only; to start it"
fi

[[ -d $base_dir ]] || warn "the bot's folder $base_dir does not exist (yet); every run works in it (--base-dir)"

# ----------------------------------------------------------- the manifest
if [[ $mode == unknown ]]; then
  say "dry run: nothing was changed"
  exit 0
fi
# The manifest lives in lib_dir (a compiled install has nothing else there).
dry || make_dir "$lib_dir"
{
  printf '%s\n' "# callsync install manifest, written by install.sh: --uninstall removes exactly what is listed here"
  printf 'mode %s\n' "$mode"
  [[ -n $stamp && $mode == binary ]] && printf 'stamp %s\nsha %s\n' "$stamp" "$sha"
  for f in "${new_files[@]}"; do printf 'file %s\n' "$f"; done
  for d in "${new_dirs[@]}"; do printf 'dir %s\n' "$d"; done
  [[ -n $config_entry ]] && printf 'config %s\n' "$config_entry"
  [[ -n $cron_entry ]] && printf 'cron %s\n' "$cron_entry"
  for u in "${units[@]}"; do printf 'unit %s\n' "$u"; done
} >"$work/manifest"
if ! cmp -s -- "$work/manifest" "$manifest"; then
  if dry; then
    say "would record the installed files in $manifest"
  else
    cp -- "$work/manifest" "$manifest.new.$$"
    mv -f -- "$manifest.new.$$" "$manifest"
  fi
fi

if dry; then
  say "dry run: nothing was changed"
  exit 0
fi
if [[ $mode == binary ]]; then
  say "installed the compiled binary $bin"
else
  say "installed a launcher $bin: it runs 'deno run ${PERMISSIONS[*]} $lib_dir/main.ts' with ${DENO[0]} (deno compile could not download denort${denort_error:+ from $denort_error}; set DENORT_BIN=/path/to/denort and run install.sh again for a compiled binary)"
fi
version=$("$bin" --version 2>&1) || die "$bin --version failed: $version"
say "$bin --version: $version"
exit $((systemctl_failed ? 1 : 0))
