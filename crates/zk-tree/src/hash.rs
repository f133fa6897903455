//! A small, fast, platform-independent 64-bit hash (folded multiply, as in foldhash and
//! aHash's fallback). The tree uses it twice: seeded, for the child index, and with fixed
//! constants, for the replica digest. std's `RandomState` is never used: layouts and
//! digests must not depend on a process-wide random seed.

/// Multiplier constants (digits of pi), as used by foldhash.
const MULTIPLIER: u64 = 0x243f_6a88_85a3_08d3;
const FINISH: u64 = 0x1319_8a2e_0370_7344;

/// The 128-bit product of `a` and `b`, folded to 64 bits by xor of its halves.
fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

/// An incremental hasher. Bytes are read little-endian, so the result is the same on every
/// platform.
#[derive(Debug, Clone, Copy)]
pub struct Mixer {
    state: u64,
}

impl Mixer {
    /// A hasher whose output depends on `seed`.
    pub fn new(seed: u64) -> Self {
        Mixer {
            state: folded_multiply(seed ^ MULTIPLIER, FINISH),
        }
    }

    /// Mixes in one 64-bit word.
    pub fn word(&mut self, word: u64) -> &mut Self {
        self.state = folded_multiply(self.state ^ word, MULTIPLIER);
        self
    }

    /// Mixes in a byte string, length included, so that `("ab", "c")` and `("a", "bc")`
    /// hash differently.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.word(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(word));
        }
        self.word(bytes.len() as u64)
    }

    /// The hash of everything mixed in so far.
    pub fn finish(&self) -> u64 {
        folded_multiply(self.state, FINISH).rotate_left(23)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_input_same_hash_and_boundaries_matter() {
        let hash = |parts: &[&[u8]]| {
            let mut mixer = Mixer::new(7);
            for part in parts {
                mixer.bytes(part);
            }
            mixer.finish()
        };
        assert_eq!(hash(&[b"abc", b"d"]), hash(&[b"abc", b"d"]));
        assert_ne!(hash(&[b"abc", b"d"]), hash(&[b"ab", b"cd"]));
        assert_ne!(hash(&[b""]), hash(&[b"\0"]));
        assert_ne!(hash(&[b"12345678"]), hash(&[b"123456789"]));
    }

    #[test]
    fn seed_changes_the_hash() {
        let a = Mixer::new(1).bytes(b"node").finish();
        let b = Mixer::new(2).bytes(b"node").finish();
        assert_ne!(a, b);
    }

    #[test]
    fn output_is_pinned_across_platforms() {
        // A change here changes every replica digest: bump the snapshot format version.
        assert_eq!(Mixer::new(0).bytes(b"/zookeeper").finish(), PINNED);
    }

    const PINNED: u64 = 16435790445939526535;
}
