//! A private `redis-server` on a free loopback port, for tests, benchmarks and the
//! command-line tool's embedded default. Nothing is persisted; the server stops
//! when the handle is dropped.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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
}

/// How to start a [`LocalRedis`].
#[derive(Debug, Default, Clone)]
pub struct LocalRedisBuilder {
    extra_args: Vec<String>,
    cpu: Option<usize>,
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

    pub fn start(self) -> io::Result<LocalRedis> {
        let dir = std::env::temp_dir().join(format!(
            "stateful-redis-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir)?;
        let mut server = LocalRedis {
            child: None,
            port: 0,
            dir,
            extra_args: self.extra_args,
            cpu: self.cpu,
        };
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

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
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
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{}\r\n", arg.len(), arg));
        }
        stream.write_all(request.as_bytes())?;
        let mut buf = [0u8; 65536];
        let n = stream.read(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
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
        command
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .args(["--enable-debug-command", "local"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().map_err(|e| {
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
