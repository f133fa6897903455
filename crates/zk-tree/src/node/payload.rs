//! A znode's name and data in one heap allocation behind a thin (8-byte) pointer.
//!
//! `Box<[u8]>` would cost 16 bytes in every node (pointer and length). Here the lengths
//! live at the front of the allocation instead, as LEB128 varints (7 bits per byte):
//!
//! ```text
//! varint(name_len << 1 | data_is_null)  name  varint(data_len)  data
//! ```
//!
//! A name under 64 bytes and data under 128 bytes take 2 bytes of header, which usually
//! fits in what the allocator rounds up anyway: jemalloc's size classes near 100 bytes are
//! 16 apart, so a 10-byte name and 100 bytes of data (110, plus 2) fill the 112-byte class
//! exactly, as a bare `Box<[u8]>` of 110 bytes did.
//!
//! Soundness rests on one invariant, kept by every constructor: `bytes` is either `None`
//! or the start of a leaked `Box<[u8]>` whose bytes begin with a well-formed header and
//! whose length is exactly what that header describes. The bytes are never changed after
//! creation, and each allocation is owned by exactly one `Payload`, which frees it on drop.

use std::fmt;
use std::ptr::NonNull;

/// The bytes of a znode's name and data.
///
/// Packed to 4-byte alignment, so that a [`Node`](super::Node), whose other fields are all
/// 4-byte aligned, is 92 bytes rather than 96. The pointer is only ever copied out of the
/// field (never borrowed), which the compiler reads unaligned where needed.
#[repr(C, packed(4))]
pub struct Payload {
    /// `None` for an empty name with null data (a freed slot needs no allocation).
    bytes: Option<NonNull<u8>>,
}

// SAFETY: a `Payload` owns its allocation exclusively, like a `Box<[u8]>`, and never
// changes the bytes after creating them, so moving it to or sharing it with another thread
// is as safe as doing so with a `Box<[u8]>`.
unsafe impl Send for Payload {}
// SAFETY: see `Send`; `&Payload` only reads immutable bytes.
unsafe impl Sync for Payload {}

/// Where the data of a payload is, decoded from its header.
struct Parts {
    data_is_null: bool,
    data_start: usize,
    data_len: usize,
}

impl Parts {
    fn total_len(&self) -> usize {
        self.data_start + self.data_len
    }
}

impl Payload {
    /// The empty name with null data, without an allocation.
    pub const EMPTY: Payload = Payload { bytes: None };

    /// `name` followed by `data`, in one allocation of their length plus the header.
    pub fn new(name: &[u8], data: Option<&[u8]>) -> Payload {
        if name.is_empty() && data.is_none() {
            return Payload::EMPTY;
        }
        let data_bytes = data.unwrap_or_default();
        let name_word = (name.len() as u64) << 1 | u64::from(data.is_none());
        let data_word = data_bytes.len() as u64;
        let len = varint_len(name_word) + name.len() + varint_len(data_word) + data_bytes.len();
        let mut bytes = Vec::with_capacity(len);
        push_varint(&mut bytes, name_word);
        bytes.extend_from_slice(name);
        push_varint(&mut bytes, data_word);
        bytes.extend_from_slice(data_bytes);
        debug_assert_eq!(bytes.len(), len);
        Payload::from_encoded(bytes.into_boxed_slice())
    }

    /// Takes ownership of `encoded`, which must hold a well-formed header followed by
    /// exactly the name and data it describes.
    fn from_encoded(encoded: Box<[u8]>) -> Payload {
        debug_assert!(!encoded.is_empty());
        let leaked: &'static mut [u8] = Box::leak(encoded);
        Payload {
            bytes: Some(NonNull::from(leaked).cast::<u8>()),
        }
    }

    /// The name's bytes. Reads only the first varint: the index compares names, and the
    /// snapshot sorts siblings by name, far more often than anything reads the data.
    #[inline]
    pub fn name(&self) -> &[u8] {
        let Some(start) = self.bytes else {
            return &[];
        };
        // SAFETY: by the type's invariant the allocation at `start` begins with a complete
        // varint followed by the name bytes it counts; the slice covers exactly those and
        // lives as long as `self`.
        unsafe {
            let (name_word, header_len) = read_varint(start.as_ptr());
            std::slice::from_raw_parts(start.as_ptr().add(header_len), (name_word >> 1) as usize)
        }
    }

    /// The data; `None` when null.
    #[inline]
    pub fn data(&self) -> Option<&[u8]> {
        match self.decode() {
            None => None,
            Some((_, parts)) if parts.data_is_null => None,
            Some((bytes, parts)) => Some(&bytes[parts.data_start..parts.total_len()]),
        }
    }

    /// The data's length (0 for null).
    #[inline]
    pub fn data_len(&self) -> usize {
        self.decode().map_or(0, |(_, parts)| parts.data_len)
    }

    /// The whole allocation and where its parts are; `None` for [`Payload::EMPTY`].
    #[inline]
    fn decode(&self) -> Option<(&[u8], Parts)> {
        let start = { self.bytes }?;
        // SAFETY: by the type's invariant `start` begins a live allocation holding a
        // well-formed header followed by the name and data it describes. `read_header`
        // reads only header bytes, each after the ones that announce it, and the slice
        // covers exactly the allocation, which lives as long as `self`.
        unsafe {
            let parts = read_header(start);
            let bytes = std::slice::from_raw_parts(start.as_ptr(), parts.total_len());
            Some((bytes, parts))
        }
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        let Some(start) = self.bytes else {
            return;
        };
        self.bytes = None;
        // SAFETY: by the type's invariant `start` is the start of a leaked `Box<[u8]>` of
        // the length its header describes, owned by this payload alone; clearing the field
        // above makes sure it is rebuilt (and freed) once.
        unsafe {
            let len = read_header(start).total_len();
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                start.as_ptr(),
                len,
            )));
        }
    }
}

impl Clone for Payload {
    fn clone(&self) -> Self {
        match self.decode() {
            None => Payload::EMPTY,
            // The same bytes are the same well-formed encoding.
            Some((bytes, _)) => Payload::from_encoded(bytes.into()),
        }
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payload")
            .field("name", &String::from_utf8_lossy(self.name()))
            .field("data_len", &self.data().map(<[u8]>::len))
            .finish()
    }
}

/// Decodes the header at `start`.
///
/// # Safety
///
/// `start` must begin a live allocation made by [`Payload::new`] (or a copy of one).
#[inline]
unsafe fn read_header(start: NonNull<u8>) -> Parts {
    let start = start.as_ptr();
    // SAFETY (both calls): the caller's allocation holds the name's varint at its start
    // and the data's right after the name.
    let (name_word, name_header_len) = unsafe { read_varint(start) };
    let data_header_at = name_header_len + (name_word >> 1) as usize;
    let (data_len, data_header_len) = unsafe { read_varint(start.add(data_header_at)) };
    Parts {
        data_is_null: name_word & 1 == 1,
        data_start: data_header_at + data_header_len,
        data_len: data_len as usize,
    }
}

/// The varint at `at` and its length in bytes. Names under 64 bytes and data under 128
/// take one byte each, read without a loop. (Returned by value, not through a `&mut`
/// offset, so that the callers keep everything in registers.)
///
/// # Safety
///
/// A complete varint must start at `at`, inside one live allocation.
#[inline(always)]
unsafe fn read_varint(at: *const u8) -> (u64, usize) {
    // SAFETY: the caller guarantees a complete varint, so at least its first byte.
    let first = unsafe { at.read() };
    if first < 0x80 {
        return (u64::from(first), 1);
    }
    // SAFETY: the first byte said another follows; the caller's guarantee covers it.
    unsafe { read_long_varint(at) }
}

/// [`read_varint`] for a varint of two bytes or more.
///
/// # Safety
///
/// As for [`read_varint`].
#[cold]
#[inline(never)]
unsafe fn read_long_varint(at: *const u8) -> (u64, usize) {
    let mut value = 0;
    let mut len = 0;
    loop {
        // SAFETY: the caller guarantees the varint's bytes are in bounds; each byte is
        // read only after the previous one said that another follows.
        let byte = unsafe { at.add(len).read() };
        value |= u64::from(byte & 0x7f) << (7 * len);
        len += 1;
        if byte & 0x80 == 0 {
            return (value, len);
        }
    }
}

fn varint_len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded_len(payload: &Payload) -> usize {
        payload.decode().map_or(0, |(bytes, _)| bytes.len())
    }

    #[test]
    fn name_and_data_read_back() {
        let cases: [(&[u8], Option<&[u8]>); 6] = [
            (b"", Some(b"")),
            (b"", Some(b"root data")),
            (b"key-123456", Some(&[7; 100])),
            (b"child", None),
            (b"child", Some(b"")),
            (b"zookeeper", None),
        ];
        for (name, data) in cases {
            let payload = Payload::new(name, data);
            assert_eq!(payload.name(), name);
            assert_eq!(payload.data(), data);
            assert_eq!(payload.data_len(), data.map_or(0, <[u8]>::len));
            let copy = payload.clone();
            drop(payload);
            assert_eq!(copy.name(), name);
            assert_eq!(copy.data(), data);
        }
    }

    #[test]
    fn empty_name_with_null_data_allocates_nothing() {
        let payload = Payload::new(b"", None);
        assert!({ payload.bytes }.is_none());
        assert_eq!(payload.name(), b"");
        assert_eq!(payload.data(), None);
        assert!({ payload.clone().bytes }.is_none());
    }

    #[test]
    fn long_names_and_data_need_longer_varints() {
        for name_len in [0, 63, 64, 8191, 8192, 70_000] {
            for data_len in [0, 127, 128, 16_383, 16_384, 1 << 21] {
                let name = vec![b'n'; name_len];
                let data = vec![b'd'; data_len];
                let payload = Payload::new(&name, Some(&data));
                assert_eq!(payload.name(), &name[..]);
                assert_eq!(payload.data(), Some(&data[..]));
                let header = varint_len((name_len as u64) << 1) + varint_len(data_len as u64);
                assert_eq!(encoded_len(&payload), name_len + data_len + header);
            }
        }
    }

    #[test]
    fn a_short_name_and_100_bytes_of_data_fill_a_112_byte_class() {
        let payload = Payload::new(b"key-999999", Some(&[0; 100]));
        assert_eq!(encoded_len(&payload), 112);
    }

    #[test]
    fn varints_are_leb128() {
        for (value, encoded) in [
            (0u64, &[0u8][..]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ] {
            let mut out = Vec::new();
            push_varint(&mut out, value);
            assert_eq!(out, encoded);
            assert_eq!(varint_len(value), encoded.len());
            // SAFETY: `out` holds one complete varint.
            let read = unsafe { read_varint(out.as_ptr()) };
            assert_eq!(read, (value, encoded.len()));
        }
    }

    #[test]
    fn payloads_move_and_are_shared_between_threads() {
        let payload = Payload::new(b"name", Some(b"data"));
        let shared = std::sync::Arc::new(payload.clone());
        let reader = {
            let shared = shared.clone();
            std::thread::spawn(move || shared.data().map(<[u8]>::to_vec))
        };
        let moved = std::thread::spawn(move || payload.name().to_vec());
        assert_eq!(reader.join().unwrap(), Some(b"data".to_vec()));
        assert_eq!(moved.join().unwrap(), b"name");
    }
}
