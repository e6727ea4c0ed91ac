//! A uid's links to pods: `set_linked_pod`, `try_set_linked_pod`,
//! `set_linked_pod_if_absent`, `get_linked_pod`, `get_linked_pod_if_persist`,
//! `batch_get_linked_pod`, `remove_linked_pod`, `remove_linked_pod_with_id`,
//! `get_link_service`.

use std::collections::BTreeMap;

use super::wrong_type_names;
use crate::error::{Error, Result};
use crate::executor::Executor;
use crate::keys::LinkKeys;
use crate::model::{parse_pod, parse_pod_id, parse_pod_keyed, StoredLink, TrySetOutcome};
use crate::operation::Operation;
use crate::scripts;
use crate::validate::{validate_name, validate_pod, validate_ttl, validate_uid_count, NameKind};

impl Executor {
    /// Links `uid` to `pod` of `svc` (`persist`: -1 persistent, > 0 TTL seconds).
    /// Returns the previous pod.
    pub async fn set_linked_pod(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        pod: i64,
        persist: i64,
    ) -> Result<Option<i64>> {
        let op = Operation::SetLinkedPod;
        self.run(op, async {
            let keys = self.link_write_keys(ns, uid, svc, pod, persist)?;
            let previous: Option<StoredLink> = self
                .eval(
                    op,
                    &scripts::SET_LINKED_POD,
                    &[&keys.link, &keys.index],
                    &[&svc, &pod, &persist],
                )
                .await?;
            parse_pod(&keys.link, previous)
        })
        .await
    }

    /// Links `uid` to `pod` unless a persistent link points to another pod.
    pub async fn try_set_linked_pod(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        pod: i64,
        persist: i64,
    ) -> Result<TrySetOutcome> {
        let op = Operation::TrySetLinkedPod;
        self.run(op, async {
            let keys = self.link_write_keys(ns, uid, svc, pod, persist)?;
            let (ok, current): (i64, StoredLink) = self
                .eval(
                    op,
                    &scripts::TRY_SET_LINKED_POD,
                    &[&keys.link, &keys.index],
                    &[&svc, &pod, &persist],
                )
                .await?;
            let pod = parse_pod(&keys.link, Some(current))?.unwrap_or(pod);
            Ok(TrySetOutcome { ok: ok == 1, pod })
        })
        .await
    }

    /// Links `uid` to `pod` only if it has no link; returns the pod actually linked.
    pub async fn set_linked_pod_if_absent(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        pod: i64,
        persist: i64,
    ) -> Result<i64> {
        let op = Operation::SetLinkedPodIfAbsent;
        self.run(op, async {
            let keys = self.link_write_keys(ns, uid, svc, pod, persist)?;
            let linked = self
                .link_if_absent(op, &keys, svc, Some(pod), persist)
                .await?;
            Ok(linked.unwrap_or(pod))
        })
        .await
    }

    /// Runs `set_linked_pod_if_absent.lua`: links `pod` unless a link exists, and
    /// returns the pod linked after the call. With `pod` = `None` it only returns
    /// (and refreshes, as "if absent" does) an existing link.
    pub(super) async fn link_if_absent(
        &self,
        op: Operation,
        keys: &LinkKeys,
        svc: &str,
        pod: Option<i64>,
        persist: i64,
    ) -> Result<Option<i64>> {
        let pod = pod.map_or_else(String::new, |pod| pod.to_string());
        let linked: Option<StoredLink> = self
            .eval(
                op,
                &scripts::SET_LINKED_POD_IF_ABSENT,
                &[&keys.link, &keys.index],
                &[&svc, &pod, &persist],
            )
            .await?;
        parse_pod(&keys.link, linked)
    }

    /// The pod `uid` is linked to for `svc`, persistent or temporary.
    pub async fn get_linked_pod(&self, ns: &str, uid: &str, svc: &str) -> Result<Option<i64>> {
        let op = Operation::GetLinkedPod;
        self.run(op, async {
            let link = self.link_key(ns, uid, svc)?;
            self.read_link(op, &link).await
        })
        .await
    }

    /// The link's pod, read with one `GET`: `DATA` naming the key when it
    /// holds the wrong type or something that is not a pod id.
    pub(super) async fn read_link(&self, op: Operation, link: &str) -> Result<Option<i64>> {
        let mut cmd = redis::Cmd::with_capacity(2, 3 + link.len());
        cmd.arg("GET").arg(link);
        let value: Option<StoredLink> =
            self.query(op, &cmd).await.map_err(wrong_type_names(link))?;
        parse_pod(link, value)
    }

    /// The pod `uid` is linked to for `svc`, only if the link is persistent.
    pub async fn get_linked_pod_if_persist(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
    ) -> Result<Option<i64>> {
        let op = Operation::GetLinkedPodIfPersist;
        self.run(op, async {
            let link = self.link_key(ns, uid, svc)?;
            // One script reads the value and its TTL at one instant.
            let value: Option<StoredLink> = self
                .eval(op, &scripts::READ_PERSISTENT_LINK, &[&link], &[])
                .await?;
            parse_pod(&link, value)
        })
        .await
    }

    /// Links of many uids for one service, grouped by pod; uids keep their input
    /// order; uids without a link are left out.
    pub async fn batch_get_linked_pod<U: AsRef<str>>(
        &self,
        ns: &str,
        uids: &[U],
        svc: &str,
    ) -> Result<BTreeMap<i64, Vec<String>>> {
        let op = Operation::BatchGetLinkedPod;
        self.run(op, async {
            self.validate_ns_svc(ns, svc)?;
            validate_uid_count(uids.len())?;
            for uid in uids {
                validate_name(NameKind::Uid, uid.as_ref())?;
            }
            self.monitor().batch(op, uids.len());
            if uids.is_empty() {
                return Ok(BTreeMap::new());
            }
            let parts = self.keys().link_key_parts(ns, svc);
            let key_len = parts.len_without_uid() + 8;
            let values: Vec<Option<StoredLink>> = self
                .mget_keys(op, uids.len(), key_len, |i, key| {
                    parts.push(key, uids[i].as_ref())
                })
                .await?;
            let mut by_pod: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            for (uid, value) in uids.iter().zip(values) {
                let link = || self.keys().link_key(ns, uid.as_ref(), svc);
                if let Some(pod) = parse_pod_keyed(value, link)? {
                    by_pod
                        .entry(pod)
                        .or_default()
                        .push(uid.as_ref().to_string());
                }
            }
            Ok(by_pod)
        })
        .await
    }

    /// Removes the link (`keep`: -1 now, > 0 readable as temporary for that many
    /// seconds). Returns whether a link existed.
    pub async fn remove_linked_pod(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        keep: i64,
    ) -> Result<bool> {
        let op = Operation::RemoveLinkedPod;
        self.run(op, async {
            let keys = self.link_keys(ns, uid, svc)?;
            validate_ttl("keep", keep)?;
            let removed: i64 = self
                .eval(
                    op,
                    &scripts::REMOVE_LINKED_POD,
                    &[&keys.link, &keys.index],
                    &[&svc, &keep, &""],
                )
                .await?;
            Ok(removed == 1)
        })
        .await
    }

    /// As [`Executor::remove_linked_pod`], only when the link points to `pod`.
    pub async fn remove_linked_pod_with_id(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        keep: i64,
        pod: i64,
    ) -> Result<bool> {
        let op = Operation::RemoveLinkedPodWithId;
        self.run(op, async {
            let keys = self.link_keys(ns, uid, svc)?;
            validate_ttl("keep", keep)?;
            validate_pod(pod)?;
            let removed: i64 = self
                .eval(
                    op,
                    &scripts::REMOVE_LINKED_POD,
                    &[&keys.link, &keys.index],
                    &[&svc, &keep, &pod],
                )
                .await?;
            Ok(removed == 1)
        })
        .await
    }

    /// The persistent links of `uid`: service -> pod.
    pub async fn get_link_service(&self, ns: &str, uid: &str) -> Result<BTreeMap<String, i64>> {
        let op = Operation::GetLinkService;
        self.run(op, async {
            self.keys().validate_namespace(ns)?;
            validate_name(NameKind::Uid, uid)?;
            let key = self.keys().index_key(ns, uid);
            let cmd = redis::cmd("HGETALL").arg(&key).clone();
            let fields: Vec<(String, String)> =
                self.query(op, &cmd).await.map_err(wrong_type_names(&key))?;
            fields
                .into_iter()
                .map(|(svc, pod)| match parse_pod_id(&pod) {
                    Some(pod) => Ok((svc, pod)),
                    None => Err(Error::data(format!(
                        "key {key} field {svc:?} holds a value that is not a pod id"
                    ))),
                })
                .collect()
        })
        .await
    }
}
