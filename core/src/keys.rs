//! Key building (SPEC section 2): percent-encoding of names and the key schemas.
//! The names are checked before, in [`crate::validate`].
//!
//! Redis Cluster hashes only the text between the first `{` and the next `}`. Names
//! are therefore percent-encoded before they go into a key: `%` (first), `{` and `}`
//! in every name, and `:` in UID and SVC as well, so that the last `:`-separated part
//! of a hash tag is always the UID or SVC. Names without those characters are used
//! as they are, so the keys match the Go version's byte for byte.

use std::borrow::Cow;

use crate::error::Result;
use crate::validate::validate_java_namespace;

// The name checks and their limits live in `validate`, the one place of every
// limit; they stay reachable under their old paths.
pub use crate::validate::{validate_name, validate_state, NameKind, MAX_NAME_LEN, MAX_STATE_LEN};

/// Percent-encodes the characters that could move a key out of its hash tag.
pub fn encode(kind: NameKind, name: &str) -> Cow<'_, str> {
    if !needs_encoding(kind, name) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    push_encoded(&mut out, kind, name);
    Cow::Owned(out)
}

/// Whether `name` holds a character [`encode`] replaces. The characters are
/// ASCII, so a byte scan finds them (UTF-8 continuation bytes are >= 0x80).
#[inline]
fn needs_encoding(kind: NameKind, name: &str) -> bool {
    name.bytes()
        .any(|b| matches!(b, b'%' | b'{' | b'}') || (b == b':' && kind != NameKind::Namespace))
}

/// Appends `name` to `key`, encoded as [`encode`] does, without an
/// intermediate string: keys are built on every call.
#[inline]
fn push_encoded(key: &mut String, kind: NameKind, name: &str) {
    if !needs_encoding(kind, name) {
        key.push_str(name);
        return;
    }
    for c in name.chars() {
        match c {
            '%' => key.push_str("%25"),
            '{' => key.push_str("%7B"),
            '}' => key.push_str("%7D"),
            ':' if kind != NameKind::Namespace => key.push_str("%3A"),
            c => key.push(c),
        }
    }
}

/// Builds a key from literal parts and encoded names, in one allocation for
/// names that need no encoding.
struct KeyBuilder(String);

impl KeyBuilder {
    fn new(capacity: usize) -> KeyBuilder {
        KeyBuilder(String::with_capacity(capacity))
    }

    fn text(mut self, text: &str) -> KeyBuilder {
        self.0.push_str(text);
        self
    }

    fn name(mut self, kind: NameKind, name: &str) -> KeyBuilder {
        push_encoded(&mut self.0, kind, name);
        self
    }
}

/// The key layout in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeySchema {
    /// `sf:{NS:state:SVC}`, `sf:{NS:workload:SVC}`, `sf:{NS:lk:UID}SVC`, `sf:{NS:lk:UID}`:
    /// the Go version's keys; a link and its index share one hash slot.
    #[default]
    Default,
    /// The Java version's keys, for sharing a Redis with Java deployments during a
    /// migration: `slug-state:{NS:SVC}`, `slug-workload:{NS:SVC}`,
    /// `slug-lk:{NS:UID:SVC}` (link), `slug-lk:{NS:UID}` (index). The link and its
    /// index are in different hash slots, so this schema is refused on a cluster.
    /// NS must be `appId:regionId:logicType`.
    Java,
}

impl KeySchema {
    /// Whether a link and its index share a hash slot (required by Redis Cluster).
    pub fn is_cluster_safe(self) -> bool {
        self == KeySchema::Default
    }

    /// Checks a namespace: a valid name, and in the Java schema exactly three
    /// non-empty `:`-separated parts.
    pub fn validate_namespace(self, ns: &str) -> Result<()> {
        validate_name(NameKind::Namespace, ns)?;
        if self == KeySchema::Java {
            validate_java_namespace(ns)?;
        }
        Ok(())
    }

    /// Hash of pod states of a service.
    pub fn state_key(self, ns: &str, svc: &str) -> String {
        self.service_key(ns, svc, ":state:", "slug-state:{")
    }

    /// Workload state string of a service.
    pub fn workload_key(self, ns: &str, svc: &str) -> String {
        self.service_key(ns, svc, ":workload:", "slug-workload:{")
    }

    /// `sf:{NS<kind>SVC}` in the default schema, `<java_prefix>NS:SVC}` in the Java one.
    fn service_key(self, ns: &str, svc: &str, kind: &str, java_prefix: &str) -> String {
        let capacity = ns.len() + svc.len() + 16;
        let key = match self {
            KeySchema::Default => KeyBuilder::new(capacity)
                .text("sf:{")
                .name(NameKind::Namespace, ns)
                .text(kind),
            KeySchema::Java => KeyBuilder::new(capacity)
                .text(java_prefix)
                .name(NameKind::Namespace, ns)
                .text(":"),
        };
        key.name(NameKind::Service, svc).text("}").0
    }

    /// The link of `uid` to a pod of `svc`, and the index of `uid`'s persistent
    /// links (in the default schema they share one hash tag).
    pub fn link_keys(self, ns: &str, uid: &str, svc: &str) -> LinkKeys {
        LinkKeys {
            link: self.link_key(ns, uid, svc),
            index: self.index_key(ns, uid),
        }
    }

    /// The link key alone (reads that do not touch the index).
    pub fn link_key(self, ns: &str, uid: &str, svc: &str) -> String {
        let key = KeyBuilder::new(ns.len() + uid.len() + svc.len() + 16);
        self.after_uid(self.index_prefix(key, ns, uid), svc).0
    }

    /// The link keys of `ns` and `svc` for many uids: what comes before and
    /// after the uid, encoded once (a batch read writes a key per uid).
    pub(crate) fn link_key_parts(self, ns: &str, svc: &str) -> LinkKeyParts {
        let capacity = ns.len() + svc.len() + 12;
        LinkKeyParts {
            before: self.before_uid(KeyBuilder::new(capacity), ns).0,
            after: self.after_uid(KeyBuilder::new(capacity), svc).0,
        }
    }

    /// Index of `uid`'s persistent links: a hash `svc -> pod`.
    pub fn index_key(self, ns: &str, uid: &str) -> String {
        self.index_prefix(KeyBuilder::new(ns.len() + uid.len() + 12), ns, uid)
            .text("}")
            .0
    }

    /// Appends `sf:{NS:lk:UID` or `slug-lk:{NS:UID` to `key`: the index key
    /// without its closing brace.
    fn index_prefix(self, key: KeyBuilder, ns: &str, uid: &str) -> KeyBuilder {
        self.before_uid(key, ns).name(NameKind::Uid, uid)
    }

    /// Appends what both keys of a uid have before it: `sf:{NS:lk:` or
    /// `slug-lk:{NS:`.
    fn before_uid(self, key: KeyBuilder, ns: &str) -> KeyBuilder {
        match self {
            KeySchema::Default => key.text("sf:{").name(NameKind::Namespace, ns).text(":lk:"),
            KeySchema::Java => key
                .text("slug-lk:{")
                .name(NameKind::Namespace, ns)
                .text(":"),
        }
    }

    /// Appends what the link key has after the uid: `}SVC` or `:SVC}`.
    fn after_uid(self, key: KeyBuilder, svc: &str) -> KeyBuilder {
        match self {
            KeySchema::Default => key.text("}").name(NameKind::Service, svc),
            KeySchema::Java => key.text(":").name(NameKind::Service, svc).text("}"),
        }
    }
}

/// The link key of one namespace and service around any uid: see
/// [`KeySchema::link_key_parts`].
pub(crate) struct LinkKeyParts {
    before: String,
    after: String,
}

impl LinkKeyParts {
    /// Appends the link key of `uid` to `key`: the same text as
    /// [`KeySchema::link_key`].
    #[inline]
    pub(crate) fn push(&self, key: &mut String, uid: &str) {
        key.push_str(&self.before);
        push_encoded(key, NameKind::Uid, uid);
        key.push_str(&self.after);
    }

    /// The key's length without its uid.
    pub(crate) fn len_without_uid(&self) -> usize {
        self.before.len() + self.after.len()
    }
}

/// The two keys a link operation touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkKeys {
    pub link: String,
    pub index: String,
}

/// Number of hash slots of a Redis Cluster.
pub const CLUSTER_SLOTS: u16 = 16_384;

/// The hash slot of `key` in a Redis Cluster: CRC16 (XMODEM) of its hash tag,
/// modulo 16,384, as `CLUSTER KEYSLOT` computes it.
pub fn cluster_slot(key: &str) -> u16 {
    crc16::State::<crc16::XMODEM>::calculate(hash_tag(key).as_bytes()) % CLUSTER_SLOTS
}

/// The hash tag Redis Cluster would hash for `key`: the text between the first `{`
/// and the first `}` after it, when that text is not empty; else the whole key.
pub fn hash_tag(key: &str) -> &str {
    if let Some(open) = key.find('{') {
        if let Some(len) = key[open + 1..].find('}') {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_key_parts_make_the_link_keys() {
        let names = ["u1", "{u}", "a:b", "50%", "ü}{:%", "x"];
        for schema in [KeySchema::Default, KeySchema::Java] {
            for ns in ["app:eu:logic", "n{s}:a%:b"] {
                for svc in names {
                    let parts = schema.link_key_parts(ns, svc);
                    let mut key = String::from("left over");
                    for uid in names {
                        key.clear();
                        parts.push(&mut key, uid);
                        assert_eq!(
                            key,
                            schema.link_key(ns, uid, svc),
                            "{schema:?} {ns} {uid} {svc}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn plain_names_give_the_go_keys() {
        let s = KeySchema::Default;
        assert_eq!(
            s.state_key("app:eu:logic", "chat"),
            "sf:{app:eu:logic:state:chat}"
        );
        assert_eq!(
            s.workload_key("app:eu:logic", "chat"),
            "sf:{app:eu:logic:workload:chat}"
        );
        let k = s.link_keys("app:eu:logic", "u42", "chat");
        assert_eq!(k.link, "sf:{app:eu:logic:lk:u42}chat");
        assert_eq!(k.index, "sf:{app:eu:logic:lk:u42}");
    }

    #[test]
    fn java_schema_gives_the_java_keys() {
        let s = KeySchema::Java;
        assert_eq!(
            s.state_key("app:eu:logic", "chat"),
            "slug-state:{app:eu:logic:chat}"
        );
        let k = s.link_keys("app:eu:logic", "u42", "chat");
        assert_eq!(k.link, "slug-lk:{app:eu:logic:u42:chat}");
        assert_eq!(k.index, "slug-lk:{app:eu:logic:u42}");
        assert!(s.validate_namespace("app:eu:logic").is_ok());
        for bad in ["app:eu", "app:eu:logic:x", "app::logic", ""] {
            assert!(s.validate_namespace(bad).is_err(), "{bad}");
        }
        assert!(KeySchema::Default.validate_namespace("app:eu").is_ok());
    }

    #[test]
    fn braces_cannot_merge_two_triples() {
        let s = KeySchema::Default;
        let a = s.link_key("ns", "a}x", "y");
        let b = s.link_key("ns", "a", "x}y");
        assert_ne!(a, b);
        assert_eq!(hash_tag(&a), "ns:lk:a%7Dx");
        assert_eq!(hash_tag(&b), "ns:lk:a");
    }

    #[test]
    fn cluster_slots_match_redis() {
        // Values of `CLUSTER KEYSLOT` from the Redis documentation; the cluster
        // test checks more keys against a live server.
        assert_eq!(cluster_slot("somekey"), 11058);
        assert_eq!(cluster_slot("foo{hash_tag}"), 2515);
        assert_eq!(cluster_slot("foo{hash_tag}"), cluster_slot("bar{hash_tag}"));
    }

    #[test]
    fn encoded_names_build_the_same_keys_in_every_function() {
        for schema in [KeySchema::Default, KeySchema::Java] {
            let (ns, uid, svc) = ("a:b%:c{", "u:1}é", "s{v}:%");
            let keys = schema.link_keys(ns, uid, svc);
            assert_eq!(keys.link, schema.link_key(ns, uid, svc));
            assert_eq!(keys.index, schema.index_key(ns, uid));
            assert!(!hash_tag(&keys.link).contains(['{', '}']));
            if schema == KeySchema::Default {
                assert_eq!(cluster_slot(&keys.link), cluster_slot(&keys.index));
            }
        }
        let keys = KeySchema::Java.link_keys("a:b:c%", "u:1", "s}");
        assert_eq!(keys.link, "slug-lk:{a:b:c%25:u%3A1:s%7D}");
        assert_eq!(keys.index, "slug-lk:{a:b:c%25:u%3A1}");
        assert_eq!(
            KeySchema::Default.state_key("n{", "s:"),
            "sf:{n%7B:state:s%3A}"
        );
        assert_eq!(
            KeySchema::Java.workload_key("n", "s%"),
            "slug-workload:{n:s%25}"
        );
    }

    #[test]
    fn namespace_keeps_colons_but_not_braces() {
        assert_eq!(encode(NameKind::Namespace, "a:b"), "a:b");
        assert_eq!(encode(NameKind::Namespace, "a}b%"), "a%7Db%25");
        assert_eq!(encode(NameKind::Uid, "a:b"), "a%3Ab");
    }
}
