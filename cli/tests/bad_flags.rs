//! Numeric flags out of range are usage errors: exit code 2 and clap's message
//! naming the flag, before anything starts, never a panic (exit 101) and never a
//! silent correction. Values the core validates (pods, TTLs, policies) reach it
//! and come back as `INVALID_ARGUMENT`, exit 1.

mod common;

use common::run;
use stateful_redis_testkit::LocalRedis;

/// Nothing listens here: a flag that got past parsing fails differently (1).
const NOWHERE: &str = "redis://127.0.0.1:1";

fn assert_usage_error(args: &[&str], flag: &str) {
    let mut all = vec!["--url", NOWHERE];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(
        r.code, 2,
        "{args:?}: expected a usage error\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stderr.contains("invalid value") && r.stderr.contains(flag),
        "{args:?}: {}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn bench_and_dashboard_reject_durations_that_are_not_finite_seconds() {
    for value in [
        "-1", "-0.5", "inf", "-inf", "infinity", "nan", "NaN", "1e30", "31536001", "x", "",
    ] {
        assert_usage_error(&["bench", "--duration-s", value], "--duration-s");
        assert_usage_error(&["bench", "--warmup-s", value], "--warmup-s");
        assert_usage_error(&["dashboard", "--duration-s", value], "--duration-s");
    }
    // The `=` form, as users type negative values.
    assert_usage_error(&["bench", "--duration-s=-1"], "--duration-s");
}

#[test]
fn workload_counts_must_be_in_range() {
    let huge = "18446744073709551616"; // u64::MAX + 1
    for (flag, bad) in [
        ("--concurrency", &["0", "-1", "100001", huge][..]),
        ("--uids", &["0", "-5", "10000001", huge]),
        ("--namespaces", &["0", "-1", "10001"]),
        ("--services", &["0", "-1", "10001"]),
        ("--pods", &["0", "-1", "100001", "9223372036854775808"]),
        ("--batch-size", &["0", "-1", "100001"]),
        ("--persistent-ratio", &["-0.1", "1.01", "nan", "inf"]),
    ] {
        for value in bad {
            assert_usage_error(&["bench", flag, value], flag);
            assert_usage_error(&["dashboard", flag, value], flag);
        }
    }
    for (flag, bad) in [
        ("--count", &["0", "-1", huge][..]),
        ("--record-interval-ms", &["0", "9", "86400001", "-1"]),
    ] {
        for value in bad {
            assert_usage_error(&["bench", flag, value], flag);
        }
    }
}

#[test]
fn values_the_core_validates_are_invalid_argument_errors() {
    let server = LocalRedis::start().expect("redis-server");
    let url = server.url();
    let max = i64::MAX.to_string();
    let min = i64::MIN.to_string();
    for args in [
        &["link", "set", "ns", "u", "svc", "-3"][..],
        &["link", "set", "ns", "u", "svc", "3", "--persist", &max],
        &["link", "set", "ns", "u", "svc", "3", "--persist", "0"],
        &["link", "remove", "ns", "u", "svc", "--keep", &min],
        &["link", "remove", "ns", "u", "svc", "--pod", "-1"],
        &["state", "set", "ns", "svc", &min, "online"],
        &["load", "set", "ns", "svc", "1", "5", &min],
        &["compute", "ns", "u", "svc", "--max-age-ms", "-5"],
        &["compute", "ns", "u", "svc", "--persist", &max],
    ] {
        let mut all = vec!["--url", url.as_str()];
        all.extend_from_slice(args);
        let r = run(&all);
        assert_eq!(
            r.code, 1,
            "{args:?}\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
        assert!(
            r.stderr.contains("INVALID_ARGUMENT"),
            "{args:?}: {}",
            r.stderr
        );
    }
    // Extreme but valid: answered, not a panic.
    for args in [
        &["load", "get", "ns", "svc", "--fresh-since-ms", &min][..],
        &["load", "get", "ns", "svc", "--fresh-since-ms", &max],
        &[
            "compute",
            "ns",
            "u",
            "svc",
            "--max-age-ms",
            &max,
            "--max-state",
            &min,
        ],
    ] {
        let mut all = vec!["--url", url.as_str()];
        all.extend_from_slice(args);
        let r = run(&all);
        assert_eq!(
            r.code, 0,
            "{args:?}\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
    }
}
