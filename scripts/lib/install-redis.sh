# Sourced: makes sure redis-server (and redis-benchmark, redis-cli) are on PATH,
# installing Debian's package when missing.
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  echo "installing redis-server from Debian's packages..." >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
  # Debian starts a system service: we use private servers only.
  $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
