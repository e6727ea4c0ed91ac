//! The metrics snapshot that C receives (`sr_metrics`, `sr_reset_metrics`),
//! validated against `schemas/metrics_snapshot.schema.json`: the exported
//! functions are called exactly as C calls them, against a private Redis.

use std::ffi::{c_char, CStr, CString};

use serde_json::Value;
use stateful_redis_c::executor::{
    sr_executor_free, sr_executor_new, sr_get_linked_pod, sr_set_linked_pod,
};
use stateful_redis_c::ffi::sr_string_free;
use stateful_redis_c::monitor::{sr_metrics, sr_record_operation, sr_reset_metrics};
use stateful_redis_c::{SrExecutor, SrStatus};
use stateful_redis_testkit::LocalRedis;

fn schema() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/metrics_snapshot.schema.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

/// Takes a string returned by the library, frees it, returns it as JSON.
fn take_json(p: *mut c_char) -> Value {
    assert!(!p.is_null());
    let text = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
    unsafe { sr_string_free(p) };
    serde_json::from_str(&text).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, snapshot: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(snapshot)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "snapshot does not match the schema: {errors:#?}"
    );
}

#[test]
fn snapshots_from_the_c_abi_match_the_schema() {
    let server = LocalRedis::start().expect("a private redis-server");
    let config = CString::new(format!(r#"{{"url": "{}"}}"#, server.url())).unwrap();
    let mut exec: *mut SrExecutor = std::ptr::null_mut();
    assert_eq!(
        unsafe { sr_executor_new(config.as_ptr(), &mut exec) },
        SrStatus::SR_OK
    );
    let (ns, uid, svc) = (c"t:schema", c"u1", c"chat");
    let mut pod = 0i64;
    for _ in 0..10 {
        let status = unsafe {
            sr_set_linked_pod(
                exec,
                ns.as_ptr(),
                uid.as_ptr(),
                svc.as_ptr(),
                3,
                -1,
                &mut pod,
            )
        };
        assert_eq!(status, SrStatus::SR_OK);
    }
    // an error, counted by code
    let status =
        unsafe { sr_get_linked_pod(exec, ns.as_ptr(), c"".as_ptr(), svc.as_ptr(), &mut pod) };
    assert_eq!(status, SrStatus::SR_INVALID_ARGUMENT);
    let status = unsafe { sr_record_operation(exec, c"checkout".as_ptr(), 1_500_000, true) };
    assert_eq!(status, SrStatus::SR_OK);

    let validator = schema();
    let mut out: *mut c_char = std::ptr::null_mut();
    assert_eq!(unsafe { sr_metrics(exec, &mut out) }, SrStatus::SR_OK);
    let snapshot = take_json(out);
    assert_valid(&validator, &snapshot);
    let ops = snapshot["operations"].as_array().unwrap();
    let count = |name: &str| {
        ops.iter()
            .find(|o| o["name"] == name)
            .map(|o| o["count"].as_u64().unwrap())
    };
    assert_eq!(count("set_linked_pod"), Some(10));
    assert_eq!(count("get_linked_pod"), Some(1));
    assert_eq!(count("checkout"), Some(1));
    assert_eq!(snapshot["errors_by_code"]["INVALID_ARGUMENT"], 1);

    let mut out: *mut c_char = std::ptr::null_mut();
    assert_eq!(unsafe { sr_reset_metrics(exec, &mut out) }, SrStatus::SR_OK);
    let closed = take_json(out);
    assert_valid(&validator, &closed);
    let mut out: *mut c_char = std::ptr::null_mut();
    assert_eq!(unsafe { sr_metrics(exec, &mut out) }, SrStatus::SR_OK);
    let fresh = take_json(out);
    assert_valid(&validator, &fresh);
    let set = fresh["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "set_linked_pod")
        .unwrap()
        .clone();
    assert_eq!(set["count"], 0);
    unsafe { sr_executor_free(exec) };
}
