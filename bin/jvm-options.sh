# Sourced by ./streamdiffusion4j, and run by the tests that check a crash ends the process: the
# JVM options of every start of streamdiffusion4j for users, one per line of jvm_options' output.
#
# A native crash (a fault in ONNX Runtime or libjpeg-turbo) must end the process within seconds,
# so that a supervisor restarts it and the port is freed: HotSpot's error report is bounded to
# 10 s (its default is 120 s; one report hung for over 75 s holding the port), no core dump of a
# multi-gigabyte process is written, and the report goes to the cache folder, not the current one.
#   STREAMDIFFUSION4J_CRASH_DIR   where hs_err_pid<PID>.log goes
#                                 (default: $STREAMDIFFUSION4J_CACHE/crashes, else
#                                 ${XDG_CACHE_HOME:-~/.cache}/streamdiffusion4j/crashes)

jvm_options() {
  local dir="${STREAMDIFFUSION4J_CRASH_DIR:-${STREAMDIFFUSION4J_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/streamdiffusion4j}/crashes}"
  mkdir -p "$dir" 2>/dev/null || dir="${TMPDIR:-/tmp}"
  printf '%s\n' \
    "--enable-native-access=ALL-UNNAMED" \
    "-XX:ErrorLogTimeout=10" \
    "-XX:-CreateCoredumpOnCrash" \
    "-XX:ErrorFile=$dir/hs_err_pid%p.log"
}

# run directly, it prints the options (for tests and for anyone starting the jar by hand)
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  jvm_options
fi
