//! The operations part of `python/stateful_redis/_native.pyi`, rendered from the
//! core's operations table (`stateful_redis::OPERATIONS`: arguments, result,
//! one-line doc). The test fails when the committed stubs differ; regenerate them
//! with
//!
//! ```text
//! STATEFUL_REDIS_UPDATE_STUBS=1 cargo test -p stateful-redis-python stubs
//! ```

use stateful_redis::operation::{ArgKind, ResultKind};
use stateful_redis::{OperationSpec, OPERATIONS};

const STUBS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/python/stateful_redis/_native.pyi"
);
const BEGIN: &str = "    # --- operations: generated from core/src/operation.rs";
const END: &str = "    # --- end of operations";

fn python_arg(kind: ArgKind) -> &'static str {
    match kind {
        ArgKind::Name | ArgKind::StateText => "str",
        ArgKind::Names => "_Names",
        ArgKind::PodId
        | ArgKind::Load
        | ArgKind::LoadState
        | ArgKind::TtlSeconds
        | ArgKind::KeepSeconds
        | ArgKind::EpochMs => "int",
        ArgKind::RoutingPolicy => "RoutingPolicy",
    }
}

fn python_result(kind: ResultKind) -> &'static str {
    match kind {
        ResultKind::Nothing => "None",
        ResultKind::PodStates => "Dict[int, str]",
        ResultKind::OptionalState => "Optional[str]",
        ResultKind::ServiceStates => "Dict[str, str]",
        ResultKind::EpochMs | ResultKind::Pod => "int",
        ResultKind::PodLoads => "Dict[int, PodLoad]",
        ResultKind::OptionalPod => "Optional[int]",
        ResultKind::TrySet => "Tuple[bool, int]",
        ResultKind::UidsByPod => "LinksByPod",
        ResultKind::PodsByService => "Dict[str, int]",
        ResultKind::Flag => "bool",
    }
}

/// One method of the stub, `Awaitable[...]` for the asyncio class.
fn render_method(op: &OperationSpec, asynchronous: bool) -> String {
    let mut params = vec!["self".to_string()];
    for arg in op.args {
        let ty = python_arg(arg.kind);
        params.push(if arg.optional {
            format!("{}: Optional[{ty}] = None", arg.name)
        } else {
            format!("{}: {ty}", arg.name)
        });
    }
    let result = python_result(op.result);
    let result = if asynchronous {
        format!("Awaitable[{result}]")
    } else {
        result.to_string()
    };
    format!(
        "    def {}({}) -> {result}:\n        \"\"\"{}\"\"\"\n",
        op.name,
        params.join(", "),
        op.doc
    )
}

/// The generated region of one class, markers included.
fn render_region(asynchronous: bool) -> String {
    let mut out = format!(
        "{BEGIN} by\n    # `STATEFUL_REDIS_UPDATE_STUBS=1 cargo test -p stateful-redis-python stubs`; do not edit\n"
    );
    for op in OPERATIONS {
        out.push_str(&render_method(op, asynchronous));
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// The stub file with both generated regions (sync class first) replaced.
fn render(current: &str) -> String {
    let mut out = String::new();
    let mut rest = current;
    for asynchronous in [false, true] {
        let begin = rest.find(BEGIN).expect("the stubs lack a generated region");
        let end = begin + rest[begin..].find(END).expect("a region without its end");
        let end = end + rest[end..].find('\n').map_or(rest.len() - end, |n| n + 1);
        out.push_str(&rest[..begin]);
        out.push_str(&render_region(asynchronous));
        rest = &rest[end..];
    }
    assert!(!rest.contains(BEGIN), "more than two generated regions");
    out.push_str(rest);
    out
}

#[test]
fn stubs_match_the_operations_table() {
    let current = std::fs::read_to_string(STUBS).unwrap();
    let expected = render(&current);
    if std::env::var_os("STATEFUL_REDIS_UPDATE_STUBS").is_some() {
        std::fs::write(STUBS, &expected).unwrap();
        return;
    }
    if current != expected {
        let first_difference = current
            .lines()
            .zip(expected.lines())
            .position(|(a, b)| a != b)
            .map_or(0, |i| i + 1);
        panic!(
            "python/stateful_redis/_native.pyi differs from the operations table \
             (first at line {first_difference}); regenerate it with \
             STATEFUL_REDIS_UPDATE_STUBS=1 cargo test -p stateful-redis-python stubs"
        );
    }
}
