//! The minimal ACL rule of `docs/reliability.md` ("Access control"): a user
//! with exactly that rule connects and runs all 17 operations; a user missing
//! one of its commands still connects, and the operations that need the command
//! fail with `AUTH`. The rule lives only in the docs; these tests parse it.

mod common;

use std::time::{Duration, Instant};

use common::{config_for, start_server, NS};
use stateful_redis::{Config, Error, ErrorCode, Executor, KeySchema, RoutingPolicy};
use stateful_redis_testkit::LocalRedis;

const USER: &str = "router";
const PASSWORD: &str = "acl-test-Pw-81";

/// The documented rule: the words after `ACL SETUSER <user>`.
fn documented_rule() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/reliability.md");
    let docs = std::fs::read_to_string(path).unwrap();
    let rules: Vec<&str> = docs
        .lines()
        .filter_map(|l| l.trim().strip_prefix("ACL SETUSER <user> "))
        .collect();
    assert_eq!(
        rules.len(),
        1,
        "one `ACL SETUSER <user> ...` line in {path}"
    );
    rules[0]
        .split_whitespace()
        .map(|word| word.replace("<password>", PASSWORD))
        .collect()
}

/// The words a cluster connection needs on top of the rule (the
/// `Cluster additions: ...` line of the docs).
fn documented_cluster_additions() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/reliability.md");
    let docs = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = docs
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Cluster additions: "))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one `Cluster additions: ...` line in {path}"
    );
    lines[0].split_whitespace().map(str::to_string).collect()
}

/// The commands the rule allows (`+get` -> `get`, `+script|load` -> `script|load`).
fn allowed_commands(rule: &[String]) -> Vec<String> {
    rule.iter()
        .filter_map(|w| w.strip_prefix('+'))
        .map(str::to_lowercase)
        .collect()
}

fn set_user(server: &LocalRedis, rule: &[String]) {
    let mut args = vec!["ACL", "SETUSER", USER, "reset"];
    args.extend(rule.iter().map(String::as_str));
    let reply = server.command(&args).unwrap();
    assert!(reply.starts_with("+OK"), "ACL SETUSER {rule:?}: {reply}");
}

fn user_config(server: &LocalRedis) -> Config {
    config_for(server)
        .username(USER)
        .password(PASSWORD)
        .build()
        .unwrap()
}

/// One call's name, outcome, and whether `DATA` is its right outcome.
type Outcome = (&'static str, Result<(), Error>, bool);

/// Every operation, on both branches of the scripts (persistent and temporary
/// links, removal with and without `keep`, a link that is absent, a link key
/// holding the wrong type), after the script cache was flushed so that `EVAL`
/// is needed too.
async fn every_operation(server: &LocalRedis, exec: &Executor) -> Vec<Outcome> {
    server.command(&["SCRIPT", "FLUSH"]).unwrap();
    let mut out: Vec<Outcome> = Vec::new();
    macro_rules! call {
        ($name:literal, $call:expr) => {
            out.push(($name, $call.await.map(|_| ()), false))
        };
    }
    call!(
        "set_service_state",
        exec.set_service_state(NS, "chat", 1, "up")
    );
    call!("get_service_state", exec.get_service_state(NS, "chat"));
    call!(
        "set_workload_state",
        exec.set_workload_state(NS, "chat", "up")
    );
    call!("get_workload_state", exec.get_workload_state(NS, "chat"));
    call!(
        "get_workload_states",
        exec.get_workload_states(NS, &["chat", "game"])
    );
    call!("set_pod_load", exec.set_pod_load(NS, "chat", 1, 10, 0));
    call!("get_pod_loads", exec.get_pod_loads(NS, "chat", None));
    call!(
        "set_linked_pod",
        exec.set_linked_pod(NS, "u1", "chat", 1, -1)
    );
    call!(
        "set_linked_pod",
        exec.set_linked_pod(NS, "u2", "chat", 1, 60)
    );
    call!(
        "try_set_linked_pod",
        exec.try_set_linked_pod(NS, "u1", "chat", 2, -1)
    );
    call!(
        "try_set_linked_pod",
        exec.try_set_linked_pod(NS, "u3", "chat", 2, 60)
    );
    call!(
        "set_linked_pod_if_absent",
        exec.set_linked_pod_if_absent(NS, "u2", "chat", 3, 120)
    );
    call!(
        "set_linked_pod_if_absent",
        exec.set_linked_pod_if_absent(NS, "u4", "chat", 3, -1)
    );
    call!("get_linked_pod", exec.get_linked_pod(NS, "u1", "chat"));
    call!(
        "get_linked_pod_if_persist",
        exec.get_linked_pod_if_persist(NS, "u1", "chat")
    );
    call!(
        "batch_get_linked_pod",
        exec.batch_get_linked_pod(NS, &["u1", "u2", "u9"], "chat")
    );
    call!("get_link_service", exec.get_link_service(NS, "u1"));
    call!(
        "compute_linked_pod",
        exec.compute_linked_pod(NS, "u5", "chat", -1, RoutingPolicy::default())
    );
    call!(
        "remove_linked_pod",
        exec.remove_linked_pod(NS, "u1", "chat", -1)
    );
    call!(
        "remove_linked_pod",
        exec.remove_linked_pod(NS, "u4", "chat", 30)
    );
    call!(
        "remove_linked_pod",
        exec.remove_linked_pod(NS, "u9", "chat", -1)
    );
    call!(
        "remove_linked_pod_with_id",
        exec.remove_linked_pod_with_id(NS, "u5", "chat", -1, 1)
    );
    // A link key holding a hash: DATA (reporting it may take more commands).
    let key = KeySchema::Default.link_key(NS, "w1", "chat");
    server.command(&["HSET", &key, "f", "v"]).unwrap();
    let wrong_type = exec.set_linked_pod(NS, "w1", "chat", 1, -1).await;
    out.push(("set_linked_pod on a hash", wrong_type.map(|_| ()), true));
    out
}

/// Whether a call ended as it does with every permission.
fn as_expected((_, result, data): &Outcome) -> bool {
    match result {
        Ok(()) => !data,
        Err(e) => *data && e.code() == ErrorCode::Data,
    }
}

/// The commands the library's scripts name: the first argument of
/// `redis.call`/`redis.pcall`, when it is a string literal (the scripts send
/// every command through one of the two).
fn script_commands() -> Vec<String> {
    let literal = |arg: &str| -> Option<String> {
        let name = arg.trim().strip_prefix(['\'', '"'])?;
        let name: String = name.chars().take_while(char::is_ascii_alphabetic).collect();
        (!name.is_empty()).then(|| name.to_lowercase())
    };
    let mut commands = Vec::new();
    for script in stateful_redis::scripts::all() {
        // Owned: whether the source is a `&str` or a `String` built at start-up.
        let source = script.source.to_string();
        for call in ["redis.call(", "redis.pcall("] {
            for rest in source.split(call).skip(1) {
                if let Some(name) = rest.split(',').next().and_then(literal) {
                    commands.push(name);
                }
            }
        }
    }
    commands.sort();
    commands.dedup();
    commands
}

#[test]
fn the_rule_allows_every_command_the_scripts_call() {
    let allowed = allowed_commands(&documented_rule());
    let scripts = script_commands();
    assert!(scripts.contains(&"get".to_string()), "{scripts:?}");
    for command in scripts {
        assert!(
            allowed.contains(&command),
            "a script calls {command}, which the ACL rule in docs/reliability.md lacks"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_with_exactly_the_documented_rule_runs_every_operation() {
    let server = start_server();
    set_user(&server, &documented_rule());
    let exec = Executor::connect(user_config(&server)).await.unwrap();
    for outcome in every_operation(&server, &exec).await {
        assert!(as_expected(&outcome), "{outcome:?}");
    }
    // Reconnecting (AUTH on a new connection) needs nothing more.
    let killed = server.command(&["CLIENT", "KILL", "USER", USER]).unwrap();
    assert!(!killed.starts_with(":0"), "{killed}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Err(e) = exec.get_linked_pod(NS, "u1", "chat").await {
        assert!(Instant::now() < deadline, "no reconnect: {e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for outcome in every_operation(&server, &exec).await {
        assert!(as_expected(&outcome), "after a reconnect: {outcome:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_missing_one_command_connects_and_gets_auth_where_it_is_needed() {
    let server = start_server();
    let rule = documented_rule();
    for missing in allowed_commands(&rule) {
        let without: Vec<String> = rule
            .iter()
            .filter(|w| w.strip_prefix('+').map(str::to_lowercase) != Some(missing.clone()))
            .cloned()
            .collect();
        set_user(&server, &without);
        server.command(&["FLUSHALL"]).unwrap();
        let exec = Executor::connect(user_config(&server))
            .await
            .unwrap_or_else(|e| panic!("without {missing}, connect failed: {e}"));
        let outcomes = every_operation(&server, &exec).await;
        let failed: Vec<_> = outcomes.iter().filter(|o| !as_expected(o)).collect();
        for (name, result, _) in &failed {
            let err = result.as_ref().unwrap_err();
            assert_eq!(
                err.code(),
                ErrorCode::Auth,
                "without {missing}, {name}: {err}"
            );
            assert!(!err.retryable(), "without {missing}, {name}: {err:?}");
        }
        if missing == "script|load" {
            // Scripts then load on first use (EVAL after NOSCRIPT).
            assert!(failed.is_empty(), "without {missing}: {failed:?}");
        } else {
            assert!(
                !failed.is_empty(),
                "{missing} is in the rule but nothing needed it"
            );
        }
    }
}

/// A one-node cluster (every slot on one server): the rule plus the cluster
/// additions is enough for a cluster connection and every operation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_user_with_the_rule_and_the_cluster_additions_runs_every_operation() {
    let server = LocalRedis::builder()
        .args([
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
        ])
        .start()
        .unwrap();
    let reply = server
        .command(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"])
        .unwrap();
    assert!(reply.starts_with("+OK"), "{reply}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server
        .command(&["CLUSTER", "INFO"])
        .unwrap()
        .contains("cluster_state:ok")
    {
        assert!(Instant::now() < deadline, "the cluster did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut rule = documented_rule();
    rule.extend(documented_cluster_additions());
    set_user(&server, &rule);
    let config = Config::builder()
        .cluster_nodes([server.url()])
        .username(USER)
        .password(PASSWORD)
        .command_timeout(Duration::from_millis(2_000))
        .connect_timeout(Duration::from_millis(2_000))
        .build()
        .unwrap();
    let exec = Executor::connect(config).await.unwrap();
    for outcome in every_operation(&server, &exec).await {
        assert!(as_expected(&outcome), "{outcome:?}");
    }
}
