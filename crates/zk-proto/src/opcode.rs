//! Operation codes of the client protocol (`ZooDefs.OpCode`).

use crate::error::DecodeError;
use serde::{Deserialize, Serialize};

/// Defines [`OpCode`] from one table of names and wire numbers.
macro_rules! op_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal,)*) => {
        /// The `type` field of a request header.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[repr(i32)]
        pub enum OpCode {
            $($(#[$doc])* $name = $code,)*
        }

        impl OpCode {
            /// Every opcode, in the order of the table.
            pub const ALL: &'static [OpCode] = &[$(OpCode::$name),*];

            /// The opcode for a wire number.
            pub fn from_code(code: i32) -> Result<Self, DecodeError> {
                match code {
                    $($code => Ok(OpCode::$name),)*
                    _ => Err(DecodeError::UnknownOpCode { code, xid: None }),
                }
            }
        }
    };
}

op_codes! {
    /// Used only inside the server (the header type of a watch notification).
    Notification = 0,
    /// `create`.
    Create = 1,
    /// `delete`.
    Delete = 2,
    /// `exists`.
    Exists = 3,
    /// `getData`.
    GetData = 4,
    /// `setData`.
    SetData = 5,
    /// `getACL`.
    GetAcl = 6,
    /// `setACL`.
    SetAcl = 7,
    /// `getChildren`.
    GetChildren = 8,
    /// `sync`.
    Sync = 9,
    /// `ping`.
    Ping = 11,
    /// `getChildren2`.
    GetChildren2 = 12,
    /// `check`.
    Check = 13,
    /// `multi`.
    Multi = 14,
    /// `create2`.
    Create2 = 15,
    /// `reconfig`.
    Reconfig = 16,
    /// `checkWatches`.
    CheckWatches = 17,
    /// `removeWatches`.
    RemoveWatches = 18,
    /// `createContainer`.
    CreateContainer = 19,
    /// `deleteContainer`.
    DeleteContainer = 20,
    /// `createTTL`.
    CreateTtl = 21,
    /// `multiRead`.
    MultiRead = 22,
    /// `auth`.
    Auth = 100,
    /// `setWatches`.
    SetWatches = 101,
    /// `sasl`.
    Sasl = 102,
    /// `getEphemerals`.
    GetEphemerals = 103,
    /// `getAllChildrenNumber`.
    GetAllChildrenNumber = 104,
    /// `setWatches2`.
    SetWatches2 = 105,
    /// `addWatch`.
    AddWatch = 106,
    /// `whoAmI`.
    WhoAmI = 107,
    /// `createSession`.
    CreateSession = -10,
    /// `closeSession`.
    CloseSession = -11,
    /// `error`.
    Error = -1,
}

impl OpCode {
    /// The wire number.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// Whether a client may send this opcode in a request header. `Notification` and `Error`
    /// exist only inside the server, and sessions are created by the connect handshake, not
    /// by a `CreateSession` request; the reference answers all three with `Unimplemented`
    /// (`Request.isValid` rejects the first two; the third never comes from real clients).
    pub fn is_client_request(self) -> bool {
        !matches!(
            self,
            OpCode::Notification | OpCode::Error | OpCode::CreateSession
        )
    }

    /// Whether the operation changes the tree and so goes through the write pipeline
    /// (Apache's `Request.isQuorum` for the opcodes a client may send).
    pub fn is_write(self) -> bool {
        matches!(
            self,
            OpCode::Create
                | OpCode::Create2
                | OpCode::CreateContainer
                | OpCode::CreateTtl
                | OpCode::Delete
                | OpCode::DeleteContainer
                | OpCode::SetData
                | OpCode::SetAcl
                | OpCode::Check
                | OpCode::Multi
                | OpCode::Reconfig
                | OpCode::CreateSession
                | OpCode::CloseSession
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_round_trip_through_their_numbers() {
        for &op in OpCode::ALL {
            assert_eq!(OpCode::from_code(op.code()).unwrap(), op);
        }
        assert_eq!(
            OpCode::from_code(10),
            Err(DecodeError::UnknownOpCode {
                code: 10,
                xid: None
            })
        );
    }
}
