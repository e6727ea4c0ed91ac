//! No password in the output of any command (SPEC section 4, `docs/secrets.md`):
//! `--url` and `$STATEFUL_REDIS_URL` with misspelled schemes, `unix://?pass=`,
//! an unreachable server and a wrong password, for doctor (text and JSON) and
//! every command that connects. Stdout and stderr are searched for the canary's
//! `7Qz`, so a percent-encoded copy counts as a leak too.

mod common;

use std::process::Command;

use common::{Run, BIN};
use stateful_redis_testkit::LocalRedis;

const CANARY: &str = "Canary-7Qz!pw";
const MARK: &str = "7Qz";

/// Every command that needs a server, each run to a failure within seconds.
const COMMANDS: &[&[&str]] = &[
    &["doctor"],
    &["--json", "doctor"],
    &["link", "get", "a:b:c", "u", "s"],
    &["workload", "get", "a:b:c", "svc"],
    &["state", "get", "a:b:c", "svc"],
    &["compute", "a:b:c", "u", "svc"],
    &["bench", "--duration-s", "1", "--warmup-s", "0"],
    &["dashboard", "--listen", "127.0.0.1:0", "--duration-s", "1"],
];

fn bad_urls(pw: &str) -> Vec<String> {
    vec![
        format!("redis://u:{pw}@127.0.0.1:notaport"),
        format!("redis:/u:{pw}@127.0.0.1:6379"),
        format!("redis//u:{pw}@127.0.0.1:6379"),
        format!("redis:u:{pw}@127.0.0.1:6379"),
        format!("redis://:{pw}@127.0.0.1:bad"),
        format!("rediss://u:{pw}@127.0.0.1:bad"),
        format!("u:{pw}@127.0.0.1:6379"),
        format!("unix://?pass={pw}"),
        format!("unix:relative?password={pw}"),
        format!("redis://u:{pw}@127.0.0.1:1"),
    ]
}

fn assert_hidden(r: &Run, case: &str) {
    assert_ne!(r.code, 0, "{case}: {}", r.stdout);
    for text in [&r.stdout, &r.stderr] {
        assert!(!text.contains(MARK), "{case}: password printed:\n{text}");
    }
    // The check looks at real output.
    assert!(!(r.stdout.is_empty() && r.stderr.is_empty()), "{case}");
}

fn run_with_url(url: &str, args: &[&str]) -> Run {
    let mut all = vec!["--url", url];
    all.extend_from_slice(args);
    common::run(&all)
}

fn run_with_env(url: &str, args: &[&str]) -> Run {
    Run::from(
        Command::new(BIN)
            .args(args)
            .env("STATEFUL_REDIS_URL", url)
            .output()
            .expect("the binary runs"),
    )
}

#[test]
fn bad_urls_never_print_the_password() {
    for url in bad_urls(CANARY) {
        for args in COMMANDS {
            let case = format!("--url {url} {args:?}");
            assert_hidden(&run_with_url(&url, args), &case);
        }
        // Doctor and one inspection command through the environment.
        for args in [&["doctor"][..], &["link", "get", "a:b:c", "u", "s"]] {
            assert_hidden(&run_with_env(&url, args), &format!("env {url} {args:?}"));
        }
    }
    // Odd characters, percent-encoded or not.
    for pw in [
        "Can@ry-7Qz@pw",
        "a:b/7Qz:c",
        "x%40y-7Qz",
        "7Qz//x",
        "has space 7Qz",
    ] {
        for url in bad_urls(pw) {
            assert_hidden(&run_with_url(&url, &["doctor"]), &url);
        }
    }
}

#[test]
fn a_wrong_password_is_never_printed() {
    let server = LocalRedis::start().expect("redis-server");
    server
        .command(&["CONFIG", "SET", "requirepass", "the-right-one"])
        .unwrap();
    let url = format!(
        "redis://default:Canary-7Qz%21pw@127.0.0.1:{}",
        server.port()
    );
    for args in COMMANDS {
        let r = run_with_url(&url, args);
        assert_hidden(&r, &format!("{args:?}"));
    }
    let r = run_with_url(&url, &["doctor"]);
    assert!(r.stdout.contains("redis://***@127.0.0.1"), "{}", r.stdout);
}

#[test]
fn the_right_password_is_never_printed_either() {
    let server = LocalRedis::start().expect("redis-server");
    server
        .command(&["CONFIG", "SET", "requirepass", CANARY])
        .unwrap();
    let url = format!("redis://:Canary-7Qz%21pw@127.0.0.1:{}", server.port());
    for args in [
        &["doctor"][..],
        &["--json", "doctor"],
        &["link", "get", "a:b:c", "u", "s"],
    ] {
        let r = run_with_url(&url, args);
        r.ok();
        for text in [&r.stdout, &r.stderr] {
            assert!(!text.contains(MARK), "{args:?}: password printed:\n{text}");
        }
    }
    let r = run_with_env(&url, &["doctor"]);
    r.ok();
    assert!(r.stdout.contains("verdict: healthy"), "{}", r.stdout);
    assert!(!r.stdout.contains(MARK), "{}", r.stdout);
}
