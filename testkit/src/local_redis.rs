//! A private `redis-server` on a free loopback port, for tests, benchmarks and the
//! command-line tool's embedded default. Nothing is persisted; the server stops
//! when the handle is dropped.
//!
//! Leaks are guarded against twice (see docs/testing.md): on Linux the server
//! gets SIGKILL when this process dies, however it dies (parent-death signal),
//! and its private folder (mode 0700, under `$TMPDIR`) holds a `redis.pid` that
//! `.ci/run` uses to stop exactly the servers the tests started.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Environment variable naming the server binary (default: `redis-server` on PATH).
pub const SERVER_ENV: &str = "STATEFUL_REDIS_SERVER";

/// A running private server.
#[derive(Debug)]
pub struct LocalRedis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    extra_args: Vec<String>,
    cpu: Option<usize>,
    password: Option<String>,
}

/// How to start a [`LocalRedis`].
#[derive(Debug, Default, Clone)]
pub struct LocalRedisBuilder {
    extra_args: Vec<String>,
    cpu: Option<usize>,
    password: bool,
}

impl LocalRedisBuilder {
    /// Extra `redis-server` arguments, e.g. `["--maxmemory", "1mb"]`.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.extra_args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Pins the server to one CPU with `taskset` (benchmarks).
    pub fn cpu(mut self, cpu: usize) -> Self {
        self.cpu = Some(cpu);
        self
    }

    /// Requires a random password (in a config file inside the private 0700
    /// folder, so `ps` does not show it): other local users cannot use the
    /// server. [`LocalRedis::url`] then carries the password; print
    /// [`LocalRedis::address`] instead.
    pub fn password(mut self) -> Self {
        self.password = true;
        self
    }

    pub fn start(self) -> io::Result<LocalRedis> {
        let dir = std::env::temp_dir().join(format!(
            "stateful-redis-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        create_private_dir(&dir)?;
        let mut server = LocalRedis {
            child: None,
            port: 0,
            dir,
            extra_args: self.extra_args,
            cpu: self.cpu,
            password: None,
        };
        if self.password {
            let password = format!("{:032x}", rand::random::<u128>());
            write_private_file(
                &server.dir.join("redis.conf"),
                &format!("requirepass {password}\n"),
            )?;
            server.password = Some(password);
        }
        // A free port can be taken by someone else before the server binds it:
        // try a few.
        let mut last = None;
        for _ in 0..5 {
            server.port = free_port()?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }
}

impl LocalRedis {
    /// Starts a server with the defaults.
    pub fn start() -> io::Result<LocalRedis> {
        LocalRedis::builder().start()
    }

    pub fn builder() -> LocalRedisBuilder {
        LocalRedisBuilder::default()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`, or `redis://:PASSWORD@127.0.0.1:PORT` with a
    /// password: not for printing.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// `127.0.0.1:PORT`: what to print (never the password).
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The private folder (working directory, config and pidfile of the server).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server (SIGKILL: no persistence to flush).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (after [`LocalRedis::stop`]).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Runs one command with `redis-cli`-free plain RESP, for test set-up:
    /// returns the raw reply.
    pub fn command(&self, args: &[&str]) -> io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        if let Some(password) = &self.password {
            let reply = exchange(&mut stream, &["AUTH", password])?;
            if !reply.starts_with("+OK") {
                return Ok(reply);
            }
        }
        exchange(&mut stream, args)
    }

    fn spawn(&mut self) -> io::Result<()> {
        let binary = std::env::var(SERVER_ENV).unwrap_or_else(|_| "redis-server".to_string());
        let mut command = match self.cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(&binary);
                c
            }
            None => Command::new(&binary),
        };
        if self.password.is_some() {
            // A config file must be the server's first argument.
            command.arg(self.dir.join("redis.conf"));
        }
        command
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .args(["--enable-debug-command", "local"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--pidfile")
            .arg(self.dir.join("redis.pid"))
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = spawn_bound_to_process(command).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "`{binary}` was not found on PATH: install Redis (Debian: `apt-get install redis-server`) \
                         or set {SERVER_ENV}"
                    ),
                )
            } else {
                e
            }
        })?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    return Err(io::Error::other(format!(
                        "redis-server exited at start ({status}) on port {}",
                        self.port
                    )));
                }
            }
            // A server with a password answers NOAUTH: it is up all the same.
            if self
                .command(&["PING"])
                .is_ok_and(|r| r.starts_with("+PONG") || r.starts_with("-NOAUTH"))
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "redis-server did not answer PING within 10 s",
        ))
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends one command, returns the raw reply.
fn exchange(stream: &mut TcpStream, args: &[&str]) -> io::Result<String> {
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{}\r\n", arg.len(), arg));
    }
    stream.write_all(request.as_bytes())?;
    let mut buf = [0u8; 65536];
    let n = stream.read(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// A folder only this user can enter.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A file only this user can read.
fn write_private_file(path: &Path, contents: &str) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `command` so that the child gets SIGKILL when this process dies, by
/// any signal (Linux: `PR_SET_PDEATHSIG`). The kernel sends that signal when
/// the *thread* that forked the child exits, not the process, so every server
/// is forked by one thread that never ends: a test's thread may end while a
/// server it started is still shared by others.
fn spawn_bound_to_process(mut command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    bind_to_this_process(&mut command);
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("local-redis-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("a thread can be started");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send((command, reply_tx))
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| io::Error::other("the spawner thread is gone"))?
}

#[cfg(target_os = "linux")]
fn bind_to_this_process(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // Its own process group: a Ctrl-C at the terminal reaches only the parent,
    // which decides when the server stops (after printing what it measured).
    command.process_group(0);
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec only async-signal-safe calls (prctl,
    // getppid) are made, and nothing is allocated.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before the prctl: then no signal comes.
            if libc::getppid() != parent {
                return Err(io::Error::other("the parent process has exited"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn bind_to_this_process(_command: &mut Command) {}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// A private Redis Cluster on loopback: `masters` masters with one replica each,
/// created with `redis-cli --cluster create`; stopped when dropped.
#[derive(Debug)]
pub struct LocalCluster {
    pub nodes: Vec<LocalRedis>,
}

impl LocalCluster {
    /// Starts `masters` masters and as many replicas, and waits until the
    /// cluster reports `cluster_state:ok` on every node.
    pub fn start(masters: usize) -> io::Result<LocalCluster> {
        let mut nodes = Vec::new();
        for _ in 0..masters * 2 {
            nodes.push(
                LocalRedis::builder()
                    .args([
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "1000",
                        // Replicas sync at once (the default waits 5 s for more
                        // replicas to share one transfer).
                        "--repl-diskless-sync-delay",
                        "0",
                    ])
                    .start()?,
            );
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.port()));
        }
        let output = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| io::Error::new(e.kind(), format!("redis-cli: {e}")))?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&output.stdout)
            )));
        }
        let cluster = LocalCluster { nodes };
        cluster.wait_until_ok(Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// `redis://127.0.0.1:PORT` of every node (seed nodes).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(LocalRedis::url).collect()
    }

    /// Waits until every running node reports `cluster_state:ok` and every
    /// replica is in sync with its master (a replica that never synced does
    /// not take over from a failed master).
    pub fn wait_until_ok(&self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let ok = self.nodes.iter().filter(|n| n.pid().is_some()).all(|n| {
                n.command(&["CLUSTER", "INFO"])
                    .is_ok_and(|info| info.contains("cluster_state:ok"))
                    && n.command(&["INFO", "replication"]).is_ok_and(|info| {
                        info.contains("role:master") || info.contains("master_link_status:up")
                    })
            });
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the cluster did not reach cluster_state:ok",
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Nodes that are masters right now.
    pub fn masters(&self) -> Vec<&LocalRedis> {
        self.nodes
            .iter()
            .filter(|n| {
                n.command(&["ROLE"])
                    .is_ok_and(|role| role.contains("master"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn alive(pid: u32) -> bool {
        // A zombie has exited already.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.rsplit(')').next().unwrap_or("").starts_with(" Z"))
    }

    /// The parent-death signal fires when the forking *thread* exits: a server
    /// started by a thread that has ended must keep running.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_server_outlives_the_thread_that_started_it() {
        let (server, tid) = std::thread::spawn(|| {
            // SAFETY: gettid has no preconditions.
            (LocalRedis::start().expect("start"), unsafe {
                libc::gettid()
            })
        })
        .join()
        .unwrap();
        // The thread is fully gone (and any parent-death signal sent) once its
        // task entry is.
        let task = format!("/proc/self/task/{tid}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Path::new(&task).exists() {
            assert!(Instant::now() < deadline, "{task} still exists");
            std::thread::sleep(Duration::from_millis(10));
        }
        let pid = server.pid().unwrap();
        assert!(server.command(&["PING"]).unwrap().starts_with("+PONG"));
        assert!(alive(pid));
    }

    #[test]
    fn the_private_folder_holds_a_pidfile_and_only_its_owner_enters() {
        let server = LocalRedis::start().expect("start");
        let pid: u32 = std::fs::read_to_string(server.dir().join("redis.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(Some(pid), server.pid());
        let mode = std::fs::metadata(server.dir())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_password_keeps_out_clients_without_it_and_lives_in_a_private_file() {
        let server = LocalRedis::builder().password().start().expect("start");
        let password = std::fs::read_to_string(server.dir().join("redis.conf")).unwrap();
        let password = password.trim().strip_prefix("requirepass ").unwrap();
        assert!(password.len() >= 32, "{password}");
        assert_eq!(
            server.url(),
            format!("redis://:{password}@127.0.0.1:{}", server.port())
        );
        assert!(!server.address().contains(password));
        // Without the password: refused.
        let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let reply = exchange(&mut stream, &["GET", "k"]).unwrap();
        assert!(reply.starts_with("-NOAUTH"), "{reply}");
        // With it (`command` authenticates).
        assert!(server.command(&["PING"]).unwrap().starts_with("+PONG"));
        let mode = std::fs::metadata(server.dir().join("redis.conf"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
