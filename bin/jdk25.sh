# Sourced by ./streamdiffusion4j and ./build: finds a JDK whose major version is at least 25,
# so that nobody has to export JAVA_HOME. Order: $JAVA_HOME, the java on PATH, then the usual
# install folders (Debian/Ubuntu, macOS, SDKMAN), highest version first.

jdk_major() {  # prints the major version of the JDK at $1, or nothing
  local home="$1" v=""
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 0
  if [ -f "$home/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release" | head -n 1)
  fi
  if [ -z "$v" ]; then
    v=$("$home/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
  fi
  printf '%s' "$v"
}

find_jdk25() {  # prints a JDK home (major >= 25) or explains what is missing and fails
  local candidates=() c m best="" best_major=0
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    c=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    candidates+=("$c")
  fi
  for c in /usr/lib/jvm/* /Library/Java/JavaVirtualMachines/*/Contents/Home "$HOME"/.sdkman/candidates/java/* /opt/java/* /opt/jdk*; do
    [ -d "$c" ] && candidates+=("$c")
  done
  for c in "${candidates[@]}"; do
    m=$(jdk_major "$c")
    if [ -n "$m" ] && [ "$m" -ge 25 ] && [ "$m" -gt "$best_major" ]; then
      best="$c"; best_major="$m"
      # JAVA_HOME wins when it qualifies: the user chose it.
      [ "$c" = "${JAVA_HOME:-}" ] && break
    fi
  done
  if [ -z "$best" ]; then
    echo "streamdiffusion4j needs a JDK 25 or newer, and none was found." >&2
    echo "Looked at: \$JAVA_HOME (${JAVA_HOME:-unset}), the java on PATH, /usr/lib/jvm/*, /Library/Java/JavaVirtualMachines/*, ~/.sdkman/candidates/java/*." >&2
    echo "Install one (for example Temurin 25: https://adoptium.net) or set JAVA_HOME to it." >&2
    return 1
  fi
  printf '%s\n' "$best"
}
