//! `multi` and `multiRead`: a list of operations, each after a [`MultiHeader`], ended by
//! [`MultiHeader::DONE`]; the response lists one result per operation the same way.
//!
//! The list has no count: decoding reads headers until one has `done` set, as the reference
//! does, so the loop is bounded by the input (every header is 9 bytes). The end marker's type
//! and err are ignored on decode and written as -1, as every client and the reference write
//! them; request headers are written with err -1 and result headers with err 0 (or the error
//! code of an error result), so a decoded list re-encodes to the same bytes whenever the peer
//! followed that convention.

use crate::error::{DecodeError, ErrorCode};
use crate::jute::{Decode, Encode, Reader};
use crate::opcode::OpCode;
use crate::records::header::MultiHeader;
use crate::records::node::{
    CheckVersionRequest, Create2Response, CreateRequest, CreateResponse, CreateTtlRequest,
    DeleteRequest, ErrorResponse, GetChildrenRequest, GetChildrenResponse, GetDataRequest,
    GetDataResponse, SetDataRequest, SetDataResponse,
};

/// One operation of a multi request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// `create`.
    Create(CreateRequest),
    /// `create2`.
    Create2(CreateRequest),
    /// `createTTL`.
    CreateTtl(CreateTtlRequest),
    /// `createContainer`.
    CreateContainer(CreateRequest),
    /// `delete`.
    Delete(DeleteRequest),
    /// `setData`.
    SetData(SetDataRequest),
    /// `check`.
    Check(CheckVersionRequest),
    /// Only in `multiRead`.
    GetChildren(GetChildrenRequest),
    /// Only in `multiRead`.
    GetData(GetDataRequest),
}

impl MultiOp {
    /// The opcode written in the operation's header.
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiOp::Create(_) => OpCode::Create,
            MultiOp::Create2(_) => OpCode::Create2,
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::CreateContainer(_) => OpCode::CreateContainer,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
            MultiOp::GetData(_) => OpCode::GetData,
        }
    }

    /// Whether the operation reads (allowed in `multiRead`) rather than writes (allowed in
    /// `multi`).
    pub fn is_read(&self) -> bool {
        matches!(self, MultiOp::GetChildren(_) | MultiOp::GetData(_))
    }

    /// The path the operation is about.
    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create(op) | MultiOp::Create2(op) | MultiOp::CreateContainer(op) => &op.path,
            MultiOp::CreateTtl(op) => &op.path,
            MultiOp::Delete(op) => &op.path,
            MultiOp::SetData(op) => &op.path,
            MultiOp::Check(op) => &op.path,
            MultiOp::GetChildren(op) => &op.path,
            MultiOp::GetData(op) => &op.path,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            MultiOp::Create(op) | MultiOp::Create2(op) | MultiOp::CreateContainer(op) => {
                op.encode(out)
            }
            MultiOp::CreateTtl(op) => op.encode(out),
            MultiOp::Delete(op) => op.encode(out),
            MultiOp::SetData(op) => op.encode(out),
            MultiOp::Check(op) => op.encode(out),
            MultiOp::GetChildren(op) => op.encode(out),
            MultiOp::GetData(op) => op.encode(out),
        }
    }

    /// Reads the record for the header's type. `create2` and `createContainer` carry a plain
    /// `CreateRequest`, as in the reference's `MultiOperationRecord`.
    fn decode_body(op_type: i32, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let op_code = OpCode::from_code(op_type).map_err(|_| invalid_op_type(op_type))?;
        Ok(match op_code {
            OpCode::Create => MultiOp::Create(CreateRequest::decode(reader)?),
            OpCode::Create2 => MultiOp::Create2(CreateRequest::decode(reader)?),
            OpCode::CreateTtl => MultiOp::CreateTtl(CreateTtlRequest::decode(reader)?),
            OpCode::CreateContainer => MultiOp::CreateContainer(CreateRequest::decode(reader)?),
            OpCode::Delete => MultiOp::Delete(DeleteRequest::decode(reader)?),
            OpCode::SetData => MultiOp::SetData(SetDataRequest::decode(reader)?),
            OpCode::Check => MultiOp::Check(CheckVersionRequest::decode(reader)?),
            OpCode::GetChildren => MultiOp::GetChildren(GetChildrenRequest::decode(reader)?),
            OpCode::GetData => MultiOp::GetData(GetDataRequest::decode(reader)?),
            _ => return Err(invalid_op_type(op_type)),
        })
    }
}

fn invalid_op_type(op_type: i32) -> DecodeError {
    DecodeError::InvalidValue {
        field: "multi operation type",
        value: op_type.into(),
    }
}

/// The body of `multi` and `multiRead` (the reference's `MultiOperationRecord`).
///
/// Decoding accepts any of the operations but, like the reference, rejects a list that mixes
/// reads and writes; [`crate::RequestBody::decode`] further requires writes in `multi` and
/// reads in `multiRead`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiRequest {
    /// The operations, applied all or none (`multi`) or read in order (`multiRead`).
    pub ops: Vec<MultiOp>,
}

impl MultiRequest {
    /// Whether every operation reads (true for an empty list).
    pub fn is_read_only(&self) -> bool {
        self.ops.iter().all(MultiOp::is_read)
    }

    /// Whether every operation writes (true for an empty list).
    pub fn is_write_only(&self) -> bool {
        !self.ops.iter().any(MultiOp::is_read)
    }
}

impl Encode for MultiRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        for op in &self.ops {
            let header = MultiHeader {
                op_type: op.op_code().code(),
                done: false,
                err: -1,
            };
            header.encode(out);
            op.encode_body(out);
        }
        MultiHeader::DONE.encode(out);
    }
}

impl Decode for MultiRequest {
    const MIN_WIRE_LEN: usize = 9;

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut ops: Vec<MultiOp> = Vec::new();
        loop {
            let header = MultiHeader::decode(reader)?;
            if header.done {
                return Ok(MultiRequest { ops });
            }
            let op = MultiOp::decode_body(header.op_type, reader)?;
            if let Some(first) = ops.first() {
                if first.is_read() != op.is_read() {
                    return Err(DecodeError::InvalidValue {
                        field: "multi operation mixing reads and writes",
                        value: header.op_type.into(),
                    });
                }
            }
            ops.push(op);
        }
    }
}

/// One result of a multi response, in the order of the operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    /// For `create`.
    Create(CreateResponse),
    /// For `create2`, `createTTL` and `createContainer`.
    Create2(Create2Response),
    /// For `delete`.
    Delete,
    /// For `setData`.
    SetData(SetDataResponse),
    /// For `check`.
    Check,
    /// For `getChildren` in `multiRead`.
    GetChildren(GetChildrenResponse),
    /// For `getData` in `multiRead`.
    GetData(GetDataResponse),
    /// For an operation that failed or was not applied because another one failed.
    Error(ErrorResponse),
}

impl MultiResult {
    /// The header type of this result: the operation's opcode, or -1 for an error.
    pub fn op_type(&self) -> i32 {
        match self {
            MultiResult::Create(_) => OpCode::Create.code(),
            MultiResult::Create2(_) => OpCode::Create2.code(),
            MultiResult::Delete => OpCode::Delete.code(),
            MultiResult::SetData(_) => OpCode::SetData.code(),
            MultiResult::Check => OpCode::Check.code(),
            MultiResult::GetChildren(_) => OpCode::GetChildren.code(),
            MultiResult::GetData(_) => OpCode::GetData.code(),
            MultiResult::Error(_) => OpCode::Error.code(),
        }
    }

    /// An error result with `code`.
    pub fn error(code: ErrorCode) -> Self {
        MultiResult::Error(ErrorResponse { err: code.code() })
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            MultiResult::Create(result) => result.encode(out),
            MultiResult::Create2(result) => result.encode(out),
            MultiResult::Delete | MultiResult::Check => {}
            MultiResult::SetData(result) => result.encode(out),
            MultiResult::GetChildren(result) => result.encode(out),
            MultiResult::GetData(result) => result.encode(out),
            MultiResult::Error(result) => result.encode(out),
        }
    }

    fn decode_body(op_type: i32, reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let invalid = || DecodeError::InvalidValue {
            field: "multi result type",
            value: op_type.into(),
        };
        let op_code = OpCode::from_code(op_type).map_err(|_| invalid())?;
        Ok(match op_code {
            OpCode::Create => MultiResult::Create(CreateResponse::decode(reader)?),
            OpCode::Create2 => MultiResult::Create2(Create2Response::decode(reader)?),
            OpCode::Delete => MultiResult::Delete,
            OpCode::SetData => MultiResult::SetData(SetDataResponse::decode(reader)?),
            OpCode::Check => MultiResult::Check,
            OpCode::GetChildren => MultiResult::GetChildren(GetChildrenResponse::decode(reader)?),
            OpCode::GetData => MultiResult::GetData(GetDataResponse::decode(reader)?),
            OpCode::Error => MultiResult::Error(ErrorResponse::decode(reader)?),
            _ => return Err(invalid()),
        })
    }
}

/// The body of the reply to `multi` and `multiRead` (the reference's `MultiResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse {
    /// One result per operation of the request, in order.
    pub results: Vec<MultiResult>,
}

impl MultiResponse {
    /// The results of a `multi` of `op_count` operations whose operation `failed_index`
    /// failed with `code`, as the reference reports it: the operations before it get an error
    /// result with code 0, the failed one `code`, and those after it `RuntimeInconsistency`.
    /// The reply header of such a multi has err 0.
    pub fn failed(op_count: usize, failed_index: usize, code: ErrorCode) -> Self {
        assert!(
            failed_index < op_count,
            "the failed operation is one of the multi's"
        );
        let results = (0..op_count)
            .map(|index| {
                let err = match index.cmp(&failed_index) {
                    std::cmp::Ordering::Less => 0,
                    std::cmp::Ordering::Equal => code.code(),
                    std::cmp::Ordering::Greater => ErrorCode::RuntimeInconsistency.code(),
                };
                MultiResult::Error(ErrorResponse { err })
            })
            .collect();
        MultiResponse { results }
    }
}

impl Encode for MultiResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        for result in &self.results {
            let err = match result {
                MultiResult::Error(error) => error.err,
                _ => 0,
            };
            let header = MultiHeader {
                op_type: result.op_type(),
                done: false,
                err,
            };
            header.encode(out);
            result.encode_body(out);
        }
        MultiHeader::DONE.encode(out);
    }
}

impl Decode for MultiResponse {
    const MIN_WIRE_LEN: usize = 9;

    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut results = Vec::new();
        loop {
            let header = MultiHeader::decode(reader)?;
            if header.done {
                return Ok(MultiResponse { results });
            }
            results.push(MultiResult::decode_body(header.op_type, reader)?);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Acl, Stat};
    use crate::jute::{from_bytes, to_bytes};

    fn create(path: &str) -> CreateRequest {
        CreateRequest {
            path: path.into(),
            data: Some(b"d".to_vec()),
            acl: Acl::open_unsafe(),
            flags: 0,
        }
    }

    #[test]
    fn request_headers_and_terminator() {
        let request = MultiRequest {
            ops: vec![
                MultiOp::Create(create("/a")),
                MultiOp::Delete(DeleteRequest {
                    path: "/b".into(),
                    version: -1,
                }),
            ],
        };
        let bytes = to_bytes(&request);
        assert_eq!(&bytes[..9], &[0, 0, 0, 1, 0, 255, 255, 255, 255]);
        assert_eq!(&bytes[bytes.len() - 9..], &to_bytes(&MultiHeader::DONE)[..]);
        assert_eq!(from_bytes::<MultiRequest>(&bytes).unwrap(), request);
    }

    #[test]
    fn empty_multi_is_just_the_terminator() {
        let bytes = to_bytes(&MultiRequest::default());
        assert_eq!(bytes.len(), 9);
        assert_eq!(from_bytes::<MultiRequest>(&bytes).unwrap().ops, vec![]);
    }

    #[test]
    fn mixing_reads_and_writes_is_rejected() {
        let request = MultiRequest {
            ops: vec![
                MultiOp::Create(create("/a")),
                MultiOp::GetData(GetDataRequest {
                    path: "/a".into(),
                    watch: false,
                }),
            ],
        };
        assert!(matches!(
            from_bytes::<MultiRequest>(&to_bytes(&request)),
            Err(DecodeError::InvalidValue { .. })
        ));
    }

    #[test]
    fn unterminated_multi_is_truncated() {
        let mut bytes = to_bytes(&MultiRequest {
            ops: vec![MultiOp::Create(create("/a"))],
        });
        bytes.truncate(bytes.len() - 9);
        assert!(matches!(
            from_bytes::<MultiRequest>(&bytes),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
    }

    #[test]
    fn error_results_carry_the_code_in_header_and_body() {
        let response = MultiResponse::failed(3, 1, ErrorCode::NoNode);
        let bytes = to_bytes(&response);
        // First result: header (-1, false, 0) then ErrorResponse(0).
        assert_eq!(
            &bytes[..13],
            &[255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        // Second: header (-1, false, -101) then ErrorResponse(-101).
        assert_eq!(&bytes[18..22], &(-101i32).to_be_bytes());
        assert_eq!(&bytes[22..26], &(-101i32).to_be_bytes());
        // Third: RuntimeInconsistency.
        assert_eq!(&bytes[35..39], &(-2i32).to_be_bytes());
        assert_eq!(from_bytes::<MultiResponse>(&bytes).unwrap(), response);
    }

    #[test]
    fn successful_results_round_trip() {
        let response = MultiResponse {
            results: vec![
                MultiResult::Create(CreateResponse { path: "/a".into() }),
                MultiResult::Create2(Create2Response {
                    path: "/b".into(),
                    stat: Stat::default(),
                }),
                MultiResult::Delete,
                MultiResult::Check,
                MultiResult::SetData(SetDataResponse::default()),
            ],
        };
        let bytes = to_bytes(&response);
        assert_eq!(from_bytes::<MultiResponse>(&bytes).unwrap(), response);
    }
}
