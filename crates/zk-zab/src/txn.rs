//! The unit ZAB orders: an opaque transaction with its zxid.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use zk_proto::Zxid;

/// A transaction as ZAB sees it: a zxid and bytes that only the host understands (for
/// zk-server, a serialized `zk_tree::Txn`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Txn {
    /// Where the transaction sits in the total order.
    pub zxid: Zxid,
    /// The host's payload, shared by every copy of the txn (log, proposals, delivery).
    pub data: Bytes,
}

impl Txn {
    /// A transaction with the given zxid and payload (taken without a copy).
    pub fn new(zxid: Zxid, data: impl Into<Bytes>) -> Self {
        Txn {
            zxid,
            data: data.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::Epoch;

    /// The payload is a shared buffer now; on the wire it is the byte string the Vec<u8>
    /// was, so peers of either build understand each other's proposals.
    #[test]
    fn the_shared_payload_keeps_the_byte_string_encoding() {
        #[derive(Serialize)]
        struct AsVec {
            zxid: Zxid,
            #[serde(with = "serde_bytes")]
            data: Vec<u8>,
        }
        for data in [vec![], vec![7], (0..=255).collect::<Vec<u8>>()] {
            let zxid = Zxid::new(Epoch(3), 9);
            let old = postcard::to_allocvec(&AsVec {
                zxid,
                data: data.clone(),
            })
            .expect("encodes");
            let txn = Txn::new(zxid, data);
            assert_eq!(old, postcard::to_allocvec(&txn).expect("encodes"));
            assert_eq!(postcard::from_bytes::<Txn>(&old).expect("decodes"), txn);
        }
    }

    #[test]
    fn clones_share_the_payload() {
        let txn = Txn::new(Zxid::new(Epoch(1), 1), vec![1, 2, 3]);
        let copy = txn.clone();
        assert_eq!(txn.data.as_ptr(), copy.data.as_ptr());
    }
}
