#!/usr/bin/env bash
# Regenerates the Ogg Opus recordings in fixtures/recordings/.
#
# Each recording is mono 48 kHz Opus at 8 kbit/s: the turns of its call spoken
# by espeak-ng (bot and caller in different voices), each placed at its
# transcript timestamp relative to the recording start (the unix second in the
# file name), mixed, and padded with silence to an exact sample count, so
# the playback length is exactly the duration listed below. The transcript
# and lead JSON files are written by hand; fixtures/README.md describes them.
#
# Needs: apt-get install -y espeak-ng sox opus-tools jq
# Usage: tools/make_fixtures.sh   (from anywhere; rewrites the .ogg files)
set -euo pipefail
export TZ=UTC LC_ALL=C

fixtures="$(cd "$(dirname "$0")/.." && pwd)/fixtures"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for tool in espeak-ng sox opusenc jq; do
  if ! command -v "$tool" >/dev/null; then
    echo "make_fixtures.sh: $tool is missing." \
      "Install the tools with: apt-get install -y espeak-ng sox opus-tools jq" >&2
    exit 1
  fi
done

# transcript_turns TRANSCRIPT START_UNIX
# Prints "offset<TAB>role<TAB>text" per conversation item of the transcript,
# offset = item timestamp (naive UTC) minus START_UNIX, in seconds.
transcript_turns() {
  jq -r '.conversation_items[] | [.timestamp, .role, .content] | @tsv' \
    "$fixtures/conversations/$1" |
    while IFS=$'\t' read -r timestamp role text; do
      offset="$(awk -v t="$(date -d "$timestamp" +%s.%N)" -v s="$2" \
        'BEGIN { printf "%.3f", t - s }')"
      printf '%s\t%s\t%s\n' "$offset" "$role" "$text"
    done
}

# render NAME DURATION_SECONDS < turns
# Speaks the "offset<TAB>role<TAB>text" turns on stdin into
# fixtures/recordings/NAME, exactly DURATION_SECONDS long.
render() {
  local name="$1" duration="$2" n=0 offset role text voice
  local start="${name##*-}"
  local samples
  samples="$(awk -v d="$duration" 'BEGIN { printf "%d", d * 48000 + 0.5 }')"
  local mix=()
  while IFS=$'\t' read -r offset role text; do
    n=$((n + 1))
    if [[ "$role" == assistant ]]; then voice="en-us+f3"; else voice="en+m3"; fi
    espeak-ng -v "$voice" -s 170 -w "$work/speech.wav" "$text"
    sox -R -v 0.7 "$work/speech.wav" -r 48000 -c 1 -b 16 "$work/turn$n.wav" pad "$offset"
    mix+=(-v 1 "$work/turn$n.wav")
  done
  if ((n > 1)); then
    sox -R -m "${mix[@]}" "$work/mixed.wav"
  else
    cp "$work/turn1.wav" "$work/mixed.wav"
  fi
  sox -R "$work/mixed.wav" "$work/padded.wav" pad 0 "$duration"
  sox -R "$work/padded.wav" "$work/call.wav" trim 0 "${samples}s"
  opusenc --quiet --bitrate 8 --downmix-mono --serial "${start%.ogg}" \
    "$work/call.wav" "$fixtures/recordings/$name"
  rm -f "$work"/turn*.wav
  echo "$name: ${duration} s, $(wc -c <"$fixtures/recordings/$name") bytes"
}

mkdir -p "$fixtures/recordings"

# Call 1: the example call, with a lead.
transcript_turns transcript_session_2025-10-29T06-49-07.351452.json 1761720502 |
  render number-_918655066243-1761720502.ogg 44.4

# Calls 2 and 3: overlapping calls from two numbers.
transcript_turns transcript_session_2025-10-29T07-23-04.887540.json 1761722530 |
  render number-_919167234510-1761722530.ogg 54.2
transcript_turns transcript_session_2025-10-29T07-23-03.616272.json 1761722558 |
  render number-_917045118823-1761722558.ogg 25.2

# Call 5: a recording without transcript (the caller hung up).
render number-_919820012345-1761732314.ogg 19.6 <<'EOF'
0.900	assistant	Hello! This is Friday from Xeny AI. How can I help you today?
6.500	user	Hello? Hello? I can't hear you properly.
11.000	assistant	I'm sorry, the line seems poor. Can you hear me now?
EOF

# Call 6: an older call whose lead was saved in the legacy format.
transcript_turns transcript_session_2025-10-13T13-52-30.915207.json 1760363470 |
  render number-_919876501234-1760363470.ogg 80.3
