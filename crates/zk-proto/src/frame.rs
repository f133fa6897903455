//! Framing of the client port: every message is a 4-byte big-endian length, then that many
//! bytes of payload.
//!
//! [`split_frame`] is an incremental decoder: given the bytes received so far it answers
//! "incomplete" (`Ok(None)`), "here is one frame", or an error for a length the server must
//! not accept. It checks the length before the caller buffers anything for it, so a hostile
//! length cannot make the caller allocate. [`write_frame`] appends a length-prefixed payload
//! to a buffer in one pass.
//!
//! The first frame of a connection is a `ConnectRequest` with no request header; but a
//! connection may instead start with a four-letter word (see [`crate::four_letter`]).

use crate::error::DecodeError;
use crate::four_letter::FourLetterWord;
use crate::jute::Encode;
use std::ops::Range;

/// Bytes of the length prefix.
pub const LENGTH_PREFIX_LEN: usize = 4;

/// The default frame limit: `jute.maxbuffer`'s default, 0xfffff bytes. The reference server
/// rejects (closes the connection on) a length above `jute.maxbuffer` or below 0, counting
/// the payload only (request header included, length prefix excluded), with no allowance on
/// top; its client applies the same default to the frames it receives.
pub const DEFAULT_MAX_FRAME_LEN: usize = 0xfffff;

/// One complete frame found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The payload, without the length prefix.
    pub payload: &'a [u8],
    /// How many bytes of the buffer the frame takes (prefix and payload); the next frame
    /// starts there.
    pub consumed_len: usize,
}

impl Frame<'_> {
    /// Where the payload lies in the buffer given to [`split_frame`], for callers that slice
    /// their own buffer type (`BytesMut::split_to(consumed_len)` then advance past the
    /// prefix).
    pub fn payload_range(&self) -> Range<usize> {
        LENGTH_PREFIX_LEN..self.consumed_len
    }
}

/// Reads the length prefix at the start of `bytes`: `Ok(None)` if fewer than 4 bytes have
/// arrived, an error if it is negative or above `max_frame_len`.
pub fn read_frame_len(bytes: &[u8], max_frame_len: usize) -> Result<Option<usize>, DecodeError> {
    let Some(prefix) = bytes.first_chunk::<LENGTH_PREFIX_LEN>() else {
        return Ok(None);
    };
    let len = i32::from_be_bytes(*prefix);
    match usize::try_from(len) {
        Ok(len) if len <= max_frame_len => Ok(Some(len)),
        _ => Err(DecodeError::FrameTooLarge {
            len: len.into(),
            limit: max_frame_len,
        }),
    }
}

/// Finds the first frame in `bytes`, the data received so far.
///
/// - `Ok(None)`: the frame is not complete yet; read more and call again with all the bytes.
/// - `Ok(Some(frame))`: a complete frame; drop `frame.consumed_len` bytes afterwards.
/// - `Err(FrameTooLarge)`: the length is negative or above `max_frame_len`; the connection
///   cannot go on (the reference closes it).
pub fn split_frame(bytes: &[u8], max_frame_len: usize) -> Result<Option<Frame<'_>>, DecodeError> {
    let Some(payload_len) = read_frame_len(bytes, max_frame_len)? else {
        return Ok(None);
    };
    let consumed_len = LENGTH_PREFIX_LEN + payload_len;
    Ok(bytes
        .get(LENGTH_PREFIX_LEN..consumed_len)
        .map(|payload| Frame {
            payload,
            consumed_len,
        }))
}

/// What a connection starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstMessage<'a> {
    /// A four-letter word (4 bytes; `stmk` is followed by its 8-byte argument, not included).
    FourLetterWord(FourLetterWord),
    /// The frame of the `ConnectRequest`.
    Frame(Frame<'a>),
}

/// Splits the first message of a connection: a four-letter word if the first 4 bytes spell a
/// known one, otherwise the frame of the `ConnectRequest`, with [`split_frame`]'s answers.
pub fn split_first_message(
    bytes: &[u8],
    max_frame_len: usize,
) -> Result<Option<FirstMessage<'_>>, DecodeError> {
    if let Some(word) = FourLetterWord::from_prefix(bytes) {
        return Ok(Some(FirstMessage::FourLetterWord(word)));
    }
    Ok(split_frame(bytes, max_frame_len)?.map(FirstMessage::Frame))
}

/// Appends one frame to `out`: a length prefix, then whatever `encode_payload` writes. The
/// prefix is reserved first and patched afterwards, so the payload is encoded in place.
///
/// # Panics
/// If the payload exceeds `i32::MAX` bytes, which no record of this protocol can reach.
pub fn write_frame_with(out: &mut Vec<u8>, encode_payload: impl FnOnce(&mut Vec<u8>)) {
    let prefix_at = out.len();
    out.extend_from_slice(&[0; LENGTH_PREFIX_LEN]);
    encode_payload(out);
    let payload_len = out.len() - prefix_at - LENGTH_PREFIX_LEN;
    let payload_len = i32::try_from(payload_len).expect("frame payload exceeds i32::MAX bytes");
    out[prefix_at..prefix_at + LENGTH_PREFIX_LEN].copy_from_slice(&payload_len.to_be_bytes());
}

/// Appends `record` to `out` as one frame (length prefix, then the record's bytes).
pub fn write_frame<T: Encode + ?Sized>(out: &mut Vec<u8>, record: &T) {
    write_frame_with(out, |out| record.encode(out));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::ReplyHeader;
    use crate::types::{Xid, Zxid};

    #[test]
    fn incomplete_prefix_and_payload_need_more() {
        assert_eq!(split_frame(&[], 100).unwrap(), None);
        assert_eq!(split_frame(&[0, 0, 0], 100).unwrap(), None);
        assert_eq!(split_frame(&[0, 0, 0, 2, 9], 100).unwrap(), None);
    }

    #[test]
    fn complete_frame_is_split_from_what_follows() {
        let bytes = [0, 0, 0, 2, 7, 8, 0, 0];
        let frame = split_frame(&bytes, 100).unwrap().unwrap();
        assert_eq!(frame.payload, &[7, 8]);
        assert_eq!(frame.consumed_len, 6);
        assert_eq!(&bytes[frame.payload_range()], &[7, 8]);
    }

    #[test]
    fn empty_payload_is_a_frame() {
        let frame = split_frame(&[0, 0, 0, 0], 100).unwrap().unwrap();
        assert_eq!(frame.payload, &[] as &[u8]);
        assert_eq!(frame.consumed_len, 4);
    }

    #[test]
    fn length_limit_is_inclusive_and_checked_before_the_payload_arrives() {
        let at_limit = (DEFAULT_MAX_FRAME_LEN as i32).to_be_bytes();
        assert_eq!(split_frame(&at_limit, DEFAULT_MAX_FRAME_LEN).unwrap(), None);
        let over = (DEFAULT_MAX_FRAME_LEN as i32 + 1).to_be_bytes();
        assert_eq!(
            split_frame(&over, DEFAULT_MAX_FRAME_LEN).unwrap_err(),
            DecodeError::FrameTooLarge {
                len: DEFAULT_MAX_FRAME_LEN as i64 + 1,
                limit: DEFAULT_MAX_FRAME_LEN
            }
        );
    }

    #[test]
    fn negative_length_is_rejected() {
        assert!(matches!(
            split_frame(&(-1i32).to_be_bytes(), 100),
            Err(DecodeError::FrameTooLarge { len: -1, .. })
        ));
    }

    #[test]
    fn first_message_is_a_command_or_the_connect_frame() {
        assert_eq!(
            split_first_message(b"ruok", DEFAULT_MAX_FRAME_LEN).unwrap(),
            Some(FirstMessage::FourLetterWord(FourLetterWord::Ruok))
        );
        assert_eq!(
            split_first_message(b"ru", DEFAULT_MAX_FRAME_LEN).unwrap(),
            None
        );
        let frame = [0, 0, 0, 1, 0];
        assert!(matches!(
            split_first_message(&frame, DEFAULT_MAX_FRAME_LEN).unwrap(),
            Some(FirstMessage::Frame(Frame {
                consumed_len: 5,
                ..
            }))
        ));
        // Unknown words are lengths, and these are far too large.
        assert!(split_first_message(b"xyzw", DEFAULT_MAX_FRAME_LEN).is_err());
    }

    #[test]
    fn written_frame_splits_back() {
        let mut out = vec![0xaa];
        write_frame(&mut out, &ReplyHeader::ok(Xid(1), Zxid(2)));
        write_frame_with(&mut out, |out| out.push(5));
        let frame = split_frame(&out[1..], 100).unwrap().unwrap();
        assert_eq!(frame.payload.len(), 16);
        let next = split_frame(&out[1 + frame.consumed_len..], 100)
            .unwrap()
            .unwrap();
        assert_eq!(next.payload, &[5]);
    }
}
