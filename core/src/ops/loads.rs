//! Load records and routing by them: `set_pod_load`, `get_pod_loads`,
//! `compute_linked_pod`.

use std::collections::BTreeMap;

use super::wrong_type_names;
use crate::error::Result;
use crate::executor::Executor;
use crate::model::{parse_loads, PodLoad, RoutingPolicy};
use crate::operation::Operation;
use crate::scripts;
use crate::validate::{validate_max_age, validate_non_negative, validate_pod, validate_ttl};

impl Executor {
    /// Writes a pod's load record, stamped with the server's clock. Returns the
    /// stamp (epoch milliseconds).
    pub async fn set_pod_load(
        &self,
        ns: &str,
        svc: &str,
        pod: i64,
        load: i64,
        state: i64,
    ) -> Result<i64> {
        self.run(Operation::SetPodLoad, async {
            self.validate_ns_svc(ns, svc)?;
            validate_pod(pod)?;
            validate_non_negative("load", load)?;
            validate_non_negative("state", state)?;
            let key = self.keys().state_key(ns, svc);
            self.eval(
                Operation::SetPodLoad,
                &scripts::SET_POD_LOAD,
                &[&key],
                &[&pod, &load, &state],
            )
            .await
        })
        .await
    }

    /// Load records of a service's pods, optionally only those updated at or after
    /// `fresh_since_ms` (epoch milliseconds). Values that are not load records are
    /// left out.
    pub async fn get_pod_loads(
        &self,
        ns: &str,
        svc: &str,
        fresh_since_ms: Option<i64>,
    ) -> Result<BTreeMap<i64, PodLoad>> {
        self.run(Operation::GetPodLoads, async {
            self.validate_ns_svc(ns, svc)?;
            let key = self.keys().state_key(ns, svc);
            let cmd = redis::cmd("HGETALL").arg(&key).clone();
            let fields: Vec<(String, String)> = self
                .query(Operation::GetPodLoads, &cmd)
                .await
                .map_err(wrong_type_names(&key))?;
            let since = fresh_since_ms.unwrap_or(i64::MIN);
            Ok(parse_loads(fields)
                .filter(|(_, load)| load.updated_ms >= since)
                .collect())
        })
        .await
    }

    /// Returns the uid's link for `svc`, or links it to the least-loaded eligible
    /// pod (if it still has no link) and returns the pod actually linked.
    /// `None`: no link and no eligible pod; nothing was written.
    pub async fn compute_linked_pod(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        persist: i64,
        policy: RoutingPolicy,
    ) -> Result<Option<i64>> {
        let op = Operation::ComputeLinkedPod;
        self.run(op, async {
            let keys = self.link_keys(ns, uid, svc)?;
            validate_ttl("persist", persist)?;
            validate_max_age(policy.max_age_ms)?;
            // An existing link wins. No round trip here may write a pod read in
            // an earlier one: a link removed in between would come back.
            let existing = if persist == -1 {
                // Nothing to refresh: a read is enough.
                self.read_link(op, &keys.link).await?
            } else {
                // Returns and refreshes a temporary link in one script, only if
                // the link still exists when it runs.
                self.link_if_absent(op, &keys, svc, None, persist).await?
            };
            if existing.is_some() {
                return Ok(existing);
            }
            // The pod states live in another slot: read them with the server's
            // clock in one call, then set-if-absent in a second.
            let state_key = self.keys().state_key(ns, svc);
            let (now_ms, flat): (i64, Vec<String>) = self
                .eval(op, &scripts::READ_POD_LOADS, &[&state_key], &[])
                .await?;
            let fields = flat
                .chunks_exact(2)
                .map(|pair| (pair[0].clone(), pair[1].clone()));
            let oldest = now_ms.saturating_sub(policy.max_age_ms);
            let chosen = parse_loads(fields)
                .filter(|(_, load)| load.updated_ms >= oldest && load.state <= policy.max_state)
                .min_by_key(|(pod, load)| (load.load, *pod))
                .map(|(pod, _)| pod);
            match chosen {
                None => Ok(None),
                // Set-if-absent: a link made meanwhile by another caller wins.
                Some(pod) => {
                    self.link_if_absent(op, &keys, svc, Some(pod), persist)
                        .await
                }
            }
        })
        .await
    }
}
