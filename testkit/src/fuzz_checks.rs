//! Properties checked by the fuzz targets (`fuzz/`, run with `cargo fuzz`) and, over
//! random bytes, by the property tests of `core/tests/fuzz_props.rs`. Each check
//! panics when a property fails, which is what a fuzzer reports. Only with the
//! `fuzz-checks` feature: they use the core's public API.

use stateful_redis::config::Options;
use stateful_redis::error::ErrorCode;
use stateful_redis::keys::{encode, hash_tag, validate_name, KeySchema, NameKind};

/// Splits fuzz input into six names (two `(ns, uid, svc)` triples) at `0xFF`
/// bytes, which never occur in UTF-8.
fn names(data: &[u8]) -> [String; 6] {
    let mut parts = data.split(|&b| b == 0xFF);
    std::array::from_fn(|_| String::from_utf8_lossy(parts.next().unwrap_or(b"x")).into_owned())
}

/// Every key one triple produces, tagged with its kind and the names it depends on.
fn keys_of(
    schema: KeySchema,
    ns: &str,
    uid: &str,
    svc: &str,
) -> Vec<(String, &'static str, String)> {
    let link = schema.link_keys(ns, uid, svc);
    assert_eq!(link.link, schema.link_key(ns, uid, svc));
    assert_eq!(link.index, schema.index_key(ns, uid));
    vec![
        (schema.state_key(ns, svc), "state", format!("{ns}\0{svc}")),
        (
            schema.workload_key(ns, svc),
            "workload",
            format!("{ns}\0{svc}"),
        ),
        (link.link, "link", format!("{ns}\0{uid}\0{svc}")),
        (link.index, "index", format!("{ns}\0{uid}")),
    ]
}

/// Name validation and key building: no panic; encoded names keep no character
/// that could move a key out of its hash tag; in the default schema a link and its
/// index share a hash tag; two different inputs never share a key.
pub fn keys(data: &[u8]) {
    let [ns_a, uid_a, svc_a, ns_b, uid_b, svc_b] = names(data);
    for (kind, name) in [
        (NameKind::Namespace, &ns_a),
        (NameKind::Uid, &uid_a),
        (NameKind::Service, &svc_a),
    ] {
        let valid = validate_name(kind, name);
        if let Err(e) = &valid {
            assert_eq!(e.code(), ErrorCode::InvalidArgument);
        }
        let encoded = encode(kind, name);
        assert!(!encoded.contains(['{', '}']), "{encoded:?}");
        if kind != NameKind::Namespace {
            assert!(!encoded.contains(':'), "{encoded:?}");
        }
    }
    for schema in [KeySchema::Default, KeySchema::Java] {
        let valid = |ns: &str, uid: &str, svc: &str| {
            schema.validate_namespace(ns).is_ok()
                && validate_name(NameKind::Uid, uid).is_ok()
                && validate_name(NameKind::Service, svc).is_ok()
        };
        if !valid(&ns_a, &uid_a, &svc_a) || !valid(&ns_b, &uid_b, &svc_b) {
            continue;
        }
        let a = keys_of(schema, &ns_a, &uid_a, &svc_a);
        let b = keys_of(schema, &ns_b, &uid_b, &svc_b);
        if schema == KeySchema::Default {
            assert_eq!(
                hash_tag(&a[2].0),
                hash_tag(&a[3].0),
                "link and index share a slot"
            );
        }
        for (key_a, kind_a, names_a) in &a {
            for (key_b, kind_b, names_b) in &b {
                if key_a == key_b {
                    assert!(
                        kind_a == kind_b && names_a == names_b,
                        "{kind_a} of {names_a:?} and {kind_b} of {names_b:?} share the key {key_a:?}"
                    );
                }
            }
        }
    }
}

/// Configuration JSON (the C ABI's form): no panic, and every refusal is `CONFIG`.
pub fn config(data: &[u8]) {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    match Options::from_json(json) {
        Err(e) => assert_eq!(e.code(), ErrorCode::Config, "{e}"),
        Ok(options) => {
            if let Err(e) = options.build() {
                assert_eq!(e.code(), ErrorCode::Config, "{e}");
            }
        }
    }
}
