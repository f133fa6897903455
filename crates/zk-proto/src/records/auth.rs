//! Authentication: `auth` packets, SASL token exchange and `whoAmI`.

use crate::data::ClientInfo;
use crate::records::jute_record;

jute_record! {
    /// `auth`: adds an identity to the session (jute `AuthPacket`); sent with xid
    /// [`crate::Xid::AUTH`]. The reply has no body; `AuthFailed` closes the connection.
    #[derive(Default)]
    pub struct AuthPacket {
        /// Always 0 (jute field `type`).
        pub auth_type: i32,
        /// The authentication provider (`digest`, `ip`, ...).
        pub scheme: String,
        /// The credentials, such as `user:password` for `digest`.
        pub auth: Vec<u8>,
    }
}

jute_record! {
    /// `sasl`: a SASL token from the client (jute `GetSASLRequest`).
    #[derive(Default)]
    pub struct GetSaslRequest {
        /// `None` is null.
        pub token: Option<Vec<u8>>,
    }
}

jute_record! {
    /// The server's SASL challenge in reply to `sasl` (jute `SetSASLResponse`).
    #[derive(Default)]
    pub struct SetSaslResponse {
        /// `None` is null, which the reference sends when authentication failed.
        pub token: Option<Vec<u8>>,
    }
}

jute_record! {
    /// The reply to `whoAmI` (jute `WhoAmIResponse`).
    #[derive(Default)]
    pub struct WhoAmIResponse {
        /// Every identity the session has.
        pub client_info: Vec<ClientInfo>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::{from_bytes, to_bytes};

    #[test]
    fn auth_packet_bytes() {
        let packet = AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: b"u:p".to_vec(),
        };
        let bytes = to_bytes(&packet);
        assert_eq!(bytes.len(), 4 + 4 + 6 + 4 + 3);
        assert_eq!(from_bytes::<AuthPacket>(&bytes).unwrap(), packet);
    }

    #[test]
    fn null_sasl_token_stays_null() {
        let response = SetSaslResponse { token: None };
        assert_eq!(to_bytes(&response), [255, 255, 255, 255]);
        assert_eq!(
            from_bytes::<SetSaslResponse>(&[255, 255, 255, 255]).unwrap(),
            response
        );
    }
}
