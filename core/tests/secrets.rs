//! No password in any error, `Debug` or `Display` output, whatever shape the
//! password and the URL have and through whichever entry point they came
//! (SPEC section 4, `docs/secrets.md`). No server is needed: every case fails
//! (or is printed) before a connection is made.

use serde_json::json;
use stateful_redis::{Config, Options};

/// The password of every case. `7Qz` is what the assertions look for, so the
/// percent-encoded form (`Canary-7Qz%21pw`) counts as a leak too.
const CANARY: &str = "Canary-7Qz!pw";
const MARK: &str = "7Qz";
/// A password given as a number: serde would print it.
const NUMBER: &str = "7731000000";

/// Passwords with the characters that confuse URL parsers and scrubbers.
fn passwords() -> Vec<String> {
    vec![
        CANARY.to_string(),
        "Can@ry-7Qz@pw".to_string(),
        "a:b/7Qz:c".to_string(),
        "x%40y-7Qz".to_string(),
        "has space 7Qz".to_string(),
        "7Qz//x".to_string(),
    ]
}

/// Every text an error shows: Display, Debug, and its chain of sources.
fn shown(err: &stateful_redis::Error) -> Vec<String> {
    let mut out = vec![
        err.to_string(),
        format!("{err:?}"),
        err.message().to_string(),
    ];
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        out.push(s.to_string());
        out.push(format!("{s:?}"));
        source = s.source();
    }
    out
}

fn assert_hidden(texts: &[String], case: &str) {
    for text in texts {
        assert!(!text.contains(MARK), "{case}: password printed: {text}");
        assert!(!text.contains(NUMBER), "{case}: number printed: {text}");
    }
}

/// URLs that do not parse (or parse into an error) with a password in them.
fn bad_urls(pw: &str) -> Vec<String> {
    vec![
        format!("redis://u:{pw}@127.0.0.1:notaport"),
        format!("redis:/u:{pw}@127.0.0.1:6379"),
        format!("redis//u:{pw}@127.0.0.1:6379"),
        format!("redis:u:{pw}@127.0.0.1:6379"),
        format!("redis://:{pw}@127.0.0.1:bad"),
        format!("rediss://u:{pw}@127.0.0.1:bad"),
        format!("http://u:{pw}@127.0.0.1:6379"),
        format!("u:{pw}@127.0.0.1:6379"),
        format!("unix://?pass={pw}"),
        format!("unix:relative?password={pw}"),
        format!("redis://u:{pw}@[::1:6379"),
    ]
}

/// URLs that parse, with a password in them: their configuration is printed.
fn good_urls(pw: &str) -> Vec<String> {
    let enc: String = pw
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    vec![
        format!("redis://u:{enc}@127.0.0.1:6379/1"),
        format!("redis://:{enc}@127.0.0.1:6379"),
        format!("rediss://u:{enc}@127.0.0.1:6379"),
        format!("unix:///tmp/r.sock?pass={enc}"),
        format!("unix:///tmp/r.sock?db=1&password={enc}"),
    ]
}

#[test]
fn bad_urls_never_print_the_password() {
    for pw in passwords() {
        for url in bad_urls(&pw) {
            let err = match Config::builder().url(url.clone()).build() {
                Err(err) => err,
                // Some shapes parse; then their Debug output must be clean.
                Ok(config) => {
                    assert_hidden(&[format!("{config:?}")], &url);
                    continue;
                }
            };
            assert_eq!(err.code(), stateful_redis::ErrorCode::Config, "{url}");
            assert_hidden(&shown(&err), &url);
            // A cluster seed list with the same URL among good ones.
            let err = Config::builder()
                .cluster_nodes(["redis://127.0.0.1:7000".to_string(), url.clone()])
                .build()
                .unwrap_err();
            assert_hidden(&shown(&err), &url);
            // And in the JSON options of the C ABI.
            let json = json!({ "url": url, "username": "u", "password": pw }).to_string();
            let err = Options::from_json(&json).unwrap().build().unwrap_err();
            assert_hidden(&shown(&err), &url);
        }
    }
}

#[test]
fn configurations_never_print_the_password() {
    for pw in passwords() {
        for url in good_urls(&pw) {
            let config = Config::builder()
                .url(url.clone())
                .username("u")
                .password(pw.clone())
                .build()
                .unwrap_or_else(|e| panic!("{url}: {e}"));
            let texts = vec![
                format!("{config:?}"),
                format!("{:?}", config.options()),
                format!(
                    "{:?}",
                    Config::builder().url(url.clone()).password(pw.clone())
                ),
                config.server_label(),
            ];
            assert_hidden(&texts, &url);
        }
        let config = Config::builder()
            .cluster_nodes(good_urls(&pw).into_iter().take(2))
            .build()
            .unwrap();
        assert_hidden(&[format!("{config:?}")], "cluster seeds");
    }
}

/// Options of the wrong type: serde's own message would print the value.
fn wrong_types(pw: &str) -> Vec<serde_json::Value> {
    vec![
        json!({ "password": 7_731_000_000u64 }),
        json!({ "password": true }),
        json!({ "password": [pw] }),
        json!({ "password": { "value": pw } }),
        json!({ "database": pw }),
        json!({ "connections": pw }),
        json!({ "username": "u", "password": pw, "connect_timeout_ms": pw }),
        json!({ "retry": { "max_attempts": pw } }),
        json!({ "key_schema": pw }),
        json!({ "cluster_nodes": format!("redis://u:{pw}@127.0.0.1:7000") }),
        json!({ "cluster_nodes": [7, pw] }),
        json!({ "url": ["redis://h", pw] }),
        json!({ "monitor": pw }),
        json!(pw),
        json!([pw]),
    ]
}

#[test]
fn options_of_the_wrong_type_never_print_the_value() {
    for pw in passwords() {
        for value in wrong_types(&pw) {
            let json = value.to_string();
            let err = Options::from_json(&json).unwrap_err();
            assert_eq!(err.code(), stateful_redis::ErrorCode::Config, "{json}");
            assert_hidden(&shown(&err), &json);
        }
    }
    // Malformed JSON around a password.
    for json in [
        format!(r#"{{"password": "{CANARY}""#),
        format!(r#"{{"password": {CANARY}}}"#),
        format!(r#"{{"password": "{CANARY}",}}"#),
    ] {
        let err = Options::from_json(&json).unwrap_err();
        assert_hidden(&shown(&err), &json);
    }
}

/// The message still says which option is wrong and what it should be.
#[test]
fn option_errors_name_the_option_and_the_type() {
    let message = |json: &str| Options::from_json(json).unwrap_err().message().to_string();
    let m = message(r#"{"password": 1234}"#);
    assert!(m.contains("`password`") && m.contains("a string"), "{m}");
    assert!(!m.contains("1234"), "{m}");
    let m = message(r#"{"retry": {"max_attempts": "x7Qz"}}"#);
    assert!(
        m.contains("`retry.max_attempts`") && m.contains("u32"),
        "{m}"
    );
    let m = message(r#"{"key_schema": "x7Qz"}"#);
    assert!(m.contains("`key_schema`") && m.contains("`java`"), "{m}");
    let m = message(r#"{"nope": "x7Qz"}"#);
    assert!(
        m.contains("unknown field `nope`") && !m.contains("7Qz"),
        "{m}"
    );
    let m = message(r#""x7Qz""#);
    assert!(
        m.contains("must be a JSON object") && !m.contains("7Qz"),
        "{m}"
    );
}

/// `STATEFUL_REDIS_URL` is the URL when none is given. The only test of this
/// binary that reads the environment (every other one names its URL).
#[test]
fn the_url_from_the_environment_is_scrubbed_too() {
    for url in bad_urls(CANARY) {
        std::env::set_var(stateful_redis::config::URL_ENV, &url);
        let result = Config::builder().build();
        std::env::remove_var(stateful_redis::config::URL_ENV);
        match result {
            Err(err) => assert_hidden(&shown(&err), &url),
            Ok(config) => assert_hidden(&[format!("{config:?}")], &url),
        }
    }
}

/// The form of the Python and Node bindings: a JSON value, not text.
#[test]
fn option_values_of_the_wrong_type_never_print_the_value() {
    for pw in passwords() {
        for value in wrong_types(&pw) {
            let err = Options::from_json_value(&value).unwrap_err();
            assert_eq!(err.code(), stateful_redis::ErrorCode::Config, "{value}");
            assert_hidden(&shown(&err), &value.to_string());
        }
    }
}

/// The one scrubbing function, on every URL shape inside a message (as a
/// dependency's error would quote it) and on the URL alone.
#[test]
fn scrub_hides_every_url_shape() {
    use stateful_redis::error::{scrub, scrub_url};
    for pw in passwords() {
        for url in bad_urls(&pw).into_iter().chain(good_urls(&pw)) {
            assert_hidden(&[scrub_url(&url)], &url);
            // In a message, a word is a URL by its scheme: `user:pw@host` without
            // one is not recognised (a key may hold `@`), nor a raw space.
            if !pw.contains(' ') && !url.starts_with("u:") {
                for text in [
                    format!("cannot connect to {url}: refused"),
                    format!("invalid URL \"{url}\""),
                    format!("(url={url})"),
                ] {
                    assert_hidden(&[scrub(&text)], &text);
                }
            }
        }
    }
    // What is not a secret stays readable.
    assert_eq!(
        scrub_url(&format!("redis://u:{CANARY}@127.0.0.1:6379/2")),
        "redis://***@127.0.0.1:6379/2"
    );
}
