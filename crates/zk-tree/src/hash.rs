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
            self.word(partial_word(rest));
        }
        self.word(bytes.len() as u64)
    }

    /// The hash of everything mixed in so far.
    pub fn finish(&self) -> u64 {
        folded_multiply(self.state, FINISH).rotate_left(23)
    }
}

/// The 1 to 7 bytes of `rest` as a little-endian word padded with zero bytes, read with
/// (possibly overlapping) fixed-size loads. Copying them into a zeroed buffer instead
/// calls memcpy and then stalls the 8-byte read of that buffer on the partial stores;
/// every index lookup and digest update hashes such a tail.
fn partial_word(rest: &[u8]) -> u64 {
    let len = rest.len();
    debug_assert!((1..8).contains(&len));
    let u32_at = |at: usize| {
        let mut word = [0u8; 4];
        word.copy_from_slice(&rest[at..at + 4]);
        u64::from(u32::from_le_bytes(word))
    };
    if len >= 4 {
        // Bytes 0..4 and len-4..len; where they overlap both hold the same bytes.
        u32_at(0) | u32_at(len - 4) << ((len - 4) * 8)
    } else {
        // Bytes 0, len/2 and len-1 cover all of 1 to 3 bytes.
        let byte_at = |at: usize| u64::from(rest[at]) << (at * 8);
        byte_at(0) | byte_at(len / 2) | byte_at(len - 1)
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
    fn partial_words_are_the_zero_padded_bytes() {
        let bytes = [0x11u8, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77];
        for len in 1..8 {
            let mut padded = [0u8; 8];
            padded[..len].copy_from_slice(&bytes[..len]);
            assert_eq!(
                partial_word(&bytes[..len]),
                u64::from_le_bytes(padded),
                "{len} bytes"
            );
        }
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
