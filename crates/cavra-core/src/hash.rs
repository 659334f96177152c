//! Hash maps and sets for the engine's own lookups (verb lists, the shell walk's variables and
//! seen commands, a pack's rules by program): foldhash instead of the standard library's SipHash,
//! which cost 3–5 % of a batch evaluation in hashing alone. The seed is random per process, as
//! the standard library's is, so keys an agent chooses cannot be aimed at one bucket.

/// A [`std::collections::HashMap`] with foldhash.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A [`std::collections::HashSet`] with foldhash.
pub(crate) type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// A 64-bit hash of `value` (foldhash, this process's seed), to drop repeats by key.
pub(crate) fn hash_one<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    use std::hash::BuildHasher;
    static STATE: std::sync::LazyLock<foldhash::quality::RandomState> =
        std::sync::LazyLock::new(foldhash::quality::RandomState::default);
    STATE.hash_one(value)
}
