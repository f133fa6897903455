//! The typed reply layer: one [`ResponseBody`] variant per reply record, [`Response`] for the
//! server to encode, [`decode_response`] for a client, and watch notifications.

use crate::error::DecodeError;
use crate::jute::{Decode, Encode, Reader};
use crate::opcode::OpCode;
use crate::records::{
    Create2Response, CreateResponse, ErrorResponse, ExistsResponse, GetAclResponse,
    GetAllChildrenNumberResponse, GetChildren2Response, GetChildrenResponse, GetDataResponse,
    GetEphemeralsResponse, MultiResponse, ReplyHeader, SetAclResponse, SetDataResponse,
    SetSaslResponse, SyncResponse, WatcherEvent, WhoAmIResponse,
};
use crate::types::{Xid, Zxid};

/// The body of a reply, one variant per reply record. Which one an opcode gets is
/// [`ResponseBody::kind_for`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBody {
    /// No body: error replies, and the replies to `delete`, `deleteContainer`, `ping`,
    /// `auth`, `setWatches`, `setWatches2`, `checkWatches`, `removeWatches`, `closeSession`.
    Empty,
    /// A watch event; its header is [`ReplyHeader::notification`].
    Notification(WatcherEvent),
    /// `create`.
    Create(CreateResponse),
    /// `create2`, `createTTL`, `createContainer`.
    Create2(Create2Response),
    /// `exists` of an existing node.
    Exists(ExistsResponse),
    /// `getData`, and `reconfig` (the new configuration as data).
    GetData(GetDataResponse),
    /// `setData`, and a standalone `check`.
    SetData(SetDataResponse),
    /// `getACL`.
    GetAcl(GetAclResponse),
    /// `setACL`.
    SetAcl(SetAclResponse),
    /// `getChildren`.
    GetChildren(GetChildrenResponse),
    /// `getChildren2`.
    GetChildren2(GetChildren2Response),
    /// `sync`.
    Sync(SyncResponse),
    /// `multi` and `multiRead`.
    Multi(MultiResponse),
    /// `sasl`.
    Sasl(SetSaslResponse),
    /// `getEphemerals`.
    GetEphemerals(GetEphemeralsResponse),
    /// `getAllChildrenNumber`.
    GetAllChildrenNumber(GetAllChildrenNumberResponse),
    /// `whoAmI`.
    WhoAmI(WhoAmIResponse),
    /// `addWatch`, whose reply body is an `ErrorResponse` with err 0.
    Error(ErrorResponse),
}

/// Which reply record an opcode's successful reply carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseKind {
    /// [`ResponseBody::Empty`].
    Empty,
    /// [`ResponseBody::Notification`].
    Notification,
    /// [`ResponseBody::Create`].
    Create,
    /// [`ResponseBody::Create2`].
    Create2,
    /// [`ResponseBody::Exists`].
    Exists,
    /// [`ResponseBody::GetData`].
    GetData,
    /// [`ResponseBody::SetData`].
    SetData,
    /// [`ResponseBody::GetAcl`].
    GetAcl,
    /// [`ResponseBody::SetAcl`].
    SetAcl,
    /// [`ResponseBody::GetChildren`].
    GetChildren,
    /// [`ResponseBody::GetChildren2`].
    GetChildren2,
    /// [`ResponseBody::Sync`].
    Sync,
    /// [`ResponseBody::Multi`].
    Multi,
    /// [`ResponseBody::Sasl`].
    Sasl,
    /// [`ResponseBody::GetEphemerals`].
    GetEphemerals,
    /// [`ResponseBody::GetAllChildrenNumber`].
    GetAllChildrenNumber,
    /// [`ResponseBody::WhoAmI`].
    WhoAmI,
    /// [`ResponseBody::Error`].
    Error,
}

impl ResponseBody {
    /// The record of a successful reply to `op_code`, as the reference's
    /// `FinalRequestProcessor` chooses it. [`OpCode::Notification`] stands for a watch event.
    pub fn kind_for(op_code: OpCode) -> ResponseKind {
        match op_code {
            OpCode::Notification => ResponseKind::Notification,
            OpCode::Create => ResponseKind::Create,
            OpCode::Create2 | OpCode::CreateTtl | OpCode::CreateContainer => ResponseKind::Create2,
            OpCode::Exists => ResponseKind::Exists,
            OpCode::GetData | OpCode::Reconfig => ResponseKind::GetData,
            OpCode::SetData | OpCode::Check => ResponseKind::SetData,
            OpCode::GetAcl => ResponseKind::GetAcl,
            OpCode::SetAcl => ResponseKind::SetAcl,
            OpCode::GetChildren => ResponseKind::GetChildren,
            OpCode::GetChildren2 => ResponseKind::GetChildren2,
            OpCode::Sync => ResponseKind::Sync,
            OpCode::Multi | OpCode::MultiRead => ResponseKind::Multi,
            OpCode::Sasl => ResponseKind::Sasl,
            OpCode::GetEphemerals => ResponseKind::GetEphemerals,
            OpCode::GetAllChildrenNumber => ResponseKind::GetAllChildrenNumber,
            OpCode::WhoAmI => ResponseKind::WhoAmI,
            OpCode::AddWatch => ResponseKind::Error,
            OpCode::Delete
            | OpCode::DeleteContainer
            | OpCode::Ping
            | OpCode::Auth
            | OpCode::SetWatches
            | OpCode::SetWatches2
            | OpCode::CheckWatches
            | OpCode::RemoveWatches
            | OpCode::CloseSession
            | OpCode::CreateSession
            | OpCode::Error => ResponseKind::Empty,
        }
    }

    /// The kind of this body.
    pub fn kind(&self) -> ResponseKind {
        match self {
            ResponseBody::Empty => ResponseKind::Empty,
            ResponseBody::Notification(_) => ResponseKind::Notification,
            ResponseBody::Create(_) => ResponseKind::Create,
            ResponseBody::Create2(_) => ResponseKind::Create2,
            ResponseBody::Exists(_) => ResponseKind::Exists,
            ResponseBody::GetData(_) => ResponseKind::GetData,
            ResponseBody::SetData(_) => ResponseKind::SetData,
            ResponseBody::GetAcl(_) => ResponseKind::GetAcl,
            ResponseBody::SetAcl(_) => ResponseKind::SetAcl,
            ResponseBody::GetChildren(_) => ResponseKind::GetChildren,
            ResponseBody::GetChildren2(_) => ResponseKind::GetChildren2,
            ResponseBody::Sync(_) => ResponseKind::Sync,
            ResponseBody::Multi(_) => ResponseKind::Multi,
            ResponseBody::Sasl(_) => ResponseKind::Sasl,
            ResponseBody::GetEphemerals(_) => ResponseKind::GetEphemerals,
            ResponseBody::GetAllChildrenNumber(_) => ResponseKind::GetAllChildrenNumber,
            ResponseBody::WhoAmI(_) => ResponseKind::WhoAmI,
            ResponseBody::Error(_) => ResponseKind::Error,
        }
    }

    /// Decodes a body of `kind` that takes all of `reader`'s remaining bytes.
    pub fn decode(kind: ResponseKind, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let body = match kind {
            ResponseKind::Empty => ResponseBody::Empty,
            ResponseKind::Notification => ResponseBody::Notification(Decode::decode(reader)?),
            ResponseKind::Create => ResponseBody::Create(Decode::decode(reader)?),
            ResponseKind::Create2 => ResponseBody::Create2(Decode::decode(reader)?),
            ResponseKind::Exists => ResponseBody::Exists(Decode::decode(reader)?),
            ResponseKind::GetData => ResponseBody::GetData(Decode::decode(reader)?),
            ResponseKind::SetData => ResponseBody::SetData(Decode::decode(reader)?),
            ResponseKind::GetAcl => ResponseBody::GetAcl(Decode::decode(reader)?),
            ResponseKind::SetAcl => ResponseBody::SetAcl(Decode::decode(reader)?),
            ResponseKind::GetChildren => ResponseBody::GetChildren(Decode::decode(reader)?),
            ResponseKind::GetChildren2 => ResponseBody::GetChildren2(Decode::decode(reader)?),
            ResponseKind::Sync => ResponseBody::Sync(Decode::decode(reader)?),
            ResponseKind::Multi => ResponseBody::Multi(Decode::decode(reader)?),
            ResponseKind::Sasl => ResponseBody::Sasl(Decode::decode(reader)?),
            ResponseKind::GetEphemerals => ResponseBody::GetEphemerals(Decode::decode(reader)?),
            ResponseKind::GetAllChildrenNumber => {
                ResponseBody::GetAllChildrenNumber(Decode::decode(reader)?)
            }
            ResponseKind::WhoAmI => ResponseBody::WhoAmI(Decode::decode(reader)?),
            ResponseKind::Error => ResponseBody::Error(Decode::decode(reader)?),
        };
        reader.finish()?;
        Ok(body)
    }
}

impl Encode for ResponseBody {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ResponseBody::Empty => {}
            ResponseBody::Notification(body) => body.encode(out),
            ResponseBody::Create(body) => body.encode(out),
            ResponseBody::Create2(body) => body.encode(out),
            ResponseBody::Exists(body) => body.encode(out),
            ResponseBody::GetData(body) => body.encode(out),
            ResponseBody::SetData(body) => body.encode(out),
            ResponseBody::GetAcl(body) => body.encode(out),
            ResponseBody::SetAcl(body) => body.encode(out),
            ResponseBody::GetChildren(body) => body.encode(out),
            ResponseBody::GetChildren2(body) => body.encode(out),
            ResponseBody::Sync(body) => body.encode(out),
            ResponseBody::Multi(body) => body.encode(out),
            ResponseBody::Sasl(body) => body.encode(out),
            ResponseBody::GetEphemerals(body) => body.encode(out),
            ResponseBody::GetAllChildrenNumber(body) => body.encode(out),
            ResponseBody::WhoAmI(body) => body.encode(out),
            ResponseBody::Error(body) => body.encode(out),
        }
    }
}

/// A reply or a watch notification: the payload of one server frame after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The xid answered, the server's zxid and the result code.
    pub header: ReplyHeader,
    /// The reply's record; [`ResponseBody::Empty`] for error replies.
    pub body: ResponseBody,
}

impl Response {
    /// A successful reply.
    pub fn ok(xid: Xid, zxid: Zxid, body: ResponseBody) -> Self {
        Response {
            header: ReplyHeader::ok(xid, zxid),
            body,
        }
    }

    /// A failed reply: the header carries the code and there is no body, as the reference
    /// sends it (and as its client reads it: a body after a non-zero err is ignored).
    pub fn error(xid: Xid, zxid: Zxid, code: crate::error::ErrorCode) -> Self {
        Response {
            header: ReplyHeader::error(xid, zxid, code),
            body: ResponseBody::Empty,
        }
    }

    /// A watch notification: header xid -1, zxid -1, err 0, then the event.
    pub fn notification(event: WatcherEvent) -> Self {
        Response {
            header: ReplyHeader::notification(),
            body: ResponseBody::Notification(event),
        }
    }
}

impl Encode for Response {
    /// Writes the header and the body: a frame payload, without the length prefix (see
    /// [`crate::frame::write_frame`]).
    fn encode(&self, out: &mut Vec<u8>) {
        self.header.encode(out);
        self.body.encode(out);
    }
}

/// Encodes a watch notification's payload (header and event) into `out`, without building a
/// [`Response`].
pub fn encode_notification(event: &WatcherEvent, out: &mut Vec<u8>) {
    ReplyHeader::notification().encode(out);
    event.encode(out);
}

/// Decodes the payload of a server frame after the handshake, given the opcode of the request
/// it answers ([`OpCode::Notification`] for xid -1, [`OpCode::Ping`] for xid -2,
/// [`OpCode::Auth`] for xid -4, [`OpCode::SetWatches`] for xid -8).
///
/// A reply with a non-zero err and nothing after the header has an [`ResponseBody::Empty`]
/// body, which is how the reference sends errors; bytes after such a header are decoded as
/// the opcode's record. The whole payload must be consumed.
pub fn decode_response(op_code: OpCode, payload: &[u8]) -> Result<Response, DecodeError> {
    let mut reader = Reader::new(payload);
    let header = ReplyHeader::decode(&mut reader)?;
    let kind = if header.err != 0 && reader.remaining() == 0 {
        ResponseKind::Empty
    } else {
        ResponseBody::kind_for(op_code)
    };
    let body = ResponseBody::decode(kind, &mut reader)?;
    Ok(Response { header, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{EventType, KeeperState, Stat};
    use crate::error::ErrorCode;
    use crate::jute::to_bytes;

    #[test]
    fn get_data_reply_round_trips() {
        let response = Response::ok(
            Xid(5),
            Zxid(9),
            ResponseBody::GetData(GetDataResponse {
                data: Some(b"hello".to_vec()),
                stat: Stat::default(),
            }),
        );
        let bytes = to_bytes(&response);
        assert_eq!(bytes.len(), 16 + 4 + 5 + 68);
        assert_eq!(decode_response(OpCode::GetData, &bytes).unwrap(), response);
    }

    #[test]
    fn error_reply_has_no_body() {
        let response = Response::error(Xid(5), Zxid(9), ErrorCode::NoNode);
        let bytes = to_bytes(&response);
        assert_eq!(bytes.len(), 16);
        assert_eq!(decode_response(OpCode::Exists, &bytes).unwrap(), response);
    }

    #[test]
    fn notification_bytes() {
        let event = WatcherEvent {
            event_type: EventType::NodeDeleted,
            state: KeeperState::SyncConnected,
            path: "/n".into(),
        };
        let response = Response::notification(event.clone());
        let bytes = to_bytes(&response);
        let mut direct = Vec::new();
        encode_notification(&event, &mut direct);
        assert_eq!(bytes, direct);
        assert_eq!(&bytes[..12], &[255; 12]);
        assert_eq!(
            decode_response(OpCode::Notification, &bytes).unwrap(),
            response
        );
    }

    #[test]
    fn add_watch_reply_is_an_error_response_with_zero() {
        let response = Response::ok(
            Xid(1),
            Zxid(1),
            ResponseBody::Error(ErrorResponse { err: 0 }),
        );
        let bytes = to_bytes(&response);
        assert_eq!(bytes.len(), 20);
        assert_eq!(decode_response(OpCode::AddWatch, &bytes).unwrap(), response);
    }

    #[test]
    fn missing_body_of_a_successful_reply_is_truncated() {
        let bytes = to_bytes(&ReplyHeader::ok(Xid(1), Zxid(1)));
        assert!(matches!(
            decode_response(OpCode::GetData, &bytes),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
        assert_eq!(
            decode_response(OpCode::Delete, &bytes).unwrap().body,
            ResponseBody::Empty
        );
    }

    #[test]
    fn every_opcode_has_a_kind() {
        for &op in OpCode::ALL {
            let _ = ResponseBody::kind_for(op);
        }
        assert_eq!(
            ResponseBody::kind_for(OpCode::CreateTtl),
            ResponseKind::Create2
        );
        assert_eq!(
            ResponseBody::kind_for(OpCode::Reconfig),
            ResponseKind::GetData
        );
    }
}
