//! The two forms a znode's stat is stored in, inside its payload.
//!
//! Most znodes are created and never changed: their stat is their creation (`czxid`,
//! `ctime`) and nothing else (`mzxid` and `pzxid` equal `czxid`, `mtime` equals `ctime`,
//! the versions are 0, the owner is 0). Those store 16 bytes ([`StatForm::Created`]);
//! every other znode stores all 60 ([`StatForm::Full`]). At a million znodes of 100
//! bytes, the short form saves 44 MB of the server's resident memory.
//!
//! Both forms are little-endian integers in field order, read and written through byte
//! arrays (the payload holding them has no alignment).

use crate::stat::StatPersisted;

/// How a stat is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatForm {
    /// `czxid` and `ctime` only; everything else follows from them.
    Created,
    /// Every field.
    Full,
}

/// The bytes of [`StatForm::Created`].
pub const CREATED_LEN: usize = 16;
/// The bytes of [`StatForm::Full`].
pub const FULL_LEN: usize = 60;

impl StatForm {
    /// The shortest form that holds `stat` exactly.
    #[inline]
    pub fn of(stat: &StatPersisted) -> StatForm {
        let unchanged_since_creation = stat.mzxid == stat.czxid
            && stat.pzxid == stat.czxid
            && stat.mtime == stat.ctime
            && stat.version == 0
            && stat.cversion == 0
            && stat.aversion == 0
            && stat.ephemeral_owner == 0;
        if unchanged_since_creation {
            StatForm::Created
        } else {
            StatForm::Full
        }
    }

    /// Its length in bytes.
    #[inline]
    pub fn len(self) -> usize {
        match self {
            StatForm::Created => CREATED_LEN,
            StatForm::Full => FULL_LEN,
        }
    }

    /// Writes `stat` (whose form is `self`) into `out`, exactly [`StatForm::len`] bytes.
    pub fn write(self, stat: &StatPersisted, out: &mut [u8]) {
        debug_assert_eq!(StatForm::of(stat), self);
        let mut writer = FieldWriter { out, at: 0 };
        writer.i64(stat.czxid);
        if self == StatForm::Full {
            writer.i64(stat.mzxid);
            writer.i64(stat.pzxid);
        }
        writer.i64(stat.ctime);
        if self == StatForm::Full {
            writer.i64(stat.mtime);
            writer.i32(stat.version);
            writer.i32(stat.cversion);
            writer.i32(stat.aversion);
            writer.i64(stat.ephemeral_owner);
        }
        debug_assert_eq!(writer.at, self.len());
    }

    /// Reads a stat written by [`StatForm::write`] from the first [`StatForm::len`] bytes
    /// of `bytes`.
    #[inline]
    pub fn read(self, bytes: &[u8]) -> StatPersisted {
        match self {
            StatForm::Created => {
                let czxid = i64_at(bytes, 0);
                let ctime = i64_at(bytes, 8);
                StatPersisted {
                    czxid,
                    mzxid: czxid,
                    pzxid: czxid,
                    ctime,
                    mtime: ctime,
                    version: 0,
                    cversion: 0,
                    aversion: 0,
                    ephemeral_owner: 0,
                }
            }
            StatForm::Full => StatPersisted {
                czxid: i64_at(bytes, 0),
                mzxid: i64_at(bytes, 8),
                pzxid: i64_at(bytes, 16),
                ctime: i64_at(bytes, 24),
                mtime: i64_at(bytes, 32),
                version: i32_at(bytes, 40),
                cversion: i32_at(bytes, 44),
                aversion: i32_at(bytes, 48),
                ephemeral_owner: i64_at(bytes, 52),
            },
        }
    }
}

struct FieldWriter<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl FieldWriter<'_> {
    fn i64(&mut self, value: i64) {
        self.out[self.at..self.at + 8].copy_from_slice(&value.to_le_bytes());
        self.at += 8;
    }

    fn i32(&mut self, value: i32) {
        self.out[self.at..self.at + 4].copy_from_slice(&value.to_le_bytes());
        self.at += 4;
    }
}

#[inline]
fn i64_at(bytes: &[u8], at: usize) -> i64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    i64::from_le_bytes(word)
}

#[inline]
fn i32_at(bytes: &[u8], at: usize) -> i32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    i32::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::Zxid;

    fn round_trip(stat: StatPersisted) -> StatForm {
        let form = StatForm::of(&stat);
        let mut bytes = vec![0xa5; form.len()];
        form.write(&stat, &mut bytes);
        assert_eq!(form.read(&bytes), stat);
        form
    }

    #[test]
    fn a_created_znode_stores_16_bytes() {
        let stat = StatPersisted::created(Zxid(0x1_0000_0042), 1_700_000_000_123, 0);
        assert_eq!(round_trip(stat), StatForm::Created);
        assert_eq!(round_trip(StatPersisted::default()), StatForm::Created);
    }

    #[test]
    fn any_change_since_creation_stores_every_field() {
        let created = StatPersisted::created(Zxid(7), 1000, 0);
        let changes: [fn(&mut StatPersisted); 8] = [
            |s| s.mzxid = 8,
            |s| s.pzxid = 8,
            |s| s.mtime = 1001,
            |s| s.version = 1,
            |s| s.cversion = -1,
            |s| s.aversion = 1,
            |s| s.ephemeral_owner = 0x1234,
            |s| s.ephemeral_owner = crate::stat::CONTAINER_EPHEMERAL_OWNER,
        ];
        for change in changes {
            let mut stat = created;
            change(&mut stat);
            assert_eq!(round_trip(stat), StatForm::Full, "{stat:?}");
        }
        let extremes = StatPersisted {
            czxid: i64::MIN,
            mzxid: i64::MAX,
            pzxid: -1,
            ctime: i64::MAX,
            mtime: i64::MIN,
            version: i32::MIN,
            cversion: i32::MAX,
            aversion: -1,
            ephemeral_owner: i64::MIN + 1,
        };
        assert_eq!(round_trip(extremes), StatForm::Full);
    }
}
