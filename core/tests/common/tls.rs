//! Certificates made at test time with the `openssl` command-line tool (a test
//! CA, a server certificate for 127.0.0.1/localhost, a client certificate, and an
//! unrelated CA), and a private `redis-server` listening with TLS.

use std::path::{Path, PathBuf};
use std::process::Command;

use stateful_redis_testkit::LocalRedis;

/// A directory of PEM files, removed on drop.
pub struct TestPki {
    pub dir: PathBuf,
}

impl TestPki {
    pub fn new() -> TestPki {
        let dir = std::env::temp_dir().join(format!(
            "stateful-redis-pki-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let pki = TestPki { dir };
        pki.make_ca("ca");
        pki.make_ca("other-ca");
        pki.make_leaf("server", "ca");
        pki.make_leaf("client", "ca");
        pki
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn make_ca(&self, name: &str) {
        openssl(
            &self.dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=stateful-redis test {name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.crt"),
            ],
        );
    }

    fn make_leaf(&self, name: &str, ca: &str) {
        openssl(
            &self.dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        std::fs::write(
            self.dir.join(format!("{name}.ext")),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             extendedKeyUsage=serverAuth,clientAuth\n",
        )
        .unwrap();
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{ca}.crt"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.crt"),
            ],
        );
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command-line tool is needed by the TLS tests");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server with a plain port (for set-up and for "rediss:// to a plain port")
/// and a TLS port; `auth_clients` is `no`, `optional` or `yes`.
pub struct TlsRedis {
    pub server: LocalRedis,
    pub tls_port: u16,
}

impl TlsRedis {
    pub fn start(pki: &TestPki, auth_clients: &str) -> TlsRedis {
        let tls_port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = LocalRedis::builder()
            .args([
                "--tls-port".to_string(),
                tls_port.to_string(),
                "--tls-cert-file".to_string(),
                pki.path("server.crt"),
                "--tls-key-file".to_string(),
                pki.path("server.key"),
                "--tls-ca-cert-file".to_string(),
                pki.path("ca.crt"),
                "--tls-auth-clients".to_string(),
                auth_clients.to_string(),
            ])
            .start()
            .unwrap();
        TlsRedis { server, tls_port }
    }

    pub fn tls_url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.tls_port)
    }
}
