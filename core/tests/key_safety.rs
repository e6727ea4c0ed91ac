//! SPEC section 2: distinct inputs never share a key, and every key's hash tag is
//! the intended one, for random names (property test).

use proptest::prelude::*;
use stateful_redis::keys::{encode, hash_tag, KeySchema, NameKind};

/// Names made mostly of the characters that matter: braces, colons, percent.
fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => Just('{'), 4 => Just('}'), 4 => Just(':'), 4 => Just('%'),
            2 => Just('a'), 2 => Just('b'), 1 => Just('7'), 1 => Just('ü'),
            1 => any::<char>().prop_filter("printable", |c| !c.is_control()),
        ],
        1..8,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn distinct_triples_never_share_a_key(
        a in (name(), name(), name()),
        b in (name(), name(), name()),
    ) {
        let s = KeySchema::Default;
        let (ka, kb) = (s.link_keys(&a.0, &a.1, &a.2), s.link_keys(&b.0, &b.1, &b.2));
        if a != b {
            prop_assert_ne!(&ka.link, &kb.link);
        }
        if (&a.0, &a.1) != (&b.0, &b.1) {
            prop_assert_ne!(&ka.index, &kb.index);
        }
        if (&a.0, &a.2) != (&b.0, &b.2) {
            prop_assert_ne!(s.state_key(&a.0, &a.2), s.state_key(&b.0, &b.2));
            prop_assert_ne!(s.workload_key(&a.0, &a.2), s.workload_key(&b.0, &b.2));
        }
        // Different kinds of key never collide either.
        let all_a = [ka.link.clone(), ka.index.clone(), s.state_key(&a.0, &a.2), s.workload_key(&a.0, &a.2)];
        let all_b = [kb.link.clone(), kb.index.clone(), s.state_key(&b.0, &b.2), s.workload_key(&b.0, &b.2)];
        for (i, x) in all_a.iter().enumerate() {
            for (j, y) in all_b.iter().enumerate() {
                if i != j {
                    prop_assert_ne!(x, y);
                }
            }
        }
    }

    #[test]
    fn hash_tags_are_the_intended_ones((ns, uid, svc) in (name(), name(), name())) {
        let s = KeySchema::Default;
        let keys = s.link_keys(&ns, &uid, &svc);
        let ens = encode(NameKind::Namespace, &ns);
        let tag = format!("{ens}:lk:{}", encode(NameKind::Uid, &uid));
        // The link and its index share one tag: the uid's.
        prop_assert_eq!(hash_tag(&keys.link), tag.as_str());
        prop_assert_eq!(hash_tag(&keys.index), tag.as_str());
        // The last ':'-separated part of the tag is the encoded uid.
        let euid = encode(NameKind::Uid, &uid).into_owned();
        prop_assert_eq!(tag.rsplit(':').next().unwrap(), euid.as_str());
        let state = s.state_key(&ns, &svc);
        let expected_state_tag = format!("{ens}:state:{}", encode(NameKind::Service, &svc));
        prop_assert_eq!(hash_tag(&state), expected_state_tag.as_str());
    }

    #[test]
    fn plain_names_are_unchanged(n in "[a-zA-Z0-9_.-]{1,20}") {
        prop_assert_eq!(encode(NameKind::Uid, &n).into_owned(), n.clone());
        prop_assert_eq!(encode(NameKind::Namespace, &n).into_owned(), n);
    }
}

/// Three-part namespaces for the Java schema.
fn java_ns() -> impl Strategy<Value = String> {
    (name(), name(), name())
        .prop_filter("no ':' inside a part", |(a, b, c)| {
            ![a, b, c].iter().any(|p| p.contains(':'))
        })
        .prop_map(|(a, b, c)| format!("{a}:{b}:{c}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn java_schema_never_shares_a_key(
        a in (java_ns(), name(), name()),
        b in (java_ns(), name(), name()),
    ) {
        let s = KeySchema::Java;
        let (ka, kb) = (s.link_keys(&a.0, &a.1, &a.2), s.link_keys(&b.0, &b.1, &b.2));
        if a != b {
            prop_assert_ne!(&ka.link, &kb.link);
        }
        if (&a.0, &a.1) != (&b.0, &b.1) {
            prop_assert_ne!(&ka.index, &kb.index);
        }
        prop_assert_ne!(&ka.link, &kb.index);
        if (&a.0, &a.2) != (&b.0, &b.2) {
            prop_assert_ne!(s.state_key(&a.0, &a.2), s.state_key(&b.0, &b.2));
        }
        // The link's tag is NS:UID:SVC, each part encoded.
        let tag = format!("{}:{}:{}", encode(NameKind::Namespace, &a.0), encode(NameKind::Uid, &a.1), encode(NameKind::Service, &a.2));
        prop_assert_eq!(hash_tag(&ka.link), tag.as_str());
    }
}
