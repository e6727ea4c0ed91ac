//! The inspection commands (`link`, `state`, `workload`, `load`, `compute`): one
//! executor call each, its result printed as text or JSON.

use std::process::ExitCode;

use serde_json::{json, Value};
use stateful_redis::config::Options;
use stateful_redis::{Executor, RoutingPolicy};
use stateful_redis_cli::CliError;

use super::{connect, current_runtime};
use crate::{Command, ComputeArgs, LinkCmd, LoadCmd, StateCmd, WorkloadCmd};

/// Whether `command` writes: `link set`/`remove`, `state set`, `workload set`,
/// `load set` and `compute` (which links the user it routes). Writes refuse the
/// private server, whose data vanishes when the command exits; reads do not
/// (docs/cli.md).
pub fn writes(command: &Command) -> bool {
    matches!(
        command,
        Command::Link(LinkCmd::Set { .. } | LinkCmd::Remove { .. })
            | Command::State(StateCmd::Set { .. })
            | Command::Workload(WorkloadCmd::Set { .. })
            | Command::Load(LoadCmd::Set { .. })
            | Command::Compute(_)
    )
}

/// Runs one inspection `command` (any other is a bug of the dispatch).
pub fn run(options: &Options, command: Command, json: bool) -> Result<ExitCode, CliError> {
    let runtime = current_runtime()?;
    runtime.block_on(async {
        let exec = connect(options).await?;
        let value = match command {
            Command::Link(cmd) => link(&exec, cmd).await?,
            Command::State(cmd) => state(&exec, cmd).await?,
            Command::Workload(cmd) => workload(&exec, cmd).await?,
            Command::Load(cmd) => load(&exec, cmd).await?,
            Command::Compute(args) => compute(&exec, args).await?,
            _ => unreachable!("not an inspection command"),
        };
        print_value(&value, json);
        Ok(ExitCode::SUCCESS)
    })
}

fn print_value(value: &Value, json: bool) {
    if json {
        println!("{value}");
        return;
    }
    match value {
        Value::Null => println!("(none)"),
        Value::String(s) => println!("{s}"),
        Value::Object(map) if map.is_empty() => println!("(none)"),
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => println!("{k}\t{s}"),
                    Value::Null => println!("{k}\t(none)"),
                    other => println!("{k}\t{other}"),
                }
            }
        }
        other => println!("{other}"),
    }
}

async fn link(exec: &Executor, cmd: LinkCmd) -> Result<Value, CliError> {
    Ok(match cmd {
        LinkCmd::Get {
            ns,
            uid,
            svc,
            persistent_only,
        } => {
            let pod = if persistent_only {
                exec.get_linked_pod_if_persist(&ns, &uid, &svc).await?
            } else {
                exec.get_linked_pod(&ns, &uid, &svc).await?
            };
            json!(pod)
        }
        LinkCmd::Set {
            ns,
            uid,
            svc,
            pod,
            persist,
            mode,
        } => match mode.as_str() {
            "set" => {
                json!({ "previous": exec.set_linked_pod(&ns, &uid, &svc, pod, persist).await? })
            }
            "try" => {
                let o = exec
                    .try_set_linked_pod(&ns, &uid, &svc, pod, persist)
                    .await?;
                json!({ "ok": o.ok, "pod": o.pod })
            }
            "if-absent" => json!({
                "pod": exec.set_linked_pod_if_absent(&ns, &uid, &svc, pod, persist).await?
            }),
            other => {
                return Err(CliError::new(
                    "INVALID_ARGUMENT",
                    format!("--mode `{other}`: expected set, try or if-absent"),
                ))
            }
        },
        LinkCmd::Remove {
            ns,
            uid,
            svc,
            keep,
            pod,
        } => {
            let removed = match pod {
                Some(pod) => {
                    exec.remove_linked_pod_with_id(&ns, &uid, &svc, keep, pod)
                        .await?
                }
                None => exec.remove_linked_pod(&ns, &uid, &svc, keep).await?,
            };
            json!({ "removed": removed })
        }
        LinkCmd::List { ns, uid } => json!(exec.get_link_service(&ns, &uid).await?),
        LinkCmd::Batch { ns, svc, uids } => {
            json!(exec.batch_get_linked_pod(&ns, &uids, &svc).await?)
        }
    })
}

async fn state(exec: &Executor, cmd: StateCmd) -> Result<Value, CliError> {
    Ok(match cmd {
        StateCmd::Get { ns, svc } => json!(exec.get_service_state(&ns, &svc).await?),
        StateCmd::Set {
            ns,
            svc,
            pod,
            state,
        } => {
            exec.set_service_state(&ns, &svc, pod, &state).await?;
            json!({ "ok": true })
        }
    })
}

async fn workload(exec: &Executor, cmd: WorkloadCmd) -> Result<Value, CliError> {
    Ok(match cmd {
        WorkloadCmd::Get { ns, svcs } => {
            if svcs.len() == 1 {
                json!(exec.get_workload_state(&ns, &svcs[0]).await?)
            } else {
                json!(exec.get_workload_states(&ns, &svcs).await?)
            }
        }
        WorkloadCmd::Set { ns, svc, state } => {
            exec.set_workload_state(&ns, &svc, &state).await?;
            json!({ "ok": true })
        }
    })
}

async fn load(exec: &Executor, cmd: LoadCmd) -> Result<Value, CliError> {
    Ok(match cmd {
        LoadCmd::Get {
            ns,
            svc,
            fresh_since_ms,
        } => {
            let loads = exec.get_pod_loads(&ns, &svc, fresh_since_ms).await?;
            let map: serde_json::Map<String, Value> = loads
                .into_iter()
                .map(|(pod, l)| {
                    (
                        pod.to_string(),
                        json!({ "load": l.load, "state": l.state, "updated_ms": l.updated_ms }),
                    )
                })
                .collect();
            Value::Object(map)
        }
        LoadCmd::Set {
            ns,
            svc,
            pod,
            load,
            state,
        } => {
            exec.set_pod_load(&ns, &svc, pod, load, state).await?;
            json!({ "ok": true })
        }
    })
}

async fn compute(exec: &Executor, a: ComputeArgs) -> Result<Value, CliError> {
    let policy = RoutingPolicy {
        max_age_ms: a.max_age_ms,
        max_state: a.max_state,
    };
    Ok(json!(
        exec.compute_linked_pod(&a.ns, &a.uid, &a.svc, a.persist, policy)
            .await?
    ))
}
