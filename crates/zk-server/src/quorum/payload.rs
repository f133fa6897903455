//! What a ZAB transaction carries (`zk_zab::Txn::data`): the zk-tree transaction, and, for
//! a write a learner forwarded, which learner and request it answers, so that the learner
//! can reply to its client when the transaction is delivered.

use serde::{Deserialize, Serialize};
use zk_proto::ServerId;
use zk_tree::Txn;

/// The learner request a transaction answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardOrigin {
    pub server: ServerId,
    pub id: u64,
}

/// The payload of one ZAB transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnPayload {
    pub origin: Option<ForwardOrigin>,
    pub txn: Txn,
}

/// The buffer first reserved for a payload: a 100-byte write's txn fits.
const TYPICAL_PAYLOAD_BYTES: usize = 256;

/// The same layout as [`TxnPayload`], borrowing the txn, to encode without a copy.
#[derive(Serialize)]
struct TxnPayloadRef<'a> {
    origin: Option<ForwardOrigin>,
    txn: &'a Txn,
}

impl TxnPayload {
    pub fn encode(&self) -> Result<Vec<u8>, postcard::Error> {
        Self::encode_parts(self.origin, &self.txn)
    }

    /// Encodes a payload from its parts.
    pub fn encode_parts(
        origin: Option<ForwardOrigin>,
        txn: &Txn,
    ) -> Result<Vec<u8>, postcard::Error> {
        // Reserved up front: growing from empty cost a reallocation and copy at every
        // doubling of each proposal's buffer.
        postcard::to_extend(
            &TxnPayloadRef { origin, txn },
            Vec::with_capacity(TYPICAL_PAYLOAD_BYTES),
        )
    }

    /// Decodes `data`, checking that the tree txn has the zxid ZAB gave it.
    pub fn decode(zxid: zk_proto::Zxid, data: &[u8]) -> Result<Self, String> {
        let payload: TxnPayload = postcard::from_bytes(data).map_err(|error| error.to_string())?;
        if payload.txn.zxid != zxid {
            return Err(format!(
                "transaction {zxid} carries a tree txn of zxid {}",
                payload.txn.zxid
            ));
        }
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::{SessionId, Zxid};
    use zk_tree::TxnBody;

    #[test]
    fn payloads_round_trip_and_must_match_their_zxid() {
        let payload = TxnPayload {
            origin: Some(ForwardOrigin {
                server: ServerId(2),
                id: 9,
            }),
            txn: Txn {
                zxid: Zxid(0x1_0000_0003),
                time_ms: 5,
                session_id: SessionId(7),
                body: TxnBody::CreateSession { timeout_ms: 4000 },
            },
        };
        let bytes = payload.encode().unwrap();
        assert_eq!(TxnPayload::decode(Zxid(0x1_0000_0003), &bytes), Ok(payload));
        assert!(TxnPayload::decode(Zxid(0x1_0000_0004), &bytes).is_err());
        assert!(TxnPayload::decode(Zxid(0x1_0000_0003), &bytes[..3]).is_err());
    }
}
