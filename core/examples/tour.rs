//! A tour of every operation: starts a private redis-server (or uses
//! $STATEFUL_REDIS_URL), runs each of the 17 operations and prints the results.
//!
//!     cargo run -p stateful-redis --example tour

use std::time::Duration;

use stateful_redis::{Config, Executor, RoutingPolicy};
use stateful_redis_testkit::LocalRedis;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut _server = None;
    let url = match std::env::var(stateful_redis::config::URL_ENV) {
        Ok(url) => url,
        Err(_) => {
            let server = LocalRedis::start()?;
            println!("started a private redis-server at {}", server.url());
            let url = server.url();
            _server = Some(server);
            url
        }
    };
    let exec = Executor::connect(
        Config::builder()
            .url(url)
            .command_timeout(Duration::from_secs(1))
            .build()?,
    )
    .await?;
    let ns = "demo:eu:logic";

    println!("\n-- pod and workload state");
    exec.set_service_state(ns, "chat", 0, "online").await?;
    exec.set_service_state(ns, "chat", 1, "draining").await?;
    println!(
        "get_service_state        = {:?}",
        exec.get_service_state(ns, "chat").await?
    );
    exec.set_workload_state(ns, "chat", "running").await?;
    println!(
        "get_workload_state       = {:?}",
        exec.get_workload_state(ns, "chat").await?
    );
    println!(
        "get_workload_states      = {:?}",
        exec.get_workload_states(ns, &["chat", "match"]).await?
    );
    for (pod, load) in [(0, 40), (1, 10), (2, 25)] {
        exec.set_pod_load(ns, "game", pod, load, 0).await?;
    }
    println!(
        "get_pod_loads            = {:?}",
        exec.get_pod_loads(ns, "game", None).await?
    );

    println!("\n-- links");
    println!(
        "set_linked_pod           = {:?}",
        exec.set_linked_pod(ns, "u1", "chat", 0, -1).await?
    );
    println!(
        "try_set_linked_pod       = {:?}",
        exec.try_set_linked_pod(ns, "u1", "chat", 1, -1).await?
    );
    println!(
        "set_linked_pod_if_absent = {:?}",
        exec.set_linked_pod_if_absent(ns, "u2", "chat", 1, 300)
            .await?
    );
    println!(
        "get_linked_pod           = {:?}",
        exec.get_linked_pod(ns, "u2", "chat").await?
    );
    println!(
        "get_linked_pod_if_persist= {:?}",
        exec.get_linked_pod_if_persist(ns, "u2", "chat").await?
    );
    println!(
        "batch_get_linked_pod     = {:?}",
        exec.batch_get_linked_pod(ns, &["u1", "u2", "u3"], "chat")
            .await?
    );
    println!(
        "get_link_service         = {:?}",
        exec.get_link_service(ns, "u1").await?
    );
    println!(
        "compute_linked_pod       = {:?}",
        exec.compute_linked_pod(ns, "u3", "game", -1, RoutingPolicy::default())
            .await?
    );
    println!(
        "remove_linked_pod        = {:?}",
        exec.remove_linked_pod(ns, "u1", "chat", 60).await?
    );
    println!(
        "remove_linked_pod_with_id= {:?}",
        exec.remove_linked_pod_with_id(ns, "u2", "chat", -1, 1)
            .await?
    );

    println!("\n-- a bad input is refused before anything is sent");
    let err = exec
        .set_linked_pod(ns, "u1", "chat", -1, -1)
        .await
        .unwrap_err();
    println!(
        "{err}  (code {}, retryable {})",
        err.code(),
        err.retryable()
    );
    Ok(())
}
