# promtool (Debian's prometheus package) and Python's prometheus_client: the
# monitor's export test checks the exposition with both parsers.
if ! command -v promtool >/dev/null; then
  echo "installing prometheus (promtool) from Debian's packages..." >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  $SUDO service prometheus stop >/dev/null 2>&1 || true
fi
python3 -c "import prometheus_client" 2>/dev/null || python3 -m pip install -q prometheus-client
