#!/usr/bin/env bash
# The test audio rig (no sound card needed): PulseAudio with two null sinks.
# "speaker" receives what the device plays; "mic" is what the device hears
# (its monitor is the default source). Tests play answers into "mic".
#   scripts/audio-rig.sh start   # idempotent
#   scripts/audio-rig.sh stop
# With PULSE_RUNTIME_PATH and PULSE_SERVER set, it starts (or stops) a separate rig whose socket and pid file live
# in that folder: `make test` gives each of its rig workers one (tests/rig.py).
set -euo pipefail
rig="${PULSE_RUNTIME_PATH:-default}"
rig="${rig##*/}"

has_sink() { pactl list short sinks 2>/dev/null | awk '{print $2}' | grep -qx "$1"; }

# An idle null sink sleeps for up to 2 s between renders, and a stream that starts then waits that long: PortAudio
# sees an underrun and no callback for ~2 s. A silent low-latency stream into each sink keeps it waking every few ms.
keep_awake() {
  pgrep -f "^pacat --playback --device=$1 .*--stream-name=rig-keep-awake-$rig /dev/zero$" >/dev/null && return
  setsid pacat --playback --device="$1" --raw --latency-msec=20 --stream-name="rig-keep-awake-$rig" /dev/zero \
    </dev/null >/dev/null 2>&1 &
}

case "${1:-start}" in
  start)
    if ! pactl info >/dev/null 2>&1; then
      pulseaudio -D --exit-idle-time=-1 -n --log-target=stderr \
        --load="module-native-protocol-unix" 2>/dev/null || true
      for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
    fi
    has_sink speaker || pactl load-module module-null-sink sink_name=speaker >/dev/null
    has_sink mic || pactl load-module module-null-sink sink_name=mic >/dev/null
    keep_awake speaker
    keep_awake mic
    pactl set-default-sink speaker
    pactl set-default-source mic.monitor
    echo "audio rig ready: default sink 'speaker', default source 'mic.monitor'"
    ;;
  stop)
    pkill -f "^pacat --playback .*--stream-name=rig-keep-awake-$rig /dev/zero$" || true
    pulseaudio --kill 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
