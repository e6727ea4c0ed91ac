//! Runs every conformance vector of `tests/vectors/` against a private Redis.

mod common;

#[tokio::test]
async fn conformance_vectors() {
    let mut h = common::harness().await;
    let (files, steps) = common::vectors::run_all(&h.exec, &mut h.raw).await;
    println!("{files} files, {steps} steps");
}
