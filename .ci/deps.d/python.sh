# Python bindings suite (scripts/test.d/python.sh): python3 with venv and pip.
if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
fi
