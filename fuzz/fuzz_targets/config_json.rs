//! The configuration JSON of the C ABI: `Options::from_json` then `build` never
//! panic and refuse only with `CONFIG`. See `stateful_redis_testkit::fuzz_checks`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    stateful_redis_testkit::fuzz_checks::config(data);
});
