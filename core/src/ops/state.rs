//! Pod and workload states: `set_service_state`, `get_service_state`,
//! `set_workload_state`, `get_workload_state`, `get_workload_states`.

use std::collections::BTreeMap;

use super::wrong_type_names;
use crate::error::Result;
use crate::executor::Executor;
use crate::model::parse_pod_id;
use crate::operation::Operation;
use crate::validate::{
    validate_name, validate_pod, validate_service_count, validate_state, NameKind,
};

impl Executor {
    /// Sets the state of one pod of a service.
    pub async fn set_service_state(
        &self,
        ns: &str,
        svc: &str,
        pod: i64,
        state: &str,
    ) -> Result<()> {
        self.run(Operation::SetServiceState, async {
            self.validate_ns_svc(ns, svc)?;
            validate_pod(pod)?;
            validate_state(state)?;
            let key = self.keys().state_key(ns, svc);
            let cmd = redis::cmd("HSET").arg(&key).arg(pod).arg(state).clone();
            self.query::<i64, _>(Operation::SetServiceState, &cmd)
                .await
                .map_err(wrong_type_names(&key))?;
            Ok(())
        })
        .await
    }

    /// The state of every pod of a service; fields that are not pod ids are skipped.
    pub async fn get_service_state(&self, ns: &str, svc: &str) -> Result<BTreeMap<i64, String>> {
        self.run(Operation::GetServiceState, async {
            self.validate_ns_svc(ns, svc)?;
            let key = self.keys().state_key(ns, svc);
            let cmd = redis::cmd("HGETALL").arg(&key).clone();
            let fields: Vec<(String, String)> = self
                .query(Operation::GetServiceState, &cmd)
                .await
                .map_err(wrong_type_names(&key))?;
            Ok(fields
                .into_iter()
                .filter_map(|(field, value)| parse_pod_id(&field).map(|pod| (pod, value)))
                .collect())
        })
        .await
    }

    /// Sets the state of a service's workload as a whole.
    pub async fn set_workload_state(&self, ns: &str, svc: &str, state: &str) -> Result<()> {
        self.run(Operation::SetWorkloadState, async {
            self.validate_ns_svc(ns, svc)?;
            validate_state(state)?;
            let key = self.keys().workload_key(ns, svc);
            let cmd = redis::cmd("SET").arg(&key).arg(state).clone();
            self.query::<(), _>(Operation::SetWorkloadState, &cmd).await
        })
        .await
    }

    /// The workload state of a service, if set.
    pub async fn get_workload_state(&self, ns: &str, svc: &str) -> Result<Option<String>> {
        self.run(Operation::GetWorkloadState, async {
            self.validate_ns_svc(ns, svc)?;
            let key = self.keys().workload_key(ns, svc);
            let cmd = redis::cmd("GET").arg(&key).clone();
            self.query(Operation::GetWorkloadState, &cmd)
                .await
                .map_err(wrong_type_names(&key))
        })
        .await
    }

    /// Workload states of several services; services without one are omitted.
    pub async fn get_workload_states<S: AsRef<str>>(
        &self,
        ns: &str,
        services: &[S],
    ) -> Result<BTreeMap<String, String>> {
        self.run(Operation::GetWorkloadStates, async {
            self.keys().validate_namespace(ns)?;
            validate_service_count(services.len())?;
            for svc in services {
                validate_name(NameKind::Service, svc.as_ref())?;
            }
            self.monitor()
                .batch(Operation::GetWorkloadStates, services.len());
            let mut states = BTreeMap::new();
            if services.is_empty() {
                return Ok(states);
            }
            let keys: Vec<String> = services
                .iter()
                .map(|svc| self.keys().workload_key(ns, svc.as_ref()))
                .collect();
            let values = self.mget(Operation::GetWorkloadStates, &keys).await?;
            for (svc, value) in services.iter().zip(values) {
                if let Some(state) = value {
                    states.insert(svc.as_ref().to_string(), state);
                }
            }
            Ok(states)
        })
        .await
    }
}
