//! The Lua scripts, kept as readable files under `src/scripts/` and embedded at
//! build time. Each is loaded once (`SCRIPT LOAD`) and run with `EVALSHA`; a
//! `NOSCRIPT` reply (after `SCRIPT FLUSH` or a restart) reloads it and runs it
//! again without the caller noticing.

use once_cell::sync::OnceCell;

/// One embedded script and its SHA1 digest.
pub struct LuaScript {
    pub name: &'static str,
    pub source: &'static str,
    sha: OnceCell<String>,
}

impl LuaScript {
    const fn new(name: &'static str, source: &'static str) -> LuaScript {
        LuaScript {
            name,
            source,
            sha: OnceCell::new(),
        }
    }

    /// Hex SHA1 of the source, as `EVALSHA` expects it.
    pub fn sha(&self) -> &str {
        self.sha
            .get_or_init(|| redis::Script::new(self.source).get_hash().to_string())
    }
}

macro_rules! script {
    ($ident:ident, $file:literal) => {
        pub static $ident: LuaScript =
            LuaScript::new($file, include_str!(concat!("scripts/", $file, ".lua")));
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
