//! A znode's name, data, stat and child-list head in one heap allocation behind a thin
//! (8-byte) pointer.
//!
//! `Box<[u8]>` would cost 16 bytes in every node (pointer and length), and a stat and child
//! list head kept in the node 68 more. Here the lengths live at the front of the
//! allocation, as LEB128 varints (7 bits per byte), and the stat and child list head in
//! the shorter of their two forms (`meta`: 16 bytes for a childless znode unchanged since
//! its creation, else 68):
//!
//! ```text
//! varint(name_len << 2 | full_meta << 1 | data_is_null)  meta  name  varint(data_len)  data
//! ```
//!
//! A name under 32 bytes and data under 128 bytes take 2 bytes of header, which usually
//! fits in what the allocator rounds up anyway: jemalloc's size classes near 128 bytes
//! are 16 to 32 apart, so a 10-byte name, 100 bytes of data and a creation stat (110 + 16
//! + 2) fill the 128-byte class exactly.
//!
//! Soundness rests on one invariant, kept by every constructor: `bytes` is either `None`
//! or the start of a leaked `Box<[u8]>` whose bytes begin with a well-formed header and
//! whose length is exactly what that header describes. After creation only the meta's
//! bytes change, in place and in the same form (through `&mut self`); a change of form
//! builds a new allocation. Each allocation is owned by exactly one `Payload`, which
//! frees it on drop.

use super::meta::{Meta, MetaForm};
use super::NodeId;
use crate::stat::StatPersisted;
use std::fmt;
use std::ptr::NonNull;

/// The bytes of a znode's name, data, stat and child list head.
///
/// Packed to 4-byte alignment, so that a [`Node`](super::Node), whose other fields are all
/// 4-byte aligned, has no padding. The pointer is only ever copied out of the field (never
/// borrowed), which the compiler reads unaligned where needed.
#[repr(C, packed(4))]
pub struct Payload {
    /// `None` for an empty name with null data and the default [`Meta`] (a freed slot needs
    /// no allocation).
    bytes: Option<NonNull<u8>>,
}

// SAFETY: a `Payload` owns its allocation exclusively, like a `Box<[u8]>`, and changes
// its bytes only through `&mut self`, so moving it to or sharing it with another thread
// is as safe as doing so with a `Box<[u8]>`.
unsafe impl Send for Payload {}
// SAFETY: see `Send`; `&Payload` only reads.
unsafe impl Sync for Payload {}

/// Where the parts of a payload are, decoded from its header.
struct Parts {
    meta_form: MetaForm,
    /// The meta starts here; the name follows it.
    meta_start: usize,
    data_is_null: bool,
    data_start: usize,
    data_len: usize,
}

impl Parts {
    fn total_len(&self) -> usize {
        self.data_start + self.data_len
    }
}

/// The first varint: the name's length and two flags.
fn first_word(name_len: usize, meta_form: MetaForm, data_is_null: bool) -> u64 {
    (name_len as u64) << 2 | u64::from(meta_form == MetaForm::Full) << 1 | u64::from(data_is_null)
}

fn meta_form_of_word(word: u64) -> MetaForm {
    if word & 2 == 0 {
        MetaForm::Created
    } else {
        MetaForm::Full
    }
}

impl Payload {
    /// The empty name with null data and the default [`Meta`], without an allocation.
    pub const EMPTY: Payload = Payload { bytes: None };

    /// `name`, `data` and `meta` in one allocation of their length plus the header.
    pub fn new(name: &[u8], data: Option<&[u8]>, meta: &Meta) -> Payload {
        if name.is_empty() && data.is_none() && *meta == Meta::default() {
            return Payload::EMPTY;
        }
        let meta_form = MetaForm::of(meta);
        let data_bytes = data.unwrap_or_default();
        let name_word = first_word(name.len(), meta_form, data.is_none());
        let data_word = data_bytes.len() as u64;
        let len = varint_len(name_word)
            + meta_form.len()
            + name.len()
            + varint_len(data_word)
            + data_bytes.len();
        let mut bytes = Vec::with_capacity(len);
        push_varint(&mut bytes, name_word);
        let meta_start = bytes.len();
        bytes.resize(meta_start + meta_form.len(), 0);
        meta_form.write(meta, &mut bytes[meta_start..]);
        bytes.extend_from_slice(name);
        push_varint(&mut bytes, data_word);
        bytes.extend_from_slice(data_bytes);
        debug_assert_eq!(bytes.len(), len);
        Payload::from_encoded(bytes.into_boxed_slice())
    }

    /// The same name and meta with other data.
    pub fn with_data(&self, data: Option<&[u8]>) -> Payload {
        Payload::new(self.name(), data, &self.meta())
    }

    /// Takes ownership of `encoded`, which must hold a well-formed header followed by
    /// exactly the meta, name and data it describes.
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
        // varint, followed by the meta in the form it names and the name bytes it counts;
        // the slice covers exactly the name and lives as long as `self`.
        unsafe {
            let (name_word, header_len) = read_varint(start.as_ptr());
            let name_start = header_len + meta_form_of_word(name_word).len();
            std::slice::from_raw_parts(start.as_ptr().add(name_start), (name_word >> 2) as usize)
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

    /// The stat and the child list head.
    #[inline]
    pub fn meta(&self) -> Meta {
        match self.decode() {
            None => Meta::default(),
            Some((bytes, parts)) => parts.meta_form.read(&bytes[parts.meta_start..]),
        }
    }

    /// The stat.
    #[inline]
    pub fn stat(&self) -> StatPersisted {
        self.meta().stat
    }

    /// The first child and the child count. Reads only the first varint and those 8
    /// bytes: walking the tree does this for every node it passes.
    #[inline]
    pub fn children(&self) -> (NodeId, u32) {
        let Some(start) = self.bytes else {
            return (super::NONE, 0);
        };
        // SAFETY: by the type's invariant the allocation at `start` begins with a complete
        // varint followed by the meta in the form it names; the slice covers exactly the
        // meta and lives as long as `self`.
        unsafe {
            let (word, header_len) = read_varint(start.as_ptr());
            let form = meta_form_of_word(word);
            let meta = std::slice::from_raw_parts(start.as_ptr().add(header_len), form.len());
            form.read_children(meta)
        }
    }

    /// Replaces the meta: in place when it keeps its form, else in a new allocation.
    pub fn set_meta(&mut self, meta: &Meta) {
        let form = MetaForm::of(meta);
        match self.meta_bytes_mut() {
            Some((current, bytes)) if current == form => form.write(meta, bytes),
            _ => *self = Payload::new(self.name(), self.data(), meta),
        }
    }

    /// Replaces the stat, keeping the child list head.
    pub fn set_stat(&mut self, stat: &StatPersisted) {
        let (first_child, num_children) = self.children();
        self.set_meta(&Meta {
            stat: *stat,
            first_child,
            num_children,
        });
    }

    /// Replaces the child list head, keeping the stat: in place in the full form.
    pub fn set_children(&mut self, first_child: NodeId, num_children: u32) {
        match self.meta_bytes_mut() {
            Some((MetaForm::Full, bytes)) => {
                MetaForm::write_children(bytes, first_child, num_children)
            }
            _ => self.set_meta(&Meta {
                stat: self.stat(),
                first_child,
                num_children,
            }),
        }
    }

    /// The meta's form and bytes, for a change in place; `None` for [`Payload::EMPTY`].
    fn meta_bytes_mut(&mut self) -> Option<(MetaForm, &mut [u8])> {
        let (start, parts) = self.decode_raw()?;
        // SAFETY: by the type's invariant the allocation at `start` holds
        // `parts.total_len()` bytes, of which the meta's `meta_form.len()` start at
        // `parts.meta_start`; `&mut self` makes this the only access to them for the
        // slice's life. Callers rewrite the meta in its own form, which keeps the header
        // valid.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(
                start.as_ptr().add(parts.meta_start),
                parts.meta_form.len(),
            )
        };
        Some((parts.meta_form, bytes))
    }

    /// The whole allocation and where its parts are; `None` for [`Payload::EMPTY`].
    #[inline]
    fn decode(&self) -> Option<(&[u8], Parts)> {
        let (start, parts) = self.decode_raw()?;
        // SAFETY: by the type's invariant the allocation at `start` is exactly
        // `parts.total_len()` bytes long and lives as long as `self`.
        let bytes = unsafe { std::slice::from_raw_parts(start.as_ptr(), parts.total_len()) };
        Some((bytes, parts))
    }

    /// The allocation's start and where its parts are; `None` for [`Payload::EMPTY`].
    #[inline]
    fn decode_raw(&self) -> Option<(NonNull<u8>, Parts)> {
        let start = { self.bytes }?;
        // SAFETY: by the type's invariant `start` begins a live allocation holding a
        // well-formed header followed by the parts it describes. `read_header` reads only
        // header bytes, each after the ones that announce it.
        Some((start, unsafe { read_header(start) }))
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
            .field("meta", &self.meta())
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
    // SAFETY (both calls): the caller's allocation holds the first varint at its start
    // and the data's right after the meta and the name.
    let (name_word, name_header_len) = unsafe { read_varint(start) };
    let meta_form = meta_form_of_word(name_word);
    let name_len = (name_word >> 2) as usize;
    let data_header_at = name_header_len + meta_form.len() + name_len;
    let (data_len, data_header_len) = unsafe { read_varint(start.add(data_header_at)) };
    Parts {
        meta_form,
        meta_start: name_header_len,
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
    use zk_proto::Zxid;

    fn encoded_len(payload: &Payload) -> usize {
        payload.decode().map_or(0, |(bytes, _)| bytes.len())
    }

    fn created() -> StatPersisted {
        StatPersisted::created(Zxid(0x1_0000_0007), 1_700_000_000_000, 0)
    }

    fn changed() -> StatPersisted {
        let mut stat = created();
        stat.version = 3;
        stat.mzxid = 0x1_0000_0009;
        stat
    }

    fn childless(stat: StatPersisted) -> Meta {
        Meta::childless(stat)
    }

    fn with_children(stat: StatPersisted) -> Meta {
        Meta {
            stat,
            first_child: 42,
            num_children: 3,
        }
    }

    #[test]
    fn name_data_and_stat_read_back() {
        let cases: [(&[u8], Option<&[u8]>); 6] = [
            (b"", Some(b"")),
            (b"", Some(b"root data")),
            (b"key-123456", Some(&[7; 100])),
            (b"child", None),
            (b"child", Some(b"")),
            (b"zookeeper", None),
        ];
        for (name, data) in cases {
            let metas = [
                Meta::default(),
                childless(created()),
                childless(changed()),
                with_children(created()),
            ];
            for meta in metas {
                let payload = Payload::new(name, data, &meta);
                assert_eq!(payload.name(), name);
                assert_eq!(payload.data(), data);
                assert_eq!(payload.data_len(), data.map_or(0, <[u8]>::len));
                assert_eq!(payload.meta(), meta);
                assert_eq!(payload.stat(), meta.stat);
                assert_eq!(payload.children(), (meta.first_child, meta.num_children));
                let copy = payload.clone();
                drop(payload);
                assert_eq!(copy.name(), name);
                assert_eq!(copy.data(), data);
                assert_eq!(copy.meta(), meta);
            }
        }
    }

    #[test]
    fn empty_name_with_null_data_and_the_default_meta_allocates_nothing() {
        let payload = Payload::new(b"", None, &Meta::default());
        assert!({ payload.bytes }.is_none());
        assert_eq!(payload.name(), b"");
        assert_eq!(payload.data(), None);
        assert_eq!(payload.meta(), Meta::default());
        assert_eq!(payload.children(), (crate::node::NONE, 0));
        assert!({ payload.clone().bytes }.is_none());
        // The root, once its stat changes or it has a child, needs an allocation.
        let mut root = Payload::EMPTY;
        root.set_stat(&changed());
        assert!({ root.bytes }.is_some());
        assert_eq!(
            (root.name(), root.data(), root.stat()),
            (&b""[..], None, changed())
        );
        let mut root = Payload::EMPTY;
        root.set_children(1, 1);
        assert_eq!(
            (root.children(), root.stat()),
            ((1, 1), StatPersisted::default())
        );
    }

    #[test]
    fn a_stat_changes_in_place_within_its_form_and_moves_when_the_form_changes() {
        let mut payload = Payload::new(b"node", Some(b"data"), &childless(created()));
        let first = { payload.bytes };
        let later = StatPersisted::created(Zxid(0x1_0000_0008), 1_700_000_000_001, 0);
        payload.set_stat(&later);
        assert_eq!({ payload.bytes }, first, "same form: rewritten in place");
        assert_eq!(payload.stat(), later);

        payload.set_stat(&changed());
        assert_eq!(payload.stat(), changed());
        assert_eq!(encoded_len(&payload), 2 + 68 + 4 + 4);
        let full = { payload.bytes };
        let mut more = changed();
        more.aversion = 9;
        payload.set_stat(&more);
        assert_eq!({ payload.bytes }, full, "same form: rewritten in place");
        assert_eq!(payload.stat(), more);

        payload.set_stat(&created());
        assert_eq!(encoded_len(&payload), 2 + 16 + 4 + 4);
        assert_eq!(
            (payload.name(), payload.data(), payload.stat()),
            (&b"node"[..], Some(&b"data"[..]), created())
        );
        let other = payload.with_data(None);
        assert_eq!(
            (other.name(), other.data(), other.stat()),
            (&b"node"[..], None, created())
        );
    }

    #[test]
    fn children_change_in_place_once_the_meta_is_full() {
        let mut payload = Payload::new(b"parent", None, &childless(created()));
        payload.set_children(7, 1);
        assert_eq!(payload.children(), (7, 1));
        assert_eq!(payload.stat(), created(), "the stat is kept");
        let full = { payload.bytes };
        payload.set_children(9, 2);
        assert_eq!({ payload.bytes }, full, "full form: rewritten in place");
        assert_eq!(payload.children(), (9, 2));
        payload.set_stat(&changed());
        assert_eq!(payload.children(), (9, 2), "the children are kept");
        payload.set_children(crate::node::NONE, 0);
        payload.set_stat(&created());
        assert_eq!(payload.meta(), childless(created()));
        assert_eq!(
            encoded_len(&payload),
            1 + 16 + 6 + 1,
            "back to the short form"
        );
    }

    #[test]
    fn long_names_and_data_need_longer_varints() {
        for name_len in [0, 31, 32, 4095, 4096, 70_000] {
            for data_len in [0, 127, 128, 16_383, 16_384, 1 << 21] {
                let name = vec![b'n'; name_len];
                let data = vec![b'd'; data_len];
                for meta in [childless(created()), with_children(changed())] {
                    let payload = Payload::new(&name, Some(&data), &meta);
                    assert_eq!(payload.name(), &name[..]);
                    assert_eq!(payload.data(), Some(&data[..]));
                    assert_eq!(payload.meta(), meta);
                    let form = MetaForm::of(&meta);
                    let header =
                        varint_len(first_word(name_len, form, false)) + varint_len(data_len as u64);
                    assert_eq!(
                        encoded_len(&payload),
                        name_len + data_len + form.len() + header
                    );
                }
            }
        }
    }

    #[test]
    fn a_short_name_100_bytes_of_data_and_a_creation_stat_fill_a_128_byte_class() {
        let payload = Payload::new(b"key-999999", Some(&[0; 100]), &childless(created()));
        assert_eq!(encoded_len(&payload), 128);
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
        let payload = Payload::new(b"name", Some(b"data"), &with_children(changed()));
        let shared = std::sync::Arc::new(payload.clone());
        let reader = {
            let shared = shared.clone();
            std::thread::spawn(move || (shared.data().map(<[u8]>::to_vec), shared.stat()))
        };
        let moved = std::thread::spawn(move || payload.name().to_vec());
        assert_eq!(reader.join().unwrap(), (Some(b"data".to_vec()), changed()));
        assert_eq!(moved.join().unwrap(), b"name");
    }
}
