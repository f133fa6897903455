//! The write requests a client can send, already decoded by the server: the input of
//! [`crate::DataTree::prepare`].

use serde::{Deserialize, Serialize};
use zk_proto::{Acl, CreateMode};

/// A write a client asked for. Serde, because a follower forwards it to the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteRequest {
    /// create, create2, createContainer and createTTL. The kind of znode follows `mode`
    /// (the Java client always sends the opcode that matches its mode). `ttl_ms` is the
    /// TTL of a createTTL request, `None` for the others (Apache's -1).
    Create {
        path: String,
        // One byte string, not a sequence of bytes: same postcard encoding, decoded in one
        // copy instead of a push per byte.
        #[serde(with = "serde_bytes")]
        data: Option<Vec<u8>>,
        acl: Vec<Acl>,
        mode: CreateMode,
        ttl_ms: Option<i64>,
    },
    /// delete; `version` -1 matches any version.
    Delete { path: String, version: i32 },
    /// setData; `version` -1 matches any version.
    SetData {
        path: String,
        #[serde(with = "serde_bytes")]
        data: Option<Vec<u8>>,
        version: i32,
    },
    /// setACL; `version` (the ACL version) -1 matches any.
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    /// check (inside a multi); `version` -1 matches any.
    Check { path: String, version: i32 },
    /// multi: create, delete, setData and check ops, all or nothing. Any other op inside
    /// makes the whole request fail with `MarshallingError`, as Apache's decoder does.
    Multi(Vec<WriteRequest>),
    /// deleteContainer: sent by the server itself to reap an empty container or an expired
    /// TTL znode (see [`crate::DataTree::reap_candidates`]).
    DeleteContainer { path: String },
    /// createSession, with the negotiated timeout.
    CreateSession { timeout_ms: i32 },
    /// closeSession, from the client or on expiry: deletes the session's ephemerals.
    CloseSession,
}

impl WriteRequest {
    /// Whether the op may appear inside a multi.
    pub fn allowed_in_multi(&self) -> bool {
        matches!(
            self,
            WriteRequest::Create { .. }
                | WriteRequest::Delete { .. }
                | WriteRequest::SetData { .. }
                | WriteRequest::Check { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data fields decode as byte strings; postcard writes those exactly as the
    /// sequences of bytes it wrote before, so a peer of the earlier build still understands
    /// a forwarded write, and the other way round.
    #[test]
    fn data_as_bytes_keeps_the_forwarded_encoding() {
        #[derive(Serialize)]
        enum AsSequence {
            Create {
                path: String,
                data: Option<Vec<u8>>,
                acl: Vec<Acl>,
                mode: CreateMode,
                ttl_ms: Option<i64>,
            },
            _Delete,
            SetData {
                path: String,
                data: Option<Vec<u8>>,
                version: i32,
            },
        }
        for data in [None, Some(vec![]), Some((0..=255).collect::<Vec<u8>>())] {
            let pairs = [
                (
                    AsSequence::Create {
                        path: "/a".into(),
                        data: data.clone(),
                        acl: vec![],
                        mode: CreateMode::PersistentSequential,
                        ttl_ms: Some(7),
                    },
                    WriteRequest::Create {
                        path: "/a".into(),
                        data: data.clone(),
                        acl: vec![],
                        mode: CreateMode::PersistentSequential,
                        ttl_ms: Some(7),
                    },
                ),
                (
                    AsSequence::SetData {
                        path: "/b".into(),
                        data: data.clone(),
                        version: -1,
                    },
                    WriteRequest::SetData {
                        path: "/b".into(),
                        data: data.clone(),
                        version: -1,
                    },
                ),
            ];
            for (old, new) in pairs {
                let old = postcard::to_allocvec(&old).expect("encodes");
                assert_eq!(old, postcard::to_allocvec(&new).expect("encodes"));
                assert_eq!(
                    postcard::from_bytes::<WriteRequest>(&old).expect("decodes"),
                    new
                );
            }
        }
    }
}
