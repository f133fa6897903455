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

impl TxnPayload {
    pub fn encode(&self) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_allocvec(self)
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
