//! Reading frames (a 4-byte length, then the payload) from a socket, incrementally: a partial
//! frame waits for more bytes, and a length above the limit is refused before anything is
//! buffered for it.

use crate::error::Error;
use tokio::io::{AsyncRead, AsyncReadExt};
use zk_proto::ErrorCode;

/// Bytes asked of the socket per read.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// The bytes received and not yet split into frames.
#[derive(Debug)]
pub(crate) struct FrameReader {
    buffer: Vec<u8>,
    max_frame_len: usize,
}

impl FrameReader {
    pub(crate) fn new(max_frame_len: usize) -> Self {
        FrameReader {
            buffer: Vec::with_capacity(READ_CHUNK_BYTES),
            max_frame_len,
        }
    }

    /// The next frame's payload; `ConnectionLoss` when the peer closes, `Protocol` for a
    /// length outside the limit.
    pub(crate) async fn next_frame<R: AsyncRead + Unpin>(
        &mut self,
        socket: &mut R,
    ) -> Result<Vec<u8>, Error> {
        loop {
            if let Some(frame) = zk_proto::split_frame(&self.buffer, self.max_frame_len)? {
                let payload = frame.payload.to_vec();
                let consumed = frame.consumed_len;
                self.buffer.drain(..consumed);
                return Ok(payload);
            }
            self.buffer.reserve(READ_CHUNK_BYTES);
            match socket.read_buf(&mut self.buffer).await {
                Ok(0) | Err(_) => return Err(Error::Keeper(ErrorCode::ConnectionLoss)),
                Ok(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_frames_across_reads() {
        let mut bytes = Vec::new();
        zk_proto::write_frame_with(&mut bytes, |out| out.extend_from_slice(b"one"));
        zk_proto::write_frame_with(&mut bytes, |out| out.extend_from_slice(b"two!"));
        let (mut client, mut server) = tokio::io::duplex(3);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            server.write_all(&bytes).await.unwrap();
        });
        let mut reader = FrameReader::new(1024);
        assert_eq!(reader.next_frame(&mut client).await.unwrap(), b"one");
        assert_eq!(reader.next_frame(&mut client).await.unwrap(), b"two!");
        writer.await.unwrap();
        assert_eq!(
            reader.next_frame(&mut client).await,
            Err(Error::Keeper(ErrorCode::ConnectionLoss))
        );
    }

    #[tokio::test]
    async fn oversized_length_is_refused() {
        let bytes = 5000i32.to_be_bytes();
        let mut reader = FrameReader::new(1024);
        assert!(matches!(
            reader.next_frame(&mut &bytes[..]).await,
            Err(Error::Protocol(_))
        ));
    }
}
