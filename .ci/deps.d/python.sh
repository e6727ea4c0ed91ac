# Python bindings suite (scripts/test.d/python.sh): python3 with venv and pip.
if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
  echo "installing python3-venv from Debian's packages..." >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
fi
