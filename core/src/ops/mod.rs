//! The 17 operations of SPEC section 3, as methods of
//! [`Executor`](crate::executor::Executor): `links.rs` (a uid's link to a
//! pod), `state.rs` (pod and workload states), `loads.rs` (load records and
//! `compute_linked_pod`, which routes by them).
//!
//! Each operation is one short function: inside `Executor::run`, it validates
//! its arguments (`crate::validate`) before anything is sent, builds its keys
//! (`crate::keys`), sends one command or script through the transport
//! (`query`, `eval`, `mget`) and parses the reply (`crate::model`).

use crate::error::{Error, ErrorCode, Result};
use crate::executor::Executor;
use crate::keys::LinkKeys;
use crate::validate::{validate_name, validate_pod, validate_ttl, NameKind};

mod links;
mod loads;
mod state;

impl Executor {
    /// Checks a namespace and a service name.
    #[inline]
    fn validate_ns_svc(&self, ns: &str, svc: &str) -> Result<()> {
        self.keys().validate_namespace(ns)?;
        validate_name(NameKind::Service, svc)
    }

    /// Checks the names of a link and builds its keys.
    #[inline]
    fn link_keys(&self, ns: &str, uid: &str, svc: &str) -> Result<LinkKeys> {
        self.validate_link_names(ns, uid, svc)?;
        Ok(self.keys().link_keys(ns, uid, svc))
    }

    /// Checks the names of a link and builds its link key alone (the reads
    /// that do not touch the index).
    #[inline]
    fn link_key(&self, ns: &str, uid: &str, svc: &str) -> Result<String> {
        self.validate_link_names(ns, uid, svc)?;
        Ok(self.keys().link_key(ns, uid, svc))
    }

    #[inline]
    fn validate_link_names(&self, ns: &str, uid: &str, svc: &str) -> Result<()> {
        self.keys().validate_namespace(ns)?;
        validate_name(NameKind::Uid, uid)?;
        validate_name(NameKind::Service, svc)
    }

    /// The checks of a link write (names, then `pod`, then `persist`) and its keys.
    #[inline]
    fn link_write_keys(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        pod: i64,
        persist: i64,
    ) -> Result<LinkKeys> {
        let keys = self.link_keys(ns, uid, svc)?;
        validate_pod(pod)?;
        validate_ttl("persist", persist)?;
        Ok(keys)
    }
}

/// `WRONGTYPE` from a command on one key: `DATA` naming the key (SPEC 4).
fn wrong_type_names(key: &str) -> impl FnOnce(Error) -> Error + '_ {
    move |err| {
        if err.code() == ErrorCode::Data {
            err.with_message(format!(
                "key {key} holds a value of the wrong type for this operation"
            ))
        } else {
            err
        }
    }
}
