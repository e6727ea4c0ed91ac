# Sourced: one temporary root for every private redis-server of a run, and a
# cleanup that stops exactly those servers (docs/testing.md).
#
#   private_root_enter        creates a fresh root (mktemp -d) and exports it as
#                             TMPDIR and PRIVATE_ROOT: every fixture (LocalRedis,
#                             private-redis.sh, the Python and Node fixtures, the
#                             C suite) makes its server's folder under TMPDIR and
#                             leaves a redis.pid there
#   private_root_cleanup      stops every server named by a redis.pid under the
#                             root, then removes the root; idempotent
#
# A pid is trusted only while it is a redis-server whose working directory (its
# --dir) is under the root: a stale pidfile whose pid now belongs to another
# process, or to a server of someone else, is left alone.

private_root_enter() {
  PRIVATE_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/stateful-redis-run-XXXXXX")"
  PRIVATE_ROOT="$(cd "$PRIVATE_ROOT" && pwd -P)"
  export PRIVATE_ROOT TMPDIR="$PRIVATE_ROOT"
}

# Whether PID is a redis-server running in a folder under ROOT.
private_root_owns() {
  local pid="$1" root="$2" comm cwd
  comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || return 1
  [ "$comm" = "redis-server" ] || return 1
  cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)" || return 1
  case "$cwd" in "$root"/*) return 0 ;; esac
  return 1
}

# Whether PID has exited (gone, or a zombie nobody has reaped yet).
private_root_gone() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  stat="${stat##*) }"
  [ "${stat%% *}" = "Z" ]
}

private_root_cleanup() {
  local root="${PRIVATE_ROOT:-}" pidfile pid killed=()
  [ -n "$root" ] && [ -d "$root" ] || return 0
  while IFS= read -r -d '' pidfile; do
    pid="$(tr -dc '0-9' <"$pidfile" 2>/dev/null)" || continue
    [ -n "$pid" ] || continue
    if private_root_owns "$pid" "$root"; then
      kill -KILL "$pid" 2>/dev/null && killed+=("$pid")
    fi
  done < <(find "$root" -name redis.pid -type f -print0 2>/dev/null)
  # Let them go before their folders are removed (5 s at most: cleanup must
  # not hang a run).
  for pid in "${killed[@]}"; do
    for _ in $(seq 1 50); do
      private_root_gone "$pid" && break
      sleep 0.1
    done
  done
  [ "${#killed[@]}" -eq 0 ] || echo "stopped ${#killed[@]} leftover redis-server(s): ${killed[*]}" >&2
  rm -rf "$root"
}
