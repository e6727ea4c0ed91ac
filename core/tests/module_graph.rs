//! The top-level modules of the core (`config`, `executor`, `keys`, `monitor`,
//! ...) must not import each other in a cycle: each concern has one home, and
//! the layers read one way (see "Modules of the core" in
//! `docs/architecture.md`). This reads every `core/src/**/*.rs`, takes each
//! path to another top-level module (`crate::pool::...`, `crate::{a, b::c}`,
//! `super::x` from a top-level file, and names the crate root re-exports, such
//! as `crate::Executor`) and fails on any cycle, naming it.
//!
//! Comments and a file's unit tests (from its `#[cfg(test)]` on) are not read:
//! test code may reach any module. A module's own files (`executor/*.rs`) are
//! one node; `lib.rs`, the crate root that declares and re-exports everything,
//! is none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn top_level_modules_import_each_other_in_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    // Not vacuous: a few imports every version of the core has.
    for (from, to) in [
        ("executor", "pool"),
        ("ops", "executor"),
        ("pool", "connection"),
    ] {
        assert!(
            graph.get(from).is_some_and(|deps| deps.contains(to)),
            "the reader missed {from} -> {to}: {graph:#?}"
        );
    }
    let cycles = cycles(&graph);
    assert!(
        cycles.is_empty(),
        "top-level modules of the core import each other in a cycle:\n{}\n\
         Move what both need into a module below them (see docs/architecture.md).",
        cycles
            .iter()
            .map(|c| format!("  {}", c.join(" -> ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn a_cycle_is_found_and_named() {
    let mut graph = Graph::new();
    let mut edge = |a: &str, b: &str| {
        graph.entry(a.into()).or_default().insert(b.into());
    };
    edge("a", "b");
    edge("b", "c");
    edge("c", "a");
    edge("c", "d");
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c", "a"]]);
}

#[test]
fn paths_are_read_in_every_form() {
    let modules: BTreeSet<String> = ["config", "error", "executor", "keys", "pool"]
        .into_iter()
        .map(String::from)
        .collect();
    let reexports = BTreeMap::from([("Executor".to_string(), "executor".to_string())]);
    let code = "use crate::{config::Config, error::{Error, Result}};\n\
                let s = crate::keys::encode(kind, name); // crate::monitor\n\
                let x: crate::Executor = todo!(); let u = \"crate::pool\";\n\
                #[cfg(test)]\nuse crate::pool::Pool;\n";
    let found = imports(code, &["executor"], &modules, &reexports);
    let expected: BTreeSet<String> = ["config", "error", "keys", "executor"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(found, expected);
    let from_top = imports(
        "use super::keys::KeySchema;",
        &["config"],
        &modules,
        &reexports,
    );
    assert!(from_top.contains("keys"));
    let nested = imports(
        "use super::Options;",
        &["config", "tls"],
        &modules,
        &reexports,
    );
    assert!(nested.is_empty(), "{nested:?}");
}

/// Top-level module -> the other top-level modules it names.
fn module_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_path(src, f))
        .map(|path| path[0].clone())
        .collect();
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let reexports = root_reexports(&lib, &modules);
    let mut graph = Graph::new();
    for file in &files {
        let Some(path) = module_path(src, file) else {
            continue;
        };
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let code = std::fs::read_to_string(file).unwrap();
        let deps = graph.entry(path[0].to_string()).or_default();
        for dep in imports(&code, &path, &modules, &reexports) {
            if dep != path[0] {
                deps.insert(dep);
            }
        }
    }
    graph
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `executor/transport.rs` -> `[executor, transport]`; `pool.rs` and
/// `config/mod.rs` -> `[pool]`, `[config]`; `lib.rs` -> none.
fn module_path(src: &Path, file: &Path) -> Option<Vec<String>> {
    let relative = file.strip_prefix(src).ok()?.with_extension("");
    let mut path: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if path.last().is_some_and(|last| last == "mod") {
        path.pop();
    }
    (path != ["lib"]).then_some(path)
}

/// Names the crate root re-exports (`pub use executor::{Executor, ...};`),
/// with the module each comes from.
fn root_reexports(lib: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for statement in code_of(lib).split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        if !modules.contains(module) {
            continue;
        }
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = item.rsplit("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                names.insert(name.to_string(), module.to_string());
            }
        }
    }
    names
}

/// The top-level modules `code`, a file of module `path`, names.
fn imports(
    code: &str,
    path: &[&str],
    modules: &BTreeSet<String>,
    reexports: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let code = code_of(code);
    let mut found = BTreeSet::new();
    let mut name_at = |rest: &str| {
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if modules.contains(&ident) {
            found.insert(ident);
        } else if let Some(module) = reexports.get(&ident) {
            found.insert(module.clone());
        }
    };
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `some_crate::`, `$crate::`
        }
        let rest = &code[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => top_level_items(group).into_iter().for_each(&mut name_at),
            None => name_at(rest),
        }
    }
    // `super::` leaves the module only from a top-level file, to the root.
    if path.len() == 1 {
        for (at, _) in code.match_indices("super::") {
            let rest = &code[at + "super::".len()..];
            match rest.strip_prefix('{') {
                Some(group) => top_level_items(group).into_iter().for_each(&mut name_at),
                None => name_at(rest),
            }
        }
    }
    found
}

/// The items of a `{a, b::{c, d}, e}` group (given after its `{`), each from
/// its first name on.
fn top_level_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(group[start..i].trim_start());
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(group[start..i].trim_start());
                start = i + 1;
            }
            _ => {}
        }
    }
    items
}

/// The code of a file up to its unit tests, without comments and the text of
/// string literals.
fn code_of(file: &str) -> String {
    let mut code = String::new();
    for line in file.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let mut in_string = false;
        let mut escaped = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_string {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        in_string = false;
                        code.push('"');
                    }
                    _ => {}
                }
                continue;
            }
            match c {
                // The character literal '"' opens no string.
                '\'' if chars.clone().take(2).eq(['"', '\'']) => {
                    chars.nth(1);
                }
                '"' => {
                    in_string = true;
                    code.push('"');
                }
                '/' if chars.peek() == Some(&'/') => break,
                c => code.push(c),
            }
        }
        code.push('\n');
    }
    code
}

/// Every cycle of the graph, each once: from its smallest module back to it.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        // Depth-first search for paths from `start` back to it through
        // modules greater than `start` (so each cycle is found from its
        // smallest module only).
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((node, path)) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    let mut cycle = path.clone();
                    cycle.push(start.clone());
                    found.insert(cycle);
                } else if next > start && !path.contains(next) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    found.into_iter().collect()
}
