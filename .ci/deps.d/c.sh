# Sourced by scripts/test.sh: what the C ABI suite (scripts/test.d/c.sh) needs, from
# Debian's packages, installed only when missing.
_sr_c_missing=()
command -v cmake >/dev/null || _sr_c_missing+=(cmake)
command -v valgrind >/dev/null || _sr_c_missing+=(valgrind)
command -v pkg-config >/dev/null || _sr_c_missing+=(pkg-config)
command -v cc >/dev/null || _sr_c_missing+=(gcc)
command -v c++ >/dev/null || _sr_c_missing+=(g++)
command -v make >/dev/null || _sr_c_missing+=(make)
command -v readelf >/dev/null || _sr_c_missing+=(binutils)
[ -e /usr/include/hiredis/hiredis.h ] || _sr_c_missing+=(libhiredis-dev)
[ -e /usr/include/jansson.h ] || _sr_c_missing+=(libjansson-dev)
if [ "${#_sr_c_missing[@]}" -gt 0 ]; then
  echo "installing for the C suite: ${_sr_c_missing[*]}" >&2
  _sr_sudo=""; [ "$(id -u)" = 0 ] || _sr_sudo="sudo"
  $_sr_sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $_sr_sudo apt-get install -y -qq "${_sr_c_missing[@]}" >/dev/null
fi
unset _sr_c_missing _sr_sudo
