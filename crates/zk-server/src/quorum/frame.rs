//! Peer frames: every message between two servers, on the election and the quorum ports.
//!
//! On the wire a frame is a 10-byte header — protocol version (u16), payload length (u32),
//! CRC32 of the payload (u32), all big-endian — then the payload, a postcard-encoded
//! [`PeerFrame`]. A frame of another version, with a bad checksum, too long, or that does not
//! decode is refused with a [`FrameError`]; the connection carrying it is dropped.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zk_proto::{ServerId, SessionId};
use zk_tree::{AuthContext, WriteRequest};

/// The version of the peer protocol spoken here.
pub const PEER_PROTOCOL_VERSION: u16 = 1;
/// Bytes of the frame header.
pub const HEADER_BYTES: usize = 10;
/// The largest payload accepted: a SNAP carries the whole tree.
pub const MAX_FRAME_BYTES: usize = 1 << 30;

/// Everything servers say to each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PeerFrame {
    /// The first frame on every connection, both ways: who is speaking, and which of its
    /// role periods ("era", renewed whenever it changes role) the connection belongs to.
    Hello { from: ServerId, era: u64 },
    /// A ZAB message (election notification or leader–learner message).
    Zab(zk_zab::Envelope),
    /// Learner → leader: a client's (or the learner's own session) write to prepare and
    /// propose (ZooKeeper's REQUEST packet). `id` comes back in the transaction.
    Forward(ForwardedWrite),
    /// Learner → leader: a client's sync; answered with [`PeerFrame::SyncDone`] once
    /// everything the leader committed before it has been sent.
    ForwardSync { id: u64 },
    /// Leader → learner: the forwarded sync `id` is done.
    SyncDone { id: u64 },
    /// Learner → leader: sessions with activity on this learner since the last report (the
    /// leader alone expires sessions; ZooKeeper puts these in its PING replies).
    TouchSessions { sessions: Vec<SessionId> },
}

/// A write a learner forwards to its leader. The leader stamps it with its own clock when
/// it prepares it, as ZooKeeper's does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardedWrite {
    pub id: u64,
    pub auth: AuthContext,
    pub request: WriteRequest,
}

/// Why a frame was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("peer protocol version {found}, this server speaks {PEER_PROTOCOL_VERSION}")]
    Version { found: u16 },
    #[error("frame of {length} bytes is larger than the limit of {MAX_FRAME_BYTES}")]
    TooLarge { length: usize },
    #[error("frame checksum mismatch")]
    Checksum,
    #[error("frame does not decode: {0}")]
    Decode(String),
    #[error("frame cannot be encoded: {0}")]
    Encode(String),
}

/// The buffer first reserved for a frame: a proposal of a 100-byte write fits, so the
/// common frame is encoded without growing its buffer.
const TYPICAL_FRAME_BYTES: usize = 512;

/// Encodes `frame` with its header: the payload is encoded after room left for the header,
/// which is filled in once the payload's length and checksum are known.
pub fn encode(frame: &PeerFrame) -> Result<Vec<u8>, FrameError> {
    let mut bytes = Vec::with_capacity(TYPICAL_FRAME_BYTES);
    bytes.resize(HEADER_BYTES, 0);
    let mut bytes =
        postcard::to_extend(frame, bytes).map_err(|error| FrameError::Encode(error.to_string()))?;
    let length = bytes.len() - HEADER_BYTES;
    if length > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge { length });
    }
    let checksum = crc32fast::hash(&bytes[HEADER_BYTES..]);
    bytes[0..2].copy_from_slice(&PEER_PROTOCOL_VERSION.to_be_bytes());
    bytes[2..6].copy_from_slice(&(length as u32).to_be_bytes());
    bytes[6..10].copy_from_slice(&checksum.to_be_bytes());
    Ok(bytes)
}

/// A frame header, checked before its payload is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub length: usize,
    pub checksum: u32,
}

/// Checks a header: the version and the length limit.
pub fn decode_header(bytes: &[u8; HEADER_BYTES]) -> Result<Header, FrameError> {
    let version = u16::from_be_bytes([bytes[0], bytes[1]]);
    if version != PEER_PROTOCOL_VERSION {
        return Err(FrameError::Version { found: version });
    }
    let length = u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]) as usize;
    if length > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge { length });
    }
    let checksum = u32::from_be_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
    Ok(Header { length, checksum })
}

/// Checks and decodes the payload that followed `header`.
pub fn decode_payload(header: Header, payload: &[u8]) -> Result<PeerFrame, FrameError> {
    if crc32fast::hash(payload) != header.checksum {
        return Err(FrameError::Checksum);
    }
    postcard::from_bytes(payload).map_err(|error| FrameError::Decode(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::Zxid;

    fn decode(bytes: &[u8]) -> Result<PeerFrame, FrameError> {
        let header: [u8; HEADER_BYTES] = bytes[..HEADER_BYTES].try_into().unwrap();
        decode_payload(decode_header(&header)?, &bytes[HEADER_BYTES..])
    }

    #[test]
    fn frames_round_trip() {
        let frames = [
            PeerFrame::Hello {
                from: ServerId(3),
                era: 99,
            },
            PeerFrame::Zab(zk_zab::Envelope::new(zk_zab::Message::Commit {
                zxid: Zxid(7),
            })),
            PeerFrame::Forward(ForwardedWrite {
                id: 4,
                auth: AuthContext::default(),
                request: WriteRequest::Delete {
                    path: "/a".into(),
                    version: -1,
                },
            }),
            PeerFrame::ForwardSync { id: 5 },
            PeerFrame::SyncDone { id: 5 },
            PeerFrame::TouchSessions {
                sessions: vec![SessionId(1), SessionId(2)],
            },
        ];
        for frame in frames {
            assert_eq!(decode(&encode(&frame).unwrap()), Ok(frame));
        }
    }

    /// The header is the version, the payload's length and its CRC, then the postcard
    /// payload: pinned, so that encoding in place cannot change what peers receive.
    #[test]
    fn the_layout_is_header_then_payload_small_or_large() {
        for data_bytes in [0, 100, 4 * TYPICAL_FRAME_BYTES] {
            let frame = PeerFrame::Forward(ForwardedWrite {
                id: 8,
                auth: AuthContext::default(),
                request: WriteRequest::SetData {
                    path: "/key".into(),
                    data: Some(vec![0xab; data_bytes]),
                    version: -1,
                },
            });
            let payload = postcard::to_allocvec(&frame).unwrap();
            let bytes = encode(&frame).unwrap();
            assert_eq!(bytes[0..2], PEER_PROTOCOL_VERSION.to_be_bytes());
            assert_eq!(bytes[2..6], (payload.len() as u32).to_be_bytes());
            assert_eq!(bytes[6..10], crc32fast::hash(&payload).to_be_bytes());
            assert_eq!(bytes[HEADER_BYTES..], payload[..]);
            assert_eq!(decode(&bytes), Ok(frame));
        }
    }

    #[test]
    fn wrong_versions_flipped_bits_and_huge_lengths_are_refused() {
        let bytes = encode(&PeerFrame::SyncDone { id: 1 }).unwrap();
        let mut other_version = bytes.clone();
        other_version[1] = 9;
        assert_eq!(
            decode(&other_version),
            Err(FrameError::Version { found: 9 })
        );
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&flipped), Err(FrameError::Checksum));
        let mut huge = bytes;
        huge[2..6].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(decode(&huge), Err(FrameError::TooLarge { .. })));
    }
}
