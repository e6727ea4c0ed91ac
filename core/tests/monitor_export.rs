//! What leaves the monitor: the snapshot (validated against the checked-in JSON
//! Schema), the Prometheus exposition (parsed, linted with `promtool` when it is
//! installed, series bounded), the Grafana dashboard (every queried metric is
//! exported) and JSON-lines recordings.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use stateful_redis::monitor::prometheus::{BUCKETS_SECONDS, FAMILIES};
use stateful_redis::monitor::{read_recording, AlertOptions, MetricsSnapshot, Monitor};
use stateful_redis::{Config, Executor};
use stateful_redis_testkit::LocalRedis;

const SCHEMA: &str = include_str!("../../schemas/metrics_snapshot.schema.json");
const DASHBOARD: &str = include_str!("../../dashboards/grafana.json");

/// An executor with traffic on several operations, failures included, application
/// operations and a firing alert.
async fn busy_executor(redis: &LocalRedis) -> Executor {
    let e = Executor::connect(Config::builder().url(redis.url()).build().unwrap())
        .await
        .unwrap();
    for i in 0..20 {
        let uid = format!("u{i}");
        e.set_linked_pod("app:eu:logic", &uid, "chat", i, -1)
            .await
            .unwrap();
        e.get_linked_pod("app:eu:logic", &uid, "chat")
            .await
            .unwrap();
    }
    e.set_service_state("app:eu:logic", "chat", 1, "up")
        .await
        .unwrap();
    e.set_pod_load("app:eu:logic", "chat", 1, 10, 0)
        .await
        .unwrap();
    let uids: Vec<String> = (0..50).map(|i| format!("u{i}")).collect();
    e.batch_get_linked_pod("app:eu:logic", &uids, "chat")
        .await
        .unwrap();
    assert!(e.get_linked_pod("", "u1", "chat").await.is_err()); // INVALID_ARGUMENT
    e.record_operation("checkout", Duration::from_millis(12), true);
    e.record_operation("checkout", Duration::from_millis(30), false);
    e.record_operation("login\"quoted", Duration::from_millis(1), true); // -> other
    e.set_alert("*.qps", AlertOptions::above(0.1)).unwrap();
    e.evaluate_alerts();
    e
}

fn validate(snapshot: &MetricsSnapshot) {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
    let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
    let instance = serde_json::to_value(snapshot).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "snapshot does not match the schema: {errors:#?}"
    );
}

#[tokio::test]
async fn real_snapshots_validate_against_the_schema() {
    let redis = LocalRedis::start().unwrap();
    let e = busy_executor(&redis).await;
    let s = e.metrics();
    assert!(!s.alerts.is_empty(), "an alert is active");
    assert_eq!(s.errors_by_code["INVALID_ARGUMENT"], 1);
    assert_eq!(s.operation("checkout").unwrap().errors, 1);
    assert_eq!(s.operation("other").unwrap().count, 1);
    assert_eq!(s.operation("batch_get_linked_pod").unwrap().batch_items, 50);
    assert_eq!(s.pool.connections, 1);
    assert_eq!(s.operations[..17].iter().filter(|o| o.count > 0).count(), 5);
    validate(&s);
    // The JSON round-trips, and the closed period validates too.
    // (Floats may differ in the last digit: serde_json parses them fast, not exactly.)
    let back: MetricsSnapshot = serde_json::from_str(&s.to_json()).unwrap();
    let key = |m: &MetricsSnapshot| {
        m.operations
            .iter()
            .map(|o| (o.name.clone(), o.count, o.errors, o.errors_by_code.clone()))
            .collect::<Vec<_>>()
    };
    assert!(
        key(&back) == key(&s),
        "the snapshot round-trips through JSON"
    );
    assert_eq!(
        (back.pool.connections, back.alerts.len()),
        (s.pool.connections, s.alerts.len())
    );
    let closed = e.reset_metrics();
    validate(&closed);
    let fresh = e.metrics();
    validate(&fresh);
    assert_eq!(fresh.operation("set_linked_pod").unwrap().count, 0);
    // A monitor without an executor validates as well.
    validate(&Monitor::new().snapshot());
}

#[test]
fn the_schema_rejects_what_it_should() {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let mut good = serde_json::to_value(Monitor::new().snapshot()).unwrap();
    assert!(validator.is_valid(&good));
    good["operations"][0]["kind"] = "plugin".into();
    assert!(!validator.is_valid(&good));
    let mut extra = serde_json::to_value(Monitor::new().snapshot()).unwrap();
    extra["surprise"] = 1.into();
    assert!(!validator.is_valid(&extra));
}

fn parse(text: &str) -> prometheus_parse::Scrape {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    prometheus_parse::Scrape::parse(lines).expect("the exposition parses")
}

fn series_count(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count()
}

#[tokio::test]
async fn prometheus_exposition_parses_and_follows_conventions() {
    let redis = LocalRedis::start().unwrap();
    let e = busy_executor(&redis).await;
    let text = e.metrics_prometheus();
    let scrape = parse(&text);
    let names: BTreeSet<&str> = scrape.samples.iter().map(|s| s.metric.as_str()).collect();
    for (family, kind) in FAMILIES {
        assert!(names.contains(family), "{family} is exported");
        assert!(text.contains(&format!("# TYPE {family} {kind}\n")));
        if kind == "counter" {
            assert!(family.ends_with("_total"), "{family}");
        }
    }
    for s in &scrape.samples {
        for (label, _) in s.labels.iter() {
            let build = s.metric == "stateful_redis_build_info" && label == "version";
            assert!(
                label == "operation" || label == "code" || build,
                "label {label}"
            );
        }
    }
    assert!(text.contains(&format!(
        "\nstateful_redis_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    )));
    // Histograms: log-spaced bucket bounds, cumulative, +Inf = count.
    let mut histograms = 0;
    for s in &scrape.samples {
        if let prometheus_parse::Value::Histogram(buckets) = &s.value {
            histograms += 1;
            let bounds: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
            let mut expected = BUCKETS_SECONDS.to_vec();
            expected.push(f64::INFINITY);
            assert_eq!(bounds, expected);
            assert!(buckets.windows(2).all(|w| w[0].count <= w[1].count));
        }
    }
    assert!(histograms >= 17, "a histogram per operation");
    assert!(BUCKETS_SECONDS[0] == 0.00005 && *BUCKETS_SECONDS.last().unwrap() == 10.0);
    assert!(BUCKETS_SECONDS
        .windows(2)
        .all(|w| (2.0..=2.5).contains(&(w[1] / w[0]))));
    assert!(text.contains("stateful_redis_operations_total{operation=\"set_linked_pod\"} 20\n"));
    assert!(text.contains(
        "stateful_redis_operation_errors_total{operation=\"get_linked_pod\",code=\"INVALID_ARGUMENT\"} 1\n"
    ));
    let firing: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("stateful_redis_alerts_firing "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(firing as usize, e.metrics().alerts.len());
    assert!(firing >= 1.0);
    assert!(text.contains("stateful_redis_pool_connections 1\n"));
    let defaults = series_count(&text);
    eprintln!("{defaults} series at defaults");
    if let Ok(path) = std::env::var("STATEFUL_REDIS_DUMP_METRICS") {
        std::fs::write(path, &text).unwrap();
    }
    assert!(defaults <= 2_000, "{defaults} series");
    promtool_check(&text);
}

/// Two executors of one process, told apart by their const labels: every
/// series of each carries its labels (values escaped), and the text is the
/// rendering of the families the bindings get.
#[tokio::test]
async fn const_labels_tell_two_executors_apart() {
    let redis = LocalRedis::start().unwrap();
    let connect = |executor: &str| {
        Config::builder()
            .url(redis.url())
            .metrics_label("executor", executor)
            .metrics_label("region", "eu \"west\"\\1\nb")
            .build()
            .unwrap()
    };
    let orders = Executor::connect(connect("orders")).await.unwrap();
    let billing = Executor::connect(connect("billing")).await.unwrap();
    for i in 0..3 {
        orders
            .set_linked_pod("app:eu:logic", &format!("u{i}"), "chat", i, -1)
            .await
            .unwrap();
    }
    billing
        .get_linked_pod("app:eu:logic", "u1", "chat")
        .await
        .unwrap();
    let region = r#"region="eu \"west\"\\1\nb""#;
    for (e, name, sets, gets) in [(&orders, "orders", 3, 0), (&billing, "billing", 0, 1)] {
        let families = e.metrics_families();
        let text = e.metrics_prometheus();
        // The text is the rendering of the families (but for the clocks, read
        // twice).
        let timeless = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.contains("_uptime_seconds{") && !l.contains("_period_seconds{"))
                .map(String::from)
                .collect()
        };
        let rendered = stateful_redis::monitor::prometheus::render(&families);
        assert!(
            timeless(&text) == timeless(&rendered),
            "text = render(families)"
        );
        let scrape = parse(&text);
        assert!(!scrape.samples.is_empty());
        for s in &scrape.samples {
            assert_eq!(s.labels.get("executor"), Some(name), "{}", s.metric);
            // prometheus-parse keeps the escaped form (prometheus_client and
            // promtool, below, read it back).
            assert_eq!(s.labels.get("region"), Some(r#"eu \"west\"\\1\nb"#));
        }
        let labels = format!("executor=\"{name}\",{region}");
        for (op, n) in [("set_linked_pod", sets), ("get_linked_pod", gets)] {
            let line =
                format!("stateful_redis_operations_total{{operation=\"{op}\",{labels}}} {n}\n");
            assert!(text.contains(&line), "{line} in\n{text}");
        }
        let build = format!(
            "stateful_redis_build_info{{version=\"{}\",{labels}}} 1\n",
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.contains(&build), "{build}");
        // The families as the bindings receive them (JSON): labels an object.
        let json = serde_json::to_value(&families).unwrap();
        let ops = json
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "stateful_redis_operations_total")
            .unwrap();
        assert_eq!(ops["type"], "counter");
        let set = ops["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["labels"]["operation"] == "set_linked_pod")
            .unwrap();
        assert_eq!(set["labels"]["executor"], name);
        assert_eq!(set["value"], sets as f64);
        promtool_check(&text);
    }
}

/// A bad const label is refused with `CONFIG` when the options are checked,
/// before anything connects, naming the label and never the value.
#[test]
fn bad_const_labels_are_refused() {
    let secret = "s3cret";
    for name in [
        "le",
        "quantile",
        "operation",
        "code",
        "version",
        "__x",
        "a-b",
        "1a",
        "",
    ] {
        let err = Config::builder()
            .url("redis://127.0.0.1:1")
            .metrics_label(name, secret)
            .build()
            .unwrap_err();
        assert_eq!(err.code(), stateful_redis::ErrorCode::Config, "{name}");
        assert!(
            err.message().contains("metrics_labels"),
            "{}",
            err.message()
        );
        assert!(!err.message().contains(secret), "{}", err.message());
    }
    let err = Config::builder()
        .url("redis://127.0.0.1:1")
        .metrics_label("executor", "")
        .build()
        .unwrap_err();
    assert_eq!(err.code(), stateful_redis::ErrorCode::Config);
    // From JSON (the C ABI's form) as from the builder; a non-string value is
    // refused by name.
    let err = stateful_redis::Options::from_json(r#"{"metrics_labels": {"le": "x"}}"#)
        .unwrap()
        .build()
        .unwrap_err();
    assert_eq!(err.code(), stateful_redis::ErrorCode::Config);
    let err =
        stateful_redis::Options::from_json(r#"{"metrics_labels": {"executor": 3}}"#).unwrap_err();
    assert_eq!(err.code(), stateful_redis::ErrorCode::Config);
    assert!(
        err.message().contains("metrics_labels"),
        "{}",
        err.message()
    );
    // A monitor made without the labels of the options is refused.
    let labelled = Config::builder()
        .url("redis://127.0.0.1:1")
        .metrics_label("executor", "orders")
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(Executor::connect_with_monitor(
            labelled,
            std::sync::Arc::new(Monitor::new()),
        ))
        .unwrap_err();
    assert_eq!(err.code(), stateful_redis::ErrorCode::Config);
}

#[test]
fn series_stay_bounded_with_every_application_slot_used() {
    let monitor = Monitor::new();
    for i in 0..200 {
        monitor.record_operation(&format!("app_op_{i}"), Duration::from_millis(1), i % 2 == 0);
    }
    let text = monitor.prometheus();
    parse(&text);
    let n = series_count(&text);
    eprintln!("{n} series with every application slot used");
    assert!(
        n <= 2_000,
        "{n} series with 64 application names, other and failures"
    );
    let operations: BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("stateful_redis_operations_total{"))
        .collect();
    assert_eq!(operations.len(), 17 + 64 + 1);
    promtool_check(&text);
}

/// Python `prometheus_client`'s parser (PyPI `prometheus-client`), when installed.
fn prometheus_client_check(text: &str) {
    let script = "import sys\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        families = list(text_string_to_metric_families(sys.stdin.read()))\n\
        print(len(families), sum(len(f.samples) for f in families))\n";
    let probe = std::process::Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        missing_tool("python3 prometheus_client (pip install prometheus-client)");
        return;
    }
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client parser: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    let samples: usize = printed.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(
        samples,
        series_count(text),
        "prometheus_client saw every sample"
    );
}

/// `promtool check metrics` (Debian package `prometheus`), when installed; and
/// Python's `prometheus_client` parser, when installed.
/// A missing external checker: skipped on a developer's machine, a failure in
/// CI (`.ci/run` installs both and sets STATEFUL_REDIS_REQUIRE_TOOLS=1).
fn missing_tool(what: &str) {
    if std::env::var("STATEFUL_REDIS_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
        panic!("{what} is required here but not installed");
    }
    eprintln!("{what} not installed: skipping that check");
}

fn promtool_check(text: &str) {
    prometheus_client_check(text);
    let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        missing_tool("promtool (apt-get install prometheus)");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn every_metric_the_dashboard_queries_is_exported() {
    let redis = LocalRedis::start().unwrap();
    let e = busy_executor(&redis).await;
    let text = e.metrics_prometheus();
    let exported: BTreeSet<&str> = FAMILIES.iter().map(|(n, _)| *n).collect();
    let dashboard: serde_json::Value = serde_json::from_str(DASHBOARD).unwrap();
    let mut exprs = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if k == "expr" || k == "definition" {
                        if let Some(s) = v.as_str() {
                            out.push(s.to_string());
                        }
                    }
                    walk(v, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&dashboard, &mut exprs);
    assert!(exprs.len() >= 15, "{} queries", exprs.len());
    let mut queried = BTreeSet::new();
    for expr in &exprs {
        let mut rest = expr.as_str();
        while let Some(i) = rest.find("stateful_redis_") {
            let name: String = rest[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[i + name.len()..];
            queried.insert(name);
        }
    }
    for name in &queried {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| FAMILIES.contains(&(base, "histogram")))
            })
            .unwrap_or(name);
        assert!(
            exported.contains(family),
            "the dashboard queries {name}, not exported"
        );
        assert!(
            text.contains(&format!("\n{name}")),
            "{name} is in the exposition"
        );
    }
    // Every selector of every query (panels and variables) filters on the
    // `job` and `instance` variables, which the dashboard defines.
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    for var in ["job", "instance", "operation"] {
        assert!(
            variables.contains(&var),
            "no ${var} variable: {variables:?}"
        );
    }
    for expr in &exprs {
        let mut rest = expr.as_str();
        while let Some(i) = rest.find("stateful_redis_") {
            let name_len = rest[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len() - i);
            let after = &rest[i + name_len..];
            let selector = after
                .strip_prefix('{')
                .and_then(|s| s.split_once('}'))
                .map(|(inner, _)| inner)
                .unwrap_or("");
            let is_job_variable = expr.ends_with(", job)") && selector.is_empty();
            if !is_job_variable {
                let instance_ok =
                    selector.contains("instance=~\"$instance\"") || expr.ends_with(", instance)");
                assert!(selector.contains("job=~\"$job\""), "{expr}: no $job filter");
                assert!(instance_ok, "{expr}: no $instance filter");
            }
            rest = after;
        }
    }
    // And the dashboard covers rate, errors, duration, pool and alerts.
    for needle in [
        "stateful_redis_operations_total",
        "stateful_redis_operation_errors_total",
        "stateful_redis_operation_duration_seconds_bucket",
        "stateful_redis_pool_connections",
        "stateful_redis_alerts_firing",
    ] {
        assert!(queried.contains(needle), "dashboard lacks {needle}");
    }
}

#[test]
fn recordings_round_trip() {
    let dir = std::env::temp_dir().join(format!("sr-recording-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("metrics.jsonl");
    let _ = std::fs::remove_file(&path);
    let monitor = std::sync::Arc::new(Monitor::new());
    let recorder =
        stateful_redis::monitor::Recorder::start(monitor.clone(), &path, Duration::from_millis(40))
            .unwrap();
    for i in 0..5 {
        monitor.record_operation("job", Duration::from_millis(1), true);
        std::thread::sleep(Duration::from_millis(50 + i));
    }
    let written = recorder.stop().unwrap();
    let snapshots = read_recording(&path).unwrap();
    assert_eq!(snapshots.len() as u64, written);
    assert!(written >= 4, "{written} snapshots");
    let counts: Vec<u64> = snapshots
        .iter()
        .map(|s| s.operation("job").map_or(0, |o| o.count))
        .collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert_eq!(
        *counts.last().unwrap(),
        5,
        "the last snapshot is taken at stop"
    );
    for s in &snapshots {
        validate(s);
    }

    // A line cut short at the end (a crash while writing) is skipped...
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"{\"schema_version\":1,\"taken_at").unwrap();
    drop(f);
    assert_eq!(read_recording(&path).unwrap().len() as u64, written);
    // ...a bad line elsewhere is an error naming it.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("not json\n{text}")).unwrap();
    let err = read_recording(&path).unwrap_err();
    assert!(err.message().contains("line 1"), "{}", err.message());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The OpenTelemetry mapping of a real executor: the server's attributes, the
/// pool, and `error.type` of real failures (a validation error and a
/// wrong-typed stored value), against the snapshot.
#[tokio::test]
async fn otel_metrics_of_a_standalone_executor() {
    use stateful_redis::monitor::otel::{AttributeValue, Kind, Number, DURATION};
    let redis = LocalRedis::start().unwrap();
    let config = Config::builder()
        .url(format!("{}/3", redis.url()))
        .metrics_label("executor", "orders")
        .build()
        .unwrap();
    let e = Executor::connect(config).await.unwrap();
    for i in 0..3 {
        e.set_linked_pod("app:eu:logic", &format!("u{i}"), "chat", i, -1)
            .await
            .unwrap();
    }
    assert!(e.get_linked_pod("", "u1", "chat").await.is_err());
    let mut raw = redis::Client::open(format!("{}/3", redis.url()))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("sf:{app:eu:logic:lk:u9}chat")
        .arg("garbage")
        .query_async(&mut raw)
        .await
        .unwrap();
    let err = e
        .get_linked_pod("app:eu:logic", "u9", "chat")
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "DATA");

    let m = e.otel_metrics(false);
    let snapshot = e.metrics();
    let s = |v: &str| Some(AttributeValue::Str(v.to_string()));
    let h = m.metrics.iter().find(|x| x.name == DURATION).unwrap();
    assert_eq!(h.kind, Kind::Histogram);
    for p in &h.points {
        assert_eq!(p.attributes.get("db.system.name"), s("redis").as_ref());
        assert_eq!(p.attributes.get("server.address"), s("127.0.0.1").as_ref());
        assert_eq!(
            p.attributes.get("server.port"),
            Some(&AttributeValue::Int(i64::from(redis.port())))
        );
        assert_eq!(p.attributes.get("db.namespace"), s("3").as_ref());
        assert_eq!(p.attributes.get("executor"), s("orders").as_ref());
    }
    for op in &snapshot.operations {
        let mine: Vec<_> = h
            .points
            .iter()
            .filter(|p| p.attributes.get("db.operation.name") == s(&op.name).as_ref())
            .collect();
        assert_eq!(mine.iter().map(|p| p.count.unwrap()).sum::<u64>(), op.count);
        for (code, n) in &op.errors_by_code {
            let point = mine
                .iter()
                .find(|p| p.attributes.get("error.type") == s(code).as_ref())
                .unwrap();
            assert_eq!(point.count, Some(*n));
        }
    }
    let count = m
        .metrics
        .iter()
        .find(|x| x.name == "db.client.connection.count")
        .unwrap();
    let total: u64 = count
        .points
        .iter()
        .map(|p| match p.value {
            Some(Number::Int(n)) => n,
            _ => panic!("an integer"),
        })
        .sum();
    assert_eq!(total, snapshot.pool.connections);
    let pool = format!("127.0.0.1:{}/3", redis.port());
    assert_eq!(
        count.points[0]
            .attributes
            .get("db.client.connection.pool.name"),
        s(&pool).as_ref()
    );
    // No credentials in any attribute, whatever the URL held.
    let json = serde_json::to_string(&m).unwrap();
    assert!(!json.contains("redis://"));
}
