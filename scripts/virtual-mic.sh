#!/usr/bin/env bash
# Run a command with a virtual microphone: what `paplay -d cabin FILE` plays, the command records.
#
#   scripts/virtual-mic.sh CMD ARGS...
#
# Starts a PulseAudio daemon if none answers (as root too, in user mode: CI runs as root), loads a
# null sink named "cabin" once, and makes its monitor the default source. PortAudio then records it
# through ALSA's "pulse" and "default" devices (Debian's libasound2-plugins and pulseaudio ship that
# ALSA config). If PulseAudio cannot start, it says so in one line and runs the command anyway, so
# the tests that need the microphone fail with their own message instead of being skipped.
#
#   PULSE_RUNTIME_PATH=DIR scripts/virtual-mic.sh CMD ARGS...
#
# uses (or starts) the server whose socket is DIR/native instead: a server of one's own, which a test
# can stop (`PULSE_RUNTIME_PATH=DIR pulseaudio --kill`) and start again (`... scripts/virtual-mic.sh true`)
# without disturbing anyone else's.
set -uo pipefail

SINK=cabin
if [ -n "${PULSE_RUNTIME_PATH:-}" ]; then
    export PULSE_SERVER="unix:$PULSE_RUNTIME_PATH/native"
fi

if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

start_pulseaudio() {
    pactl info >/dev/null 2>&1 && return 0
    command -v pulseaudio >/dev/null || return 1
    # -n: none of default.pa's hardware, D-Bus or suspend-on-idle modules, just the client socket.
    pulseaudio --daemonize=yes --exit-idle-time=-1 --log-level=error -n \
        --load=module-native-protocol-unix >/dev/null 2>&1
    for _ in $(seq 50); do
        pactl info >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

load_cabin_sink() {
    pactl list short sinks | awk '{print $2}' | grep -qx "$SINK" ||
        pactl load-module module-null-sink sink_name="$SINK" \
            sink_properties=device.description=Cabin >/dev/null || return 1
    pactl set-default-sink "$SINK" && pactl set-default-source "$SINK.monitor"
}

if start_pulseaudio && load_cabin_sink; then
    PULSE_SERVER=$(pactl info | sed -n 's/^Server String: //p')
    export PULSE_SERVER PULSE_SINK="$SINK" PULSE_SOURCE="$SINK.monitor"
else
    echo "virtual-mic: PulseAudio did not start (apt install pulseaudio pulseaudio-utils libasound2-plugins);" \
        "running without a virtual microphone." >&2
fi

exec "$@"
