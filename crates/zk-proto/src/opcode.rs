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
                    _ => Err(DecodeError::UnknownOpCode { code }),
                }
            }
        }
    };
}

op_codes! {
    /// Used only inside the server (the header type of a watch notification).
    Notification = 0,
    Create = 1,
    Delete = 2,
    Exists = 3,
    GetData = 4,
    SetData = 5,
    GetAcl = 6,
    SetAcl = 7,
    GetChildren = 8,
    Sync = 9,
    Ping = 11,
    GetChildren2 = 12,
    Check = 13,
    Multi = 14,
    Create2 = 15,
    Reconfig = 16,
    CheckWatches = 17,
    RemoveWatches = 18,
    CreateContainer = 19,
    DeleteContainer = 20,
    CreateTtl = 21,
    MultiRead = 22,
    Auth = 100,
    SetWatches = 101,
    Sasl = 102,
    GetEphemerals = 103,
    GetAllChildrenNumber = 104,
    SetWatches2 = 105,
    AddWatch = 106,
    WhoAmI = 107,
    CreateSession = -10,
    CloseSession = -11,
    Error = -1,
}

impl OpCode {
    /// The wire number.
    pub fn code(self) -> i32 {
        self as i32
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
            Err(DecodeError::UnknownOpCode { code: 10 })
        );
    }
}
