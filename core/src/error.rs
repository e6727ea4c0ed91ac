//! The one error type of the library, with stable codes shared by every binding.
//!
//! Codes are classified from redis-rs error *kinds* (and server error codes), never
//! from message text. A code, once published, keeps its name and number forever.

use std::borrow::Cow;
use std::fmt;

use redis::{ErrorKind as RedisKind, ServerErrorKind};

/// Stable error codes (SPEC section 4). The numeric values are the C ABI's status
/// values and must never be reused or renumbered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(u8)]
pub enum ErrorCode {
    InvalidArgument = 1,
    Config = 2,
    Connection = 3,
    Timeout = 4,
    Auth = 5,
    Script = 6,
    Cluster = 7,
    Busy = 8,
    Data = 9,
    Closed = 10,
    Internal = 11,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::InvalidArgument,
        ErrorCode::Config,
        ErrorCode::Connection,
        ErrorCode::Timeout,
        ErrorCode::Auth,
        ErrorCode::Script,
        ErrorCode::Cluster,
        ErrorCode::Busy,
        ErrorCode::Data,
        ErrorCode::Closed,
        ErrorCode::Internal,
    ];

    /// The code as written in every binding (`"INVALID_ARGUMENT"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::Config => "CONFIG",
            ErrorCode::Connection => "CONNECTION",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Auth => "AUTH",
            ErrorCode::Script => "SCRIPT",
            ErrorCode::Cluster => "CLUSTER",
            ErrorCode::Busy => "BUSY",
            ErrorCode::Data => "DATA",
            ErrorCode::Closed => "CLOSED",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// Parses the textual form (as used by the conformance vectors).
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == name)
    }

    /// Dense index `0..ALL.len()`, for per-code counters.
    pub const fn index(self) -> usize {
        self as usize - 1
    }

    /// Whether an error of this code may succeed when the same call is made again
    /// later (the condition is transient). Whether the library itself retries is a
    /// separate decision, see `docs/reliability.md`.
    pub const fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::Connection | ErrorCode::Timeout | ErrorCode::Busy | ErrorCode::Cluster
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error of any operation: a stable code, a message, the operation that failed
/// and whether calling again may succeed.
pub struct Error {
    code: ErrorCode,
    message: Cow<'static, str>,
    operation: &'static str,
    retryable: bool,
    source: Option<Source>,
}

/// Result type of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error; `retryable` defaults to whether the code is transient.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Error {
        Error {
            code,
            message: message.into(),
            operation: "",
            retryable: code.is_transient(),
            source: None,
        }
    }

    pub fn invalid_argument(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(ErrorCode::InvalidArgument, message)
    }

    pub fn config(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(ErrorCode::Config, message)
    }

    pub fn data(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(ErrorCode::Data, message)
    }

    pub fn closed() -> Error {
        Error::new(ErrorCode::Closed, "the executor was closed")
    }

    pub fn timeout(after: std::time::Duration) -> Error {
        Error::new(
            ErrorCode::Timeout,
            format!(
                "no reply within the command timeout of {} ms",
                after.as_millis()
            ),
        )
    }

    /// Names the operation that failed (done once, by the executor).
    pub fn with_operation(mut self, operation: &'static str) -> Error {
        self.operation = operation;
        self
    }

    /// Overrides whether calling again may succeed.
    pub fn with_retryable(mut self, retryable: bool) -> Error {
        self.retryable = retryable;
        self
    }

    /// The same error with another message: code, operation, `retryable` and
    /// the cause chain are kept.
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Error {
        self.message = message.into();
        self
    }

    pub fn with_source(mut self, source: impl Into<Source>) -> Error {
        self.source = Some(source.into());
        self
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The operation that failed (`"set_linked_pod"`, ...), or `""` outside one.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    pub fn retryable(&self) -> bool {
        self.retryable
    }

    /// Classifies a redis-rs error by its kind and server error code.
    pub fn from_redis(err: redis::RedisError) -> Error {
        let code = classify(&err);
        let message = scrub(&err.to_string());
        Error::new(code, message).with_source(err)
    }
}

fn classify(err: &redis::RedisError) -> ErrorCode {
    if err.is_timeout() {
        return ErrorCode::Timeout;
    }
    match err.kind() {
        RedisKind::Io => ErrorCode::Connection,
        RedisKind::AuthenticationFailed => ErrorCode::Auth,
        RedisKind::InvalidClientConfig => ErrorCode::Config,
        RedisKind::UnexpectedReturnType | RedisKind::Parse => ErrorCode::Data,
        RedisKind::ClusterConnectionNotFound => ErrorCode::Cluster,
        RedisKind::Server(kind) => match kind {
            ServerErrorKind::NoPerm => ErrorCode::Auth,
            ServerErrorKind::BusyLoading | ServerErrorKind::TryAgain => ErrorCode::Busy,
            ServerErrorKind::Moved
            | ServerErrorKind::Ask
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::CrossSlot => ErrorCode::Cluster,
            ServerErrorKind::MasterDown | ServerErrorKind::ReadOnly => ErrorCode::Cluster,
            ServerErrorKind::NoScript => ErrorCode::Script,
            ServerErrorKind::ExecAbort => ErrorCode::Script,
            ServerErrorKind::ResponseError => classify_server_code(err),
            _ => classify_server_code(err),
        },
        _ => classify_server_code(err),
    }
}

/// Server errors without a redis-rs kind of their own, by their error code (the first
/// word of the reply, e.g. `WRONGPASS`), which Redis documents as stable.
fn classify_server_code(err: &redis::RedisError) -> ErrorCode {
    let code = err.code().unwrap_or("");
    match code {
        "NOAUTH" | "WRONGPASS" | "NOPERM" => ErrorCode::Auth,
        "BUSY" | "LOADING" | "OOM" | "MISCONF" | "BUSYKEY" | "MASTERDOWN" => ErrorCode::Busy,
        "CLUSTERDOWN" | "CROSSSLOT" | "MOVED" | "ASK" | "TRYAGAIN" => ErrorCode::Cluster,
        // Our scripts report unreadable data with this code (see scripts/*.lua).
        "DATA" | "WRONGTYPE" => ErrorCode::Data,
        _ if is_script_failure(err) => ErrorCode::Script,
        _ => ErrorCode::Internal,
    }
}

fn is_script_failure(err: &redis::RedisError) -> bool {
    // "ERR user_script:3: ..." / "ERR Error running script": Redis reports a failing
    // script under the generic ERR code; the detail names the script.
    err.detail()
        .is_some_and(|d| d.contains("script") || d.contains("user_function"))
}

/// Hides every password in `text`, a message that may quote URLs (an error of a
/// dependency, a line about to be printed). The one scrubbing function of the
/// project, with [`scrub_url`]: the bindings and the CLI call them too (see
/// `docs/secrets.md`).
///
/// Each whitespace-separated word that looks like a URL (a scheme followed by
/// `:/`, `//` or `://`, or a Redis scheme and `:`, even misspelled) loses its
/// user information, everything up to the last `@`; the value of a `pass=`,
/// `password=`, `passwd=` or `pwd=` parameter is hidden in every word. Words
/// that are not URLs keep their `@` (a key holding an e-mail address stays
/// readable in a `DATA` message).
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_inclusive(char::is_whitespace) {
        let body = word.trim_end();
        match url_start(body) {
            Some(start) => {
                out.push_str(&hide_secret_params(&body[..start]));
                out.push_str(&scrub_url(&body[start..]));
            }
            None => out.push_str(&hide_secret_params(body)),
        }
        out.push_str(&word[body.len()..]);
    }
    out
}

/// Hides the password of `url`, a string given as a URL, however malformed:
/// everything between the scheme (if one is recognisable) and the last `@`, and
/// secret query parameters (`unix:///s?pass=...`). Unlike [`scrub`], whitespace
/// inside counts as part of the URL (a password with a space in it).
pub fn scrub_url(url: &str) -> String {
    let hidden = match url.rfind('@') {
        Some(at) => {
            let keep = scheme_end(url).filter(|&end| end <= at).unwrap_or(0);
            format!("{}***{}", &url[..keep], &url[at..])
        }
        None => url.to_string(),
    };
    hide_secret_params(&hidden)
}

/// Schemes recognised with a bare `:` (`redis:user:pw@host` is a URL missing its
/// slashes, not a key).
const KNOWN_SCHEMES: [&str; 7] = [
    "redis",
    "rediss",
    "unix",
    "redis+unix",
    "valkey",
    "valkeys",
    "http",
];

/// Where a URL starts in `word`: at its start or after a `=`, `(`, `<`, `[`, a
/// quote or a comma (`url=redis://...`). `None`: the word holds no URL.
fn url_start(word: &str) -> Option<usize> {
    std::iter::once(0)
        .chain(
            word.match_indices(['=', '(', '<', '[', '"', '\'', '`', ','])
                .map(|(i, d)| i + d.len()),
        )
        .find(|&start| scheme_end(&word[start..]).is_some())
}

/// Where the scheme and its separator end in `word` (after leading quotes or
/// brackets): `redis://`, `redis:/`, `redis//`, `redis:` for a known scheme, or
/// a `://` anywhere. `None`: the word does not look like a URL.
fn scheme_end(word: &str) -> Option<usize> {
    let start = word
        .find(|c: char| c.is_ascii_alphanumeric())
        .unwrap_or(word.len());
    let scheme_len = word[start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
        .unwrap_or(word.len() - start);
    let scheme = &word[start..start + scheme_len];
    let rest = &word[start + scheme_len..];
    let slashes = |s: &str| s.len() - s.trim_start_matches('/').len();
    if scheme_len > 0 {
        if let Some(after) = rest.strip_prefix(':') {
            let n = slashes(after);
            if n > 0 || KNOWN_SCHEMES.iter().any(|k| scheme.eq_ignore_ascii_case(k)) {
                return Some(start + scheme_len + 1 + n);
            }
        } else if rest.starts_with("//") {
            return Some(start + scheme_len + slashes(rest));
        }
    }
    word.find("://").map(|i| i + 1 + slashes(&word[i + 1..]))
}

/// Names of parameters whose value is a password.
const SECRET_PARAMS: [&str; 4] = ["pass", "password", "passwd", "pwd"];

/// Replaces the value of every secret parameter (`?pass=...`, `&password=...`,
/// `pwd=...`) up to the next `&`, `#` or the end.
fn hide_secret_params(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let name_start = rest[..eq]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = &rest[name_start..eq];
        out.push_str(&rest[..=eq]);
        rest = &rest[eq + 1..];
        if SECRET_PARAMS.iter().any(|p| name.eq_ignore_ascii_case(p)) {
            let end = rest.find(['&', '#']).unwrap_or(rest.len());
            if end > 0 {
                out.push_str("***");
            }
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operation.is_empty() {
            write!(f, "{}: {}", self.code, self.message)
        } else {
            write!(f, "{} in {}: {}", self.code, self.operation, self.message)
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("code", &self.code)
            .field("operation", &self.operation)
            .field("retryable", &self.retryable)
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<redis::RedisError> for Error {
    fn from(err: redis::RedisError) -> Error {
        Error::from_redis(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_by_name_and_index() {
        for (i, code) in ErrorCode::ALL.into_iter().enumerate() {
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
            assert_eq!(code.index(), i);
        }
        assert_eq!(ErrorCode::from_name("NOPE"), None);
    }

    #[test]
    fn scrub_hides_url_credentials() {
        let s = scrub("cannot reach redis://user:hunter2@127.0.0.1:6379/0 now");
        assert_eq!(s, "cannot reach redis://***@127.0.0.1:6379/0 now");
    }

    #[test]
    fn scrub_keeps_what_is_not_a_secret() {
        for text in [
            "DATA key {app}:links:alice@example.com holds a link that is not a pod id",
            "cannot reach redis://127.0.0.1:6379/0: connection refused",
            "ERR user_script:3: a = b and c=d",
        ] {
            assert_eq!(scrub(text), text);
        }
        assert_eq!(
            scrub_url("unix:///tmp/r.sock?db=2&pass=hunter2#x"),
            "unix:///tmp/r.sock?db=2&pass=***#x"
        );
        assert_eq!(scrub_url("redis//u:hun@ter2@h:1"), "redis//***@h:1");
        assert_eq!(scrub_url("u:hunter2@h"), "***@h");
    }

    #[test]
    fn server_codes_are_classified() {
        let cases = [
            ("WRONGPASS", ErrorCode::Auth),
            ("NOAUTH", ErrorCode::Auth),
            ("OOM", ErrorCode::Busy),
            ("BUSY", ErrorCode::Busy),
            ("DATA", ErrorCode::Data),
            ("WRONGTYPE", ErrorCode::Data),
            ("CLUSTERDOWN", ErrorCode::Cluster),
        ];
        for (code, expected) in cases {
            let err = redis::make_extension_error(code.to_string(), Some("detail".into()));
            assert_eq!(Error::from_redis(err).code(), expected, "{code}");
        }
    }
}
