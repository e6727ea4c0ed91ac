//! `stateful-redis-compare`: the wire-compatibility fixture (`benches/java/fixture.json`)
//! written and read back through the Rust core's public API, with the same semantics as
//! the Java harness's `write-fixture` / `check-fixture` (`Fixture.java`).
//!
//! ```text
//! stateful-redis-compare write-fixture --url redis://127.0.0.1:6399 --schema java --ns app:eu:logic
//! stateful-redis-compare check-fixture --url redis://127.0.0.1:6399 --schema java --ns app:eu:logic
//! ```
//!
//! Exit 0: everything matched; 1: one `DIFF` line per mismatch on stdout; 2: usage or
//! connection error.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;
use stateful_redis::{Config, Executor, KeySchema, KeySchemaName, RoutingPolicy, TrySetOutcome};

const USAGE: &str = "usage: stateful-redis-compare write-fixture|check-fixture \
[--url URL] [--schema default|java] [--ns NS] [--fixture PATH]";

struct Args {
    command: String,
    url: String,
    schema: KeySchemaName,
    ns: String,
    fixture: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let command = it.next().ok_or_else(|| USAGE.to_string())?;
    if command == "--help" || command == "-h" {
        return Err(USAGE.to_string());
    }
    if command != "write-fixture" && command != "check-fixture" {
        return Err(format!("unknown command '{command}'\n{USAGE}"));
    }
    let mut args = Args {
        command,
        url: std::env::var("STATEFUL_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string()),
        schema: KeySchemaName::Default,
        ns: "bench:eu:logic".to_string(),
        fixture: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../java/fixture.json")),
    };
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--url" => args.url = value,
            "--ns" => args.ns = value,
            "--fixture" => args.fixture = PathBuf::from(value),
            "--schema" => {
                args.schema = match value.as_str() {
                    "default" => KeySchemaName::Default,
                    "java" => KeySchemaName::Java,
                    other => return Err(format!("unknown schema '{other}'")),
                }
            }
            other => return Err(format!("unknown option '{other}'\n{USAGE}")),
        }
    }
    Ok(args)
}

/// Final expected state of one link: pod -1 = no link; ttl_bound -1 = persistent.
#[derive(Clone)]
struct Expected {
    uid: String,
    svc: String,
    pod: i64,
    ttl_bound: i64,
}

struct Fixture {
    doc: Value,
    ns: String,
    schema: KeySchema,
    exec: Executor,
    raw: redis::aio::MultiplexedConnection,
    differences: Vec<String>,
}

type BoxError = Box<dyn std::error::Error>;

fn s(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_default().to_string()
}

fn i(v: &Value, field: &str) -> i64 {
    v[field].as_i64().unwrap_or_default()
}

fn section<'a>(doc: &'a Value, name: &str) -> &'a [Value] {
    doc[name].as_array().map(Vec::as_slice).unwrap_or(&[])
}

impl Fixture {
    fn expect<T: PartialEq + Debug>(&mut self, what: &str, expected: T, actual: T) {
        if expected != actual {
            self.differences
                .push(format!("{what}: expected {expected:?}, got {actual:?}"));
        }
    }

    /// Uids in first-seen order (links, removed, computed, probes).
    fn uids(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for sec in ["links", "removed", "computed", "probes"] {
            for n in section(&self.doc, sec) {
                let uid = s(n, "uid");
                if !out.contains(&uid) {
                    out.push(uid);
                }
            }
        }
        out
    }

    fn services(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for sec in [
            "service_states",
            "pod_loads",
            "workload_states",
            "links",
            "removed",
            "computed",
            "probes",
        ] {
            for n in section(&self.doc, sec) {
                let svc = s(n, "svc");
                if !out.contains(&svc) {
                    out.push(svc);
                }
            }
        }
        out
    }

    async fn write(&mut self) -> Result<(), BoxError> {
        self.delete_fixture_keys().await?;
        let (ns, doc, e) = (self.ns.clone(), self.doc.clone(), self.exec.clone());
        for st in section(&doc, "service_states") {
            e.set_service_state(&ns, &s(st, "svc"), i(st, "pod"), &s(st, "state"))
                .await?;
        }
        for l in section(&doc, "pod_loads") {
            e.set_pod_load(&ns, &s(l, "svc"), i(l, "pod"), i(l, "load"), i(l, "state"))
                .await?;
        }
        for w in section(&doc, "workload_states") {
            e.set_workload_state(&ns, &s(w, "svc"), &s(w, "state"))
                .await?;
        }
        for l in section(&doc, "links") {
            let (uid, svc, pod, persist) = (s(l, "uid"), s(l, "svc"), i(l, "pod"), i(l, "persist"));
            let via = l["via"].as_str().unwrap_or("set_linked_pod");
            match via {
                "set_linked_pod" => {
                    e.set_linked_pod(&ns, &uid, &svc, pod, persist).await?;
                }
                "try_set_linked_pod" => {
                    let r = e.try_set_linked_pod(&ns, &uid, &svc, pod, persist).await?;
                    self.expect(
                        &format!("try_set_linked_pod({uid}, {svc})"),
                        TrySetOutcome { ok: true, pod },
                        r,
                    );
                }
                "set_linked_pod_if_absent" => {
                    let r = e
                        .set_linked_pod_if_absent(&ns, &uid, &svc, pod, persist)
                        .await?;
                    self.expect(&format!("set_linked_pod_if_absent({uid}, {svc})"), pod, r);
                }
                other => return Err(format!("fixture: unknown via '{other}'").into()),
            }
        }
        for r in section(&doc, "removed") {
            let (uid, svc) = (s(r, "uid"), s(r, "svc"));
            e.set_linked_pod(&ns, &uid, &svc, i(r, "pod"), -1).await?;
            let existed = e.remove_linked_pod(&ns, &uid, &svc, i(r, "keep")).await?;
            self.expect(&format!("remove_linked_pod({uid}, {svc})"), true, existed);
        }
        for c in section(&doc, "computed") {
            let (uid, svc) = (s(c, "uid"), s(c, "svc"));
            let policy = RoutingPolicy {
                max_age_ms: i(c, "max_age_ms"),
                max_state: i(c, "max_state"),
            };
            let got = e
                .compute_linked_pod(&ns, &uid, &svc, i(c, "persist"), policy)
                .await?;
            self.expect(
                &format!("compute_linked_pod({uid}, {svc})"),
                Some(i(c, "expect_pod")),
                got,
            );
        }
        for p in section(&doc, "probes") {
            let (op, uid, svc) = (s(p, "op"), s(p, "uid"), s(p, "svc"));
            let what = format!("{op}({uid}, {svc})");
            match op.as_str() {
                "try_set_linked_pod" => {
                    let want = TrySetOutcome {
                        ok: p["expect"]["ok"].as_bool().unwrap_or_default(),
                        pod: i(&p["expect"], "pod"),
                    };
                    let got = e
                        .try_set_linked_pod(&ns, &uid, &svc, i(p, "pod"), i(p, "persist"))
                        .await?;
                    self.expect(&what, want, got);
                }
                "set_linked_pod_if_absent" => {
                    let got = e
                        .set_linked_pod_if_absent(&ns, &uid, &svc, i(p, "pod"), i(p, "persist"))
                        .await?;
                    self.expect(&what, p["expect"].as_i64().unwrap_or_default(), got);
                }
                "remove_linked_pod_with_id" => {
                    let got = e
                        .remove_linked_pod_with_id(&ns, &uid, &svc, i(p, "keep"), i(p, "pod"))
                        .await?;
                    self.expect(&what, p["expect"].as_bool().unwrap_or_default(), got);
                }
                other => return Err(format!("fixture: unknown probe op '{other}'").into()),
            }
        }
        Ok(())
    }

    /// Deletes exactly the keys the fixture touches (as the Java harness does).
    async fn delete_fixture_keys(&mut self) -> Result<(), BoxError> {
        let mut keys: Vec<String> = Vec::new();
        let uids = self.uids();
        for svc in self.services() {
            keys.push(self.schema.state_key(&self.ns, &svc));
            keys.push(self.schema.workload_key(&self.ns, &svc));
            for uid in &uids {
                keys.push(self.schema.link_key(&self.ns, uid, &svc));
            }
        }
        for uid in &uids {
            keys.push(self.schema.index_key(&self.ns, uid));
        }
        let _: i64 = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut self.raw)
            .await?;
        Ok(())
    }

    fn expected_links(&self) -> Vec<Expected> {
        let mut out: Vec<Expected> = Vec::new();
        let mut put = |e: Expected| {
            if let Some(slot) = out.iter_mut().find(|x| x.uid == e.uid && x.svc == e.svc) {
                *slot = e;
            } else {
                out.push(e);
            }
        };
        for l in section(&self.doc, "links") {
            put(Expected {
                uid: s(l, "uid"),
                svc: s(l, "svc"),
                pod: i(l, "pod"),
                ttl_bound: i(l, "persist"),
            });
        }
        for r in section(&self.doc, "removed") {
            let keep = i(r, "keep");
            put(Expected {
                uid: s(r, "uid"),
                svc: s(r, "svc"),
                pod: if keep == -1 { -1 } else { i(r, "pod") },
                ttl_bound: keep,
            });
        }
        for c in section(&self.doc, "computed") {
            put(Expected {
                uid: s(c, "uid"),
                svc: s(c, "svc"),
                pod: i(c, "expect_pod"),
                ttl_bound: i(c, "persist"),
            });
        }
        out
    }

    async fn check(&mut self) -> Result<(), BoxError> {
        let (ns, doc, e) = (self.ns.clone(), self.doc.clone(), self.exec.clone());
        let links = self.expected_links();
        // Links one by one.
        for x in &links {
            let what = format!("({}, {})", x.uid, x.svc);
            let pod = (x.pod >= 0).then_some(x.pod);
            let got = e.get_linked_pod(&ns, &x.uid, &x.svc).await?;
            self.expect(&format!("get_linked_pod{what}"), pod, got);
            let got = e.get_linked_pod_if_persist(&ns, &x.uid, &x.svc).await?;
            let want = if x.ttl_bound == -1 { pod } else { None };
            self.expect(&format!("get_linked_pod_if_persist{what}"), want, got);
            if pod.is_some() {
                let pttl: i64 = redis::cmd("PTTL")
                    .arg(self.schema.link_key(&ns, &x.uid, &x.svc))
                    .query_async(&mut self.raw)
                    .await?;
                if x.ttl_bound == -1 && pttl != -1 {
                    self.differences
                        .push(format!("PTTL{what}: persistent link has PTTL {pttl}"));
                } else if x.ttl_bound > 0 && (pttl <= 0 || pttl > x.ttl_bound * 1000) {
                    self.differences.push(format!(
                        "PTTL{what}: expected 0 < PTTL <= {} ms, got {pttl}",
                        x.ttl_bound * 1000
                    ));
                }
            }
        }
        // Index of every uid (plus absent uids).
        let mut all_uids = self.uids();
        for u in doc["absent"]["uids"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            if let Some(u) = u.as_str() {
                if !all_uids.iter().any(|x| x == u) {
                    all_uids.push(u.to_string());
                }
            }
        }
        for uid in &all_uids {
            let want: BTreeMap<String, i64> = links
                .iter()
                .filter(|x| &x.uid == uid && x.ttl_bound == -1 && x.pod >= 0)
                .map(|x| (x.svc.clone(), x.pod))
                .collect();
            let got = e.get_link_service(&ns, uid).await?;
            self.expect(&format!("get_link_service({uid})"), want, got);
        }
        // Batches per service, uids in input order.
        for svc in self.services() {
            let mut want: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            for uid in &all_uids {
                if let Some(x) = links.iter().find(|x| &x.uid == uid && x.svc == svc) {
                    if x.pod >= 0 {
                        want.entry(x.pod).or_default().push(uid.clone());
                    }
                }
            }
            let got = e.batch_get_linked_pod(&ns, &all_uids, &svc).await?;
            self.expect(&format!("batch_get_linked_pod({svc})"), want, got);
        }
        // Pod states.
        let mut states: Vec<(String, BTreeMap<i64, String>)> = Vec::new();
        for st in section(&doc, "service_states") {
            let svc = s(st, "svc");
            let idx = match states.iter().position(|(k, _)| *k == svc) {
                Some(idx) => idx,
                None => {
                    states.push((svc, BTreeMap::new()));
                    states.len() - 1
                }
            };
            states[idx].1.insert(i(st, "pod"), s(st, "state"));
        }
        for (svc, want) in states {
            let got = e.get_service_state(&ns, &svc).await?;
            self.expect(&format!("get_service_state({svc})"), want, got);
        }
        // Pod loads.
        let mut loads: Vec<(String, BTreeMap<i64, String>)> = Vec::new();
        for l in section(&doc, "pod_loads") {
            let svc = s(l, "svc");
            let idx = match loads.iter().position(|(k, _)| *k == svc) {
                Some(idx) => idx,
                None => {
                    loads.push((svc, BTreeMap::new()));
                    loads.len() - 1
                }
            };
            loads[idx].1.insert(
                i(l, "pod"),
                format!("load={} state={}", i(l, "load"), i(l, "state")),
            );
        }
        let (secs, micros): (String, String) =
            redis::cmd("TIME").query_async(&mut self.raw).await?;
        let now_ms = secs.parse::<i64>()? * 1000 + micros.parse::<i64>()? / 1000;
        for (svc, want) in loads {
            let got = e.get_pod_loads(&ns, &svc, None).await?;
            let mut have = BTreeMap::new();
            for (pod, v) in got {
                have.insert(pod, format!("load={} state={}", v.load, v.state));
                if v.updated_ms <= 0 || v.updated_ms > now_ms {
                    self.differences.push(format!(
                        "get_pod_loads({svc}) pod {pod}: updated_ms {} is not in (0, server now {now_ms}]",
                        v.updated_ms
                    ));
                }
            }
            self.expect(&format!("get_pod_loads({svc})"), want, have);
        }
        // Workload states.
        let workloads: BTreeMap<String, String> = section(&doc, "workload_states")
            .iter()
            .map(|w| (s(w, "svc"), s(w, "state")))
            .collect();
        let mut svc_list = self.services();
        for x in doc["absent"]["services"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            svc_list.push(x.as_str().unwrap_or_default().to_string());
        }
        for svc in &svc_list {
            let got = e.get_workload_state(&ns, svc).await?;
            self.expect(
                &format!("get_workload_state({svc})"),
                workloads.get(svc).cloned(),
                got,
            );
        }
        let got = e.get_workload_states(&ns, &svc_list).await?;
        self.expect("get_workload_states", workloads, got);
        Ok(())
    }
}

async fn run(args: Args) -> Result<Vec<String>, BoxError> {
    let doc: Value = serde_json::from_slice(&std::fs::read(&args.fixture)?)?;
    let config = Config::builder()
        .url(args.url.clone())
        .key_schema(args.schema)
        .build()?;
    let exec = Executor::connect(config).await?;
    let client = redis::Client::open(args.url.as_str())?;
    let raw = client.get_multiplexed_async_connection().await?;
    let mut fx = Fixture {
        doc,
        ns: args.ns.clone(),
        schema: args.schema.schema(),
        exec,
        raw,
        differences: Vec::new(),
    };
    if args.command == "write-fixture" {
        fx.write().await?;
    } else {
        fx.check().await?;
    }
    Ok(fx.differences)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let what = format!("{} schema={:?} ns={}", args.command, args.schema, args.ns);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(diffs) if diffs.is_empty() => {
            println!("OK {what}");
            ExitCode::SUCCESS
        }
        Ok(diffs) => {
            for d in &diffs {
                println!("DIFF {d}");
            }
            eprintln!("{} difference(s) in {what}", diffs.len());
            ExitCode::from(1)
        }
        Err(err) => {
            eprintln!("error: {what}: {err}");
            ExitCode::from(2)
        }
    }
}
