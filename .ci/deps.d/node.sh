# Sourced: the Node suite (scripts/test.d/node.sh) needs node >= 20.17 and npm.
# The machine image ships them; install Debian's packages only when missing.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing nodejs and npm from Debian's packages..." >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
