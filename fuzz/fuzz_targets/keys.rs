//! Name validation and key building: no panic; encoded names keep no brace (nor
//! colon in uid/svc); a link and its index share a hash tag; two different
//! `(ns, uid, svc)` triples never share a key. See `stateful_redis_testkit::fuzz_checks`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    stateful_redis_testkit::fuzz_checks::keys(data);
});
