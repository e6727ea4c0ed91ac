//! End-to-end tests of the `stateful-redis` binary: bench (table, JSON, report,
//! recording), report, inspection commands, doctor, and the dashboard loaded in
//! headless Chromium. Every server started here is stopped here.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{artifact_dir, http_get, run, BIN};
use stateful_redis_testkit::LocalRedis;

fn assert_chart(path: &Path, must_contain: &[&str]) {
    let svg =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{} missing: {e}", path.display()));
    assert!(svg.starts_with("<svg"), "{} is not SVG", path.display());
    assert!(svg.contains("<text"), "{}: no text", path.display());
    for needle in must_contain {
        assert!(svg.contains(needle), "{} lacks {needle:?}", path.display());
    }
}

#[test]
fn bench_with_a_private_redis_prints_the_table_and_writes_a_report() {
    let dir = artifact_dir("bench-report");
    let report = dir.join("report");
    let r = run(&[
        "bench",
        "--duration-s",
        "2",
        "--warmup-s",
        "0.2",
        "--uids",
        "500",
        "--concurrency",
        "8",
        "--progress",
        "always",
        "--record-interval-ms",
        "250",
        "--alert",
        "get_linked_pod.p99_ms=0.001",
        "--report",
        report.to_str().unwrap(),
    ]);
    r.ok();
    assert!(
        r.stderr.contains("started a private redis-server"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("progress: "), "{}", r.stderr);
    assert!(r.stderr.contains("ops/s"), "{}", r.stderr);
    for needle in [
        "operation",
        "p99.9 µs",
        "get_linked_pod",
        "batch_get_linked_pod",
        "all",
    ] {
        assert!(
            r.stdout.contains(needle),
            "table lacks {needle}:\n{}",
            r.stdout
        );
    }
    let md = std::fs::read_to_string(report.join("report.md")).expect("report.md");
    assert!(md.contains("![throughput over time](throughput.svg)"));
    assert!(md.contains("![latency percentiles](latency.svg)"));
    assert!(md.contains("| get_linked_pod |"), "{md}");
    assert!(md.contains("## Benchmark"));
    assert!(
        md.contains("- `get_linked_pod.p99_ms`"),
        "alert missing:\n{md}"
    );
    // A line per series, a legend entry per operation.
    assert_chart(
        &report.join("throughput.svg"),
        &[
            "<polyline",
            "Throughput over time",
            "ops/s",
            "get_linked_pod",
        ],
    );
    // Bars per percentile, labelled.
    assert_chart(
        &report.join("latency.svg"),
        &["<rect", "p50", "p99.9", "microseconds", "set_linked_pod"],
    );
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    assert!(data["bench"]["ops"].as_u64().unwrap() > 0, "{data}");
    assert_eq!(data["throughput"][0]["name"], "all");
    assert_eq!(data["last_snapshot"]["schema_version"], 1);
    let recording = std::fs::read_to_string(report.join("recording.jsonl")).unwrap();
    assert!(recording.lines().count() >= 4, "2 s at 250 ms: {recording}");
}

#[test]
fn bench_json_with_a_count_every_option_and_a_recording_then_report() {
    let server = LocalRedis::start().expect("redis-server");
    let url = server.url();
    let dir = artifact_dir("bench-json");
    let recording = dir.join("run.jsonl");
    let r = run(&[
        "--url",
        &url,
        "bench",
        "--json",
        "--workload",
        "all",
        "--mix",
        "get_linked_pod=5,set_linked_pod=3,compute_linked_pod=1,get_pod_loads=1",
        "--count",
        "600",
        "--warmup-s",
        "0",
        "--uids",
        "200",
        "--namespaces",
        "2",
        "--services",
        "3",
        "--pods",
        "4",
        "--batch-size",
        "10",
        "--persistent-ratio",
        "0.25",
        "--concurrency",
        "4",
        "--record",
        recording.to_str().unwrap(),
        "--record-interval-ms",
        "100",
    ]);
    r.ok();
    let v = r.json();
    assert_eq!(v["impl"], "rust");
    assert_eq!(v["ops"], 600, "{v}");
    assert_eq!(v["errors"], 0, "{v}");
    assert!(v["ops_per_s"].as_f64().unwrap() > 0.0);
    assert!(v["p99_us"].as_f64().unwrap() > 0.0);
    let per_op = v["per_op"].as_object().unwrap();
    assert_eq!(
        per_op.keys().cloned().collect::<Vec<_>>(),
        [
            "compute_linked_pod",
            "get_linked_pod",
            "get_pod_loads",
            "set_linked_pod"
        ]
    );
    // Both namespaces were used.
    let keys = server
        .command(&["KEYS", "sf:{bench:region:logic*"])
        .unwrap();
    assert!(keys.contains("logic0") && keys.contains("logic1"), "{keys}");

    // The recording makes the same report later.
    let out = dir.join("from-recording");
    let r = run(&[
        "report",
        recording.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    r.ok();
    let v = r.json();
    assert!(v["snapshots"].as_u64().unwrap() >= 1, "{v}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| compute_linked_pod |"), "{md}");
    assert!(
        !md.contains("## Benchmark"),
        "no bench result in a recording"
    );
    assert_chart(&out.join("throughput.svg"), &["<polyline"]);
    assert_chart(&out.join("latency.svg"), &["<rect", "get_pod_loads"]);

    // The default output folder sits next to the recording.
    run(&["report", recording.to_str().unwrap()]).ok();
    assert!(dir.join("run-report").join("report.md").exists());
}

#[test]
fn report_of_a_missing_or_bad_recording_is_a_clear_error() {
    let r = run(&["report", "/nonexistent/rec.jsonl"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .starts_with("stateful-redis: INVALID_ARGUMENT: cannot open recording"),
        "{}",
        r.stderr
    );
    let dir = artifact_dir("bad-recording");
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"not\": \"a snapshot\"}\n{}\n").unwrap();
    let r = run(&["report", bad.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.starts_with("stateful-redis: DATA: "),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"));
}

#[test]
fn inspection_commands_read_and_write_through_the_executor() {
    let server = LocalRedis::start().expect("redis-server");
    let url = server.url();
    let cmd = |args: &[&str]| {
        let mut all = vec!["--url", url.as_str(), "--json"];
        all.extend_from_slice(args);
        let r = run(&all);
        r.ok();
        r.json()
    };
    let ns = "app:eu:logic";
    // Links.
    assert_eq!(
        cmd(&["link", "set", ns, "u1", "chat", "3"]),
        serde_json::json!({"previous": null})
    );
    assert_eq!(cmd(&["link", "get", ns, "u1", "chat"]), 3);
    assert_eq!(
        cmd(&["link", "set", ns, "u2", "chat", "5", "--persist", "300"]),
        serde_json::json!({"previous": null})
    );
    assert_eq!(
        cmd(&["link", "get", ns, "u2", "chat", "--persistent-only"]),
        serde_json::Value::Null
    );
    assert_eq!(
        cmd(&["link", "set", ns, "u1", "chat", "4", "--mode", "try"]),
        serde_json::json!({"ok": false, "pod": 3})
    );
    assert_eq!(
        cmd(&["link", "set", ns, "u1", "game", "7", "--mode", "if-absent"]),
        serde_json::json!({"pod": 7})
    );
    assert_eq!(
        cmd(&["link", "list", ns, "u1"]),
        serde_json::json!({"chat": 3, "game": 7})
    );
    let batch = cmd(&["link", "batch", ns, "chat", "u1", "u2", "u3"]);
    assert_eq!(batch["3"], serde_json::json!(["u1"]), "{batch}");
    assert_eq!(batch["5"], serde_json::json!(["u2"]), "{batch}");
    assert_eq!(
        cmd(&["link", "remove", ns, "u1", "game", "--pod", "8"]),
        serde_json::json!({"removed": false})
    );
    assert_eq!(
        cmd(&["link", "remove", ns, "u1", "game", "--keep", "60"]),
        serde_json::json!({"removed": true})
    );
    assert_eq!(
        cmd(&["link", "list", ns, "u1"]),
        serde_json::json!({"chat": 3})
    );
    // States and workloads.
    assert_eq!(
        cmd(&["state", "set", ns, "chat", "0", "online"]),
        serde_json::json!({"ok": true})
    );
    cmd(&["state", "set", ns, "chat", "1", "draining"]);
    assert_eq!(
        cmd(&["state", "get", ns, "chat"]),
        serde_json::json!({"0": "online", "1": "draining"})
    );
    cmd(&["workload", "set", ns, "chat", "running"]);
    assert_eq!(cmd(&["workload", "get", ns, "chat"]), "running");
    assert_eq!(
        cmd(&["workload", "get", ns, "chat", "nope"]),
        serde_json::json!({"chat": "running"})
    );
    // Loads and routing.
    cmd(&["load", "set", ns, "game", "0", "50"]);
    cmd(&["load", "set", ns, "game", "1", "10"]);
    cmd(&["load", "set", ns, "game", "2", "1", "9"]);
    let loads = cmd(&["load", "get", ns, "game"]);
    assert_eq!(loads["1"]["load"], 10, "{loads}");
    assert_eq!(loads["2"]["state"], 9, "{loads}");
    assert!(loads["0"]["updated_ms"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(
        cmd(&[
            "compute",
            ns,
            "u9",
            "game",
            "--max-state",
            "5",
            "--persist",
            "300"
        ]),
        1
    );
    assert_eq!(cmd(&["link", "get", ns, "u9", "game"]), 1);

    // Text output is plain.
    let r = run(&["--url", &url, "link", "get", ns, "u1", "chat"]);
    assert_eq!(r.ok().stdout, "3\n");

    // Bad input: the core's code and message, non-zero exit, no stack trace.
    let r = run(&["--url", &url, "link", "set", ns, "u1", "chat", "-2"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.starts_with("stateful-redis: INVALID_ARGUMENT: "),
        "{}",
        r.stderr
    );
    let r = run(&[
        "--url", &url, "link", "set", ns, "u1", "chat", "1", "--mode", "x",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("INVALID_ARGUMENT"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
}

#[test]
fn doctor_passes_on_a_healthy_server_and_fails_on_a_stopped_one() {
    let mut server = LocalRedis::start().expect("redis-server");
    let url = server.url();
    // A client has connected (and loaded the scripts), as in production.
    run(&["--url", &url, "workload", "get", "a:b:c", "svc"]).ok();
    let r = run(&["--url", &url, "doctor"]);
    r.ok();
    assert!(r.stdout.contains("mode standalone"), "{}", r.stdout);
    assert!(r.stdout.contains("all 7 loaded"), "{}", r.stdout);
    assert!(r.stdout.contains("verdict: healthy"), "{}", r.stdout);

    // Scripts flushed: a warning, still exit 0.
    server.command(&["SCRIPT", "FLUSH"]).unwrap();
    let r = run(&["--url", &url, "doctor", "--json"]);
    r.ok();
    let v = r.json();
    let scripts = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "scripts")
        .unwrap();
    assert_eq!(scripts["status"], "warning", "{v}");

    server.stop();
    let started = Instant::now();
    let r = run(&["--url", &url, "doctor"]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("cannot reach"), "{}", r.stdout);
    assert!(r.stdout.contains("something is wrong"), "{}", r.stdout);
    assert!(started.elapsed() < Duration::from_secs(10));

    // Other commands: a clear one-line error.
    let r = run(&["--url", &url, "link", "get", "a:b:c", "u", "s"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .starts_with("stateful-redis: CONNECTION: cannot connect"),
        "{}",
        r.stderr
    );
}

#[test]
fn without_redis_server_on_path_the_message_says_what_to_do() {
    let r = common::Run::from(
        Command::new(BIN)
            .args(["link", "get", "a:b:c", "u", "s"])
            .env_remove("STATEFUL_REDIS_URL")
            .env_remove(stateful_redis_testkit::SERVER_ENV)
            .env("PATH", "/nonexistent")
            .output()
            .unwrap(),
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("redis-server is not on PATH"),
        "{}",
        r.stderr
    );
}

fn find_chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        })
}

/// Runs headless Chromium on `url` with `extra` arguments; returns stdout.
fn chromium(browser: &str, url: &str, extra: &[&str]) -> String {
    let profile = tempdir("chromium-profile");
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "stateful-redis-test-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The number in `<div ... id="ID">NUMBER</div>` of a dumped DOM.
fn counter(dom: &str, id: &str) -> u64 {
    let start = dom
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{dom}"));
    let rest = &dom[start + id.len() + 6..];
    let text = &rest[..rest.find('<').unwrap()];
    text.replace(',', "")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("#{id} is not a number: {text:?}"))
}

#[test]
fn dashboard_serves_prometheus_json_and_a_live_page() {
    let server = LocalRedis::start().expect("redis-server");
    let mut child = Command::new(BIN)
        .args([
            "--url",
            &server.url(),
            "--metrics-label",
            "executor=orders",
            "dashboard",
            "--listen",
            "127.0.0.1:0",
            "--workload",
            "mixed",
            "--uids",
            "500",
            "--concurrency",
            "4",
            "--duration-s",
            "60",
            "--alert",
            "get_linked_pod.p99_ms=0.001",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dashboard starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().to_string();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{url}");

    let result = std::panic::catch_unwind(|| {
        let (status, body) = http_get(&addr, "/metrics");
        assert!(status.contains("200"), "{status}");
        assert!(body.contains("# TYPE stateful_redis_"), "{body}");
        // `--metrics-label` puts its const label on every series.
        let samples: Vec<&str> = body.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(!samples.is_empty(), "{body}");
        for sample in samples {
            assert!(sample.contains("executor=\"orders\""), "{sample}");
        }
        let (_, body) = http_get(&addr, "/metrics.json");
        let snap: stateful_redis::MetricsSnapshot =
            serde_json::from_str(&body).expect("/metrics.json is a snapshot");
        assert_eq!(snap.schema_version, 1);
        let (_, body) = http_get(&addr, "/suggestions.json");
        assert!(serde_json::from_str::<Vec<stateful_redis::Suggestion>>(&body).is_ok());
        let (status, page) = http_get(&addr, "/");
        assert!(status.contains("200"));
        assert!(page.contains("<canvas") && !page.contains("https://"));
        let (status, _) = http_get(&addr, "/nope");
        assert!(status.contains("404"));

        let Some(browser) = find_chromium() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromium is not installed (.ci/deps.d/chromium.sh installs it)"
            );
            eprintln!("SKIPPED the browser part: chromium is not installed");
            return;
        };
        let budget = ["--virtual-time-budget=2500", "--dump-dom"];
        let dom1 = chromium(browser, &url, &budget);
        let calls1 = counter(&dom1, "ops-total");
        let updates1 = counter(&dom1, "updates");
        assert!(calls1 > 0, "no calls on the page:\n{dom1}");
        assert!(updates1 >= 1, "the page never updated");
        assert!(dom1.contains("get_linked_pod"), "no operations table");
        std::thread::sleep(Duration::from_millis(1500));
        let dom2 = chromium(browser, &url, &budget);
        let calls2 = counter(&dom2, "ops-total");
        assert!(
            calls2 > calls1,
            "the page did not move: {calls1} then {calls2}"
        );
        let (_, body) = http_get(&addr, "/history.json");
        let history: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        assert!(history.len() >= 3, "{body}");
        assert!(
            history
                .iter()
                .any(|p| p["ops_per_s"].as_f64().unwrap() > 0.0),
            "{body}"
        );
        let shot = artifact_dir("dashboard").join("dashboard.png");
        chromium(
            browser,
            &url,
            &[
                "--virtual-time-budget=3500",
                &format!("--screenshot={}", shot.display()),
            ],
        );
        let png = std::fs::read(&shot).expect("screenshot written");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        eprintln!("dashboard screenshot: {}", shot.display());
    });

    // Stop the dashboard as Ctrl-C would, then make sure it is gone.
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    let stopped = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    let status = stopped.expect("the dashboard stops on SIGINT");
    assert!(status.success(), "dashboard exit: {status:?}");
}

#[test]
fn doctor_and_inspection_on_a_cluster() {
    let cluster = stateful_redis_testkit::LocalCluster::start(3).expect("a local cluster");
    let url = cluster.urls()[0].clone();
    let r = run(&[
        "--url",
        &url,
        "link",
        "set",
        "app:eu:logic",
        "u1",
        "chat",
        "2",
    ]);
    r.ok();
    let r = run(&[
        "--url",
        &url,
        "--json",
        "link",
        "list",
        "app:eu:logic",
        "u1",
    ]);
    assert_eq!(r.ok().json(), serde_json::json!({"chat": 2}));
    let r = run(&["--url", &url, "doctor"]);
    r.ok();
    assert!(r.stdout.contains("mode cluster"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("16384 of 16384 slots served by 3 master(s)"),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stdout.matches("all 7 loaded").count(),
        3,
        "scripts on every master:\n{}",
        r.stdout
    );
}
