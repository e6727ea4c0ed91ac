# Sourced by scripts/test.sh: installs what the test suites need and the machine
# lacks: redis-server (install-redis.sh, as scripts/demo.sh does) and each
# suite's system packages (.ci/deps.d/*.sh: Debian packages through apt-get, sudo
# when not root). Every installer checks first and installs only what is
# missing, so a second run installs nothing. STATEFUL_REDIS_NO_INSTALL=1 skips it.
if [ -z "${STATEFUL_REDIS_NO_INSTALL:-}" ]; then
  source scripts/lib/install-redis.sh
  for _sr_dep in .ci/deps.d/*.sh; do
    [ -e "$_sr_dep" ] && source "$_sr_dep"
  done
  unset _sr_dep
fi
