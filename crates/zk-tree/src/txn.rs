//! Transactions: what [`crate::DataTree::prepare`] decides and every replica applies. They
//! mirror Apache's txn records (`CreateTxn`, `DeleteTxn`, `SetDataTxn`, `MultiTxn`,
//! `ErrorTxn`, ...) and are serde types, carried in the log and between servers with
//! postcard. A transaction holds everything apply needs: applying the same transactions in
//! the same order gives the same tree on every replica.

use crate::path::ZnodePath;
use serde::{Deserialize, Serialize};
use zk_proto::{Acl, ErrorCode, SessionId, Zxid};

/// One transaction, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    pub zxid: Zxid,
    /// Wall-clock time when the leader prepared it (ms since the epoch): ctime/mtime.
    pub time_ms: i64,
    /// The session that sent the request; it owns the ephemerals the txn creates.
    pub session_id: SessionId,
    pub body: TxnBody,
}

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnBody {
    /// A persistent or ephemeral znode (`CreateTxn`); an ephemeral is owned by the txn's
    /// session. `parent_cversion` is the parent's new `cversion` (creation count).
    Create {
        path: ZnodePath,
        #[serde(with = "serde_bytes")]
        data: Option<Vec<u8>>,
        acl: Vec<Acl>,
        ephemeral: bool,
        parent_cversion: i32,
    },
    /// A container znode (`CreateContainerTxn`).
    CreateContainer {
        path: ZnodePath,
        #[serde(with = "serde_bytes")]
        data: Option<Vec<u8>>,
        acl: Vec<Acl>,
        parent_cversion: i32,
    },
    /// A TTL znode (`CreateTTLTxn`).
    CreateTtl {
        path: ZnodePath,
        #[serde(with = "serde_bytes")]
        data: Option<Vec<u8>>,
        acl: Vec<Acl>,
        parent_cversion: i32,
        ttl_ms: i64,
    },
    /// Removes a znode (`DeleteTxn`).
    Delete { path: ZnodePath },
    /// Removes an empty container or expired TTL znode (`DeleteTxn` under the
    /// deleteContainer opcode).
    DeleteContainer { path: ZnodePath },
    /// New data; `version` is the new data version (`SetDataTxn`).
    SetData {
        path: ZnodePath,
        #[serde(with = "serde_bytes")]
        data: Option<Vec<u8>>,
        version: i32,
    },
    /// New ACL; `version` is the new ACL version (`SetACLTxn`).
    SetAcl {
        path: ZnodePath,
        acl: Vec<Acl>,
        version: i32,
    },
    /// A version check that passed (`CheckVersionTxn`); changes nothing.
    Check { path: ZnodePath, version: i32 },
    /// Operations applied together (`MultiTxn`). In a failed multi every op is an error:
    /// [`TxnBody::RolledBack`] before the one that failed, its [`TxnBody::Error`], then
    /// `Error(RuntimeInconsistency)`.
    Multi(Vec<TxnBody>),
    /// A request that failed; it still consumes its zxid (`ErrorTxn`).
    Error(#[serde(with = "error_code_number")] ErrorCode),
    /// An op of a failed multi that came before the failing one (Apache's `ErrorTxn(0)`).
    RolledBack,
    /// A new session with its timeout (`CreateSessionTxn`).
    CreateSession { timeout_ms: i32 },
    /// The end of a session: deletes `ephemerals`, the session's ephemerals at prepare
    /// time, and any other the session still owns (`CloseSessionTxn`).
    CloseSession { ephemerals: Vec<ZnodePath> },
}

/// `ErrorCode` travels as its wire number.
mod error_code_number {
    use serde::{de, Deserialize, Deserializer, Serializer};
    use zk_proto::ErrorCode;

    pub fn serialize<S: Serializer>(code: &ErrorCode, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i32(code.code())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ErrorCode, D::Error> {
        let number = i32::deserialize(deserializer)?;
        ErrorCode::from_code(number)
            .ok_or_else(|| de::Error::custom(format_args!("unknown error code {number}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Data is encoded as one byte string; postcard writes that exactly as it wrote the
    /// sequence of bytes before, so logs and snapshots written earlier still decode.
    #[test]
    fn data_as_bytes_keeps_the_earlier_encoding() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct AsSequence {
            data: Option<Vec<u8>>,
        }
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct AsBytes {
            #[serde(with = "serde_bytes")]
            data: Option<Vec<u8>>,
        }
        for data in [None, Some(vec![]), Some((0..=255).collect::<Vec<u8>>())] {
            let old = postcard::to_allocvec(&AsSequence { data: data.clone() }).unwrap();
            let new = postcard::to_allocvec(&AsBytes { data: data.clone() }).unwrap();
            assert_eq!(old, new);
            assert_eq!(
                postcard::from_bytes::<AsBytes>(&old).unwrap(),
                AsBytes { data }
            );
        }
    }

    #[test]
    fn transactions_round_trip_through_postcard() {
        let path = |p: &str| ZnodePath::parse(p).unwrap();
        let txn = Txn {
            zxid: Zxid(0x1_0000_0005),
            time_ms: 1_700_000_000_000,
            session_id: SessionId(0x42),
            body: TxnBody::Multi(vec![
                TxnBody::Create {
                    path: path("/a"),
                    data: None,
                    acl: Acl::open_unsafe(),
                    ephemeral: true,
                    parent_cversion: 3,
                },
                TxnBody::CreateTtl {
                    path: path("/t"),
                    data: Some(vec![1, 2]),
                    acl: Acl::read_unsafe(),
                    parent_cversion: 4,
                    ttl_ms: 500,
                },
                TxnBody::SetData {
                    path: path("/a"),
                    data: Some(b"x".to_vec()),
                    version: 1,
                },
                TxnBody::Error(ErrorCode::NoNode),
                TxnBody::RolledBack,
                TxnBody::CloseSession {
                    ephemerals: vec![path("/a")],
                },
            ]),
        };
        let bytes = postcard::to_allocvec(&txn).unwrap();
        assert_eq!(postcard::from_bytes::<Txn>(&bytes).unwrap(), txn);
    }

    #[test]
    fn unknown_error_numbers_and_bad_paths_do_not_decode() {
        let bytes = postcard::to_allocvec(&TxnBody::Error(ErrorCode::NoNode)).unwrap();
        let mut corrupted = bytes.clone();
        // The code is the last varint: -101 zigzag-encoded; replace it by 0 (not an error).
        let last = corrupted.len() - 2;
        corrupted.truncate(last);
        corrupted.push(0);
        assert!(postcard::from_bytes::<TxnBody>(&corrupted).is_err());
    }
}
