//! The client port's inbound framing as a tokio codec: every decode hands over all the
//! complete frames received so far, so one socket read becomes one batch of requests.

use bytes::{Buf, BytesMut};
use tokio_util::codec::Decoder;
use zk_proto::four_letter::FourLetterWord;
use zk_proto::frame::{split_first_message, split_frame, FirstMessage};
use zk_proto::DecodeError;

/// What arrived on a connection.
#[derive(Debug)]
pub enum Inbound {
    /// A four-letter word instead of a handshake.
    FourLetterWord(FourLetterWord),
    /// Frame payloads, in order.
    Frames(Vec<BytesMut>),
}

/// Why the connection cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("invalid frame: {0}")]
    Frame(#[from] DecodeError),
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
}

/// Splits the byte stream into frames, recognising a four-letter word at the start.
#[derive(Debug)]
pub struct ClientCodec {
    max_frame_len: usize,
    first_message_seen: bool,
}

impl ClientCodec {
    pub fn new(max_frame_len: usize) -> Self {
        ClientCodec {
            max_frame_len,
            first_message_seen: false,
        }
    }
}

impl Decoder for ClientCodec {
    type Item = Inbound;
    type Error = CodecError;

    fn decode(&mut self, buffer: &mut BytesMut) -> Result<Option<Inbound>, CodecError> {
        if !self.first_message_seen {
            match split_first_message(buffer, self.max_frame_len)? {
                None => return Ok(None),
                Some(FirstMessage::FourLetterWord(word)) => {
                    self.first_message_seen = true;
                    buffer.clear();
                    return Ok(Some(Inbound::FourLetterWord(word)));
                }
                Some(FirstMessage::Frame(_)) => self.first_message_seen = true,
            }
        }
        let mut frames = Vec::new();
        while let Some(frame) = split_frame(buffer, self.max_frame_len)? {
            let consumed_len = frame.consumed_len;
            let mut frame = buffer.split_to(consumed_len);
            frame.advance(zk_proto::frame::LENGTH_PREFIX_LEN);
            frames.push(frame);
        }
        if frames.is_empty() {
            // Make room for the rest of a large frame in one allocation; its length was
            // checked against the limit above.
            if let Ok(Some(len)) = zk_proto::frame::read_frame_len(buffer, self.max_frame_len) {
                let needed = len + zk_proto::frame::LENGTH_PREFIX_LEN;
                buffer.reserve(needed.saturating_sub(buffer.len()));
            }
            return Ok(None);
        }
        Ok(Some(Inbound::Frames(frames)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = (payload.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let mut codec = ClientCodec::new(100);
        let bytes = frame(b"hello");
        let mut buffer = BytesMut::from(&bytes[..6]);
        assert!(codec.decode(&mut buffer).unwrap().is_none());
        buffer.extend_from_slice(&bytes[6..]);
        buffer.extend_from_slice(&frame(b"x"));
        match codec.decode(&mut buffer).unwrap() {
            Some(Inbound::Frames(frames)) => {
                assert_eq!(frames.len(), 2);
                assert_eq!(&frames[0][..], b"hello");
                assert_eq!(&frames[1][..], b"x");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn oversize_and_negative_lengths_are_errors() {
        let mut codec = ClientCodec::new(100);
        let mut buffer = BytesMut::from(&1000i32.to_be_bytes()[..]);
        assert!(codec.decode(&mut buffer).is_err());
        let mut codec = ClientCodec::new(100);
        let mut buffer = BytesMut::from(&(-1i32).to_be_bytes()[..]);
        assert!(codec.decode(&mut buffer).is_err());
    }

    #[test]
    fn a_four_letter_word_is_recognised_only_first() {
        let mut codec = ClientCodec::new(100);
        let mut buffer = BytesMut::from(&b"ruok"[..]);
        assert!(matches!(
            codec.decode(&mut buffer).unwrap(),
            Some(Inbound::FourLetterWord(_))
        ));
    }
}
