//! Requests about znodes and their responses, in the order of `zookeeper.jute`.

use crate::data::{Acl, Stat};
use crate::error::DecodeError;
use crate::jute::{Decode, Encode, Reader};
use crate::records::jute_record;

jute_record! {
    /// `getData` (jute `GetDataRequest`).
    #[derive(Default)]
    pub struct GetDataRequest {
        /// The znode path.
        pub path: String,
        /// Whether to leave a data watch on the node.
        pub watch: bool,
    }
}

jute_record! {
    /// `setData` (jute `SetDataRequest`).
    #[derive(Default)]
    pub struct SetDataRequest {
        /// The znode path.
        pub path: String,
        /// The new data; `None` is null, which the Java client sends for `null` data.
        pub data: Option<Vec<u8>>,
        /// The expected data version, or -1 for any.
        pub version: i32,
    }
}

jute_record! {
    /// `reconfig` (jute `ReconfigRequest`). Each server list is a comma-separated string in
    /// zoo.cfg's `server.N=...` syntax. Null (`None`) and empty differ here: the reference
    /// makes an incremental change (joining/leaving) unless `new_members` is non-null, and
    /// clients send null for the lists they do not use.
    #[derive(Default)]
    pub struct ReconfigRequest {
        /// Servers to add (incremental change).
        pub joining_servers: Option<String>,
        /// Ids of servers to remove (incremental change).
        pub leaving_servers: Option<String>,
        /// The whole new membership (non-incremental change).
        pub new_members: Option<String>,
        /// The configuration version the change is based on, or -1 for any.
        pub cur_config_id: i64,
    }
}

jute_record! {
    /// The reply to `setData` and to a standalone `check` (jute `SetDataResponse`).
    #[derive(Default)]
    pub struct SetDataResponse {
        /// The node's metadata.
        pub stat: Stat,
    }
}

jute_record! {
    /// `create`, and also the record of `create2` and `createContainer`
    /// (jute `CreateRequest`).
    #[derive(Default)]
    pub struct CreateRequest {
        /// The znode path.
        pub path: String,
        /// The node's data; `None` is null (the Java client sends -1 for `null` data, and
        /// `getData` of such a node returns null).
        pub data: Option<Vec<u8>>,
        /// The access control list.
        pub acl: Vec<Acl>,
        /// The create mode's flag (see [`crate::CreateMode::from_flag`]); kept as the wire
        /// integer because the reference answers an invalid flag with `BadArguments`, not
        /// with a marshalling error.
        pub flags: i32,
    }
}

jute_record! {
    /// `createTTL` (jute `CreateTTLRequest`).
    #[derive(Default)]
    pub struct CreateTtlRequest {
        /// The znode path.
        pub path: String,
        /// The data; `None` is null.
        pub data: Option<Vec<u8>>,
        /// The access control list.
        pub acl: Vec<Acl>,
        /// The create mode's flag (see [`crate::CreateMode::from_flag`]).
        pub flags: i32,
        /// Time to live in milliseconds.
        pub ttl: i64,
    }
}

jute_record! {
    /// `delete` (jute `DeleteRequest`).
    #[derive(Default)]
    pub struct DeleteRequest {
        /// The znode path.
        pub path: String,
        /// The expected data version, or -1 for any.
        pub version: i32,
    }
}

jute_record! {
    /// `getChildren` (jute `GetChildrenRequest`).
    #[derive(Default)]
    pub struct GetChildrenRequest {
        /// The znode path.
        pub path: String,
        /// Whether to leave a child watch on the node.
        pub watch: bool,
    }
}

jute_record! {
    /// `getAllChildrenNumber` (jute `GetAllChildrenNumberRequest`).
    #[derive(Default)]
    pub struct GetAllChildrenNumberRequest {
        /// The znode path.
        pub path: String,
    }
}

jute_record! {
    /// `getChildren2`, which also returns the node's stat (jute `GetChildren2Request`).
    #[derive(Default)]
    pub struct GetChildren2Request {
        /// The znode path.
        pub path: String,
        /// Whether to leave a watch on the node.
        pub watch: bool,
    }
}

jute_record! {
    /// `check`, standalone or inside a multi (jute `CheckVersionRequest`).
    #[derive(Default)]
    pub struct CheckVersionRequest {
        /// The znode path.
        pub path: String,
        /// The version the node must have.
        pub version: i32,
    }
}

jute_record! {
    /// `sync` (jute `SyncRequest`).
    #[derive(Default)]
    pub struct SyncRequest {
        /// The znode path.
        pub path: String,
    }
}

jute_record! {
    /// The reply to `sync`, echoing the path (jute `SyncResponse`).
    #[derive(Default)]
    pub struct SyncResponse {
        /// The znode path.
        pub path: String,
    }
}

jute_record! {
    /// `getACL` (jute `GetACLRequest`).
    #[derive(Default)]
    pub struct GetAclRequest {
        /// The znode path.
        pub path: String,
    }
}

jute_record! {
    /// `setACL` (jute `SetACLRequest`).
    #[derive(Default)]
    pub struct SetAclRequest {
        /// The znode path.
        pub path: String,
        /// The access control list.
        pub acl: Vec<Acl>,
        /// The expected ACL version, or -1 for any.
        pub version: i32,
    }
}

jute_record! {
    /// The reply to `setACL` (jute `SetACLResponse`).
    #[derive(Default)]
    pub struct SetAclResponse {
        /// The node's metadata.
        pub stat: Stat,
    }
}

jute_record! {
    /// A bare error code (jute `ErrorResponse`): the body of an error result inside a multi
    /// response, and the reply body of `addWatch` (always 0 there).
    #[derive(Default)]
    pub struct ErrorResponse {
        /// The error code (0 for none).
        pub err: i32,
    }
}

jute_record! {
    /// The reply to `create` (jute `CreateResponse`).
    #[derive(Default)]
    pub struct CreateResponse {
        /// The created path, with the sequence suffix for sequential nodes.
        pub path: String,
    }
}

jute_record! {
    /// The reply to `create2`, `createTTL` and `createContainer` (jute `Create2Response`).
    #[derive(Default)]
    pub struct Create2Response {
        /// The znode path.
        pub path: String,
        /// The node's metadata.
        pub stat: Stat,
    }
}

jute_record! {
    /// `exists` (jute `ExistsRequest`).
    #[derive(Default)]
    pub struct ExistsRequest {
        /// The znode path.
        pub path: String,
        /// Whether to leave a watch: a data watch if the node exists, an exist watch if not.
        pub watch: bool,
    }
}

jute_record! {
    /// The reply to `exists` when the node exists (jute `ExistsResponse`); a missing node is
    /// an error reply (`NoNode`) with no body.
    #[derive(Default)]
    pub struct ExistsResponse {
        /// The node's metadata.
        pub stat: Stat,
    }
}

jute_record! {
    /// The reply to `getData`, and to `reconfig` with the new configuration as data
    /// (jute `GetDataResponse`).
    #[derive(Default)]
    pub struct GetDataResponse {
        /// `None` for a node created with null data.
        pub data: Option<Vec<u8>>,
        /// The node's metadata.
        pub stat: Stat,
    }
}

jute_record! {
    /// The reply to `getChildren` (jute `GetChildrenResponse`).
    #[derive(Default)]
    pub struct GetChildrenResponse {
        /// Child names, without the parent path.
        pub children: Vec<String>,
    }
}

jute_record! {
    /// The reply to `getAllChildrenNumber` (jute `GetAllChildrenNumberResponse`).
    #[derive(Default)]
    pub struct GetAllChildrenNumberResponse {
        /// How many nodes are below the path, at any depth.
        pub total_number: i32,
    }
}

jute_record! {
    /// The reply to `getChildren2` (jute `GetChildren2Response`).
    #[derive(Default)]
    pub struct GetChildren2Response {
        /// Child names, without the parent path.
        pub children: Vec<String>,
        /// The node's metadata.
        pub stat: Stat,
    }
}

jute_record! {
    /// The reply to `getACL` (jute `GetACLResponse`).
    #[derive(Default)]
    pub struct GetAclResponse {
        /// The access control list.
        pub acl: Vec<Acl>,
        /// The node's metadata.
        pub stat: Stat,
    }
}

jute_record! {
    /// `getEphemerals` (jute `GetEphemeralsRequest`).
    #[derive(Default)]
    pub struct GetEphemeralsRequest {
        /// Only ephemerals whose path starts with this prefix; empty or `/` for all.
        pub prefix_path: String,
    }
}

jute_record! {
    /// The reply to `getEphemerals` (jute `GetEphemeralsResponse`).
    #[derive(Default)]
    pub struct GetEphemeralsResponse {
        /// Full paths of the session's ephemeral nodes.
        pub ephemerals: Vec<String>,
    }
}

/// `deleteContainer`. Not a jute record: the reference reads the whole request body as the
/// UTF-8 bytes of the path, with no length prefix (its container manager builds such requests
/// internally; clients do not send them, but the opcode is valid on the client port).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteContainerRequest {
    /// The container's path; invalid UTF-8 is replaced by U+FFFD, as Java does.
    pub path: String,
}

impl Encode for DeleteContainerRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.path.as_bytes());
    }
}

impl Decode for DeleteContainerRequest {
    const MIN_WIRE_LEN: usize = 0;

    /// Consumes every remaining byte.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let path = String::from_utf8_lossy(reader.take_rest()).into_owned();
        Ok(DeleteContainerRequest { path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Perms;
    use crate::jute::{from_bytes, to_bytes};

    #[test]
    fn create_request_field_order() {
        let request = CreateRequest {
            path: "/a".into(),
            data: None,
            acl: Acl::open_unsafe(),
            flags: 3,
        };
        let bytes = to_bytes(&request);
        let mut expected = vec![0, 0, 0, 2, b'/', b'a', 255, 255, 255, 255, 0, 0, 0, 1];
        expected.extend_from_slice(&Perms::ALL.0.to_be_bytes());
        expected.extend_from_slice(&[0, 0, 0, 5]);
        expected.extend_from_slice(b"world");
        expected.extend_from_slice(&[0, 0, 0, 6]);
        expected.extend_from_slice(b"anyone");
        expected.extend_from_slice(&[0, 0, 0, 3]);
        assert_eq!(bytes, expected);
        assert_eq!(from_bytes::<CreateRequest>(&bytes).unwrap(), request);
    }

    #[test]
    fn null_and_empty_data_stay_distinct() {
        for data in [None, Some(Vec::new())] {
            let response = GetDataResponse {
                data: data.clone(),
                stat: Stat::default(),
            };
            let decoded = from_bytes::<GetDataResponse>(&to_bytes(&response)).unwrap();
            assert_eq!(decoded.data, data);
        }
    }

    #[test]
    fn null_path_decodes_as_empty() {
        let bytes = [255, 255, 255, 255, 1];
        let request = from_bytes::<GetDataRequest>(&bytes).unwrap();
        assert_eq!(request.path, "");
        assert!(request.watch);
    }

    #[test]
    fn delete_container_is_raw_path_bytes() {
        let request = from_bytes::<DeleteContainerRequest>(b"/c").unwrap();
        assert_eq!(request.path, "/c");
        assert_eq!(to_bytes(&request), b"/c");
    }

    #[test]
    fn record_minimum_lengths_add_up() {
        assert_eq!(<CreateRequest as Decode>::MIN_WIRE_LEN, 16);
        assert_eq!(<GetDataResponse as Decode>::MIN_WIRE_LEN, 72);
    }
}
