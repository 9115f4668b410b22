#!/usr/bin/env bash
# The test suite under the Windows build of Deno (Wine 10, through
# ../shared/windows/wine-deno.sh), as .ci/run runs it:
#
#   tools/wine-test.sh                            # deno task test, as Windows
#   tools/wine-test.sh tests/e2e/windows_test.ts  # some files (deno test -A)
#
# The whole suite runs with --parallel (two test files at a time): most of
# its time under Wine is spent starting deno.exe and waiting on wineserver,
# not on the CPU, and this halves it.
#
# Needs root. wine-deno.sh mounts one checkout at a time: never run two at
# once on a machine. WINE_DENO is the command that runs the script (default:
# bash with shared/windows/wine-deno.sh in the nearest folder above the
# checkout that has one — ../shared for a clone, ../../shared for a worktree
# under wt/; the shared copy may lack exec bits).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${WINE_DENO:-}" ]; then
  dir=..
  while [ ! -f "$dir/shared/windows/wine-deno.sh" ]; do
    [ "$(cd "$dir" && pwd)" = / ] && {
      echo "wine-test.sh: no shared/windows/wine-deno.sh above $PWD; set WINE_DENO" >&2
      exit 2
    }
    dir=$dir/..
  done
  WINE_DENO="bash $dir/shared/windows/wine-deno.sh"
fi
# Deno under Wine trusts only its own certificate list, so npm downloads
# through a proxy with its own CA fail. Hand it the host's bundle, copied
# into the checkout: the only host folder the Wine root sees (as Z:\w\src).
for bundle in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
  if [ -n "$bundle" ] && [ -r "$bundle" ]; then
    mkdir -p .wine && cp "$bundle" .wine/ca.pem
    export DENO_CERT='Z:\w\src\.wine\ca.pem'
    break
  fi
done
# The first call builds the Wine root (about two minutes on a new machine).
$WINE_DENO . --version
# debootstrap writes no /etc/hosts, so under Wine "localhost" does not
# resolve (os error 11001), where Windows resolves it by itself; the HTTPS
# tests need it (their certificates name localhost).
ROOT=${WINE_DENO_ROOT:-/var/tmp/wine-deno-trixie}
if ! grep -qs '^127\.0\.0\.1[[:space:]].*\blocalhost\b' "$ROOT/etc/hosts"; then
  echo '127.0.0.1 localhost' >>"$ROOT/etc/hosts"
fi
if [ $# -eq 0 ]; then
  exec $WINE_DENO . task test --parallel
fi
exec $WINE_DENO . test -A "$@"
