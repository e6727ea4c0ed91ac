# Sourced: the Java wire-compatibility suite (scripts/test.d/java.sh) needs a JDK >= 17
# (javac) and Maven. The machine image ships them; install Debian's packages only when
# missing.
if ! command -v javac >/dev/null || ! command -v mvn >/dev/null; then
  echo "installing a JDK and maven from Debian's packages..." >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq default-jdk-headless maven >/dev/null
fi
