//! Per-call overhead of the C ABI over the Rust API for `get_linked_pod`, in one
//! process: the same call through `BlockingExecutor::call` (Rust API) and
//! through the exported `sr_get_linked_pod` (C ABI), interleaved round by round
//! so both see the same machine noise. Driven by `benches/c_abi_overhead.sh`.
//!
//! Usage: abi_overhead <redis-url> [calls-per-round] [rounds]
//! Prints one JSON object per round and a summary with medians.

use std::ffi::{c_char, CString};
use std::time::Instant;

use stateful_redis::{BlockingExecutor, Config, ErrorCode};
use stateful_redis_c::executor::{sr_executor_free, sr_executor_new, sr_get_linked_pod};
use stateful_redis_c::{SrExecutor, SrStatus};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .expect("usage: abi_overhead <redis-url> [calls] [rounds]");
    let calls: usize = args.get(2).map_or(20_000, |s| s.parse().unwrap());
    let rounds: usize = args.get(3).map_or(5, |s| s.parse().unwrap());
    let config_json = format!(r#"{{"url":"{url}"}}"#);

    let rust = BlockingExecutor::connect(Config::builder().url(url).build().unwrap()).unwrap();
    let mut c_exec: *mut SrExecutor = std::ptr::null_mut();
    let json = CString::new(config_json).unwrap();
    let status = unsafe { sr_executor_new(json.as_ptr(), &mut c_exec) };
    assert_eq!(status, SrStatus::SR_OK);

    let (ns, uid, svc) = ("bench:eu:logic", "u1", "chat");
    rust.call(|e| e.set_linked_pod(ns, uid, svc, 7, -1))
        .unwrap();
    let (c_ns, c_uid, c_svc) = (
        CString::new(ns).unwrap(),
        CString::new(uid).unwrap(),
        CString::new(svc).unwrap(),
    );
    let c_empty = CString::new("").unwrap();

    let rust_call = |uid: &str| rust.call(|e| e.get_linked_pod(ns, uid, svc));
    let c_call = |uid: *const c_char| {
        let mut pod = 0i64;
        let status =
            unsafe { sr_get_linked_pod(c_exec, c_ns.as_ptr(), uid, c_svc.as_ptr(), &mut pod) };
        (status, pod)
    };
    // Warm-up (connections, caches, branch predictors).
    for _ in 0..calls / 4 {
        assert_eq!(rust_call(uid).unwrap(), Some(7));
        assert_eq!(c_call(c_uid.as_ptr()), (SrStatus::SR_OK, 7));
    }

    let time = |f: &mut dyn FnMut(), n: usize| {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        start.elapsed().as_nanos() as f64
    };
    // Within a round the two paths alternate in chunks of CHUNK calls, so both
    // see the same machine noise; each path's time is summed over its chunks.
    const CHUNK: usize = 500;
    // No-I/O path: an empty uid is refused by the core's validation before any
    // I/O, so the difference is the boundary alone (conversion, panic guard,
    // last-error bookkeeping).
    let (mut rust_io, mut c_io, mut rust_noio, mut c_noio) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let mut r = || assert_eq!(rust_call(uid).unwrap(), Some(7));
        let mut c = || assert_eq!(c_call(c_uid.as_ptr()), (SrStatus::SR_OK, 7));
        let mut rn = || {
            assert_eq!(
                rust_call("").unwrap_err().code(),
                ErrorCode::InvalidArgument
            )
        };
        let mut cn = || assert_eq!(c_call(c_empty.as_ptr()).0, SrStatus::SR_INVALID_ARGUMENT);
        let (mut a, mut b, mut an, mut bn) = (0.0, 0.0, 0.0, 0.0);
        for chunk in 0..calls.div_ceil(CHUNK) {
            // Alternate which goes first.
            if chunk % 2 == 0 {
                a += time(&mut r, CHUNK);
                b += time(&mut c, CHUNK);
                an += time(&mut rn, CHUNK * 20);
                bn += time(&mut cn, CHUNK * 20);
            } else {
                b += time(&mut c, CHUNK);
                a += time(&mut r, CHUNK);
                bn += time(&mut cn, CHUNK * 20);
                an += time(&mut rn, CHUNK * 20);
            }
        }
        let n = (calls.div_ceil(CHUNK) * CHUNK) as f64;
        let (a, b, an, bn) = (a / n, b / n, an / (n * 20.0), bn / (n * 20.0));
        println!(
            "{{\"round\":{round},\"calls\":{calls},\"rust_ns\":{a:.0},\"c_abi_ns\":{b:.0},\
             \"rust_no_io_ns\":{an:.1},\"c_abi_no_io_ns\":{bn:.1}}}"
        );
        rust_io.push(a);
        c_io.push(b);
        rust_noio.push(an);
        c_noio.push(bn);
    }
    let (r, c) = (median(rust_io), median(c_io));
    let (rn, cn) = (median(rust_noio), median(c_noio));
    println!(
        "{{\"summary\":true,\"rounds\":{rounds},\"rust_median_ns\":{r:.0},\"c_abi_median_ns\":{c:.0},\
         \"ratio\":{:.3},\"overhead_ns\":{:.0},\"rust_no_io_median_ns\":{rn:.1},\
         \"c_abi_no_io_median_ns\":{cn:.1},\"no_io_overhead_ns\":{:.1}}}",
        c / r,
        c - r,
        cn - rn
    );
    unsafe { sr_executor_free(c_exec) };
}
