//! The connection flags reach the core's `Options` and through them the server
//! (docs/cli.md, "Which Redis"): a password from `$STATEFUL_REDIS_AUTH` or
//! `--password-file` (never printed), an ACL user, cluster seeds, TLS files; the
//! core's own checks refuse bad values; writes refuse the private server; the
//! completion scripts and the man page come from the same definitions.

mod common;

#[path = "../../core/tests/common/tls.rs"]
#[allow(dead_code)]
mod tls;

use std::process::Command;

use common::{Run, BIN};
use stateful_redis_testkit::{LocalCluster, LocalRedis};

const CANARY: &str = "Canary-7Qz!pw";
const MARK: &str = "7Qz";

/// Runs the binary with `args` and `env` (nothing inherited that names a server
/// or a password).
fn run_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for var in [
        "STATEFUL_REDIS_URL",
        "STATEFUL_REDIS_AUTH",
        "STATEFUL_REDIS_CLUSTER_NODES",
        "STATEFUL_REDIS_USER",
        "STATEFUL_REDIS_PASSWORD_FILE",
        "STATEFUL_REDIS_TLS_CA",
        "STATEFUL_REDIS_TLS_CERT",
        "STATEFUL_REDIS_TLS_KEY",
        "STATEFUL_REDIS_KEY_SCHEMA",
        "STATEFUL_REDIS_CONNECTIONS",
        "STATEFUL_REDIS_COMMAND_TIMEOUT_MS",
        "STATEFUL_REDIS_CONNECT_TIMEOUT_MS",
        "STATEFUL_REDIS_CLIENT_NAME",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::from(cmd.output().expect("the binary runs"))
}

fn assert_no_password(r: &Run, case: &str) {
    for text in [&r.stdout, &r.stderr] {
        assert!(!text.contains(MARK), "{case}: password printed:\n{text}");
    }
}

fn with_password() -> LocalRedis {
    let server = LocalRedis::start().expect("redis-server");
    server
        .command(&["CONFIG", "SET", "requirepass", CANARY])
        .unwrap();
    server
}

#[test]
fn the_password_from_the_environment_reaches_the_server_and_is_never_printed() {
    let server = with_password();
    let url = server.url();
    let auth = [("STATEFUL_REDIS_AUTH", CANARY)];
    let r = run_env(
        &[
            "--url",
            &url,
            "link",
            "set",
            "app:eu:logic",
            "u1",
            "chat",
            "3",
        ],
        &auth,
    );
    r.ok();
    assert_no_password(&r, "link set");
    let r = run_env(
        &[
            "--url",
            &url,
            "--json",
            "link",
            "get",
            "app:eu:logic",
            "u1",
            "chat",
        ],
        &auth,
    );
    assert_eq!(r.ok().json(), 3);
    let r = run_env(&["--url", &url, "doctor"], &auth);
    r.ok();
    assert!(r.stdout.contains("verdict: healthy"), "{}", r.stdout);
    assert_no_password(&r, "doctor");
    // Through $STATEFUL_REDIS_URL as well.
    let r = run_env(
        &["link", "get", "app:eu:logic", "u1", "chat"],
        &[
            ("STATEFUL_REDIS_URL", &url),
            ("STATEFUL_REDIS_AUTH", CANARY),
        ],
    );
    assert_eq!(r.ok().stdout.trim(), "3");
    // Without it: refused by the server, a one-line error.
    let r = run_env(
        &["--url", &url, "link", "get", "app:eu:logic", "u1", "chat"],
        &[],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.starts_with("stateful-redis: "), "{}", r.stderr);
    // A wrong one is not printed either.
    let wrong = [("STATEFUL_REDIS_AUTH", "wrong-7Qz-pw")];
    for args in [&["doctor"][..], &["link", "get", "a:b:c", "u", "s"]] {
        let mut all = vec!["--url", url.as_str()];
        all.extend_from_slice(args);
        let r = run_env(&all, &wrong);
        assert_ne!(r.code, 0, "{args:?}");
        assert_no_password(&r, &format!("wrong password {args:?}"));
    }
    // Every command that connects, with a wrong password from either source.
    let dir = common::artifact_dir("wrong-password-file");
    let file = dir.join("password");
    std::fs::write(&file, "wrong-7Qz-pw\n").unwrap();
    for args in [
        &["doctor"][..],
        &["--json", "doctor"],
        &["link", "get", "a:b:c", "u", "s"],
        &["workload", "get", "a:b:c", "svc"],
        &["state", "get", "a:b:c", "svc"],
        &["compute", "a:b:c", "u", "svc"],
        &["bench", "--duration-s", "1", "--warmup-s", "0"],
        &["dashboard", "--listen", "127.0.0.1:0", "--duration-s", "1"],
    ] {
        let mut all = vec!["--url", url.as_str()];
        all.extend_from_slice(args);
        let r = run_env(&all, &wrong);
        assert_ne!(r.code, 0, "{args:?}");
        assert_no_password(&r, &format!("wrong password {args:?}"));
        all.extend_from_slice(&["--password-file", file.to_str().unwrap()]);
        let r = run_env(&all, &[]);
        assert_ne!(r.code, 0, "{args:?}");
        assert_no_password(&r, &format!("wrong password file {args:?}"));
    }
    // `options` shows that a password is set, not which.
    let r = run_env(&["--url", &url, "options"], &auth);
    r.ok();
    assert!(r.stdout.contains("\"***\""), "{}", r.stdout);
    assert_no_password(&r, "options");
}

#[test]
fn a_password_file_and_an_acl_user() {
    let server = LocalRedis::start().expect("redis-server");
    server
        .command(&[
            "ACL",
            "SETUSER",
            "router",
            "on",
            &format!(">{CANARY}"),
            "~*",
            "+@all",
        ])
        .unwrap();
    server
        .command(&["CONFIG", "SET", "requirepass", "not-this-one"])
        .unwrap();
    let dir = common::artifact_dir("password-file");
    let file = dir.join("password");
    std::fs::write(&file, format!("{CANARY}\n")).unwrap();
    let file = file.to_str().unwrap();
    let url = server.url();
    let r = run_env(
        &[
            "--url",
            &url,
            "--user",
            "router",
            "--password-file",
            file,
            "state",
            "set",
            "a:b:c",
            "svc",
            "1",
            "online",
        ],
        &[],
    );
    r.ok();
    assert_no_password(&r, "password file");
    let r = run_env(
        &["--url", &url, "--json", "state", "get", "a:b:c", "svc"],
        &[
            ("STATEFUL_REDIS_USER", "router"),
            ("STATEFUL_REDIS_PASSWORD_FILE", file),
        ],
    );
    assert_eq!(r.ok().json(), serde_json::json!({"1": "online"}));
    // Both sources at once: refused, neither printed.
    let r = run_env(
        &[
            "--url",
            &url,
            "--password-file",
            file,
            "link",
            "get",
            "a:b:c",
            "u",
            "s",
        ],
        &[("STATEFUL_REDIS_AUTH", CANARY)],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("keep one"), "{}", r.stderr);
    assert_no_password(&r, "both");
    // A missing file is named, an empty one refused.
    let r = run_env(
        &["--url", &url, "--password-file", "no/such/file", "doctor"],
        &[],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no/such/file"), "{}", r.stderr);
    let empty = dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    let r = run_env(
        &[
            "--url",
            &url,
            "--password-file",
            empty.to_str().unwrap(),
            "doctor",
        ],
        &[],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is empty"), "{}", r.stderr);
}

#[test]
fn writes_refuse_the_private_server_and_start_nothing() {
    let tmp = common::artifact_dir("no-url-writes");
    for args in [
        &["link", "set", "a:b:c", "u", "svc", "3"][..],
        &["link", "remove", "a:b:c", "u", "svc"],
        &["state", "set", "a:b:c", "svc", "1", "online"],
        &["workload", "set", "a:b:c", "svc", "running"],
        &["load", "set", "a:b:c", "svc", "1", "5"],
        &["compute", "a:b:c", "u", "svc"],
    ] {
        let r = run_env(args, &[("TMPDIR", tmp.to_str().unwrap())]);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(
                "writes need --url or STATEFUL_REDIS_URL (or --cluster-node): a private server \
                 would vanish when the command exits"
            ),
            "{args:?}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("started a private"), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
    // No server folder was made.
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    // Reads still work on a private server (which holds nothing).
    let r = run_env(
        &["link", "get", "a:b:c", "u", "svc"],
        &[("TMPDIR", tmp.to_str().unwrap())],
    );
    assert_eq!(r.ok().stdout.trim(), "(none)");
    assert!(r.stderr.contains("started a private"), "{}", r.stderr);
    // Credentials with no server to give them to: refused, not ignored.
    let r = run_env(&["doctor"], &[("STATEFUL_REDIS_AUTH", CANARY)]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("need a server"), "{}", r.stderr);
    assert_no_password(&r, "auth without a server");
}

#[test]
fn cluster_nodes_seed_a_cluster() {
    let cluster = LocalCluster::start(3).expect("a local cluster");
    let nodes: Vec<String> = cluster
        .urls()
        .iter()
        .map(|u| {
            u.trim_start_matches("redis://")
                .trim_end_matches('/')
                .to_string()
        })
        .collect();
    let r = run_env(
        &[
            "--cluster-node",
            &nodes[0],
            "--cluster-node",
            &nodes[1],
            "link",
            "set",
            "app:eu:logic",
            "u1",
            "chat",
            "2",
        ],
        &[],
    );
    r.ok();
    let r = run_env(
        &["--json", "link", "list", "app:eu:logic", "u1"],
        &[("STATEFUL_REDIS_CLUSTER_NODES", &nodes.join(","))],
    );
    assert_eq!(r.ok().json(), serde_json::json!({"chat": 2}));
    let r = run_env(&["--cluster-node", &nodes[2], "doctor"], &[]);
    r.ok();
    assert!(r.stdout.contains("16384 of 16384 slots"), "{}", r.stdout);
    // The core refuses the java schema on a cluster.
    let r = run_env(
        &[
            "--cluster-node",
            &nodes[0],
            "--key-schema",
            "java",
            "link",
            "list",
            "a:b:c",
            "u",
        ],
        &[],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("CONFIG") && r.stderr.contains("java"),
        "{}",
        r.stderr
    );
}

#[test]
fn tls_files_reach_the_server() {
    let pki = tls::TestPki::new();
    let server = tls::TlsRedis::start(&pki, "yes");
    let url = server.tls_url();
    let (ca, cert, key) = (
        pki.path("ca.crt"),
        pki.path("client.crt"),
        pki.path("client.key"),
    );
    let r = run_env(
        &[
            "--url",
            &url,
            "--tls-ca",
            &ca,
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "workload",
            "set",
            "a:b:c",
            "svc",
            "running",
        ],
        &[],
    );
    r.ok();
    let r = run_env(
        &["--url", &url, "workload", "get", "a:b:c", "svc"],
        &[
            ("STATEFUL_REDIS_TLS_CA", ca.as_str()),
            ("STATEFUL_REDIS_TLS_CERT", cert.as_str()),
            ("STATEFUL_REDIS_TLS_KEY", key.as_str()),
        ],
    );
    assert_eq!(r.ok().stdout.trim(), "running");
    // Doctor's own connections use the certificates too.
    let r = run_env(
        &[
            "--url",
            &url,
            "--tls-ca",
            &ca,
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "doctor",
        ],
        &[],
    );
    r.ok();
    assert!(r.stdout.contains("verdict: healthy"), "{}", r.stdout);
    // Without the client certificate the server refuses; a certificate without
    // its key is refused by the core before connecting.
    let r = run_env(
        &[
            "--url", &url, "--tls-ca", &ca, "workload", "get", "a:b:c", "svc",
        ],
        &[],
    );
    assert_ne!(r.code, 0);
    let r = run_env(
        &[
            "--url",
            &url,
            "--tls-ca",
            &ca,
            "--tls-cert",
            &cert,
            "workload",
            "get",
            "a:b:c",
            "svc",
        ],
        &[],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("CONFIG"), "{}", r.stderr);
}

#[test]
fn every_flag_and_variable_fills_its_option_and_the_core_checks_them() {
    let r = run_env(
        &[
            "--url",
            "rediss://127.0.0.1:1",
            "--tls-ca",
            "ca.pem",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--key-schema",
            "java",
            "--connections",
            "4",
            "--command-timeout-ms",
            "250",
            "--connect-timeout-ms",
            "700",
            "--user",
            "alice",
            "options",
        ],
        &[],
    );
    let text = r.ok().stdout.clone();
    for want in [
        "url: Some(\n        \"rediss://127.0.0.1:1\"",
        "tls_ca_file: Some(\n        \"ca.pem\"",
        "tls_client_cert_file: Some(\n        \"c.pem\"",
        "tls_client_key_file: Some(\n        \"k.pem\"",
        "key_schema: Java",
        "connections: 4",
        "command_timeout_ms: 250",
        "connect_timeout_ms: 700",
        "username: Some(\n        \"alice\"",
        "password: None",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    let r = run_env(
        &["options"],
        &[
            (
                "STATEFUL_REDIS_CLUSTER_NODES",
                "127.0.0.1:7000, rediss://h:7001",
            ),
            ("STATEFUL_REDIS_KEY_SCHEMA", "default"),
            ("STATEFUL_REDIS_CONNECTIONS", "2"),
            ("STATEFUL_REDIS_COMMAND_TIMEOUT_MS", "99"),
            ("STATEFUL_REDIS_CONNECT_TIMEOUT_MS", "98"),
            ("STATEFUL_REDIS_USER", "bob"),
        ],
    );
    let text = r.ok().stdout.clone();
    for want in [
        "\"redis://127.0.0.1:7000\"",
        "\"rediss://h:7001\"",
        "key_schema: Default",
        "connections: 2",
        "command_timeout_ms: 99",
        "connect_timeout_ms: 98",
        "\"bob\"",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    // Values the core refuses: CONFIG, exit 1, before anything is started.
    let server = LocalRedis::start().expect("redis-server");
    let url = server.url();
    for (args, says) in [
        (&["--connections", "0"][..], "connections"),
        (&["--connections", "65"], "connections"),
        (&["--command-timeout-ms", "0"], "command_timeout_ms"),
        (&["--connect-timeout-ms", "0"], "connect_timeout_ms"),
        (&["--tls-ca", "ca.pem"], "tls_ca_file"),
    ] {
        let mut all = vec!["--url", url.as_str()];
        all.extend_from_slice(args);
        all.extend_from_slice(&["link", "get", "a:b:c", "u", "s"]);
        let r = run_env(&all, &[]);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.starts_with("stateful-redis: CONFIG: ") && r.stderr.contains(says),
            "{args:?}: {}",
            r.stderr
        );
    }
    // Syntax is clap's: exit 2.
    for args in [&["--key-schema", "nope"][..], &["--connections", "x"]] {
        let mut all = args.to_vec();
        all.push("options");
        assert_eq!(run_env(&all, &[]).code, 2, "{args:?}");
    }
    // There is no --password flag.
    let r = run_env(&["--password", "x", "options"], &[]);
    assert_eq!(r.code, 2);
}

/// The name of `--client-name` (or `$STATEFUL_REDIS_CLIENT_NAME`) is the one
/// the command's connections take: the server's ACL log names the client that
/// a user without `GET` was refused, with the name it had (no timing: the
/// command has ended when the log is read).
#[test]
fn the_client_name_reaches_the_server() {
    let server = LocalRedis::start().expect("redis-server");
    server
        .command(&[
            "ACL",
            "SETUSER",
            "namer",
            "on",
            ">namer-pw",
            "~*",
            "+@all",
            "-get",
        ])
        .unwrap();
    let url = server.url();
    let get = ["link", "get", "a:b:c", "u1", "chat"];
    for (flag, env, name) in [
        (Some("cli-flag-7"), None, "cli-flag-7"),
        (None, Some("cli-env-8"), "cli-env-8"),
        (Some("cli-flag-9"), Some("cli-env-9"), "cli-flag-9"),
    ] {
        server.command(&["ACL", "LOG", "RESET"]).unwrap();
        let mut args = vec!["--url", url.as_str(), "--user", "namer"];
        if let Some(flag) = flag {
            args.extend_from_slice(&["--client-name", flag]);
        }
        args.extend_from_slice(&get);
        let mut env: Vec<(&str, &str)> = env
            .map(|v| vec![("STATEFUL_REDIS_CLIENT_NAME", v)])
            .unwrap_or_default();
        env.push(("STATEFUL_REDIS_AUTH", "namer-pw"));
        let r = run_env(&args, &env);
        assert_eq!(r.code, 1, "GET is refused to this user: {}", r.stderr);
        let log = server.command(&["ACL", "LOG"]).unwrap();
        assert!(
            log.contains(&format!(" name={name} ")),
            "{name} not in the ACL log: {log}"
        );
    }
    // A name Redis would refuse: the core's CONFIG, before anything connects.
    let clients = || {
        let list = server.command(&["CLIENT", "LIST"]).unwrap();
        list.matches(" laddr=").count()
    };
    let before = clients();
    refused_as_config(&url, "--client-name", "two words", "client_name");
    assert_eq!(clients(), before, "nothing connected");
    let r = run_env(&["--client-name", "router-7", "options"], &[]);
    assert!(r
        .ok()
        .stdout
        .contains("client_name: Some(\n        \"router-7\""));
}

#[test]
fn completions_and_man_page_come_from_the_flags() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = run_env(&["completions", shell], &[]);
        r.ok();
        for name in [
            "bench",
            "dashboard",
            "doctor",
            "link",
            "workload",
            "--cluster-node",
        ] {
            assert!(r.stdout.contains(name), "{shell}: {name} missing");
        }
    }
    let r = run_env(&["completions", "tcsh"], &[]);
    assert_eq!(r.code, 2);
    let r = run_env(&["man"], &[]);
    let page = r.ok().stdout.clone();
    for want in [
        ".TH stateful-redis 1",
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH SUBCOMMANDS",
        ".SH ENVIRONMENT",
        "STATEFUL_REDIS_AUTH",
        "STATEFUL_REDIS_CLUSTER_NODES",
        "tls\\-ca",
        "doctor",
    ] {
        assert!(page.contains(want), "{want:?} not in the man page:\n{page}");
    }
    // It renders, where groff is installed.
    let dir = common::artifact_dir("man");
    let file = dir.join("stateful-redis.1");
    std::fs::write(&file, &page).unwrap();
    if let Ok(out) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
        .arg(&file)
        .output()
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(warnings.trim().is_empty(), "groff: {warnings}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("ENVIRONMENT") && text.contains("SUBCOMMANDS"),
            "{text}"
        );
    }
    // The hidden commands do not crowd the help.
    let help = run_env(&["--help"], &[]).stdout;
    assert!(!help.contains("completions"), "{help}");
}

/// `--metrics-label` (repeatable) and `$STATEFUL_REDIS_METRICS_LABELS`
/// (comma-separated) fill the `metrics_labels` option; a key given twice, a
/// name the exposition reserves and a pair without `=` are refused before
/// anything connects. (That the labels reach `/metrics` is checked by the
/// dashboard's test.)
#[test]
fn metrics_labels_come_from_the_flag_or_the_environment() {
    let r = run_env(
        &[
            "--metrics-label",
            "executor=orders",
            "--metrics-label",
            "region=eu=west",
            "options",
        ],
        &[],
    );
    let out = &r.ok().stdout;
    assert!(out.contains("\"executor\": \"orders\""), "{out}");
    assert!(out.contains("\"region\": \"eu=west\""), "{out}");
    let r = run_env(
        &["options"],
        &[("STATEFUL_REDIS_METRICS_LABELS", "a=1,b=2")],
    );
    let out = &r.ok().stdout;
    assert!(
        out.contains("\"a\": \"1\"") && out.contains("\"b\": \"2\""),
        "{out}"
    );
    // The flag wins over the environment, as every flag does.
    let r = run_env(
        &["--metrics-label", "c=3", "options"],
        &[("STATEFUL_REDIS_METRICS_LABELS", "a=1")],
    );
    let out = &r.ok().stdout;
    assert!(
        out.contains("\"c\": \"3\"") && !out.contains("\"a\""),
        "{out}"
    );

    let r = run_env(
        &[
            "--metrics-label",
            "a=1",
            "--metrics-label",
            "a=2",
            "options",
        ],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("`a` is given twice"), "{}", r.stderr);
    let r = run_env(&["--metrics-label", "noeq", "options"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // The core's checks, as for every option: a reserved name is a CONFIG error
    // and the value is never echoed.
    let server = LocalRedis::start().expect("redis-server");
    let stderr = refused_as_config(
        &server.url(),
        "--metrics-label",
        "le=secret-value",
        "\"le\"",
    );
    assert!(!stderr.contains("secret-value"), "{stderr}");
}

/// `link get` with `flag value` is refused by the core's configuration check
/// (exit 1, `CONFIG`, the message naming `names`); its stderr.
fn refused_as_config(url: &str, flag: &str, value: &str, names: &str) -> String {
    let r = run_env(
        &["--url", url, flag, value, "link", "get", "a:b:c", "u", "s"],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("stateful-redis: CONFIG: ") && r.stderr.contains(names),
        "{}",
        r.stderr
    );
    r.stderr.clone()
}
