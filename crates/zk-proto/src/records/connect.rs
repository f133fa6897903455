//! The handshake: the first frame a client sends is a `ConnectRequest` (with no request
//! header), and the server answers with a `ConnectResponse` (with no reply header).
//!
//! Both records end with a `readOnly` boolean that is not part of them in
//! `zookeeper.jute` before 3.9: clients since 3.4 append it to the request, and the server
//! appends it to the response only when the request had it (`ServerCnxn.isOldClient`). Old
//! clients send and expect neither. Decoding keeps whether the flag was present, so that
//! re-encoding gives the same bytes and the server can answer an old client in kind.

use crate::error::DecodeError;
use crate::jute::{Decode, Encode, Reader};
use crate::types::{SessionId, Zxid};

/// The password length of the sessions the reference creates; also the length of the zeroed
/// password in the response that refuses a session.
pub const SESSION_PASSWORD_LEN: usize = 16;

/// The first frame of a client connection (jute `ConnectRequest`, plus the trailing
/// `readOnly` flag).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    /// Always 0.
    pub protocol_version: i32,
    /// The highest zxid the client has seen; the server refuses the session if it has not
    /// applied that zxid yet.
    pub last_zxid_seen: Zxid,
    /// The session timeout the client asks for, in milliseconds (jute `timeOut`).
    pub time_out: i32,
    /// The session to resume, or [`SessionId::NONE`] for a new one.
    pub session_id: SessionId,
    /// The password of the session to resume (jute `passwd`).
    pub passwd: Vec<u8>,
    /// Whether the client accepts a read-only server; `None` if the client is older than
    /// 3.4 and did not send the flag.
    pub read_only: Option<bool>,
}

impl Encode for ConnectRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        self.protocol_version.encode(out);
        self.last_zxid_seen.encode(out);
        self.time_out.encode(out);
        self.session_id.encode(out);
        self.passwd.encode(out);
        if let Some(read_only) = self.read_only {
            read_only.encode(out);
        }
    }
}

impl Decode for ConnectRequest {
    const MIN_WIRE_LEN: usize = 28;

    /// Reads the record and, if any byte remains, the `readOnly` flag. It must be the last
    /// record of its input: a byte after the flag is left for the caller to reject.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ConnectRequest {
            protocol_version: i32::decode(reader)?,
            last_zxid_seen: Zxid::decode(reader)?,
            time_out: i32::decode(reader)?,
            session_id: SessionId::decode(reader)?,
            passwd: Vec::<u8>::decode(reader)?,
            read_only: read_optional_flag(reader)?,
        })
    }
}

/// The server's answer to a [`ConnectRequest`] (jute `ConnectResponse`, plus the trailing
/// `readOnly` flag).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    /// Always 0.
    pub protocol_version: i32,
    /// The negotiated session timeout in milliseconds; 0 when the session was refused
    /// (jute `timeOut`).
    pub time_out: i32,
    /// The session's id; 0 when the session was refused.
    pub session_id: SessionId,
    /// The session's password, which the client presents to resume the session.
    pub passwd: Vec<u8>,
    /// Whether the server is read-only; `None` when answering an old client that did not
    /// send the flag.
    pub read_only: Option<bool>,
}

impl ConnectResponse {
    /// The response that establishes (or resumes) a session. The `readOnly` flag is sent only
    /// if the request carried one, as the reference does.
    pub fn accepted(
        request: &ConnectRequest,
        time_out: i32,
        session_id: SessionId,
        passwd: Vec<u8>,
        server_read_only: bool,
    ) -> Self {
        ConnectResponse {
            protocol_version: 0,
            time_out,
            session_id,
            passwd,
            read_only: request.read_only.map(|_| server_read_only),
        }
    }

    /// The response that refuses to resume a session (unknown, expired or wrong password):
    /// timeout 0, session 0 and a zeroed 16-byte password. The reference closes the
    /// connection right after sending it.
    pub fn refused(request: &ConnectRequest, server_read_only: bool) -> Self {
        ConnectResponse::accepted(
            request,
            0,
            SessionId::NONE,
            vec![0; SESSION_PASSWORD_LEN],
            server_read_only,
        )
    }

    /// Whether this response establishes a session (a refusal carries session id 0).
    pub fn is_accepted(&self) -> bool {
        self.session_id != SessionId::NONE
    }
}

impl Encode for ConnectResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        self.protocol_version.encode(out);
        self.time_out.encode(out);
        self.session_id.encode(out);
        self.passwd.encode(out);
        if let Some(read_only) = self.read_only {
            read_only.encode(out);
        }
    }
}

impl Decode for ConnectResponse {
    const MIN_WIRE_LEN: usize = 20;

    /// Reads the record and, if any byte remains, the `readOnly` flag; see
    /// [`ConnectRequest::decode`].
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ConnectResponse {
            protocol_version: i32::decode(reader)?,
            time_out: i32::decode(reader)?,
            session_id: SessionId::decode(reader)?,
            passwd: Vec::<u8>::decode(reader)?,
            read_only: read_optional_flag(reader)?,
        })
    }
}

/// The trailing `readOnly` flag: present if any byte remains, as the reference reads it
/// (it tries `readBool` and treats end of input as an old peer).
fn read_optional_flag(reader: &mut Reader<'_>) -> Result<Option<bool>, DecodeError> {
    if reader.remaining() == 0 {
        Ok(None)
    } else {
        reader.read_bool().map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::{from_bytes, to_bytes};

    fn request(read_only: Option<bool>) -> ConnectRequest {
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: Zxid(0x1_0000_0002),
            time_out: 30_000,
            session_id: SessionId::NONE,
            passwd: vec![0; 16],
            read_only,
        }
    }

    #[test]
    fn request_with_flag_is_45_bytes() {
        let bytes = to_bytes(&request(Some(false)));
        assert_eq!(bytes.len(), 4 + 8 + 4 + 8 + 4 + 16 + 1);
        assert_eq!(
            from_bytes::<ConnectRequest>(&bytes).unwrap(),
            request(Some(false))
        );
    }

    #[test]
    fn old_client_request_has_no_flag() {
        let bytes = to_bytes(&request(None));
        assert_eq!(bytes.len(), 44);
        assert_eq!(from_bytes::<ConnectRequest>(&bytes).unwrap(), request(None));
    }

    #[test]
    fn byte_after_the_flag_is_trailing() {
        let mut bytes = to_bytes(&request(Some(true)));
        bytes.push(0);
        assert_eq!(
            from_bytes::<ConnectRequest>(&bytes).unwrap_err(),
            DecodeError::TrailingBytes { extra: 1 }
        );
    }

    #[test]
    fn response_answers_old_clients_without_the_flag() {
        let old = ConnectResponse::accepted(&request(None), 4000, SessionId(5), vec![1; 16], false);
        assert_eq!(old.read_only, None);
        assert_eq!(to_bytes(&old).len(), 36);
        let new =
            ConnectResponse::accepted(&request(Some(true)), 4000, SessionId(5), vec![1; 16], false);
        assert_eq!(new.read_only, Some(false));
        assert_eq!(to_bytes(&new).len(), 37);
        assert_eq!(from_bytes::<ConnectResponse>(&to_bytes(&new)).unwrap(), new);
    }

    #[test]
    fn refusal_matches_the_reference() {
        let refused = ConnectResponse::refused(&request(Some(false)), false);
        assert!(!refused.is_accepted());
        let mut expected = vec![0; 16];
        expected.extend_from_slice(&16i32.to_be_bytes());
        expected.extend_from_slice(&[0; 16]);
        expected.push(0);
        assert_eq!(to_bytes(&refused), expected);
    }
}
