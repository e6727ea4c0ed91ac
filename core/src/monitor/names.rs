//! The bounded set of application operation names (`record_operation`).
//!
//! At most [`MAX_APP_OPERATIONS`] distinct names get a slot of their own; later
//! names, and names that are empty, longer than [`MAX_NAME_LEN`] bytes or contain
//! characters outside `[A-Za-z0-9_.:-]`, are counted under [`OTHER`]. This bounds
//! memory and the Prometheus label set whatever the application does.
//!
//! Lookup is lock-free and allocates nothing: an open-addressing table of
//! write-once cells. Only the first sighting of a name takes a (registration-only)
//! mutex and allocates its copy. A name equal to a built-in operation's records
//! into that operation's slot.
//!
//! Indexes returned are monitor slots: built-in operations `0..17`, application
//! names from [`APP_BASE`], and [`OTHER_SLOT`] last.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::operation::Operation;

/// First slot of application names.
pub const APP_BASE: usize = Operation::ALL.len();
/// The slot of [`OTHER`].
pub const OTHER_SLOT: usize = APP_BASE + MAX_APP_OPERATIONS;

/// Most distinct application operation names.
pub const MAX_APP_OPERATIONS: usize = 64;
/// Longest application operation name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// The name under which names beyond the cap (or invalid ones) are counted.
pub const OTHER: &str = "other";

const TABLE: usize = 256; // power of two, > 2 * (MAX_APP_OPERATIONS + 17)

/// Name → monitor slot.
pub struct NameRegistry {
    table: [OnceLock<(Box<str>, usize)>; TABLE],
    by_index: [OnceLock<Box<str>>; MAX_APP_OPERATIONS],
    register: Mutex<usize>,
    full: AtomicBool,
}

impl Default for NameRegistry {
    fn default() -> Self {
        NameRegistry {
            table: std::array::from_fn(|_| OnceLock::new()),
            by_index: std::array::from_fn(|_| OnceLock::new()),
            register: Mutex::new(0),
            full: AtomicBool::new(false),
        }
    }
}

/// Whether a name may have a slot of its own.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

#[inline]
fn hash(name: &str) -> usize {
    // FNV-1a: short names, no allocation, no keyed hasher needed (the set is capped).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as usize
}

impl NameRegistry {
    /// The slot of `name`, registering it if there is room.
    #[inline]
    pub fn index_of(&self, name: &str) -> usize {
        if let Some(i) = self.find(name) {
            return i;
        }
        self.register(name)
    }

    #[inline]
    pub fn find(&self, name: &str) -> Option<usize> {
        let start = hash(name);
        for probe in 0..TABLE {
            match self.table[(start + probe) & (TABLE - 1)].get() {
                Some((n, i)) if &**n == name => return Some(*i),
                Some(_) => continue,
                None => return None,
            }
        }
        None
    }

    #[cold]
    fn register(&self, name: &str) -> usize {
        let builtin = Operation::from_name(name);
        if builtin.is_none()
            && (self.full.load(Ordering::Relaxed) || !valid_name(name) || name == OTHER)
        {
            return OTHER_SLOT;
        }
        let mut next = self.register.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = self.find(name) {
            return i;
        }
        let slot = match builtin {
            Some(op) => op.index(),
            None if *next >= MAX_APP_OPERATIONS => {
                self.full.store(true, Ordering::Relaxed);
                return OTHER_SLOT;
            }
            None => APP_BASE + *next,
        };
        let start = hash(name);
        for probe in 0..TABLE {
            let cell = &self.table[(start + probe) & (TABLE - 1)];
            if cell.get().is_none() {
                if builtin.is_none() {
                    let _ = self.by_index[*next].set(name.into());
                    *next += 1;
                }
                let _ = cell.set((name.into(), slot));
                return slot;
            }
        }
        OTHER_SLOT
    }

    /// The name of a slot, if it has one yet.
    pub fn name(&self, slot: usize) -> Option<&str> {
        if slot < APP_BASE {
            return Some(Operation::ALL[slot].name());
        }
        if slot == OTHER_SLOT {
            return Some(OTHER);
        }
        self.by_index.get(slot - APP_BASE)?.get().map(|n| &**n)
    }

    /// The slot of a name already seen (no registration).
    pub fn slot_of(&self, name: &str) -> Option<usize> {
        if name == OTHER {
            return Some(OTHER_SLOT);
        }
        Operation::from_name(name)
            .map(Operation::index)
            .or_else(|| self.find(name))
    }

    /// Application names registered so far.
    pub fn len(&self) -> usize {
        self.by_index
            .iter()
            .take_while(|c| c.get().is_some())
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_capped_and_stable() {
        let r = NameRegistry::default();
        let a = r.index_of("login");
        assert_eq!(a, APP_BASE);
        assert_eq!(r.index_of("login"), a);
        assert_eq!(r.name(a), Some("login"));
        assert_eq!(
            r.index_of("get_linked_pod"),
            Operation::GetLinkedPod.index()
        );
        for i in 0..100 {
            r.index_of(&format!("op{i}"));
        }
        assert_eq!(r.len(), MAX_APP_OPERATIONS);
        assert_eq!(r.index_of("op99"), OTHER_SLOT);
        assert_eq!(r.index_of("bad name"), OTHER_SLOT);
        assert_eq!(r.index_of(""), OTHER_SLOT);
        assert_eq!(
            r.index_of("set_linked_pod"),
            Operation::SetLinkedPod.index()
        );
        assert_eq!(r.name(OTHER_SLOT), Some(OTHER));
        assert_eq!(r.slot_of("op3"), Some(APP_BASE + 4));
    }
}
