//! The unit ZAB orders: an opaque transaction with its zxid.

use serde::{Deserialize, Serialize};
use zk_proto::Zxid;

/// A transaction as ZAB sees it: a zxid and bytes that only the host understands (for
/// zk-server, a serialized `zk_tree::Txn`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Txn {
    /// Where the transaction sits in the total order.
    pub zxid: Zxid,
    /// The host's payload.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

impl Txn {
    /// A transaction with the given zxid and payload.
    pub fn new(zxid: Zxid, data: Vec<u8>) -> Self {
        Txn { zxid, data }
    }
}
