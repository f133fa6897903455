//! The headers that frame every message after the handshake: `RequestHeader` before each
//! request body, `ReplyHeader` before each reply body, and `MultiHeader` before each operation
//! of a multi.

use crate::error::{DecodeError, ErrorCode};
use crate::jute::{self, Decode, Encode, Reader};
use crate::opcode::OpCode;
use crate::records::jute_record;
use crate::types::{Xid, Zxid};

/// The header of every request after the handshake (jute `RequestHeader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestHeader {
    /// The client's id for the request, echoed in the reply; negative values are reserved
    /// (see [`Xid`]'s constants).
    pub xid: Xid,
    /// The operation (jute field `type`).
    pub op_code: OpCode,
}

impl Encode for RequestHeader {
    fn encode(&self, out: &mut Vec<u8>) {
        self.xid.encode(out);
        jute::write_i32(out, self.op_code.code());
    }
}

impl Decode for RequestHeader {
    const MIN_WIRE_LEN: usize = 8;

    /// Fails with [`DecodeError::UnknownOpCode`] carrying the xid when the type is not an
    /// opcode, so the caller can still answer the request.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let xid = Xid::decode(reader)?;
        let code = reader.read_i32()?;
        let op_code = OpCode::from_code(code).map_err(|_| DecodeError::UnknownOpCode {
            code,
            xid: Some(xid),
        })?;
        Ok(RequestHeader { xid, op_code })
    }
}

jute_record! {
    /// The header of every reply after the handshake, and of watch notifications
    /// (jute `ReplyHeader`).
    #[derive(Copy, Hash)]
    pub struct ReplyHeader {
        /// The xid of the request answered; [`Xid::NOTIFICATION`] for a watch event.
        pub xid: Xid,
        /// The zxid of the latest transaction the server has applied when it replies. The
        /// reference sends -1 in notifications and 0 in replies to `auth` and `sasl`.
        pub zxid: Zxid,
        /// 0 for success, otherwise an [`ErrorCode`] number. Kept as the wire integer so that
        /// codes this crate does not know survive a decode and encode.
        pub err: i32,
    }
}

impl ReplyHeader {
    /// The zxid field of a watch notification's header, as the reference sends it.
    pub const NOTIFICATION_ZXID: Zxid = Zxid(-1);

    /// A successful reply to `xid`.
    pub fn ok(xid: Xid, zxid: Zxid) -> Self {
        ReplyHeader { xid, zxid, err: 0 }
    }

    /// A failed reply to `xid`; error replies carry no body.
    pub fn error(xid: Xid, zxid: Zxid, code: ErrorCode) -> Self {
        ReplyHeader {
            xid,
            zxid,
            err: code.code(),
        }
    }

    /// The header of a watch notification: xid -1, zxid -1, err 0.
    pub fn notification() -> Self {
        ReplyHeader::ok(Xid::NOTIFICATION, Self::NOTIFICATION_ZXID)
    }

    /// The error this reply reports: `Ok(())` for 0, `Err(Some(code))` for a known code and
    /// `Err(None)` for a number this crate does not know.
    pub fn result(&self) -> Result<(), Option<ErrorCode>> {
        match self.err {
            0 => Ok(()),
            code => Err(ErrorCode::from_code(code)),
        }
    }
}

jute_record! {
    /// The header before each operation or result of a multi (jute `MultiHeader`). A header
    /// with `done` set ends the list.
    #[derive(Copy, Hash)]
    pub struct MultiHeader {
        /// The operation's opcode, or -1 for an error result and for the end marker
        /// (jute field `type`).
        pub op_type: i32,
        /// Whether this header ends the list.
        pub done: bool,
        /// -1 in requests; in results 0, or the error code of an error result.
        pub err: i32,
    }
}

impl MultiHeader {
    /// The header that ends every multi request and response: type -1, done, err -1.
    pub const DONE: MultiHeader = MultiHeader {
        op_type: -1,
        done: true,
        err: -1,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::{from_bytes, to_bytes};

    #[test]
    fn request_header_is_xid_then_type() {
        let header = RequestHeader {
            xid: Xid(7),
            op_code: OpCode::GetData,
        };
        let bytes = to_bytes(&header);
        assert_eq!(bytes, [0, 0, 0, 7, 0, 0, 0, 4]);
        assert_eq!(from_bytes::<RequestHeader>(&bytes).unwrap(), header);
    }

    #[test]
    fn unknown_opcode_keeps_the_xid() {
        let bytes = [0, 0, 0, 9, 0, 0, 0, 10];
        assert_eq!(
            from_bytes::<RequestHeader>(&bytes).unwrap_err(),
            DecodeError::UnknownOpCode {
                code: 10,
                xid: Some(Xid(9))
            }
        );
    }

    #[test]
    fn reply_header_is_16_bytes() {
        let header = ReplyHeader::error(Xid(1), Zxid(2), ErrorCode::NoNode);
        let bytes = to_bytes(&header);
        assert_eq!(bytes.len(), 16);
        assert_eq!(&bytes[12..], &(-101i32).to_be_bytes());
        assert_eq!(header.result(), Err(Some(ErrorCode::NoNode)));
        assert_eq!(from_bytes::<ReplyHeader>(&bytes).unwrap(), header);
    }

    #[test]
    fn notification_header_matches_the_reference() {
        let bytes = to_bytes(&ReplyHeader::notification());
        assert_eq!(
            bytes,
            [255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0]
        );
    }

    #[test]
    fn multi_done_header_bytes() {
        assert_eq!(
            to_bytes(&MultiHeader::DONE),
            [255, 255, 255, 255, 1, 255, 255, 255, 255]
        );
    }
}
