//! The typed request layer: one [`RequestBody`] variant per opcode a client sends, and
//! [`decode_request`] for every frame after the handshake.

use crate::error::DecodeError;
use crate::jute::{Decode, Encode, Reader};
use crate::opcode::OpCode;
use crate::records::{
    AddWatchRequest, AuthPacket, CheckVersionRequest, CheckWatchesRequest, CreateRequest,
    CreateTtlRequest, DeleteContainerRequest, DeleteRequest, ExistsRequest, GetAclRequest,
    GetAllChildrenNumberRequest, GetChildren2Request, GetChildrenRequest, GetDataRequest,
    GetEphemeralsRequest, GetSaslRequest, MultiRequest, ReconfigRequest, RemoveWatchesRequest,
    RequestHeader, SetAclRequest, SetDataRequest, SetWatches, SetWatches2, SyncRequest,
};
use crate::types::Xid;

/// The body of a request, one variant per opcode. Variants without a record (`Ping`,
/// `WhoAmI`, `CloseSession`) have no body on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBody {
    /// `create` (1).
    Create(CreateRequest),
    /// `delete` (2).
    Delete(DeleteRequest),
    /// `exists` (3).
    Exists(ExistsRequest),
    /// `getData` (4).
    GetData(GetDataRequest),
    /// `setData` (5).
    SetData(SetDataRequest),
    /// `getACL` (6).
    GetAcl(GetAclRequest),
    /// `setACL` (7).
    SetAcl(SetAclRequest),
    /// `getChildren` (8).
    GetChildren(GetChildrenRequest),
    /// `sync` (9).
    Sync(SyncRequest),
    /// `ping` (11).
    Ping,
    /// `getChildren2` (12).
    GetChildren2(GetChildren2Request),
    /// `check` (13).
    Check(CheckVersionRequest),
    /// Writes only.
    Multi(MultiRequest),
    /// `create2` (15).
    Create2(CreateRequest),
    /// `reconfig` (16).
    Reconfig(ReconfigRequest),
    /// `checkWatches` (17).
    CheckWatches(CheckWatchesRequest),
    /// `removeWatches` (18).
    RemoveWatches(RemoveWatchesRequest),
    /// `createContainer` (19).
    CreateContainer(CreateRequest),
    /// `deleteContainer` (20).
    DeleteContainer(DeleteContainerRequest),
    /// `createTTL` (21).
    CreateTtl(CreateTtlRequest),
    /// Reads only.
    MultiRead(MultiRequest),
    /// `auth` (100).
    Auth(AuthPacket),
    /// `setWatches` (101).
    SetWatches(SetWatches),
    /// `sasl` (102).
    Sasl(GetSaslRequest),
    /// `getEphemerals` (103).
    GetEphemerals(GetEphemeralsRequest),
    /// `getAllChildrenNumber` (104).
    GetAllChildrenNumber(GetAllChildrenNumberRequest),
    /// `setWatches2` (105).
    SetWatches2(SetWatches2),
    /// `addWatch` (106).
    AddWatch(AddWatchRequest),
    /// `whoAmI` (107).
    WhoAmI,
    /// `closeSession` (-11).
    CloseSession,
}

impl RequestBody {
    /// The opcode of this body.
    pub fn op_code(&self) -> OpCode {
        match self {
            RequestBody::Create(_) => OpCode::Create,
            RequestBody::Delete(_) => OpCode::Delete,
            RequestBody::Exists(_) => OpCode::Exists,
            RequestBody::GetData(_) => OpCode::GetData,
            RequestBody::SetData(_) => OpCode::SetData,
            RequestBody::GetAcl(_) => OpCode::GetAcl,
            RequestBody::SetAcl(_) => OpCode::SetAcl,
            RequestBody::GetChildren(_) => OpCode::GetChildren,
            RequestBody::Sync(_) => OpCode::Sync,
            RequestBody::Ping => OpCode::Ping,
            RequestBody::GetChildren2(_) => OpCode::GetChildren2,
            RequestBody::Check(_) => OpCode::Check,
            RequestBody::Multi(_) => OpCode::Multi,
            RequestBody::Create2(_) => OpCode::Create2,
            RequestBody::Reconfig(_) => OpCode::Reconfig,
            RequestBody::CheckWatches(_) => OpCode::CheckWatches,
            RequestBody::RemoveWatches(_) => OpCode::RemoveWatches,
            RequestBody::CreateContainer(_) => OpCode::CreateContainer,
            RequestBody::DeleteContainer(_) => OpCode::DeleteContainer,
            RequestBody::CreateTtl(_) => OpCode::CreateTtl,
            RequestBody::MultiRead(_) => OpCode::MultiRead,
            RequestBody::Auth(_) => OpCode::Auth,
            RequestBody::SetWatches(_) => OpCode::SetWatches,
            RequestBody::Sasl(_) => OpCode::Sasl,
            RequestBody::GetEphemerals(_) => OpCode::GetEphemerals,
            RequestBody::GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            RequestBody::SetWatches2(_) => OpCode::SetWatches2,
            RequestBody::AddWatch(_) => OpCode::AddWatch,
            RequestBody::WhoAmI => OpCode::WhoAmI,
            RequestBody::CloseSession => OpCode::CloseSession,
        }
    }

    /// Decodes the body of an `op_code` request: all of `bytes`, which must hold exactly one
    /// record (trailing bytes are an error). Opcodes that clients do not send
    /// ([`OpCode::is_client_request`]) are [`DecodeError::UnknownOpCode`].
    pub fn decode(op_code: OpCode, bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let body = Self::decode_from(op_code, &mut reader)?;
        reader.finish()?;
        Ok(body)
    }

    fn decode_from(op_code: OpCode, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match op_code {
            OpCode::Create => RequestBody::Create(Decode::decode(reader)?),
            OpCode::Delete => RequestBody::Delete(Decode::decode(reader)?),
            OpCode::Exists => RequestBody::Exists(Decode::decode(reader)?),
            OpCode::GetData => RequestBody::GetData(Decode::decode(reader)?),
            OpCode::SetData => RequestBody::SetData(Decode::decode(reader)?),
            OpCode::GetAcl => RequestBody::GetAcl(Decode::decode(reader)?),
            OpCode::SetAcl => RequestBody::SetAcl(Decode::decode(reader)?),
            OpCode::GetChildren => RequestBody::GetChildren(Decode::decode(reader)?),
            OpCode::Sync => RequestBody::Sync(Decode::decode(reader)?),
            OpCode::Ping => RequestBody::Ping,
            OpCode::GetChildren2 => RequestBody::GetChildren2(Decode::decode(reader)?),
            OpCode::Check => RequestBody::Check(Decode::decode(reader)?),
            OpCode::Multi => RequestBody::Multi(decode_multi(reader, false)?),
            OpCode::Create2 => RequestBody::Create2(Decode::decode(reader)?),
            OpCode::Reconfig => RequestBody::Reconfig(Decode::decode(reader)?),
            OpCode::CheckWatches => RequestBody::CheckWatches(Decode::decode(reader)?),
            OpCode::RemoveWatches => RequestBody::RemoveWatches(Decode::decode(reader)?),
            OpCode::CreateContainer => RequestBody::CreateContainer(Decode::decode(reader)?),
            OpCode::DeleteContainer => RequestBody::DeleteContainer(Decode::decode(reader)?),
            OpCode::CreateTtl => RequestBody::CreateTtl(Decode::decode(reader)?),
            OpCode::MultiRead => RequestBody::MultiRead(decode_multi(reader, true)?),
            OpCode::Auth => RequestBody::Auth(Decode::decode(reader)?),
            OpCode::SetWatches => RequestBody::SetWatches(Decode::decode(reader)?),
            OpCode::Sasl => RequestBody::Sasl(Decode::decode(reader)?),
            OpCode::GetEphemerals => RequestBody::GetEphemerals(Decode::decode(reader)?),
            OpCode::GetAllChildrenNumber => {
                RequestBody::GetAllChildrenNumber(Decode::decode(reader)?)
            }
            OpCode::SetWatches2 => RequestBody::SetWatches2(Decode::decode(reader)?),
            OpCode::AddWatch => RequestBody::AddWatch(Decode::decode(reader)?),
            OpCode::WhoAmI => RequestBody::WhoAmI,
            OpCode::CloseSession => RequestBody::CloseSession,
            OpCode::Notification | OpCode::Error | OpCode::CreateSession => {
                return Err(DecodeError::UnknownOpCode {
                    code: op_code.code(),
                    xid: None,
                })
            }
        })
    }
}

/// Decodes a multi body and checks that its operations suit the opcode: writes for `multi`,
/// reads for `multiRead`.
fn decode_multi(reader: &mut Reader<'_>, reads: bool) -> Result<MultiRequest, DecodeError> {
    let multi = MultiRequest::decode(reader)?;
    if let Some(op) = multi.ops.iter().find(|op| op.is_read() != reads) {
        return Err(DecodeError::InvalidValue {
            field: if reads {
                "write operation in multiRead"
            } else {
                "read operation in multi"
            },
            value: op.op_code().code().into(),
        });
    }
    Ok(multi)
}

impl Encode for RequestBody {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            RequestBody::Create(body)
            | RequestBody::Create2(body)
            | RequestBody::CreateContainer(body) => body.encode(out),
            RequestBody::Delete(body) => body.encode(out),
            RequestBody::Exists(body) => body.encode(out),
            RequestBody::GetData(body) => body.encode(out),
            RequestBody::SetData(body) => body.encode(out),
            RequestBody::GetAcl(body) => body.encode(out),
            RequestBody::SetAcl(body) => body.encode(out),
            RequestBody::GetChildren(body) => body.encode(out),
            RequestBody::Sync(body) => body.encode(out),
            RequestBody::GetChildren2(body) => body.encode(out),
            RequestBody::Check(body) => body.encode(out),
            RequestBody::Multi(body) | RequestBody::MultiRead(body) => body.encode(out),
            RequestBody::Reconfig(body) => body.encode(out),
            RequestBody::CheckWatches(body) => body.encode(out),
            RequestBody::RemoveWatches(body) => body.encode(out),
            RequestBody::DeleteContainer(body) => body.encode(out),
            RequestBody::CreateTtl(body) => body.encode(out),
            RequestBody::Auth(body) => body.encode(out),
            RequestBody::SetWatches(body) => body.encode(out),
            RequestBody::Sasl(body) => body.encode(out),
            RequestBody::GetEphemerals(body) => body.encode(out),
            RequestBody::GetAllChildrenNumber(body) => body.encode(out),
            RequestBody::SetWatches2(body) => body.encode(out),
            RequestBody::AddWatch(body) => body.encode(out),
            RequestBody::Ping | RequestBody::WhoAmI | RequestBody::CloseSession => {}
        }
    }
}

/// A request after the handshake: the payload of one client frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The xid and opcode; the opcode is always the body's.
    pub header: RequestHeader,
    /// The request's record.
    pub body: RequestBody,
}

impl Request {
    /// A request with `xid` whose header's opcode is the body's.
    pub fn new(xid: Xid, body: RequestBody) -> Self {
        Request {
            header: RequestHeader {
                xid,
                op_code: body.op_code(),
            },
            body,
        }
    }

    /// The request's xid.
    pub fn xid(&self) -> Xid {
        self.header.xid
    }
}

impl Encode for Request {
    /// Writes the header and the body: a frame payload, without the length prefix (see
    /// [`crate::frame::write_frame`]).
    fn encode(&self, out: &mut Vec<u8>) {
        debug_assert_eq!(
            self.header.op_code,
            self.body.op_code(),
            "a request's header names its body's opcode"
        );
        self.header.encode(out);
        self.body.encode(out);
    }
}

/// Reads the request header at the start of a post-handshake frame `payload` and returns it
/// with the bytes of the body. An opcode that is not a client request is
/// [`DecodeError::UnknownOpCode`] with the xid.
pub fn decode_request_header(payload: &[u8]) -> Result<(RequestHeader, &[u8]), DecodeError> {
    let mut reader = Reader::new(payload);
    let header = RequestHeader::decode(&mut reader)?;
    if !header.op_code.is_client_request() {
        return Err(DecodeError::UnknownOpCode {
            code: header.op_code.code(),
            xid: Some(header.xid),
        });
    }
    Ok((header, reader.rest()))
}

/// Decodes the payload of a client frame after the handshake.
///
/// Errors, and what the reference server does for each:
/// - fewer than 8 bytes: no header, it closes the connection;
/// - [`DecodeError::UnknownOpCode`] with the xid: it replies `Unimplemented` to that xid
///   with zxid -1 (a request that never got a zxid) and closes the connection;
/// - [`DecodeError::InvalidBody`] with the xid: it replies `MarshallingError` to that xid and
///   goes on (for `auth` and `sasl`, whose bodies it reads before queueing, it closes the
///   connection instead).
pub fn decode_request(payload: &[u8]) -> Result<Request, DecodeError> {
    let (header, body) = decode_request_header(payload)?;
    let body =
        RequestBody::decode(header.op_code, body).map_err(|cause| DecodeError::InvalidBody {
            xid: header.xid,
            op_code: header.op_code,
            cause: Box::new(cause),
        })?;
    Ok(Request { header, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::to_bytes;
    use crate::records::{MultiOp, MultiRequest};

    #[test]
    fn get_data_request_round_trips() {
        let request = Request::new(
            Xid(3),
            RequestBody::GetData(GetDataRequest {
                path: "/a".into(),
                watch: true,
            }),
        );
        let bytes = to_bytes(&request);
        assert_eq!(bytes, [0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 2, b'/', b'a', 1]);
        assert_eq!(decode_request(&bytes).unwrap(), request);
    }

    #[test]
    fn ping_has_no_body() {
        let request = Request::new(Xid::PING, RequestBody::Ping);
        let bytes = to_bytes(&request);
        assert_eq!(bytes, [255, 255, 255, 254, 0, 0, 0, 11]);
        assert_eq!(decode_request(&bytes).unwrap(), request);
    }

    #[test]
    fn unknown_opcode_reports_the_xid() {
        let bytes = [0, 0, 0, 42, 0, 0, 0, 99];
        let error = decode_request(&bytes).unwrap_err();
        assert_eq!(
            error,
            DecodeError::UnknownOpCode {
                code: 99,
                xid: Some(Xid(42))
            }
        );
        assert_eq!(error.request_xid(), Some(Xid(42)));
    }

    #[test]
    fn server_internal_opcodes_are_unknown_requests() {
        for op in [OpCode::Notification, OpCode::Error, OpCode::CreateSession] {
            let bytes = to_bytes(&RequestHeader {
                xid: Xid(1),
                op_code: op,
            });
            assert_eq!(
                decode_request(&bytes).unwrap_err(),
                DecodeError::UnknownOpCode {
                    code: op.code(),
                    xid: Some(Xid(1))
                }
            );
        }
    }

    #[test]
    fn bad_body_reports_the_xid() {
        let mut bytes = to_bytes(&RequestHeader {
            xid: Xid(8),
            op_code: OpCode::Delete,
        });
        bytes.extend_from_slice(&[0, 0]);
        let error = decode_request(&bytes).unwrap_err();
        assert!(matches!(
            error,
            DecodeError::InvalidBody {
                xid: Xid(8),
                op_code: OpCode::Delete,
                ..
            }
        ));
        assert_eq!(error.request_xid(), Some(Xid(8)));
    }

    #[test]
    fn trailing_bytes_after_a_body_are_rejected() {
        let mut bytes = to_bytes(&Request::new(Xid(1), RequestBody::CloseSession));
        bytes.push(0);
        assert!(matches!(
            decode_request(&bytes).unwrap_err(),
            DecodeError::InvalidBody { .. }
        ));
    }

    #[test]
    fn multi_read_rejects_writes() {
        let multi = MultiRequest {
            ops: vec![MultiOp::Delete(DeleteRequest {
                path: "/a".into(),
                version: -1,
            })],
        };
        let write = Request::new(Xid(1), RequestBody::Multi(multi.clone()));
        assert_eq!(decode_request(&to_bytes(&write)).unwrap(), write);
        let mut read = to_bytes(&write);
        read[4..8].copy_from_slice(&OpCode::MultiRead.code().to_be_bytes());
        assert!(decode_request(&read).is_err());
    }
}
