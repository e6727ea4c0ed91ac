//! The Lua scripts, kept as readable files under `src/scripts/` and embedded at
//! build time. Each is loaded once (`SCRIPT LOAD`) and run with `EVALSHA`; a
//! `NOSCRIPT` reply (after `SCRIPT FLUSH` or a restart) reloads it and runs it
//! again without the caller noticing.
//!
//! Every script is sent as [`prelude_header`] + `prelude.lua` + its own file:
//! the prelude holds the helpers that check types and pod ids before any write
//! (see `docs/decisions.md`), and its header takes the largest pod id from
//! [`MAX_POD`], the one constant that sets it.

use once_cell::sync::Lazy;
use once_cell::sync::OnceCell;
use serde::{Deserialize, Serialize};

use crate::validate::MAX_POD;

const PRELUDE: &str = include_str!("scripts/prelude.lua");

/// The first line of every script: the pod id range, from [`MAX_POD`].
pub fn prelude_header() -> String {
    format!("local MAX_POD = '{MAX_POD}'\n")
}

/// One embedded script and its SHA1 digest.
pub struct LuaScript {
    pub name: &'static str,
    /// The full text sent to the server: header, prelude and the script.
    pub source: String,
    sha: OnceCell<String>,
}

impl LuaScript {
    fn new(name: &'static str, body: &str) -> LuaScript {
        LuaScript {
            name,
            source: format!("{}{PRELUDE}\n{body}", prelude_header()),
            sha: OnceCell::new(),
        }
    }

    /// Hex SHA1 of the source, as `EVALSHA` expects it.
    pub fn sha(&self) -> &str {
        self.sha
            .get_or_init(|| redis::Script::new(&self.source).get_hash().to_string())
    }
}

macro_rules! script {
    ($ident:ident, $file:literal) => {
        pub static $ident: Lazy<LuaScript> =
            Lazy::new(|| LuaScript::new($file, include_str!(concat!("scripts/", $file, ".lua"))));
    };
}

script!(SET_LINKED_POD, "set_linked_pod");
script!(TRY_SET_LINKED_POD, "try_set_linked_pod");
script!(SET_LINKED_POD_IF_ABSENT, "set_linked_pod_if_absent");
script!(REMOVE_LINKED_POD, "remove_linked_pod");
script!(SET_POD_LOAD, "set_pod_load");
script!(READ_POD_LOADS, "read_pod_loads");
script!(READ_PERSISTENT_LINK, "read_persistent_link");

/// Every script, for preloading.
pub fn all() -> [&'static LuaScript; 7] {
    [
        &SET_LINKED_POD,
        &TRY_SET_LINKED_POD,
        &SET_LINKED_POD_IF_ABSENT,
        &REMOVE_LINKED_POD,
        &SET_POD_LOAD,
        &READ_POD_LOADS,
        &READ_PERSISTENT_LINK,
    ]
}

/// What `optimize_lua_scripts` did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptsReport {
    /// Scripts of the library.
    pub scripts: u64,
    /// Scripts the server did not have (`SCRIPT EXISTS`), by name.
    pub missing_before: Vec<String>,
    /// Scripts loaded (`SCRIPT LOAD`; every script is loaded, loading is idempotent).
    pub loaded: u64,
    /// `NOSCRIPT` reloads seen in the current period.
    pub noscript_reloads: u64,
    pub changed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_starts_with_the_pod_range_of_the_core() {
        for script in all() {
            assert!(
                script
                    .source
                    .starts_with(&format!("local MAX_POD = '{MAX_POD}'\n")),
                "{}",
                script.name
            );
            assert_eq!(script.sha().len(), 40);
        }
    }
}
