//! Jute, the serialization of Apache ZooKeeper's records.
//!
//! Integers and longs are big-endian, booleans one byte, buffers and strings an `i32` length
//! followed by the bytes (`-1` stands for null), vectors an `i32` count followed by the items.
//! Decoding never trusts a length: every length is checked against the bytes that remain
//! before anything is allocated, so a hostile frame cannot make us allocate more than it sent.

use crate::error::DecodeError;

/// A record that can be written in jute form.
pub trait Encode {
    /// Appends the record's jute bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);
}

/// A record that can be read from jute form.
pub trait Decode: Sized {
    /// The fewest bytes any encoding of this record takes. Vector decoding uses it to reject
    /// a count that the remaining bytes cannot hold before reserving room for the items.
    const MIN_WIRE_LEN: usize = 1;

    /// Reads one record from `reader`, advancing it past the record.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Encodes `record` into a fresh buffer.
pub fn to_bytes<T: Encode + ?Sized>(record: &T) -> Vec<u8> {
    let mut out = Vec::new();
    record.encode(&mut out);
    out
}

/// Decodes exactly one `T` from `bytes`; trailing bytes are an error.
pub fn from_bytes<T: Decode>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut reader = Reader::new(bytes);
    let record = T::decode(&mut reader)?;
    reader.finish()?;
    Ok(record)
}

/// A cursor over a jute-encoded byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    /// How many bytes have not been read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// How many bytes have been read so far.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The bytes not read yet, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.bytes[self.position..]
    }

    /// Consumes and returns every byte not read yet.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let rest = self.rest();
        self.position = self.bytes.len();
        rest
    }

    /// Fails unless every byte has been consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes { extra }),
        }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.remaining() {
            return Err(DecodeError::UnexpectedEnd {
                needed: len,
                remaining: self.remaining(),
            });
        }
        let start = self.position;
        self.position += len;
        Ok(&self.bytes[start..self.position])
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    /// Reads a big-endian `i32`.
    pub fn read_i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.take_array()?))
    }

    /// Reads a big-endian `i64`.
    pub fn read_i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.take_array()?))
    }

    /// Reads a one-byte boolean; like Java's `readBoolean`, any non-zero byte is true.
    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.take(1)?[0] != 0)
    }

    /// Reads a length that may be `-1` (null); other negative lengths and lengths beyond the
    /// remaining bytes are errors.
    fn read_length(&mut self) -> Result<Option<usize>, DecodeError> {
        match self.read_i32()? {
            -1 => Ok(None),
            len if len < 0 => Err(DecodeError::NegativeLength { len }),
            len => {
                let len = len as usize;
                if len > self.remaining() {
                    return Err(DecodeError::UnexpectedEnd {
                        needed: len,
                        remaining: self.remaining(),
                    });
                }
                Ok(Some(len))
            }
        }
    }

    /// Reads a buffer; `None` is jute's null (length `-1`).
    pub fn read_buffer(&mut self) -> Result<Option<Vec<u8>>, DecodeError> {
        match self.read_length()? {
            None => Ok(None),
            Some(len) => Ok(Some(self.take(len)?.to_vec())),
        }
    }

    /// Reads a string; `None` is jute's null (length `-1`). Invalid UTF-8 is replaced by
    /// U+FFFD, as Java's `new String(bytes, UTF_8)` does on the reference server.
    pub fn read_string(&mut self) -> Result<Option<String>, DecodeError> {
        match self.read_length()? {
            None => Ok(None),
            Some(len) => Ok(Some(String::from_utf8_lossy(self.take(len)?).into_owned())),
        }
    }

    /// Reads a vector with `T`'s decoder; `None` is jute's null (count `-1`).
    ///
    /// Every item takes at least `T::MIN_WIRE_LEN` bytes, so a count that the remaining bytes
    /// cannot hold is rejected before the vector is allocated.
    pub fn read_vec<T: Decode>(&mut self) -> Result<Option<Vec<T>>, DecodeError> {
        let Some(count) = self.read_length()? else {
            return Ok(None);
        };
        let needed = count.saturating_mul(T::MIN_WIRE_LEN.max(1));
        if needed > self.remaining() {
            return Err(DecodeError::UnexpectedEnd {
                needed,
                remaining: self.remaining(),
            });
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(T::decode(self)?);
        }
        Ok(Some(items))
    }
}

/// Appends a big-endian `i32`.
pub fn write_i32(out: &mut Vec<u8>, value: i32) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// Appends a big-endian `i64`.
pub fn write_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// Appends a one-byte boolean.
pub fn write_bool(out: &mut Vec<u8>, value: bool) {
    out.push(u8::from(value));
}

/// Appends a buffer; `None` is written as jute's null (length `-1`).
pub fn write_buffer(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => write_i32(out, -1),
        Some(bytes) => {
            write_i32(out, jute_length(bytes.len()));
            out.extend_from_slice(bytes);
        }
    }
}

/// Appends a string; `None` is written as jute's null (length `-1`).
pub fn write_string(out: &mut Vec<u8>, value: Option<&str>) {
    write_buffer(out, value.map(str::as_bytes));
}

/// Appends a vector; `None` is written as jute's null (count `-1`).
pub fn write_vec<T: Encode>(out: &mut Vec<u8>, items: Option<&[T]>) {
    match items {
        None => write_i32(out, -1),
        Some(items) => {
            write_i32(out, jute_length(items.len()));
            for item in items {
                item.encode(out);
            }
        }
    }
}

/// Jute lengths are `i32`; records are bounded by the frame limit long before that, so a
/// larger value is a programming error, not bad input.
fn jute_length(len: usize) -> i32 {
    i32::try_from(len).expect("jute length exceeds i32::MAX; frames are limited far below that")
}

// Field codecs. Records are sequences of fields, and each field type below knows its jute
// form, so a record's `Encode`/`Decode` is just its fields in order (see `records`).

/// `int`.
impl Encode for i32 {
    fn encode(&self, out: &mut Vec<u8>) {
        write_i32(out, *self);
    }
}

impl Decode for i32 {
    const MIN_WIRE_LEN: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.read_i32()
    }
}

/// `long`.
impl Encode for i64 {
    fn encode(&self, out: &mut Vec<u8>) {
        write_i64(out, *self);
    }
}

impl Decode for i64 {
    const MIN_WIRE_LEN: usize = 8;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.read_i64()
    }
}

/// `boolean`.
impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        write_bool(out, *self);
    }
}

impl Decode for bool {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.read_bool()
    }
}

/// `ustring`, where null and empty mean the same to the reference server: null decodes as the
/// empty string, and strings are always written non-null.
impl Encode for String {
    fn encode(&self, out: &mut Vec<u8>) {
        write_string(out, Some(self));
    }
}

impl Decode for String {
    const MIN_WIRE_LEN: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(reader.read_string()?.unwrap_or_default())
    }
}

/// `ustring` where null is meaningful (the server lists of `reconfig`): `None` is null.
impl Encode for Option<String> {
    fn encode(&self, out: &mut Vec<u8>) {
        write_string(out, self.as_deref());
    }
}

impl Decode for Option<String> {
    const MIN_WIRE_LEN: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.read_string()
    }
}

/// `buffer` where null is meaningful (znode data, SASL tokens): `None` is null.
impl Encode for Option<Vec<u8>> {
    fn encode(&self, out: &mut Vec<u8>) {
        write_buffer(out, self.as_deref());
    }
}

impl Decode for Option<Vec<u8>> {
    const MIN_WIRE_LEN: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.read_buffer()
    }
}

/// `buffer` where null and empty mean the same (passwords, auth data): null decodes as empty.
impl Encode for Vec<u8> {
    fn encode(&self, out: &mut Vec<u8>) {
        write_buffer(out, Some(self));
    }
}

impl Decode for Vec<u8> {
    const MIN_WIRE_LEN: usize = 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(reader.read_buffer()?.unwrap_or_default())
    }
}

/// Implements `Encode`/`Decode` for `Vec<$item>` as a jute `vector<$item>`. Null and empty
/// vectors mean the same to the reference server for every vector a client exchanges (ACLs,
/// children, watch lists, client infos), so null decodes as empty and vectors are always
/// written non-null.
macro_rules! vector_codec {
    ($($item:ty),* $(,)?) => {$(
        impl $crate::jute::Encode for Vec<$item> {
            fn encode(&self, out: &mut Vec<u8>) {
                $crate::jute::write_vec(out, Some(self.as_slice()));
            }
        }

        impl $crate::jute::Decode for Vec<$item> {
            const MIN_WIRE_LEN: usize = 4;
            fn decode(
                reader: &mut $crate::jute::Reader<'_>,
            ) -> Result<Self, $crate::error::DecodeError> {
                Ok(reader.read_vec::<$item>()?.unwrap_or_default())
            }
        }
    )*};
}
pub(crate) use vector_codec;

vector_codec!(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian() {
        let mut out = Vec::new();
        write_i32(&mut out, 0x0102_0304);
        write_i64(&mut out, -2);
        assert_eq!(
            out,
            [1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]
        );
        let mut reader = Reader::new(&out);
        assert_eq!(reader.read_i32().unwrap(), 0x0102_0304);
        assert_eq!(reader.read_i64().unwrap(), -2);
        reader.finish().unwrap();
    }

    #[test]
    fn null_and_empty_buffers_differ() {
        let mut out = Vec::new();
        write_buffer(&mut out, None);
        write_buffer(&mut out, Some(b""));
        assert_eq!(out, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        let mut reader = Reader::new(&out);
        assert_eq!(reader.read_buffer().unwrap(), None);
        assert_eq!(reader.read_buffer().unwrap(), Some(Vec::new()));
    }

    #[test]
    fn negative_length_is_an_error() {
        let bytes = (-5i32).to_be_bytes();
        let error = Reader::new(&bytes).read_buffer().unwrap_err();
        assert_eq!(error, DecodeError::NegativeLength { len: -5 });
    }

    #[test]
    fn length_beyond_input_is_rejected_before_allocating() {
        let bytes = i32::MAX.to_be_bytes();
        let error = Reader::new(&bytes).read_vec::<String>().unwrap_err();
        assert!(matches!(error, DecodeError::UnexpectedEnd { .. }));
    }

    #[test]
    fn invalid_utf8_is_replaced_like_java() {
        let mut out = Vec::new();
        write_buffer(&mut out, Some(&[b'/', 0xff]));
        let text = Reader::new(&out).read_string().unwrap().unwrap();
        assert_eq!(text, "/\u{fffd}");
    }
}
