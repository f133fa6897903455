//! The tree digest: a cheap fingerprint to compare replicas, kept up to date on every
//! change.
//!
//! The digest is the wrapping sum, over all znodes, of two hashes: one of (path, data) and
//! one of (path, stat, number of children). Being a sum, it does not depend on the order
//! nodes were added or how they are laid out in memory, and a change to one node adjusts it
//! in O(path) time: a child create or delete rehashes the parent's stat but never the
//! parent's data, which may be large. The hash is fixed (no seed), so every replica and
//! platform computes the same value.

use crate::hash::Mixer;
use crate::stat::StatPersisted;

const DATA_SEED: u64 = 0x6461_7461;
const STAT_SEED: u64 = 0x7374_6174;

/// The (path, data) part of a node's digest. Null data differs from empty data.
pub fn data_part(path: &str, data: Option<&[u8]>) -> u64 {
    let mut mixer = Mixer::new(DATA_SEED);
    mixer.bytes(path.as_bytes());
    match data {
        None => mixer.word(0),
        Some(data) => mixer.word(1).bytes(data),
    };
    mixer.finish()
}

/// The (path, stat) part of a node's digest.
pub fn stat_part(path: &str, stat: &StatPersisted, num_children: u32) -> u64 {
    let mut mixer = Mixer::new(STAT_SEED);
    mixer
        .bytes(path.as_bytes())
        .word(stat.czxid as u64)
        .word(stat.mzxid as u64)
        .word(stat.pzxid as u64)
        .word(stat.ctime as u64)
        .word(stat.mtime as u64)
        .word(u64::from(stat.version as u32) << 32 | u64::from(stat.cversion as u32))
        .word(u64::from(stat.aversion as u32) << 32 | u64::from(num_children))
        .word(stat.ephemeral_owner as u64);
    mixer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_see_every_field() {
        let stat = StatPersisted::default();
        let base = stat_part("/a", &stat, 0);
        assert_ne!(base, stat_part("/b", &stat, 0));
        assert_ne!(base, stat_part("/a", &stat, 1));
        let fields: [fn(&mut StatPersisted); 9] = [
            |s| s.czxid = 1,
            |s| s.mzxid = 1,
            |s| s.pzxid = 1,
            |s| s.ctime = 1,
            |s| s.mtime = 1,
            |s| s.version = 1,
            |s| s.cversion = 1,
            |s| s.aversion = 1,
            |s| s.ephemeral_owner = 1,
        ];
        for change in fields {
            let mut changed = stat;
            change(&mut changed);
            assert_ne!(base, stat_part("/a", &changed, 0));
        }
        assert_ne!(data_part("/a", None), data_part("/a", Some(b"")));
        assert_ne!(data_part("/a", Some(b"x")), data_part("/a", Some(b"y")));
    }
}
