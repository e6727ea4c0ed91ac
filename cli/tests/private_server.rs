//! The private redis-server of a command run without `--url`: it ends with the
//! command however the command ends (SIGTERM, SIGHUP, SIGKILL), its folder is
//! removed when the command can do so, and other local users cannot use it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::BIN;

/// A fresh folder for one test, unique to this process.
fn artifact_dir(name: &str) -> PathBuf {
    common::artifact_dir(&format!("{name}-{}", std::process::id()))
}

/// The command under test, killed if the test fails before it ends.
struct Cli(Child);

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the command with no URL (so it starts a private server) and a TMPDIR
/// of its own; returns it and its stderr.
fn spawn_without_url(
    args: &[&str],
    tmp: &Path,
    stdout: Stdio,
) -> (Cli, BufReader<std::process::ChildStderr>) {
    let mut cli = Cli(Command::new(BIN)
        .args(args)
        .env_remove("STATEFUL_REDIS_URL")
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap());
    let stderr = BufReader::new(cli.0.stderr.take().unwrap());
    (cli, stderr)
}

/// Whether `pid` is a running process (a zombie has exited already).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.rsplit(')').next().unwrap_or("").starts_with(" Z"))
}

/// Children of `pid` named redis-server.
fn redis_children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for child in children.split_whitespace() {
            let child: u32 = child.parse().unwrap();
            let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
            if comm.trim() == "redis-server" {
                found.push(child);
            }
        }
    }
    found
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

/// A `stateful-redis dashboard` with its own private server, ready.
struct Dashboard {
    cli: Cli,
    server_pid: u32,
    server_dir: PathBuf,
    port: u16,
    stderr: String,
    stderr_reader: Option<std::thread::JoinHandle<String>>,
}

impl Dashboard {
    fn start(name: &str) -> Dashboard {
        // A TMPDIR of its own: the server's folder is the one entry made there.
        let tmp = artifact_dir(name);
        let (mut cli, mut stderr) = spawn_without_url(
            &["dashboard", "--listen", "127.0.0.1:0"],
            &tmp,
            Stdio::piped(),
        );
        let mut first = String::new();
        stderr.read_line(&mut first).unwrap();
        assert!(first.contains("private redis-server"), "{first}");
        let port: u16 = first
            .split("127.0.0.1:")
            .nth(1)
            .map(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in {first}"));
        // Serving: the server is up. (The pipe stays open: a closed one would
        // fail the command's next write.)
        let mut stdout = BufReader::new(cli.0.stdout.take().unwrap());
        let mut url = String::new();
        stdout.read_line(&mut url).unwrap();
        assert!(url.starts_with("http://"), "{url}");
        let servers = redis_children(cli.0.id());
        assert_eq!(servers.len(), 1, "{servers:?}");
        let entries: Vec<PathBuf> = std::fs::read_dir(&tmp)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        // The rest of stderr, kept for the assertions; read to the end later.
        let mut rest = String::new();
        let reader = std::thread::spawn(move || {
            let _ = stderr.read_to_string(&mut rest);
            let _ = stdout.read_to_string(&mut String::new());
            rest
        });
        Dashboard {
            cli,
            server_pid: servers[0],
            server_dir: entries[0].clone(),
            port,
            stderr: first,
            stderr_reader: Some(reader),
        }
    }

    /// Waits for the command to end; returns its exit code (None: a signal).
    fn wait(&mut self) -> Option<i32> {
        let status = self.cli.0.wait().unwrap();
        if let Some(reader) = self.stderr_reader.take() {
            self.stderr.push_str(&reader.join().unwrap());
        }
        status.code()
    }

    /// Waits until the server has ended (it may take a moment to die after a
    /// SIGKILL of its parent).
    fn assert_server_ends(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while alive(self.server_pid) {
            assert!(
                Instant::now() < deadline,
                "redis-server {} outlived the command",
                self.server_pid
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.cli.0.kill();
        let _ = self.cli.0.wait();
        kill_leftover(self.server_pid, &self.server_dir);
    }
}

/// A failed test leaves nothing running: kills the server if it still runs in
/// a folder under `under` (so a reused pid is never hit), removes `under`.
fn kill_leftover(pid: u32, under: &Path) {
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"));
    if alive(pid) && cwd.is_ok_and(|cwd| cwd.starts_with(under)) {
        signal(pid, "KILL");
    }
    let _ = std::fs::remove_dir_all(under);
}

/// Runs [`kill_leftover`] when dropped.
struct Leftover(u32, PathBuf);

impl Drop for Leftover {
    fn drop(&mut self) {
        kill_leftover(self.0, &self.1);
    }
}

/// SIGINT (Ctrl-C), SIGTERM and SIGHUP end the dashboard alike: exit 0, the server
/// stopped, its folder removed.
fn ends_cleanly_on(signal_name: &str) {
    let mut dashboard = Dashboard::start(&format!("private-server-{signal_name}"));
    assert!(Path::new(&dashboard.server_dir).is_dir());
    signal(dashboard.cli.0.id(), signal_name);
    let code = dashboard.wait();
    assert_eq!(code, Some(0), "stderr:\n{}", dashboard.stderr);
    dashboard.assert_server_ends();
    assert!(
        !dashboard.server_dir.exists(),
        "{} is left behind",
        dashboard.server_dir.display()
    );
}

#[test]
fn sigint_stops_the_private_server_and_removes_its_folder() {
    ends_cleanly_on("INT");
}

#[test]
fn sigterm_stops_the_private_server_and_removes_its_folder() {
    ends_cleanly_on("TERM");
}

#[test]
fn sighup_stops_the_private_server_and_removes_its_folder() {
    ends_cleanly_on("HUP");
}

#[test]
fn sigkill_of_the_command_kills_the_private_server() {
    let mut dashboard = Dashboard::start("private-server-KILL");
    signal(dashboard.cli.0.id(), "KILL");
    assert_eq!(dashboard.wait(), None);
    dashboard.assert_server_ends();
}

/// `bench` on SIGTERM: like Ctrl-C, the run stops early, the table is
/// printed, the server stopped and its folder removed.
#[test]
fn sigterm_stops_a_bench_run_early_and_the_private_server() {
    let tmp = artifact_dir("private-server-bench");
    let args = [
        "bench",
        "--duration-s",
        "600",
        "--warmup-s",
        "0",
        "--uids",
        "10",
        "--concurrency",
        "1",
        "--progress",
        "always",
    ];
    let (mut cli, mut stderr) = spawn_without_url(&args, &tmp, Stdio::piped());
    // The first progress line: the run has started.
    let mut line = String::new();
    while !line.contains("progress: ") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "stderr ended");
    }
    let servers = redis_children(cli.0.id());
    assert_eq!(servers.len(), 1, "{servers:?}");
    let _leftover = Leftover(servers[0], tmp.clone());
    signal(cli.0.id(), "TERM");
    let status = cli.0.wait().unwrap();
    let mut stdout = String::new();
    cli.0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(stdout.contains("get_linked_pod"), "{stdout}");
    assert!(!alive(servers[0]));
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

/// Before a long command can stop cleanly (here: during bench's set-up),
/// SIGTERM ends it at once, with 128 + 15, and still stops the server and
/// removes its folder.
#[test]
fn sigterm_before_the_run_ends_the_command_and_the_private_server() {
    let tmp = artifact_dir("private-server-prepare");
    let (mut cli, mut stderr) =
        spawn_without_url(&["bench", "--uids", "10000000"], &tmp, Stdio::null());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("private redis-server"), "{line}");
    let servers = redis_children(cli.0.id());
    assert_eq!(servers.len(), 1, "{servers:?}");
    let _leftover = Leftover(servers[0], tmp.clone());
    signal(cli.0.id(), "TERM");
    assert_eq!(cli.0.wait().unwrap().code(), Some(128 + 15));
    assert!(!alive(servers[0]));
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

#[test]
fn the_private_server_needs_a_password_that_is_never_printed() {
    let mut dashboard = Dashboard::start("private-server-password");
    let conf = std::fs::read_to_string(dashboard.server_dir.join("redis.conf")).unwrap();
    let password = conf
        .trim()
        .strip_prefix("requirepass ")
        .unwrap()
        .to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", dashboard.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n").unwrap();
    let mut reply = [0u8; 256];
    let n = stream.read(&mut reply).unwrap();
    let reply = String::from_utf8_lossy(&reply[..n]);
    assert!(reply.starts_with("-NOAUTH"), "{reply}");
    signal(dashboard.cli.0.id(), "TERM");
    dashboard.wait();
    assert!(
        !dashboard.stderr.contains(&password),
        "{}",
        dashboard.stderr
    );
}
