//! The fuzz targets' properties (`stateful_redis_testkit::fuzz_checks`, also run
//! by `cargo fuzz`, see `fuzz/` and `scripts/fuzz.sh`) over random inputs, so CI
//! checks them on stable Rust.

use proptest::prelude::*;
use stateful_redis_testkit::fuzz_checks;

/// Names rich in the characters that matter: braces, colons, percent signs,
/// control characters, non-ASCII, and the 0xFF separator of the fuzz input.
fn tricky_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(b'{'),
            Just(b'}'),
            Just(b':'),
            Just(b'%'),
            Just(0xFFu8),
            Just(b'a'),
            Just(b'l'),
            Just(b'k'),
            Just(b'7'),
            Just(b'\n'),
            any::<u8>(),
        ],
        0..64,
    )
}

/// Configuration JSON: mostly objects with real option names and values of any
/// type, some raw text.
fn config_json() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("url"),
        Just("cluster_nodes"),
        Just("username"),
        Just("password"),
        Just("database"),
        Just("connect_timeout_ms"),
        Just("command_timeout_ms"),
        Just("connections"),
        Just("max_in_flight"),
        Just("retry"),
        Just("key_schema"),
        Just("monitor"),
        Just("tcp_nodelay"),
        Just("tls_ca_file"),
        Just("tls_client_cert_file"),
        Just("tls_client_key_file"),
        Just("metrics_labels"),
        Just("max_attempts"),
        Just("nope"),
    ];
    let value = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("18446744073709551615".to_string()),
        Just("1e999".to_string()),
        Just("\"java\"".to_string()),
        Just("\"rediss://127.0.0.1:1\"".to_string()),
        Just("\"redis://u:p@[::1]:99999/x\"".to_string()),
        Just("\"unix:///nope\"".to_string()),
        Just("[\"redis://127.0.0.1:1\",\"rediss://127.0.0.1:2\"]".to_string()),
        Just("{\"max_attempts\":0}".to_string()),
        Just("{\"le\":\"x\",\"a-b\":\"\",\"executor\":\"\\u0000\\\"\"}".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[ -~]{0,20}".prop_map(|s| format!("{s:?}")),
    ];
    prop_oneof![
        proptest::collection::vec((key, value), 0..6).prop_map(|fields| {
            let body: Vec<String> = fields
                .into_iter()
                .map(|(k, v)| format!("{k:?}:{v}"))
                .collect();
            format!("{{{}}}", body.join(","))
        }),
        "\\PC{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn keys_never_panic_and_never_collide(data in tricky_bytes()) {
        fuzz_checks::keys(&data);
    }

    #[test]
    fn keys_of_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..128)) {
        fuzz_checks::keys(&data);
    }

    #[test]
    fn configuration_json_is_only_ever_refused_with_config(json in config_json()) {
        fuzz_checks::config(json.as_bytes());
    }

    #[test]
    fn configuration_of_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..128)) {
        fuzz_checks::config(&data);
    }
}
