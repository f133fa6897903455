//! Apache ZooKeeper's client wire protocol: jute records and length-prefixed framing,
//! byte-compatible with clients of ZooKeeper 3.4 to 3.9. No I/O: callers hand in bytes and
//! get records back, and the other way round.
//!
//! Decoding is total: any byte string gives a record or a [`DecodeError`], never a panic, and
//! no length or count read from the input is trusted before the input is known to hold it.
//!
//! # Layout
//! - [`jute`]: the encoding primitives and the [`Encode`]/[`Decode`] trait pair, with the
//!   field codecs (`int`, `long`, `boolean`, `ustring`, `buffer`, `vector`).
//! - [`types`]: newtypes for protocol scalars ([`Zxid`], [`SessionId`], [`Xid`], ...).
//! - [`error`]: [`DecodeError`] for bad bytes, [`ErrorCode`] for the protocol's result codes.
//! - [`opcode`]: [`OpCode`], the request types.
//! - [`data`]: records shared by many requests (`Id`, `ACL`, `Stat`, `ClientInfo`) and
//!   enumerations.
//! - [`records`]: every record a client sends or receives, mirroring `zookeeper.jute`:
//!   headers, handshake, znode requests and responses, watches, authentication, multi.
//! - [`request`]: [`RequestBody`] (one variant per opcode), [`Request`], [`decode_request`].
//! - [`response`]: [`ResponseBody`] (one variant per reply record), [`Response`],
//!   [`decode_response`], notifications.
//! - [`frame`]: the 4-byte length prefix: [`split_frame`], [`write_frame`], the first message
//!   of a connection.
//! - [`four_letter`]: [`FourLetterWord`], the admin commands sent instead of a frame.

#![warn(missing_docs)]

pub mod data;
pub mod error;
pub mod four_letter;
pub mod frame;
pub mod jute;
pub mod opcode;
pub mod records;
pub mod request;
pub mod response;
pub mod types;

pub use data::{
    Acl, AddWatchMode, ClientInfo, CreateMode, EventType, Id, KeeperState, Perms, Stat, WatcherType,
};
pub use error::{DecodeError, ErrorCode};
pub use four_letter::FourLetterWord;
pub use frame::{
    split_first_message, split_frame, write_frame, write_frame_with, FirstMessage, Frame,
    DEFAULT_MAX_FRAME_LEN,
};
pub use jute::{from_bytes, to_bytes, Decode, Encode, Reader};
pub use opcode::OpCode;
pub use records::connect::SESSION_PASSWORD_LEN;
pub use records::{
    AddWatchRequest, AuthPacket, CheckVersionRequest, CheckWatchesRequest, ConnectRequest,
    ConnectResponse, Create2Response, CreateRequest, CreateResponse, CreateTtlRequest,
    DeleteContainerRequest, DeleteRequest, ErrorResponse, ExistsRequest, ExistsResponse,
    GetAclRequest, GetAclResponse, GetAllChildrenNumberRequest, GetAllChildrenNumberResponse,
    GetChildren2Request, GetChildren2Response, GetChildrenRequest, GetChildrenResponse,
    GetDataRequest, GetDataResponse, GetEphemeralsRequest, GetEphemeralsResponse, GetSaslRequest,
    MultiHeader, MultiOp, MultiRequest, MultiResponse, MultiResult, ReconfigRequest,
    RemoveWatchesRequest, ReplyHeader, RequestHeader, SetAclRequest, SetAclResponse,
    SetDataRequest, SetDataResponse, SetSaslResponse, SetWatches, SetWatches2, SyncRequest,
    SyncResponse, WatcherEvent, WhoAmIResponse,
};
pub use request::{decode_request, decode_request_header, Request, RequestBody};
pub use response::{decode_response, encode_notification, Response, ResponseBody, ResponseKind};
pub use types::{Epoch, ServerId, SessionId, Xid, Zxid};
