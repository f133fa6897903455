//! The records of jute's `org.apache.zookeeper.proto` module that clients of ZooKeeper 3.4 to
//! 3.9 send or receive, field for field in the order of `zookeeper.jute`.
//!
//! Field types carry the jute type: `i32` is `int`, `i64` is `long`, `bool` is `boolean`,
//! `String` is a `ustring` whose null the reference server treats like empty (a null or empty
//! path both fail validation; null decodes as empty), `Option<String>` a `ustring` whose null
//! it distinguishes (the server lists of `reconfig`), `Option<Vec<u8>>` a `buffer` whose null
//! it distinguishes (znode data, SASL tokens), `Vec<u8>` a `buffer` whose null it does not
//! (passwords, auth data), and `Vec<T>` a `vector<T>` (null decodes as empty: no vector a
//! client exchanges gives null a meaning of its own).
//!
//! # Layout
//! - [`header`]: request, reply and multi headers.
//! - [`connect`]: the handshake records.
//! - [`node`]: requests about znodes and their responses.
//! - [`watch`]: watch events and the watch-management requests.
//! - [`auth`]: authentication (`auth`, `sasl`, `whoAmI`).
//! - [`multi`]: the `multi` and `multiRead` transactions and their results.

pub mod auth;
pub mod connect;
pub mod header;
pub mod multi;
pub mod node;
pub mod watch;

pub use auth::{AuthPacket, GetSaslRequest, SetSaslResponse, WhoAmIResponse};
pub use connect::{ConnectRequest, ConnectResponse};
pub use header::{MultiHeader, ReplyHeader, RequestHeader};
pub use multi::{MultiOp, MultiRequest, MultiResponse, MultiResult};
pub use node::{
    CheckVersionRequest, Create2Response, CreateRequest, CreateResponse, CreateTtlRequest,
    DeleteContainerRequest, DeleteRequest, ErrorResponse, ExistsRequest, ExistsResponse,
    GetAclRequest, GetAclResponse, GetAllChildrenNumberRequest, GetAllChildrenNumberResponse,
    GetChildren2Request, GetChildren2Response, GetChildrenRequest, GetChildrenResponse,
    GetDataRequest, GetDataResponse, GetEphemeralsRequest, GetEphemeralsResponse, ReconfigRequest,
    SetAclRequest, SetAclResponse, SetDataRequest, SetDataResponse, SyncRequest, SyncResponse,
};
pub use watch::{
    AddWatchRequest, CheckWatchesRequest, RemoveWatchesRequest, SetWatches, SetWatches2,
    WatcherEvent,
};

/// Defines a record as a struct whose fields are encoded and decoded in declaration order,
/// each through its type's `Encode`/`Decode`. Declaration order is the wire order, so every
/// use must list the fields exactly as `zookeeper.jute` does.
macro_rules! jute_record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        impl $crate::jute::Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                $( $crate::jute::Encode::encode(&self.$field, out); )*
            }
        }

        impl $crate::jute::Decode for $name {
            const MIN_WIRE_LEN: usize =
                0 $( + <$ty as $crate::jute::Decode>::MIN_WIRE_LEN )*;

            fn decode(
                reader: &mut $crate::jute::Reader<'_>,
            ) -> Result<Self, $crate::error::DecodeError> {
                Ok(Self {
                    $( $field: $crate::jute::Decode::decode(reader)?, )*
                })
            }
        }
    };
}
pub(crate) use jute_record;
