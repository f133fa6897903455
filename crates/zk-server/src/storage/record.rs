//! One log record: `length: u32 LE | crc32: u32 LE | payload`, where the payload is the
//! postcard encoding of a [`Txn`] and the CRC32 (IEEE) covers the four length bytes and the
//! payload, so that a damaged length is caught like damaged data.
//!
//! Segments are preallocated with zeros, so the end of the records is a zero frame header.
//! A zero frame never passes the CRC check (the CRC of four zero bytes is not zero), and a
//! payload is never empty, so zeros are never mistaken for a record.

use super::error::StorageError;
use zk_proto::Zxid;
use zk_tree::Txn;

/// Bytes before the payload: length and CRC.
pub const FRAME_HEADER_BYTES: usize = 8;

/// Appends the record of `txn` to `out`; returns the record's size in bytes.
pub fn encode(txn: &Txn, out: &mut Vec<u8>, max_txn_bytes: usize) -> Result<usize, StorageError> {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
    let encoded = postcard::to_extend(txn, std::mem::take(out));
    *out = match encoded {
        Ok(bytes) => bytes,
        Err(source) => {
            return Err(StorageError::Encode {
                zxid: txn.zxid,
                source,
            })
        }
    };
    let payload_len = out.len() - start - FRAME_HEADER_BYTES;
    if payload_len > max_txn_bytes {
        out.truncate(start);
        return Err(StorageError::TxnTooLarge {
            zxid: txn.zxid,
            size: payload_len,
            limit: max_txn_bytes,
        });
    }
    let length = (payload_len as u32).to_le_bytes();
    out[start..start + 4].copy_from_slice(&length);
    let crc = checksum(&length, &out[start + FRAME_HEADER_BYTES..]);
    out[start + 4..start + FRAME_HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
    Ok(out.len() - start)
}

/// What sits at one offset of a segment.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A valid record of `size` bytes (header included).
    Record { txn: Txn, size: usize },
    /// Nothing but zeros from here to the end of the file (or nothing at all): the clean end.
    End,
    /// Not a valid record; `reason` says why.
    Damaged { reason: String },
}

/// Reads the frame at the start of `bytes` (the rest of the file from some offset).
pub fn decode(bytes: &[u8], max_txn_bytes: usize) -> Frame {
    if is_all_zero(bytes) {
        return Frame::End;
    }
    if bytes.len() < FRAME_HEADER_BYTES {
        return Frame::Damaged {
            reason: format!("partial record header ({} bytes)", bytes.len()),
        };
    }
    let length_bytes: [u8; 4] = bytes[..4].try_into().expect("4 bytes");
    let length = u32::from_le_bytes(length_bytes) as usize;
    let stored_crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if length == 0 {
        return Frame::Damaged {
            reason: "zero record length before non-zero bytes".into(),
        };
    }
    if length > max_txn_bytes {
        return Frame::Damaged {
            reason: format!("record length {length} exceeds the limit {max_txn_bytes}"),
        };
    }
    let available = bytes.len() - FRAME_HEADER_BYTES;
    if length > available {
        return Frame::Damaged {
            reason: format!("record of {length} bytes cut short at {available} bytes"),
        };
    }
    let payload = &bytes[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + length];
    let computed_crc = checksum(&length_bytes, payload);
    if computed_crc != stored_crc {
        return Frame::Damaged {
            reason: format!(
                "CRC mismatch (stored {stored_crc:#010x}, computed {computed_crc:#010x})"
            ),
        };
    }
    match postcard::from_bytes::<Txn>(payload) {
        Ok(txn) => Frame::Record {
            txn,
            size: FRAME_HEADER_BYTES + length,
        },
        Err(error) => Frame::Damaged {
            reason: format!("CRC matches but the txn does not decode: {error}"),
        },
    }
}

/// The offset (relative to `bytes`) of the first valid record in `bytes` whose zxid is
/// plausibly a successor of `after`, if any: the test that tells damage in the middle of
/// the log (valid records follow) from a torn tail (only zeros or garbage follow).
///
/// Records are not aligned, so every offset is a candidate. To keep this linear on
/// garbage, a candidate must first pass cheap checks (a length that fits, a leading zxid
/// varint in range) before its CRC is computed; zero runs are skipped at once.
pub fn find_valid_record(bytes: &[u8], after: Zxid, max_txn_bytes: usize) -> Option<usize> {
    let mut offset = 0;
    while offset + FRAME_HEADER_BYTES < bytes.len() {
        let rest = &bytes[offset..];
        if rest[0] == 0 && rest[..FRAME_HEADER_BYTES].iter().all(|&b| b == 0) {
            // Skip the whole zero run; a record cannot start with eight zero bytes.
            match rest.iter().position(|&b| b != 0) {
                Some(non_zero) => {
                    offset += non_zero.saturating_sub(FRAME_HEADER_BYTES - 1).max(1);
                    continue;
                }
                None => return None,
            }
        }
        if plausible_frame(rest, after, max_txn_bytes) {
            if let Frame::Record { txn, .. } = decode(rest, max_txn_bytes) {
                if txn.zxid > after {
                    return Some(offset);
                }
            }
        }
        offset += 1;
    }
    None
}

/// The cheap checks of [`find_valid_record`]: the length fits in the file and the limit,
/// and the payload starts with a zxid (postcard: zigzag varint) that could follow `after`
/// within the bytes left (same epoch) or in one of the next few epochs.
fn plausible_frame(bytes: &[u8], after: Zxid, max_txn_bytes: usize) -> bool {
    let length = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")) as usize;
    if length == 0 || length > max_txn_bytes || length > bytes.len() - FRAME_HEADER_BYTES {
        return false;
    }
    let Some(zxid) = leading_zxid(&bytes[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + length]) else {
        return false;
    };
    const EPOCHS_AHEAD: u32 = 16;
    let most_records = (bytes.len() / FRAME_HEADER_BYTES) as i64 + 1;
    if zxid <= after {
        return false;
    }
    if zxid.epoch() == after.epoch() {
        return zxid.0 - after.0 <= most_records;
    }
    zxid.epoch().0 - after.epoch().0 <= EPOCHS_AHEAD && i64::from(zxid.counter()) <= most_records
}

/// The zxid a postcard-encoded txn starts with (a zigzag varint of at most 10 bytes).
fn leading_zxid(payload: &[u8]) -> Option<Zxid> {
    let mut value: u64 = 0;
    for (index, &byte) in payload.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            let decoded = ((value >> 1) as i64) ^ -((value & 1) as i64);
            return Some(Zxid(decoded));
        }
    }
    None
}

/// Whether every byte is zero (true for an empty slice).
pub fn is_all_zero(bytes: &[u8]) -> bool {
    // Comparing word-sized chunks keeps scans of preallocated tails fast.
    let (chunks, rest) = bytes.split_at(bytes.len() - bytes.len() % 8);
    chunks
        .chunks_exact(8)
        .all(|chunk| u64::from_ne_bytes(chunk.try_into().expect("8 bytes")) == 0)
        && rest.iter().all(|&b| b == 0)
}

fn checksum(length: &[u8; 4], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(length);
    hasher.update(payload);
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::SessionId;
    use zk_tree::{TxnBody, ZnodePath};

    const LIMIT: usize = 1 << 20;

    fn txn(zxid: i64) -> Txn {
        Txn {
            zxid: Zxid(zxid),
            time_ms: 1_700_000_000_000 + zxid,
            session_id: SessionId(7),
            body: TxnBody::SetData {
                path: ZnodePath::parse("/a").unwrap(),
                data: Some(vec![zxid as u8; 20]),
                version: zxid as i32,
            },
        }
    }

    fn encoded(zxids: std::ops::RangeInclusive<i64>) -> Vec<u8> {
        let mut out = Vec::new();
        for zxid in zxids {
            encode(&txn(zxid), &mut out, LIMIT).unwrap();
        }
        out
    }

    #[test]
    fn records_round_trip_and_zeros_end_them() {
        let mut bytes = encoded(1..=2);
        bytes.extend_from_slice(&[0; 100]);
        let Frame::Record { txn: first, size } = decode(&bytes, LIMIT) else {
            panic!("first record")
        };
        assert_eq!(first, txn(1));
        let Frame::Record {
            txn: second,
            size: second_size,
        } = decode(&bytes[size..], LIMIT)
        else {
            panic!("second record")
        };
        assert_eq!(second, txn(2));
        assert_eq!(decode(&bytes[size + second_size..], LIMIT), Frame::End);
        assert_eq!(decode(&[], LIMIT), Frame::End);
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let bytes = encoded(5..=5);
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(decode(&damaged, LIMIT), Frame::Damaged { .. }),
                "bit {bit} went unnoticed"
            );
        }
    }

    #[test]
    fn short_and_oversized_records_are_damage() {
        let bytes = encoded(1..=1);
        assert!(matches!(
            decode(&bytes[..bytes.len() - 1], LIMIT),
            Frame::Damaged { .. }
        ));
        assert!(matches!(decode(&bytes[..3], LIMIT), Frame::Damaged { .. }));
        assert!(matches!(decode(&bytes, 4), Frame::Damaged { .. }));
        let mut out = Vec::new();
        assert!(matches!(
            encode(&txn(1), &mut out, 4),
            Err(StorageError::TxnTooLarge { .. })
        ));
        assert!(out.is_empty(), "a refused record leaves nothing behind");
    }

    #[test]
    fn a_valid_record_is_found_after_damage_but_not_in_garbage_or_zeros() {
        let bytes = encoded(1..=3);
        let first = match decode(&bytes, LIMIT) {
            Frame::Record { size, .. } => size,
            other => panic!("{other:?}"),
        };
        let mut damaged = bytes.clone();
        damaged[first / 2] ^= 0xff;
        assert_eq!(
            find_valid_record(&damaged[1..], Zxid(0), LIMIT),
            Some(first - 1)
        );
        let garbage: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(find_valid_record(&garbage, Zxid(0), LIMIT), None);
        assert_eq!(find_valid_record(&[0; 4096], Zxid(0), LIMIT), None);
        // Records that do not come after `after` are stale, not successors.
        assert_eq!(find_valid_record(&bytes, Zxid(3), LIMIT), None);
    }

    #[test]
    fn the_leading_zxid_is_read_from_the_payload() {
        let bytes = encoded(0x5_0000_0001..=0x5_0000_0001);
        assert_eq!(
            leading_zxid(&bytes[FRAME_HEADER_BYTES..]),
            Some(Zxid(0x5_0000_0001))
        );
    }
}
