//! `.ci/run`'s cleanup (scripts/lib/private-root.sh): after a test process is
//! killed with SIGKILL, the exit trap stops exactly the servers started under
//! the run's root — not a server of anyone else, even one a stale pidfile
//! under the root names — and removes the root.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::artifact_dir;
use stateful_redis_testkit::LocalRedis;

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.rsplit(')').next().unwrap_or("").starts_with(" Z"))
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// What `.ci/run` does around the tests, with a "test process" that starts a
/// server through the shell fixture and is killed with SIGKILL before it can
/// stop it.
const RUN: &str = r#"
set -euo pipefail
source scripts/lib/private-root.sh
private_root_enter
trap private_root_cleanup EXIT
echo "$PRIVATE_ROOT" > "$OUT/root"
# A stale pidfile under the root that names a server outside it.
mkdir "$PRIVATE_ROOT/stale"
echo "$DECOY_PID" > "$PRIVATE_ROOT/stale/redis.pid"
bash -c 'source scripts/lib/private-redis.sh
         private_redis_start "$(mktemp -d)"
         echo "$REDIS_PID" > "$OUT/server.tmp" && mv "$OUT/server.tmp" "$OUT/server"
         exec sleep 600' &
victim=$!
until [ -s "$OUT/server" ]; do
  kill -0 "$victim" || { echo "the fixture did not start a server" >&2; exit 1; }
  sleep 0.05
done
{ kill -KILL "$victim"; wait "$victim"; } 2>/dev/null || true
# Still running: only the trap can stop it now.
kill -0 "$(cat "$OUT/server")" && echo yes > "$OUT/alive-before-cleanup"
"#;

#[test]
fn the_ci_trap_stops_the_servers_of_a_killed_test_and_nothing_else() {
    let out = artifact_dir(&format!("ci-cleanup-{}", std::process::id()));
    // Outside the run's root (a sibling under the same TMPDIR).
    let decoy = LocalRedis::start().expect("redis-server");
    let status = Command::new("bash")
        .arg("-c")
        .arg(RUN)
        .current_dir(repo_root())
        // A run of its own: when this test itself runs under `.ci/run`, the
        // outer run's root must be neither inherited nor cleaned up here.
        .env_remove("PRIVATE_ROOT")
        .env("TMPDIR", &out)
        .env("OUT", &out)
        .env("DECOY_PID", decoy.pid().unwrap().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    let server: u32 = read("server").trim().parse().unwrap();
    let root = PathBuf::from(read("root").trim());
    assert_eq!(read("alive-before-cleanup").trim(), "yes");
    let deadline = Instant::now() + Duration::from_secs(60);
    while alive(server) {
        if Instant::now() > deadline {
            // Do not leave it running: it is ours (started in a folder of `out`'s run).
            let _ = Command::new("kill")
                .args(["-KILL", &server.to_string()])
                .status();
            panic!("the trap left redis-server {server} running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!root.exists(), "{} is left behind", root.display());
    assert!(decoy.command(&["PING"]).unwrap().starts_with("+PONG"));
}

/// Cleaning up twice, or with nothing to clean, is harmless.
#[test]
fn the_ci_cleanup_is_idempotent() {
    let tmp = artifact_dir(&format!("ci-cleanup-twice-{}", std::process::id()));
    let status = Command::new("bash")
        .arg("-c")
        .arg(
            "set -euo pipefail; source scripts/lib/private-root.sh; private_root_cleanup; \
             private_root_enter; private_root_cleanup; private_root_cleanup; \
             test ! -e \"$PRIVATE_ROOT\"",
        )
        .current_dir(repo_root())
        .env_remove("PRIVATE_ROOT")
        .env("TMPDIR", &tmp)
        .status()
        .unwrap();
    assert!(status.success());
}
