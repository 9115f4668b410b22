#!/bin/bash
# A packet-level 80 ms line between two network namespaces (needs root,
# iproute2, python3; optional, not part of any test):
#
#   bench/tun/line.sh up [ONE_WAY_MS]   namespaces csA / csB, TUN devices, the
#                                       bridge (bridge.py) and the fake CRM (crm.ts)
#   bench/tun/line.sh compare RUNS "C:N ..."
#                                       callsync run, the transport alone, a bare
#                                       fetch loop and curl, from csA, rotating order
#   bench/tun/line.sh down
#
# "compare" sends the oldest N sets of the network scenario's tree
# (deno run -A bench/run.ts network builds it) at concurrency C and prints wall
# times and connections opened (SYNs counted by the bridge).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${TUN_WORK:-/tmp/callsync-tun}
TREE=${TUN_TREE:-/tmp/callsync-bench/network-400}
ORIGIN=https://crm.test:8443

up() {
  local one_way=${1:-40}
  down 2>/dev/null || true
  mkdir -p "$WORK"
  for ns in csA csB; do ip netns add $ns; ip -n $ns link set lo up; done
  ip -n csA tuntap add dev tunA mode tun; ip -n csB tuntap add dev tunB mode tun
  ip -n csA addr add 10.9.0.1/24 dev tunA; ip -n csB addr add 10.9.0.2/24 dev tunB
  ip -n csA link set tunA mtu 9000 up; ip -n csB link set tunB mtu 9000 up
  mkdir -p /etc/netns/csA
  printf '127.0.0.1 localhost\n10.9.0.2 crm.test\n' > /etc/netns/csA/hosts
  python3 "$ROOT/bench/tun/bridge.py" "$one_way" "$WORK/syns" > "$WORK/bridge.log" 2>&1 &
  echo $! > "$WORK/bridge.pid"
  (cd "$ROOT" && ip netns exec csB deno run -A bench/tun/crm.ts "$WORK/ca.pem" > "$WORK/crm.log" 2>&1 &
    echo $! > "$WORK/crm.pid")
  for _ in $(seq 100); do [ -s "$WORK/crm.log" ] && break; sleep 0.1; done
  cat "$WORK/crm.log"
}

down() {
  for p in bridge crm; do [ -f "$WORK/$p.pid" ] && kill "$(cat "$WORK/$p.pid")" 2>/dev/null || true; done
  pkill -f "bench/tun/crm.ts" 2>/dev/null || true
  ip netns del csA 2>/dev/null || true; ip netns del csB 2>/dev/null || true
  rm -rf /etc/netns/csA
}

syns() { cat "$WORK/syns"; }
fail() { echo "$1 failed: its figure does not count" >&2; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# One tool sending the first N calls of $WORK/list at concurrency C: "ms conns".
one() {
  local tool=$1 c=$2 n=$3 s0 t0
  head -n "$n" "$TREE/call-list.txt" > "$WORK/list"
  [ "$tool" = curl ] && curl_configs "$c"
  [ "$tool" = callsync ] && rm -rf "$TREE/processed_uploads"
  s0=$(syns); t0=$(ms)
  case $tool in
    callsync)
      CRM_UPLOAD_URL=$ORIGIN/apis/api/public/upload CRM_CALL_DATA_URL=$ORIGIN/apis/api/public/call-data \
      CRM_CA_FILE=$WORK/ca.pem DEFAULT_CAMPAIGN_ID=c DEFAULT_VOICE_AGENT_ID=a DEFAULT_CLIENT_ID=cl \
      TIMEZONE=UTC UPLOAD_BATCH_SIZE=$n ip netns exec csA deno run --allow-read --allow-write \
        --allow-net --allow-env --v8-flags=--max-semi-space-size=4,--optimize-for-size \
        "$ROOT/main.ts" run --base-dir "$TREE" --concurrency "$c" -q || fail "$tool" ;;
    transport|fetch)
      ip netns exec csA deno run -A "$ROOT/bench/${tool}_loop.ts" $ORIGIN "$WORK/ca.pem" "$WORK/list" "$c" ||
        fail "$tool" ;;
    curl)
      ip netns exec csA sh -c 'for f in "$@"; do curl -K "$f" & done; wait' sh "$WORK"/curl-*.cfg ||
        fail "$tool" ;;
  esac
  echo "$(( $(ms) - t0 )) $(( $(syns) - s0 ))"
}

# One curl config per parallel slot: upload then call record, Expect: off.
curl_configs() {
  rm -f "$WORK"/curl-*.cfg
  local i=0 rec conv common
  common=$(printf 'silent\nshow-error\nfail\noutput = "/dev/null"\ncacert = "%s"\nheader = "Idempotency-Key: bench"' "$WORK/ca.pem")
  while read -r rec conv; do
    printf 'url = "%s"\n%s\nheader = "Expect:"\nform = "file=@%s;type=audio/ogg"\nnext\n' \
      "$ORIGIN/apis/api/public/upload" "$common" "$rec" >> "$WORK/curl-$((i % $1)).cfg"
    printf 'url = "%s"\n%s\nheader = "Content-Type: application/json"\ndata-binary = "@%s"\nnext\n' \
      "$ORIGIN/apis/api/public/call-data" "$common" "$conv" >> "$WORK/curl-$((i % $1)).cfg"
    i=$((i + 1))
  done < "$WORK/list"
  sed -i '$d' "$WORK"/curl-*.cfg # no "next" after the last URL
}

compare() {
  local runs=$1 tools=(callsync transport fetch curl)
  for level in $2; do
    local c=${level%:*} n=${level#*:}
    for r in $(seq "$runs"); do
      local k=$(( (r - 1) % 4 )) line="c $c, $n calls, run $r:"
      for tool in "${tools[@]:k}" "${tools[@]:0:k}"; do
        read -r took conns < <(one "$tool" "$c" "$n")
        line+=" $tool $took ms ($conns conn)"
      done
      echo "$line"
    done
  done
}

"$@"
