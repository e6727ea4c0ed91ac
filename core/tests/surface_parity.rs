//! Surface parity: every operation of the core's table (`core/src/operation.rs`)
//! is present, under its expected name, in every binding and every test
//! dispatcher — and no binding has an operation the table lacks. A failure names
//! the place and the operation; "Adding an operation" in `docs/architecture.md`
//! lists the places.
//!
//! The bindings are read as source text (this test cannot link them all), so
//! each check looks for the one spelling that declares the operation there.
//! Functions of a binding that are not operations (lifecycle, monitor, memory)
//! are listed per place in `NOT_OPERATIONS`-style lists below; a new one must be
//! added there, which is the point: nothing new on a surface goes unnoticed.

use std::collections::BTreeSet;
use std::path::Path;

use regex_lite::Regex;
use stateful_redis::operation::camel_case;
use stateful_redis::OPERATIONS;

/// A source file of the repository, by its path from the root.
fn source(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Every first capture of `pattern` in `text`.
fn captures(text: &str, pattern: &str) -> BTreeSet<String> {
    Regex::new(pattern)
        .unwrap()
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect()
}

/// The text between the first `start` and the next line that is exactly `end`.
fn section<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not found"));
    let rest = &text[from..];
    let to = rest
        .lines()
        .scan(0, |offset, line| {
            let here = *offset;
            *offset += line.len() + 1;
            Some((here, line))
        })
        .find(|(_, line)| *line == end)
        .map_or(rest.len(), |(offset, _)| offset);
    &rest[..to]
}

/// One place where operations are written by hand.
struct Place {
    what: &'static str,
    /// The names that place declares (operations and others).
    found: BTreeSet<String>,
    /// The operation's name in that place (`set_linked_pod` → `sr_set_linked_pod`, ...).
    expected: fn(&str) -> String,
    /// Names there that are not operations.
    not_operations: &'static [&'static str],
}

fn snake(name: &str) -> String {
    name.to_string()
}

fn c_name(name: &str) -> String {
    format!("sr_{name}")
}

fn camel(name: &str) -> String {
    camel_case(name)
}

const C_NOT_OPERATIONS: &[&str] = &[
    "sr_version",
    "sr_abi_version",
    "sr_last_error_message",
    "sr_last_error_operation",
    "sr_last_error_status",
    "sr_last_error_retryable",
    "sr_status_name",
    "sr_executor_new",
    "sr_executor_close",
    "sr_executor_free",
    "sr_string_free",
    "sr_routing_policy_default",
    "sr_set_log_callback",
    "sr_pod_states_free",
    "sr_service_states_free",
    "sr_pod_loads_free",
    "sr_pod_groups_free",
    "sr_service_pods_free",
    // the monitor
    "sr_metrics",
    "sr_metrics_prometheus",
    "sr_reset_metrics",
    "sr_record_operation",
    "sr_set_alert_threshold",
    "sr_set_alert",
    "sr_remove_alert",
    "sr_evaluate_alerts",
    "sr_optimization_suggestions",
    "sr_optimize_connection_pool",
    "sr_optimize_lua_scripts",
    "sr_subscribe_alerts",
    "sr_alert_subscription_free",
    "sr_start_recording",
    "sr_recorder_stop",
    "sr_recorder_free",
];

const PYTHON_NOT_OPERATIONS: &[&str] = &[
    "__new__",
    "connect",
    "close",
    "aclose",
    "closed",
    "__enter__",
    "__exit__",
    "__aenter__",
    "__aexit__",
    // the monitor
    "metrics",
    "metrics_prometheus",
    "metrics_families",
    "otel_metrics",
    "reset_metrics",
    "record_operation",
    "set_alert_threshold",
    "set_alert",
    "remove_alert",
    "subscribe_alerts",
    "unsubscribe_alerts",
    "evaluate_alerts",
    "optimization_suggestions",
    "optimize_connection_pool",
    "optimize_lua_scripts",
];

const NODE_NOT_OPERATIONS: &[&str] = &[
    "connect",
    "close",
    "closed",
    // the monitor (bindings/node/src/monitor.rs)
    "metrics",
    "metricsPrometheus",
    "metricsFamilies",
    "otelMetrics",
    "resetMetrics",
    "recordOperation",
    "setAlertThreshold",
    "removeAlert",
    "onAlert",
    "optimizationSuggestions",
    "optimizeConnectionPool",
    "optimizeLuaScripts",
];

fn places() -> Vec<Place> {
    let header = source("include/stateful_redis.h");
    let c_sources: String = [
        "executor.rs",
        "monitor.rs",
        "error.rs",
        "ffi.rs",
        "lib.rs",
        "types.rs",
    ]
    .iter()
    .map(|f| source(&format!("bindings/c/src/{f}")))
    .collect();
    let python_table = source("bindings/python/src/operations.rs");
    let python_table = section(&python_table, "macro_rules! with_python_operations", "}");
    let stubs = source("bindings/python/python/stateful_redis/_native.pyi");
    let node = source("bindings/node/src/executor.rs");
    let node_impl = section(&node, "#[napi]\nimpl Executor {", "}");
    let dts = source("bindings/node/index.d.ts");
    let dts_class = section(&dts, "export declare class Executor {", "}");
    let core_vectors = source("core/tests/common/vectors.rs");
    let core_required = section(
        &core_vectors,
        "let required: &[&str] = match op {",
        "    };",
    );
    let core_dispatch = section(&core_vectors, "Ok(match op {", "    })");
    let node_vectors = source("bindings/node/test/vectors.test.js");
    let node_table = section(&node_vectors, "const OPERATIONS = {", "}");
    let c_vectors = source("bindings/c/tests/test_vectors.c");
    let java_vectors = source("benches/java/src/main/java/dev/statefulredis/harness/Vectors.java");
    let java_required = section(
        &java_vectors,
        "private static String[] required(String op) {",
        "    }",
    );
    let java_dispatch = section(
        &java_vectors,
        "        return switch (op) {\n            case \"set_service_state\" -> {",
        "        };",
    );
    let java_cases = |text: &str| -> BTreeSet<String> {
        captures(text, r#"case ("[a-z0-9_", ]+")\s*->"#)
            .iter()
            .flat_map(|labels| captures(labels, r#""([a-z0-9_]+)""#))
            .collect()
    };
    vec![
        Place {
            what: "C header include/stateful_redis.h",
            found: captures(&header, r"(?m)^[a-z].*\b(sr_[a-z0-9_]+)\("),
            expected: c_name,
            not_operations: C_NOT_OPERATIONS,
        },
        Place {
            what: "C binding bindings/c/src (extern \"C\" fns)",
            found: captures(&c_sources, r#"extern "C" fn (sr_[a-z0-9_]+)\("#),
            expected: c_name,
            not_operations: C_NOT_OPERATIONS,
        },
        Place {
            what: "Python table bindings/python/src/operations.rs (sync and async classes)",
            found: captures(python_table, r"(?m)^\s*fn ([a-z0-9_]+)\("),
            expected: snake,
            not_operations: &[],
        },
        Place {
            what: "Python stubs _native.pyi, class Executor",
            found: captures(
                section(&stubs, "class Executor:", "@final"),
                r"(?m)^    def ([a-z0-9_]+)\(",
            ),
            expected: snake,
            not_operations: PYTHON_NOT_OPERATIONS,
        },
        Place {
            what: "Python stubs _native.pyi, class AsyncExecutor",
            found: captures(
                section(&stubs, "class AsyncExecutor:", "(end of file)"),
                r"(?m)^    def ([a-z0-9_]+)\(",
            ),
            expected: snake,
            not_operations: PYTHON_NOT_OPERATIONS,
        },
        Place {
            what: "Node binding bindings/node/src/executor.rs (napi methods)",
            found: captures(node_impl, r"(?m)^    pub fn ([a-z0-9_]+)[<(]")
                .iter()
                .map(|n| camel_case(n))
                .collect(),
            expected: camel,
            not_operations: NODE_NOT_OPERATIONS,
        },
        Place {
            what: "Node typings bindings/node/index.d.ts, class Executor",
            found: captures(dts_class, r"(?m)^  (?:static )?([a-zA-Z0-9]+)\("),
            expected: camel,
            not_operations: NODE_NOT_OPERATIONS,
        },
        Place {
            what: "core vector runner core/tests/common/vectors.rs (required arguments)",
            found: captures(core_required, r#""([a-z0-9_]+)"\s*(?:=>|\|)"#),
            expected: snake,
            not_operations: &[],
        },
        Place {
            what: "core vector runner core/tests/common/vectors.rs (calls)",
            found: captures(core_dispatch, r#"(?m)^\s*"([a-z0-9_]+)" =>"#),
            expected: snake,
            not_operations: &[],
        },
        Place {
            what: "Node vector runner bindings/node/test/vectors.test.js",
            found: captures(node_table, r"(?m)^  ([a-z0-9_]+): \[")
                .into_iter()
                .chain(captures(
                    node_table,
                    r"(?m)^  [a-z0-9_]+: \['([a-zA-Z0-9]+)'",
                ))
                .collect(),
            // Both spellings: the vector's name and the method it maps to.
            expected: snake,
            not_operations: &[],
        },
        Place {
            what: "C vector runner bindings/c/tests/test_vectors.c (operation names)",
            found: captures(&c_vectors, r#"strcmp\(op, "([a-z0-9_]+)"\)"#),
            expected: snake,
            not_operations: &[],
        },
        Place {
            what: "C vector runner bindings/c/tests/test_vectors.c (calls)",
            found: captures(&c_vectors, r"\b(sr_[a-z0-9_]+)\("),
            expected: c_name,
            not_operations: C_NOT_OPERATIONS,
        },
        Place {
            what: "Java vector runner benches/java/.../Vectors.java (required arguments)",
            found: java_cases(java_required),
            expected: snake,
            not_operations: &[],
        },
        Place {
            what: "Java vector runner benches/java/.../Vectors.java (calls)",
            found: java_cases(java_dispatch),
            expected: snake,
            not_operations: &[],
        },
    ]
}

/// The problems of one place: operations it lacks, names it has that are
/// neither operations nor listed as something else.
fn problems(place: &Place) -> Vec<String> {
    let mut problems = Vec::new();
    let mut known: BTreeSet<String> = place.not_operations.iter().map(|s| s.to_string()).collect();
    for op in OPERATIONS {
        let expected = (place.expected)(op.name);
        if !place.found.contains(&expected) {
            problems.push(format!(
                "{}: lacks operation {} (expected the name {expected})",
                place.what, op.name
            ));
        }
        known.insert(expected);
    }
    for name in place.found.difference(&known) {
        // The Node vector table lists the camelCase method next to the name.
        if place.what.starts_with("Node vector runner")
            && OPERATIONS.iter().any(|op| camel_case(op.name) == *name)
        {
            continue;
        }
        problems.push(format!(
            "{}: has {name:?}, which is not an operation of the table (core/src/operation.rs)",
            place.what
        ));
    }
    problems
}

#[test]
fn every_binding_and_dispatcher_has_exactly_the_tables_operations() {
    let problems: Vec<String> = places().iter().flat_map(problems).collect();
    assert!(
        problems.is_empty(),
        "the surfaces differ from the operations table:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_node_vector_runner_maps_each_operation_to_its_camel_case_method() {
    let runner = source("bindings/node/test/vectors.test.js");
    for op in OPERATIONS {
        let line = format!("  {}: ['{}', [", op.name, camel_case(op.name));
        assert!(
            runner.contains(&line),
            "Node vector runner: {} does not map to {}",
            op.name,
            camel_case(op.name)
        );
    }
}

#[test]
fn the_python_classes_and_vector_runner_take_every_operation_from_one_place() {
    // Both classes are generated from the one table ...
    let sync = source("bindings/python/src/executor.rs");
    assert!(sync.contains("with_python_operations!(executor_methods!"));
    let asynchronous = source("bindings/python/src/async_executor.rs");
    assert!(asynchronous.contains("with_python_operations!(async_executor_methods!"));
    // ... and the Python vector runner calls whatever the vector names.
    let runner = source("bindings/python/tests/test_vectors.py");
    assert!(runner.contains("getattr(ex, op)(**args)"));
}

#[test]
fn the_stubs_are_generated_from_the_table() {
    // The content is checked by the Python crate's `stubs` test; here, that
    // both classes carry a generated region.
    let stubs = source("bindings/python/python/stateful_redis/_native.pyi");
    let regions = stubs
        .matches("# --- operations: generated from core/src/operation.rs")
        .count();
    assert_eq!(regions, 2, "_native.pyi: one generated region per class");
}
