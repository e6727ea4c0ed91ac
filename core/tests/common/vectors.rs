//! The conformance-vector runner (format: `tests/vectors/README.md`), shared by the
//! standalone and the cluster suites.

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use stateful_redis::{Error, ErrorCode, Executor, RoutingPolicy};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    description: String,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    op: Option<String>,
    #[serde(default)]
    args: Value,
    redis: Option<Vec<String>>,
    sleep_ms: Option<u64>,
    /// Present-and-null means "expect null", so absent and null differ.
    #[serde(default, deserialize_with = "present")]
    expect: Option<Value>,
    error: Option<String>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// `{"$repeat": [s, n]}` → `s` repeated `n` times, anywhere in the arguments.
fn expand(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(spec)) = map.get("$repeat") {
                let s = spec[0].as_str().unwrap();
                let n = spec[1].as_u64().unwrap() as usize;
                return Value::String(s.repeat(n));
            }
            Value::Object(map.into_iter().map(|(k, v)| (k, expand(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(expand).collect()),
        other => other,
    }
}

fn matches(expected: &Value, actual: &Value) -> bool {
    if let Value::Object(spec) = expected {
        if spec.contains_key("$any") {
            return true;
        }
        if let Some(Value::Array(range)) = spec.get("$range") {
            let (lo, hi) = (range[0].as_i64().unwrap(), range[1].as_i64().unwrap());
            return actual.as_i64().is_some_and(|v| (lo..=hi).contains(&v));
        }
        if let Some(Value::String(pattern)) = spec.get("$regex") {
            let re = regex_lite::Regex::new(pattern).unwrap();
            return actual.as_str().is_some_and(|s| re.is_match(s));
        }
        let Value::Object(actual) = actual else {
            return false;
        };
        return spec.len() == actual.len()
            && spec
                .iter()
                .all(|(k, v)| actual.get(k).is_some_and(|a| matches(v, a)));
    }
    if let (Value::Array(e), Value::Array(a)) = (expected, actual) {
        return e.len() == a.len() && e.iter().zip(a).all(|(e, a)| matches(e, a));
    }
    expected == actual
}

fn args<T: DeserializeOwned>(value: &Value) -> Result<T, Error> {
    serde_json::from_value(value.clone())
        .map_err(|e| Error::invalid_argument(format!("wrong argument types: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct A {
    ns: String,
    svc: Option<String>,
    uid: Option<String>,
    pod: Option<i64>,
    persist: Option<i64>,
    keep: Option<i64>,
    state: Option<Value>,
    load: Option<i64>,
    fresh_since_ms: Option<i64>,
    uids: Option<Vec<String>>,
    svcs: Option<Vec<String>>,
    policy: Option<RoutingPolicy>,
}

/// Calls one operation by name with JSON arguments; the result as JSON.
async fn call(exec: &Executor, op: &str, raw: &Value) -> Result<Value, Error> {
    // Required arguments: a missing or null one is a wrong type.
    let required: &[&str] = match op {
        "set_service_state" => &["svc", "pod", "state"],
        "get_service_state" | "get_workload_state" | "get_pod_loads" => &["svc"],
        "set_workload_state" => &["svc", "state"],
        "get_workload_states" => &["svcs"],
        "set_pod_load" => &["svc", "pod", "load", "state"],
        "set_linked_pod" | "try_set_linked_pod" | "set_linked_pod_if_absent" => {
            &["uid", "svc", "pod", "persist"]
        }
        "get_linked_pod" | "get_linked_pod_if_persist" => &["uid", "svc"],
        "batch_get_linked_pod" => &["uids", "svc"],
        "remove_linked_pod" => &["uid", "svc", "keep"],
        "remove_linked_pod_with_id" => &["uid", "svc", "keep", "pod"],
        "get_link_service" => &["uid"],
        "compute_linked_pod" => &["uid", "svc", "persist"],
        other => panic!("unknown operation {other}"),
    };
    for name in required {
        if raw.get(name).is_none_or(Value::is_null) {
            return Err(Error::invalid_argument(format!("{name} is required")));
        }
    }
    let a: A = args(raw)?;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let (ns, svc, uid) = (a.ns.as_str(), s(&a.svc), s(&a.uid));
    let pod = a.pod.unwrap_or_default();
    let state_str = || -> Result<String, Error> { args(a.state.as_ref().unwrap()) };
    Ok(match op {
        "set_service_state" => {
            exec.set_service_state(ns, &svc, pod, &state_str()?).await?;
            Value::Null
        }
        "get_service_state" => json!(exec.get_service_state(ns, &svc).await?),
        "set_workload_state" => {
            exec.set_workload_state(ns, &svc, &state_str()?).await?;
            Value::Null
        }
        "get_workload_state" => json!(exec.get_workload_state(ns, &svc).await?),
        "get_workload_states" => json!(exec.get_workload_states(ns, &a.svcs.unwrap()).await?),
        "set_pod_load" => {
            let state: i64 = args(a.state.as_ref().unwrap())?;
            json!(
                exec.set_pod_load(ns, &svc, pod, a.load.unwrap(), state)
                    .await?
            )
        }
        "get_pod_loads" => json!(exec.get_pod_loads(ns, &svc, a.fresh_since_ms).await?),
        "set_linked_pod" => json!(
            exec.set_linked_pod(ns, &uid, &svc, pod, a.persist.unwrap())
                .await?
        ),
        "try_set_linked_pod" => {
            let out = exec
                .try_set_linked_pod(ns, &uid, &svc, pod, a.persist.unwrap())
                .await?;
            json!({"ok": out.ok, "pod": out.pod})
        }
        "set_linked_pod_if_absent" => {
            json!(
                exec.set_linked_pod_if_absent(ns, &uid, &svc, pod, a.persist.unwrap())
                    .await?
            )
        }
        "get_linked_pod" => json!(exec.get_linked_pod(ns, &uid, &svc).await?),
        "get_linked_pod_if_persist" => json!(exec.get_linked_pod_if_persist(ns, &uid, &svc).await?),
        "batch_get_linked_pod" => json!(
            exec.batch_get_linked_pod(ns, &a.uids.unwrap(), &svc)
                .await?
        ),
        "remove_linked_pod" => json!(
            exec.remove_linked_pod(ns, &uid, &svc, a.keep.unwrap())
                .await?
        ),
        "remove_linked_pod_with_id" => {
            json!(
                exec.remove_linked_pod_with_id(ns, &uid, &svc, a.keep.unwrap(), pod)
                    .await?
            )
        }
        "get_link_service" => json!(exec.get_link_service(ns, &uid).await?),
        "compute_linked_pod" => json!(
            exec.compute_linked_pod(
                ns,
                &uid,
                &svc,
                a.persist.unwrap(),
                a.policy.unwrap_or_default()
            )
            .await?
        ),
        _ => unreachable!(),
    })
}

fn redis_to_json(value: redis::Value) -> Value {
    match value {
        redis::Value::Nil => Value::Null,
        redis::Value::Int(i) => json!(i),
        redis::Value::BulkString(b) => json!(String::from_utf8_lossy(&b)),
        redis::Value::SimpleString(s) => json!(s),
        redis::Value::Okay => json!("OK"),
        redis::Value::Array(items) => Value::Array(items.into_iter().map(redis_to_json).collect()),
        other => panic!("unexpected reply {other:?}"),
    }
}

/// Runs every vector file; `raw` serves the raw `redis` steps. Returns the
/// number of files and steps.
pub async fn run_all(exec: &Executor, raw: &mut impl redis::aio::ConnectionLike) -> (usize, usize) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 15,
        "expected the full vector set, found {}",
        files.len()
    );
    let mut steps = 0;
    let mut codes_seen = std::collections::BTreeSet::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let vector: Vector = serde_json::from_str(&std::fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!vector.description.is_empty());
        let _: () = redis::cmd("FLUSHALL").query_async(raw).await.unwrap();
        for (i, step) in vector.steps.iter().enumerate() {
            let at = format!("{name} step {i}");
            steps += 1;
            if let Some(ms) = step.sleep_ms {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            } else if let Some(command) = &step.redis {
                let mut cmd = redis::cmd(&command[0]);
                for arg in &command[1..] {
                    cmd.arg(arg);
                }
                let reply: redis::Value = cmd.query_async(raw).await.unwrap();
                let reply = redis_to_json(reply);
                if let Some(expected) = &step.expect {
                    assert!(
                        matches(expected, &reply),
                        "{at}: {command:?} gave {reply}, expected {expected}"
                    );
                }
            } else {
                let op = step.op.as_deref().unwrap();
                let result = call(exec, op, &expand(step.args.clone())).await;
                match (&step.error, result) {
                    (Some(code), Err(e)) => {
                        assert_eq!(e.code().as_str(), code, "{at}: {op} failed with {e}");
                        codes_seen.insert(e.code());
                    }
                    (Some(code), Ok(v)) => panic!("{at}: {op} returned {v}, expected {code}"),
                    (None, Err(e)) => panic!("{at}: {op} failed: {e}"),
                    (None, Ok(v)) => {
                        let expected = step
                            .expect
                            .as_ref()
                            .unwrap_or_else(|| panic!("{at}: no expect"));
                        assert!(
                            matches(expected, &v),
                            "{at}: {op} gave {v}, expected {expected}"
                        );
                    }
                }
            }
        }
    }
    // Every code reachable without faults appears in the vectors.
    assert!(codes_seen.contains(&ErrorCode::InvalidArgument));
    assert!(codes_seen.contains(&ErrorCode::Data));
    (files.len(), steps)
}
